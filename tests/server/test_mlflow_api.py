"""MLflow's registry API over a real store (SQLite, and PostgreSQL + S3): what maps to what,
where sources may come from, and MLflow's error shape."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.clock import ManualClock
from modelrepo.server import create_app
from modelrepo.server.mlflow.sources import Sources

from .conftest import Api

RM = "/api/2.0/mlflow/registered-models"
MV = "/api/2.0/mlflow/model-versions"
MODEL_ID = "m-0123456789abcdef0123456789abcdef"


def _logged_model(root: Path, experiment: str, model_id: str, weight: str) -> Path:
    """A folder laid out as MLflow stores a logged model under an artifact root."""
    folder = root / experiment / "models" / model_id / "artifacts"
    (folder / "data").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors:\n  python_function: {}\n")
    (folder / "data" / "weights.json").write_text(weight)
    return folder


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    root = tmp_path / "mlruns"
    _logged_model(root, "1", MODEL_ID, '{"w": 1}')
    return root


@pytest.fixture
def ml(registry: Registry, sources: Path) -> Iterator[Api]:
    app = create_app(registry, mlflow_sources=Sources.parse([sources.as_uri()]))
    api = Api(TestClient(app), registry)
    for role in ("viewer", "contributor", "deployer", "admin"):
        api.token(role, f"{role}-user", role)
    api.token("fraud-admin", "fraud-lead", "admin", "fraud-*")
    with api.client:
        # as `mlflow.register_model` does before a version: MLflow needs the model first
        _ok(api, "admin", "POST", f"{RM}/create", name="credit")
        yield api


def _call(api: Api, who: str, method: str, url: str, /, **kwargs: Any) -> Any:
    """`kwargs` as the query (GET) or the JSON body, as an MLflow client sends them."""
    key = "params" if method == "GET" else "json"
    return api.client.request(method, url, headers=api.as_(who), **{key: kwargs})


def _ok(api: Api, who: str, method: str, url: str, /, **kwargs: Any) -> dict[str, Any]:
    reply = _call(api, who, method, url, **kwargs)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _error(reply: Any, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code, body
    return str(body["message"])


def test_versions_are_copied_only_from_the_allowed_sources(
    ml: Api, sources: Path, tmp_path: Path
) -> None:
    source, tags = f"models:/{MODEL_ID}", [{"key": "team", "value": "risk"}]
    created = _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=source,
                  run_id="r1", model_id=MODEL_ID, tags=tags)  # fmt: skip
    doc = created["model_version"]
    assert (doc["name"], doc["version"], doc["source"], doc["run_id"]) == (
        "credit", "1", f"models:/{MODEL_ID}", "r1",
    )  # fmt: skip
    assert doc["tags"] == [{"key": "team", "value": "risk"}] and doc["status"] == "READY"
    stored = ml.registry.get("credit", 1)
    assert sorted(f.path for f in stored.files) == ["MLmodel", "data/weights.json"]
    assert stored.created_by == "contributor-user" and stored.flavor == "mlflow"

    inside = _logged_model(sources, "2", "m-ff", '{"w": 2}')
    second = _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=inside.as_uri())
    assert second["model_version"]["version"] == "2"

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "MLmodel").write_text("secret")
    (sources / "link").symlink_to(outside)
    size = ml.registry.ready()
    refused = {
        outside.as_uri(): "outside",
        str(outside): "outside",
        f"{sources.as_uri()}/1/../../elsewhere": "outside",
        f"{sources.as_uri()}/link": "outside",
        "models:/m-999": "not under",
        "runs:/0a1b/model": "only models:/m-<id> and file:",
        "s3://bucket/model": "only models:/m-<id> and file:",
        "https://example.com/model": "only models:/m-<id> and file:",
        "file://otherhost/srv/model": "only models:/m-<id> and file:",
    }
    for source, why in refused.items():
        reply = _call(ml, "contributor", "POST", f"{MV}/create", name="credit", source=source)
        assert why in _error(reply, 400, "INVALID_PARAMETER_VALUE"), source
    (inside / "data" / "link.json").symlink_to(outside / "MLmodel")
    reply = _call(ml, "contributor", "POST", f"{MV}/create", name="credit", source=inside.as_uri())
    assert "symbolic link" in _error(reply, 400, "INVALID_PARAMETER_VALUE")
    assert ml.registry.ready() == size, "a refused source changed the store"


def test_a_server_without_sources_fetches_nothing(api: Api) -> None:
    _ok(api, "admin", "POST", f"{RM}/create", name="credit")
    reply = api.client.post(f"{MV}/create", headers=api.as_("admin"),
                            json={"name": "credit", "source": f"models:/{MODEL_ID}"})  # fmt: skip
    assert "--mlflow-source" in _error(reply, 400, "INVALID_PARAMETER_VALUE")


def test_aliases_are_deployments_and_stages_are_environments(ml: Api, clock: ManualClock) -> None:
    for _ in range(2):
        _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}")
    _ok(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias="champion", version="1")
    clock.advance(timedelta(hours=1))
    _ok(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias="champion", version="2")
    got = _ok(ml, "viewer", "GET", f"{RM}/alias", name="credit", alias="champion")
    assert got["model_version"]["version"] == "2"
    assert got["model_version"]["aliases"] == ["champion"]
    events = ml.registry.history("credit", env="champion")
    assert [(e.versions[0].version, e.actor, e.reason) for e in events] == [
        (1, "deployer-user", "MLflow alias set"),
        (2, "deployer-user", "MLflow alias set"),
    ]
    middle = events[0].effective_at + timedelta(minutes=30)
    assert ml.registry.live("credit", env="champion", at=middle).versions[0].version == 1

    _ok(ml, "deployer", "POST", f"{MV}/transition-stage", name="credit", version="1",
        stage="Staging", archive_existing_versions=False)  # fmt: skip
    moved = _ok(ml, "deployer", "POST", f"{MV}/transition-stage", name="credit", version="2",
                stage="Production", archive_existing_versions=False)  # fmt: skip
    assert moved["model_version"]["current_stage"] == "Production"
    model = _ok(ml, "viewer", "GET", f"{RM}/get", name="credit")["registered_model"]
    # as in MLflow, a stage is no alias: its environment is not listed while a version holds it
    assert model["aliases"] == [{"alias": "champion", "version": "2"}]
    assert [(v["version"], v["current_stage"]) for v in model["latest_versions"]] == [
        ("1", "Staging"),
        ("2", "Production"),
    ]
    latest = _ok(ml, "viewer", "POST", f"{RM}/get-latest-versions", name="credit",
                 stages=["Production"])  # fmt: skip
    assert [v["version"] for v in latest["model_versions"]] == ["2"]
    _ok(ml, "deployer", "POST", f"{MV}/transition-stage", name="credit", version="1",
        stage="Archived", archive_existing_versions=False)  # fmt: skip
    assert ml.registry.live("credit", env="staging").versions == ()

    _ok(ml, "deployer", "DELETE", f"{RM}/alias", name="credit", alias="champion")
    assert ml.registry.history("credit", env="champion")[-1].kind == "undeploy"
    gone = _call(ml, "viewer", "GET", f"{RM}/alias", name="credit", alias="champion")
    _error(gone, 400, "INVALID_PARAMETER_VALUE")  # as MLflow answers a missing alias
    events = len(ml.registry.history("credit", env="champion"))
    _ok(ml, "deployer", "DELETE", f"{RM}/alias", name="credit", alias="champion")  # as MLflow
    assert len(ml.registry.history("credit", env="champion")) == events
    bad = _call(ml, "deployer", "POST", f"{MV}/transition-stage", name="credit", version="1",
                stage="Shipped")  # fmt: skip
    _error(bad, 400, "INVALID_PARAMETER_VALUE")


def test_an_alias_on_a_protected_environment_awaits_approval(ml: Api) -> None:
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}")
    ml.registry.protect("credit", env="champion")
    reply = _call(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias="champion", version=1)
    assert "awaits approval" in _error(reply, 202, "INVALID_STATE")
    assert ml.registry.live("credit", env="champion").versions == ()
    assert [r.requested_by for r in ml.registry.requests("credit")] == ["deployer-user"]


def test_search_tags_descriptions_and_deletion(ml: Api) -> None:
    for name in ("credit", "credit-eu", "fraud-cards"):
        if name != "credit":
            _ok(ml, "admin", "POST", f"{RM}/create", name=name)
        _ok(ml, "admin", "POST", f"{MV}/create", name=name, source=f"models:/{MODEL_ID}",
            run_id=f"run-{name}")  # fmt: skip
    _ok(ml, "admin", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}")
    _ok(ml, "contributor", "POST", f"{MV}/set-tag", name="credit", version="2", key="validated",
        value="yes")  # fmt: skip

    def names(found: dict[str, Any]) -> list[str]:
        return [m["name"] for m in found["registered_models"]]

    assert names(_ok(ml, "viewer", "GET", f"{RM}/search", filter="name LIKE 'credit%'")) == [
        "credit", "credit-eu",
    ]  # fmt: skip
    assert names(_ok(ml, "viewer", "GET", f"{RM}/search", order_by=["name DESC"])) == [
        "fraud-cards", "credit-eu", "credit",
    ]  # fmt: skip
    page = _ok(ml, "viewer", "GET", f"{RM}/search", max_results=2)
    assert names(page) == ["credit", "credit-eu"] and page["next_page_token"] == "2"
    rest = _ok(ml, "viewer", "GET", f"{RM}/search", max_results=2, page_token="2")
    assert names(rest) == ["fraud-cards"] and "next_page_token" not in rest
    assert names(_ok(ml, "fraud-admin", "GET", f"{RM}/search")) == ["fraud-cards"]

    def versions(**query: Any) -> list[tuple[str, str]]:
        found = _ok(ml, "viewer", "GET", f"{MV}/search", **query)["model_versions"]
        return [(v["name"], v["version"]) for v in found]

    assert versions(filter="name = 'credit'") == [("credit", "2"), ("credit", "1")]
    assert versions(filter="tags.validated = 'yes'") == [("credit", "2")]
    assert versions(filter="run_id IN ('run-credit-eu', 'run-fraud-cards')") == [
        ("credit-eu", "1"), ("fraud-cards", "1"),
    ]  # fmt: skip
    assert versions(filter="name ILIKE 'CREDIT%' AND version_number > 1") == [("credit", "2")]
    assert versions(filter="tags.`validated` != 'yes' AND name = 'credit'") == [("credit", "1")]
    for bad in ("name = ", "name = 'a' OR name = 'b'", "owner = 'x'", "version_number = 'x'"):
        reply = _call(ml, "viewer", "GET", f"{MV}/search", filter=bad)
        assert "invalid filter" in _error(reply, 400, "INVALID_PARAMETER_VALUE"), bad

    _ok(ml, "contributor", "PATCH", f"{MV}/update", name="credit", version="2",
        description="retrained on Q3")  # fmt: skip
    got = _ok(ml, "viewer", "GET", f"{MV}/get", name="credit", version="2")["model_version"]
    assert got["description"] == "retrained on Q3"
    assert got["tags"] == [{"key": "validated", "value": "yes"}]
    changes = ml.registry.events("credit", 2)
    assert [(e.key, e.actor) for e in changes] == [
        ("validated", "contributor-user"), ("mlflow.description", "contributor-user"),
    ]  # fmt: skip
    _ok(
        ml, "contributor", "DELETE", f"{MV}/delete-tag", name="credit", version="2", key="validated"
    )
    assert ml.registry.get("credit", 2).tags == {"mlflow.description": "retrained on Q3"}

    _ok(ml, "admin", "POST", f"{RM}/alias", name="credit", alias="champion", version="2")
    refused = _call(ml, "contributor", "DELETE", f"{MV}/delete", name="credit", version="1")
    _error(refused, 403, "PERMISSION_DENIED")  # tombstoning is for admins, as natively
    deployed = _call(ml, "admin", "DELETE", f"{MV}/delete", name="credit", version="2")
    _error(deployed, 409, "RESOURCE_CONFLICT")
    _ok(ml, "admin", "DELETE", f"{MV}/delete", name="credit", version="1")
    assert ml.registry.get("credit", 1).deleted_by == "admin-user"
    gone = _call(ml, "viewer", "GET", f"{MV}/get", name="credit", version="1")
    _error(gone, 404, "RESOURCE_DOES_NOT_EXIST")


def test_downloads_through_the_artifact_routes(ml: Api) -> None:
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}")
    uri = _ok(ml, "viewer", "GET", f"{MV}/get-download-uri", name="credit", version="1")
    assert uri["artifact_uri"] == (
        "http://127.0.0.1:8080/api/2.0/mlflow-artifacts/artifacts/models/credit/versions/1"
    )
    listing = "/api/2.0/mlflow-artifacts/artifacts"
    root = _ok(ml, "viewer", "GET", listing, path="models/credit/versions/1")
    assert root["files"] == [
        {"path": "MLmodel", "is_dir": False, "file_size": 31},
        {"path": "data", "is_dir": True},
    ]
    inner = _ok(ml, "viewer", "GET", listing, path="models/credit/versions/1/data")
    assert inner["files"] == [{"path": "weights.json", "is_dir": False, "file_size": 8}]
    one = _ok(ml, "viewer", "GET", listing, path="models/credit/versions/1/data/weights.json")
    assert one["files"] == [{"path": "weights.json", "is_dir": False, "file_size": 8}]
    got = ml.client.get(f"{listing}/models/credit/versions/1/data/weights.json",
                        headers=ml.as_("viewer"))  # fmt: skip
    assert got.status_code == 200 and got.content == b'{"w": 1}'
    assert got.headers["etag"].startswith('"sha256:')
    for path in ("models/credit/versions/1/nothing", "runs/abc", "models/credit/versions/9"):
        reply = _call(ml, "viewer", "GET", listing, path=path)
        _error(reply, 404, "RESOURCE_DOES_NOT_EXIST")
    traversal = _call(ml, "viewer", "GET", listing, path="models/credit/versions/1/../../x")
    _error(traversal, 400, "INVALID_PARAMETER_VALUE")
    other = _call(ml, "fraud-admin", "GET", listing, path="models/credit/versions/1")
    assert _error(other, 404, "RESOURCE_DOES_NOT_EXIST") == "model 'credit' not found"
    file = ml.client.get(
        f"{listing}/models/credit/versions/1/MLmodel", headers=ml.as_("fraud-admin")
    )
    assert _error(file, 404, "RESOURCE_DOES_NOT_EXIST") == "model 'credit' not found"


def test_unsupported_operations_and_errors_in_mlflow_shape(ml: Api) -> None:
    created = _ok(ml, "contributor", "POST", f"{RM}/create", name="credit-eu")
    assert created["registered_model"]["name"] == "credit-eu"
    assert _call(ml, "viewer", "GET", f"{RM}/get", name="credit-eu").status_code == 200
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}")
    unknown = _call(ml, "contributor", "POST", f"{MV}/create", name="credit-us",
                    source=f"models:/{MODEL_ID}")  # fmt: skip
    _error(unknown, 404, "RESOURCE_DOES_NOT_EXIST")  # as MLflow: the model comes first
    assert "credit-us" not in [m.name for m in ml.registry.models()]
    again = _call(ml, "contributor", "POST", f"{RM}/create", name="credit")
    _error(again, 400, "RESOURCE_ALREADY_EXISTS")
    _error(_call(ml, "viewer", "GET", f"{RM}/get", name="risk/eu"), 400,
           "INVALID_PARAMETER_VALUE")  # fmt: skip
    _error(_call(ml, "viewer", "GET", f"{RM}/get", name="Credit Risk"), 404,
           "RESOURCE_DOES_NOT_EXIST")  # fmt: skip
    _error(_call(ml, "viewer", "GET", f"{MV}/get", name="credit", version="x"), 400,
           "INVALID_PARAMETER_VALUE")  # fmt: skip
    _error(_call(ml, "viewer", "GET", f"{MV}/get", name="credit", version="7"), 404,
           "RESOURCE_DOES_NOT_EXIST")  # fmt: skip
    _error(_call(ml, "viewer", "GET", "/api/2.0/mlflow/experiments/get", experiment_id="1"), 404,
           "ENDPOINT_NOT_FOUND")  # fmt: skip
    malformed = ml.client.post(f"{MV}/set-tag", headers=ml.as_("admin"), content=b"{not json")
    _error(malformed, 400, "INVALID_PARAMETER_VALUE")
    denied = _call(ml, "viewer", "POST", f"{RM}/alias", name="credit", alias="champion", version=1)
    _error(denied, 403, "PERMISSION_DENIED")
    reserved = _call(ml, "admin", "POST", f"{MV}/set-tag", name="credit", version="1",
                     key="mlflow.description", value="x")  # fmt: skip
    _error(reserved, 400, "INVALID_PARAMETER_VALUE")
    # the native API keeps its own shape
    native = ml.client.get("/api/v1/models/nope", headers=ml.as_("viewer"))
    assert native.status_code == 404 and native.json()["code"] == "not_found"


def test_registered_model_description_and_tags_are_kept_and_recorded(ml: Api) -> None:
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}")
    again = _call(ml, "contributor", "POST", f"{RM}/create", name="credit",
                  description="d", tags=[{"key": "k", "value": "v"}])  # fmt: skip
    _error(again, 400, "RESOURCE_ALREADY_EXISTS")
    updated = _ok(ml, "contributor", "PATCH", f"{RM}/update", name="credit",
                  description="Scores loans.")  # fmt: skip
    assert updated["registered_model"]["description"] == "Scores loans."
    _ok(ml, "contributor", "POST", f"{RM}/set-tag", name="credit", key="owner", value="risk")
    _ok(ml, "contributor", "POST", f"{RM}/set-tag", name="credit", key="tier", value="1")
    _ok(ml, "contributor", "DELETE", f"{RM}/delete-tag", name="credit", key="tier")
    found = _ok(ml, "viewer", "GET", f"{RM}/get", name="credit")["registered_model"]
    assert found["description"] == "Scores loans."
    assert found["tags"] == [{"key": "owner", "value": "risk"}]
    assert found["latest_versions"][0]["tags"] == []  # the version keeps its own tags
    hits = _ok(ml, "viewer", "GET", f"{RM}/search", filter="tags.owner = 'risk'")
    assert [m["name"] for m in hits["registered_models"]] == ["credit"]
    misses = _ok(ml, "viewer", "GET", f"{RM}/search", filter="tags.owner = 'fraud'")
    assert misses.get("registered_models", []) == []
    _ok(ml, "contributor", "DELETE", f"{RM}/delete-tag", name="credit", key="tier")  # as MLflow
    bad = _call(ml, "contributor", "POST", f"{RM}/set-tag", name="credit", key="a b", value="v")
    _error(bad, 400, "INVALID_PARAMETER_VALUE")
    novalue = _call(ml, "contributor", "POST", f"{RM}/set-tag", name="credit", key="k")
    _error(novalue, 400, "INVALID_PARAMETER_VALUE")
    missing = _call(ml, "contributor", "PATCH", f"{RM}/update", name="nope", description="d")
    _error(missing, 404, "RESOURCE_DOES_NOT_EXIST")
    events = ml.registry.model_events("credit")
    assert [(e.kind, e.key, e.actor) for e in events] == [
        ("created", None, "admin-user"),
        ("described", None, "contributor-user"),
        ("tag_set", "owner", "contributor-user"),
        ("tag_set", "tier", "contributor-user"),
        ("tag_removed", "tier", "contributor-user"),
    ]
    kinds = [e["kind"] for e in ml.registry.audit_log("model:credit")]
    assert kinds[-4:] == ["model.described", "model.tag_set", "model.tag_set", "model.tag_removed"]


def test_basic_auth_takes_the_token_as_password(ml: Api) -> None:
    token = ml.tokens["viewer"]

    def basic(user: str, password: str) -> dict[str, str]:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    for user in ("viewer-user", ""):
        reply = ml.client.get(f"{RM}/search", headers=basic(user, token))
        assert reply.status_code == 200, reply.text
    wrong_user = ml.client.get(f"{RM}/search", headers=basic("admin-user", token))
    assert "does not match" in _error(wrong_user, 401, "UNAUTHENTICATED")
    _error(ml.client.get(f"{RM}/search", headers=basic("viewer-user", "")), 401, "UNAUTHENTICATED")
    _error(ml.client.get(f"{RM}/search", headers={"Authorization": "Basic !!"}), 401,
           "UNAUTHENTICATED")  # fmt: skip
    native = ml.client.get("/api/v1/models", headers=basic("viewer-user", token))
    assert native.status_code == 200


def test_sources_must_be_folders_given_as_file_uris(tmp_path: Path) -> None:
    from modelrepo.domain.errors import InvalidInput

    for bad in ("s3://bucket/prefix", "relative/path", (tmp_path / "missing").as_uri()):
        with pytest.raises(InvalidInput):
            Sources.parse([bad])
    assert Sources.parse([str(tmp_path)]).roots == (Path(os.path.realpath(tmp_path)),)
