"""MLflow's registered-model create, rename and delete over a real store (SQLite, and
PostgreSQL + S3), answering as MLflow does."""

from __future__ import annotations

from . import test_mlflow_api as base
from .test_mlflow_api import MODEL_ID, MV, RM, Api, _call, _error, _ok

sources = base.sources  # the fixtures: an MLflow artifact root, the API over the store
ml = base.ml


def test_a_registered_model_is_created_with_its_description_and_tags(ml: Api) -> None:
    tags = [{"key": "team", "value": "risk"}, {"key": "tier", "value": "1"}]
    created = _ok(ml, "contributor", "POST", f"{RM}/create", name="credit-eu", description="d",
                  tags=tags)  # fmt: skip
    doc = created["registered_model"]
    assert (doc["name"], doc["description"], doc["user_id"]) == (
        "credit-eu",
        "d",
        "contributor-user",
    )
    assert doc["tags"] == [{"key": "team", "value": "risk"}, {"key": "tier", "value": "1"}]
    assert doc["latest_versions"] == []
    got = _ok(ml, "viewer", "GET", f"{RM}/get", name="credit-eu")["registered_model"]
    assert got == doc
    found = _ok(ml, "viewer", "GET", f"{RM}/search", filter="tags.team = 'risk'")
    assert [m["name"] for m in found["registered_models"]] == ["credit-eu"]
    again = _call(ml, "contributor", "POST", f"{RM}/create", name="credit-eu")
    assert "already exists" in _error(again, 400, "RESOURCE_ALREADY_EXISTS")
    # what `mlflow.register_model` does next: the version, into the model as it was created
    version = _ok(ml, "contributor", "POST", f"{MV}/create", name="credit-eu",
                  source=f"models:/{MODEL_ID}")["model_version"]  # fmt: skip
    assert version["version"] == "1"
    model = ml.registry.model("credit-eu")
    assert (model.description, model.tags, model.latest_version) == (
        "d", {"team": "risk", "tier": "1"}, 1,
    )  # fmt: skip
    kinds = [(e.kind, e.key, e.actor) for e in ml.registry.model_events("credit-eu")]
    assert {e[2] for e in kinds} == {"contributor-user"}
    assert [e[:2] for e in kinds] == [
        ("created", None), ("described", None), ("tag_set", "team"), ("tag_set", "tier"),
    ]  # fmt: skip
    denied = _call(ml, "viewer", "POST", f"{RM}/create", name="other")
    _error(denied, 403, "PERMISSION_DENIED")
    outside = _call(ml, "fraud-admin", "POST", f"{RM}/create", name="credit2")
    _error(outside, 404, "RESOURCE_DOES_NOT_EXIST")
    bad = _call(ml, "contributor", "POST", f"{RM}/create", name="x", tags=[{"key": "k"}])
    _error(bad, 400, "INVALID_PARAMETER_VALUE")
    assert ml.registry.audit_verify().ok
