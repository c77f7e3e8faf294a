"""MLflow registry calls answered as MLflow does, over a real store: legacy stages as version
labels (the stage's environment serving its highest-numbered holder), reserved aliases,
`copy_model_version`, run ids from logged models, tracking endpoints."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo.clock import ManualClock
from modelrepo.domain.stages import STAGE_TAG

from .conftest import Api
from .test_mlflow_api import MODEL_ID, MV, RM, _call, _error, _logged_model, _ok, ml, sources

__all__ = ["ml", "sources"]  # the fixtures, shared


def _versions(api: Api, name: str, count: int) -> None:
    for _ in range(count):
        _ok(api, "contributor", "POST", f"{MV}/create", name=name, source=f"models:/{MODEL_ID}")


def _stage(api: Api, version: int, stage: str, archive: bool = False) -> Any:
    return _call(api, "deployer", "POST", f"{MV}/transition-stage", name="credit",
                 version=str(version), stage=stage, archive_existing_versions=archive)  # fmt: skip


def _stages(api: Api) -> dict[str, str]:
    found = _ok(api, "viewer", "GET", f"{MV}/search", filter="name = 'credit'")
    return {v["version"]: v["current_stage"] for v in found["model_versions"]}


def _serving(api: Api, env: str) -> list[int]:
    return [v.version for v in api.registry.live("credit", env=env).versions]


def test_a_stage_is_a_label_and_its_environment_serves_the_highest_holder(
    ml: Api, clock: ManualClock
) -> None:
    _versions(ml, "credit", 3)
    for version in (3, 2):  # 2 enters Production after 3: 3 still serves, as in MLflow
        clock.advance(timedelta(minutes=1))
        moved = _stage(ml, version, "production")
        assert moved.status_code == 200, moved.text
        assert moved.json()["model_version"]["current_stage"] == "Production"
    assert _stages(ml) == {"3": "Production", "2": "Production", "1": "None"}
    assert _serving(ml, "production") == [3]
    assert len(ml.registry.history("credit", env="production")) == 1  # 2 changed nothing
    latest = _ok(ml, "viewer", "POST", f"{RM}/get-latest-versions", name="credit")
    assert [(v["version"], v["current_stage"]) for v in latest["model_versions"]] == [
        ("1", "None"), ("3", "Production"),
    ]  # fmt: skip

    _ok(ml, "deployer", "POST", f"{MV}/transition-stage", name="credit", version="3",
        stage="Archived")  # fmt: skip
    assert _stages(ml) == {"3": "Archived", "2": "Production", "1": "None"}
    assert _serving(ml, "production") == [2]  # the next highest holder
    archived = _ok(ml, "viewer", "POST", f"{RM}/get-latest-versions", name="credit",
                   stages=["archived"])  # fmt: skip
    assert [v["version"] for v in archived["model_versions"]] == ["3"]

    assert _stage(ml, 1, "Staging").status_code == 200
    assert _serving(ml, "staging") == [1]
    assert _stage(ml, 3, "Production", archive=True).status_code == 200
    assert _stages(ml) == {"3": "Production", "2": "Archived", "1": "Staging"}
    assert _serving(ml, "production") == [3]
    assert _stage(ml, 1, "None").status_code == 200
    assert _serving(ml, "staging") == []  # no holder left: undeployed
    assert ml.registry.history("credit", env="staging")[-1].kind == "undeploy"

    # The stage is the audited tag `mlflow.stage`, hidden from the tags MLflow clients see.
    assert ml.registry.get("credit", 3).tags[STAGE_TAG] == "Production"
    assert STAGE_TAG not in ml.registry.get("credit", 1).tags
    assert [(e.kind, e.value, e.actor) for e in ml.registry.events("credit", 1)] == [
        ("tag_set", "Staging", "deployer-user"), ("tag_removed", None, "deployer-user"),
    ]  # fmt: skip
    got = _ok(ml, "viewer", "GET", f"{MV}/get", name="credit", version="3")["model_version"]
    assert got["tags"] == []
    audit = [e["kind"] for e in ml.registry.audit_log("model:credit")]
    assert audit.count("version.tag_set") == 6 and audit.count("version.tag_removed") == 1
    assert ml.registry.audit_verify().ok

    refused = _call(ml, "contributor", "POST", f"{MV}/set-tag", name="credit", version="1",
                    key=STAGE_TAG, value="Production")  # fmt: skip
    assert "transition-stage" in _error(refused, 400, "INVALID_PARAMETER_VALUE")
    bad = _stage(ml, 1, "Archived", archive=True)
    assert "not an Active stage" in _error(bad, 400, "INVALID_PARAMETER_VALUE")
    _error(_stage(ml, 1, "Shipped"), 400, "INVALID_PARAMETER_VALUE")
    _error(_stage(ml, 9, "Staging"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_last_updated_moves_with_the_description_and_the_stage_only(
    ml: Api, clock: ManualClock
) -> None:
    _versions(ml, "credit", 1)

    def updated() -> tuple[int, int]:
        version = _ok(ml, "viewer", "GET", f"{MV}/get", name="credit", version="1")
        model = _ok(ml, "viewer", "GET", f"{RM}/get", name="credit")
        return (
            version["model_version"]["last_updated_timestamp"],
            model["registered_model"]["last_updated_timestamp"],
        )

    def changed(index: int) -> int:
        return int(ml.registry.events("credit", 1)[index].at.timestamp() * 1000)

    created = updated()
    clock.advance(timedelta(minutes=1))
    _ok(ml, "contributor", "POST", f"{MV}/set-tag", name="credit", version="1", key="k", value="v")
    assert updated() == created  # a tag is no update in MLflow
    clock.advance(timedelta(minutes=1))
    _ok(ml, "contributor", "PATCH", f"{MV}/update", name="credit", version="1", description="d")
    assert updated() == (changed(1), created[1])  # nor, for the model, a version's description
    assert changed(1) >= created[0] + 120_000
    clock.advance(timedelta(minutes=1))
    assert _stage(ml, 1, "Staging").status_code == 200
    assert updated() == (changed(2), changed(2))


def test_searches_order_by_last_update_and_build_only_the_page(ml: Api, clock: ManualClock) -> None:
    for name in ("credit", "fraud"):
        if name != "credit":
            _ok(ml, "admin", "POST", f"{RM}/create", name=name)
        _versions(ml, name, 2)
        clock.advance(timedelta(minutes=1))
    assert _stage(ml, 1, "Staging").status_code == 200  # credit@1, and so credit, updated last

    def names(**query: Any) -> list[str]:
        found = _ok(ml, "viewer", "GET", f"{RM}/search", **query)["registered_models"]
        return [m["name"] for m in found]

    assert names(order_by=["last_updated_timestamp DESC"]) == ["credit", "fraud"]
    assert names(order_by=["creation_timestamp DESC"]) == ["fraud", "credit"]
    assert names(order_by=["last_updated_timestamp DESC"], max_results=1) == ["credit"]
    found = _ok(ml, "viewer", "GET", f"{MV}/search", order_by=["last_updated_timestamp DESC"],
                max_results=3)  # fmt: skip
    rows = [(v["name"], v["version"], v["current_stage"]) for v in found["model_versions"]]
    assert rows[0] == ("credit", "1", "Staging") and len(rows) == 3
    assert found["next_page_token"] == "3"
    rest = _ok(ml, "viewer", "GET", f"{MV}/search", order_by=["last_updated_timestamp DESC"],
               max_results=3, page_token="3")  # fmt: skip
    assert len(rest["model_versions"]) == 1 and "next_page_token" not in rest


def test_a_stage_on_a_protected_environment_awaits_approval_and_changes_nothing(ml: Api) -> None:
    _versions(ml, "credit", 1)
    ml.registry.protect("credit", env="production")
    reply = _stage(ml, 1, "Production")
    assert "awaits approval" in _error(reply, 202, "INVALID_STATE")
    assert _stages(ml) == {"1": "None"} and _serving(ml, "production") == []
    request = ml.registry.requests("credit")[0]
    ml.registry.as_user("risk-officer").approve(request.request_id)
    assert _serving(ml, "production") == [1]
    assert _stage(ml, 1, "Production").status_code == 200  # now only the label changes
    assert _stages(ml) == {"1": "Production"}
    assert len(ml.registry.history("credit", env="production")) == 1


def test_aliases_as_mlflow_checks_them(ml: Api) -> None:
    _versions(ml, "credit", 2)
    for alias in ("latest", "Latest", "v1", "V12"):
        reply = _call(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias=alias,
                      version="1")  # fmt: skip
        assert "reserved" in _error(reply, 400, "INVALID_PARAMETER_VALUE"), alias
    bad = _call(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias="a b", version="1")
    assert "Invalid alias name" in _error(bad, 400, "INVALID_PARAMETER_VALUE")
    assert ml.registry.environments("credit") == []
    _ok(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias="v1x", version="1")
    latest = _ok(ml, "viewer", "GET", f"{RM}/alias", name="credit", alias="latest")
    assert latest["model_version"]["version"] == "2"
    missing = _call(ml, "viewer", "GET", f"{RM}/alias", name="credit", alias="champion")
    assert _error(missing, 400, "INVALID_PARAMETER_VALUE") == (
        "Registered model alias champion not found."
    )
    _error(_call(ml, "viewer", "GET", f"{RM}/alias", name="nope", alias="champion"), 404,
           "RESOURCE_DOES_NOT_EXIST")  # fmt: skip
    _ok(ml, "deployer", "DELETE", f"{RM}/alias", name="credit", alias="champion")
    assert [e.name for e in ml.registry.environments("credit")] == ["v1x"]


def test_deleting_a_tag_that_is_not_there_succeeds_and_records_nothing(ml: Api) -> None:
    _versions(ml, "credit", 1)
    created = ml.registry.model_events("credit")  # the model's creation, and nothing since
    assert [e.kind for e in created] == ["created"]
    _ok(ml, "contributor", "DELETE", f"{MV}/delete-tag", name="credit", version="1", key="nope")
    _ok(ml, "contributor", "DELETE", f"{RM}/delete-tag", name="credit", key="nope")
    assert ml.registry.events("credit", 1) == [] and ml.registry.model_events("credit") == created
    gone = _call(ml, "contributor", "DELETE", f"{MV}/delete-tag", name="credit", version="7",
                 key="nope")  # fmt: skip
    _error(gone, 404, "RESOURCE_DOES_NOT_EXIST")
    nomodel = _call(ml, "contributor", "DELETE", f"{RM}/delete-tag", name="nope", key="k")
    _error(nomodel, 404, "RESOURCE_DOES_NOT_EXIST")


def test_copy_model_version_registers_the_same_files_by_digest(ml: Api, sources: Path) -> None:
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{MODEL_ID}",
        run_id="run-1", tags=[{"key": "team", "value": "risk"}], description="first")  # fmt: skip
    _ok(ml, "deployer", "POST", f"{RM}/alias", name="credit", alias="champion", version="1")
    blobs = sorted(b.sha256 for b in ml.registry.backend.blobs.list())
    # What MlflowClient.copy_model_version sends: it creates the registered model first,
    # then the version with the source version's fields.
    _ok(ml, "contributor", "POST", f"{RM}/create", name="credit-prod")
    copied = _ok(ml, "contributor", "POST", f"{MV}/create", name="credit-prod",
                 source="models:/credit/1", run_id="run-1",
                 tags=[{"key": "team", "value": "risk"}], description="first")  # fmt: skip
    doc = copied["model_version"]
    assert (doc["name"], doc["version"], doc["source"], doc["run_id"]) == (
        "credit-prod", "1", "models:/credit/1", "run-1",
    )  # fmt: skip
    source, copy = ml.registry.get("credit", 1), ml.registry.get("credit-prod", 1)
    assert copy.files == source.files and copy.digest == source.digest
    assert copy.flavor == source.flavor and copy.tags == {"team": "risk"}
    assert copy.params["mlflow.copied_from"] == {"version": "credit@1", "digest": source.digest}
    assert sorted(b.sha256 for b in ml.registry.backend.blobs.list()) == blobs  # stored once
    by_alias = _ok(ml, "contributor", "POST", f"{MV}/create", name="credit-prod",
                   source="models:/credit@champion")  # fmt: skip
    assert by_alias["model_version"]["version"] == "2"
    assert ml.registry.get("credit-prod", 2).params["mlflow.copied_from"]["version"] == "credit@1"
    for bad, status, code in (
        ("models:/credit/9", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("models:/nope/1", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("models:/credit@nope", 400, "INVALID_PARAMETER_VALUE"),
        ("models:/credit/Shipped", 400, "INVALID_PARAMETER_VALUE"),
    ):
        reply = _call(ml, "contributor", "POST", f"{MV}/create", name="credit-prod", source=bad)
        _error(reply, status, code)
    # A file too large to keep in the record is a blob: the copy names the same one.
    big = _logged_model(sources, "4", "m-0b16", '{"w": 5}')
    (big / "data" / "weights.bin").write_bytes(bytes(range(256)) * 1024)  # 256 KiB
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source="models:/m-0b16")
    blobs = sorted(b.sha256 for b in ml.registry.backend.blobs.list())
    assert len(blobs) == 1
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit-prod", source="models:/credit/2")
    assert ml.registry.get("credit-prod", 3).files == ml.registry.get("credit", 2).files
    assert sorted(b.sha256 for b in ml.registry.backend.blobs.list()) == blobs
    # A model outside the token's scope is a missing one, as the source too.
    _ok(ml, "fraud-admin", "POST", f"{RM}/create", name="fraud-x")
    hidden = _call(ml, "fraud-admin", "POST", f"{MV}/create", name="fraud-x",
                   source="models:/credit/1")  # fmt: skip
    assert _error(hidden, 404, "RESOURCE_DOES_NOT_EXIST") == "model 'credit' not found"
    assert [v.version for v in ml.registry.versions("credit-prod")] == [1, 2, 3]


def test_the_run_id_is_read_from_the_logged_model(ml: Api, sources: Path) -> None:
    folder = _logged_model(sources, "3", "m-0abc", '{"w": 3}')
    (folder.parent / "meta.yaml").write_text(
        "model_id: m-0abc\nsource_run_id: 0123abcd\nexperiment_id: '3'\n"
    )
    logged = _logged_model(sources, "3", "m-0def", '{"w": 4}')
    (logged / "MLmodel").write_text("run_id: 4567ef\nflavors: {}\n")
    # What mlflow.register_model("models:/m-...") sends: no run id, the logged model's id.
    for model_id in ("m-0abc", "m-0def"):
        _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source=f"models:/{model_id}",
            model_id=model_id)  # fmt: skip
    found = _ok(ml, "viewer", "GET", f"{MV}/search", filter="run_id = '0123abcd'")
    assert [(v["version"], v["model_id"]) for v in found["model_versions"]] == [("1", "m-0abc")]
    other = _ok(ml, "viewer", "GET", f"{MV}/get", name="credit", version="2")["model_version"]
    assert other["run_id"] == "4567ef" and other["source"] == "models:/m-0def"
    given = _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source="models:/m-0abc",
                run_id="sent-by-client")  # fmt: skip
    assert given["model_version"]["run_id"] == "sent-by-client"  # what the client says wins


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
def test_tracking_endpoints_say_they_are_not_served_here(ml: Api, prefix: str) -> None:
    for method, path in (
        ("GET", "/runs/get"),
        ("POST", "/runs/create"),
        ("POST", "/runs/log-metric"),
        ("GET", "/experiments/get-by-name"),
        ("POST", "/experiments/search"),
        ("DELETE", "/experiments/delete"),
        ("GET", "/metrics/get-history"),
        ("POST", "/logged-models"),
        ("GET", "/logged-models/m-1"),
        ("PATCH", "/logged-models/m-1/tags"),
        ("GET", "/traces"),
        ("PUT", "/anything/else"),
    ):
        reply = ml.client.request(method, f"{prefix}{path}", headers=ml.as_("admin"))
        message = _error(reply, 404, "ENDPOINT_NOT_FOUND")
        assert "model registry API only" in message and "docs/interop.md" in message
        assert f"{prefix}{path}" in message


@pytest.mark.sqlite_only  # corrupts a blob in the local folder
def test_a_copy_of_a_file_that_no_longer_matches_its_digest_registers_nothing(
    ml: Api, sources: Path
) -> None:
    big = _logged_model(sources, "4", "m-0b16", '{"w": 5}')
    (big / "data" / "weights.bin").write_bytes(bytes(range(256)) * 1024)
    _ok(ml, "contributor", "POST", f"{MV}/create", name="credit", source="models:/m-0b16")
    entry = next(f for f in ml.registry.get("credit", 1).files if f.path == "data/weights.bin")
    blob = ml.registry.backend.blobs._path(entry.sha256)  # type: ignore[attr-defined]
    blob.chmod(0o644)
    blob.write_bytes(b"X" + blob.read_bytes()[1:])
    _ok(ml, "contributor", "POST", f"{RM}/create", name="credit-prod")
    audited = ml.registry.ready()
    reply = _call(ml, "contributor", "POST", f"{MV}/create", name="credit-prod",
                  source="models:/credit/1")  # fmt: skip
    assert "no longer matches its digest" in _error(reply, 500, "DATA_LOSS")
    assert ml.registry.ready() == audited and ml.registry.versions("credit-prod") == []
    assert list(ml.registry.backend.blobs.partials()) == []
