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


def test_a_registered_model_is_deleted_unless_it_was_deployed(ml: Api) -> None:
    for name in ("scratch", "served"):
        _ok(ml, "contributor", "POST", f"{RM}/create", name=name)
        _ok(ml, "contributor", "POST", f"{MV}/create", name=name, source=f"models:/{MODEL_ID}")
    _ok(ml, "deployer", "POST", f"{RM}/alias", name="served", alias="champion", version="1")
    _ok(ml, "deployer", "DELETE", f"{RM}/alias", name="served", alias="champion")
    refused = _call(ml, "admin", "DELETE", f"{RM}/delete", name="served")
    message = _error(refused, 409, "RESOURCE_CONFLICT")
    assert message == (
        "model 'served' cannot be deleted: versions of this model were deployed; they are "
        "kept as evidence"
    )
    _error(_call(ml, "contributor", "DELETE", f"{RM}/delete", name="scratch"), 403,
           "PERMISSION_DENIED")  # fmt: skip
    assert _ok(ml, "admin", "DELETE", f"{RM}/delete", name="scratch") == {}
    _error(_call(ml, "viewer", "GET", f"{RM}/get", name="scratch"), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(_call(ml, "viewer", "GET", f"{MV}/get", name="scratch", version="1"), 404,
           "RESOURCE_DOES_NOT_EXIST")  # fmt: skip
    _error(_call(ml, "admin", "DELETE", f"{RM}/delete", name="scratch"), 404,
           "RESOURCE_DOES_NOT_EXIST")  # fmt: skip
    found = _ok(ml, "viewer", "GET", f"{RM}/search")["registered_models"]
    assert [m["name"] for m in found] == ["credit", "served"]
    # MLflow lets the name be used again: here the new model's numbers follow the old one's
    _ok(ml, "contributor", "POST", f"{RM}/create", name="scratch")
    again = _ok(ml, "contributor", "POST", f"{MV}/create", name="scratch",
                source=f"models:/{MODEL_ID}")["model_version"]  # fmt: skip
    assert again["version"] == "2"
    assert ml.registry.audit_verify().ok


def test_a_registered_model_is_renamed_with_its_history(ml: Api) -> None:
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}")
    _ok(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias="champion", version="1")
    renamed = _ok(ml, "admin", "POST", f"{RM}/rename", name="credit", new_name="credit-retail")
    doc = renamed["registered_model"]
    assert doc["name"] == "credit-retail"
    assert doc["aliases"] == [{"alias": "champion", "version": "1"}]
    _error(_call(ml, "viewer", "GET", f"{RM}/get", name="credit"), 404, "RESOURCE_DOES_NOT_EXIST")
    got = _ok(ml, "viewer", "GET", f"{MV}/get", name="credit-retail", version="1")
    assert got["model_version"]["name"] == "credit-retail"
    _error(_call(ml, "contributor", "POST", f"{RM}/rename", name="credit-retail", new_name="x"),
           403, "PERMISSION_DENIED")  # fmt: skip
    _ok(ml, "contributor", "POST", f"{RM}/create", name="credit")  # the old name is free
    taken = _call(ml, "admin", "POST", f"{RM}/rename", name="credit-retail", new_name="credit")
    _error(taken, 400, "RESOURCE_ALREADY_EXISTS")
    outside = _call(ml, "fraud-admin", "POST", f"{RM}/rename", name="fraud-x", new_name="credit9")
    _error(outside, 404, "RESOURCE_DOES_NOT_EXIST")
    assert ml.registry.audit_verify().ok
