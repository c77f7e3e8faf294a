"""`import mlflow` against a real MLflow registry (an SQLite tracking store made with mlflow's
own client), version by version and event by event, then again with nothing duplicated."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelrepo import NotFound, Registry
from modelrepo.importers.mlflow import import_mlflow

from ..cli.conftest import Run
from .conftest import folder_digest

pytest.importorskip("mlflow")

# MLflow's SQL store still uses a loader strategy SQLAlchemy 2.1 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"
)

MS = timedelta(milliseconds=1)


@dataclass
class Source:
    """The registry built, and what the test expects of each version."""

    uri: str
    root: Path
    folders: dict[tuple[str, int], Path] = field(default_factory=dict)
    created: dict[tuple[str, int], datetime] = field(default_factory=dict)
    updated: dict[tuple[str, int], datetime] = field(default_factory=dict)


def _time(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("credit", artifact_location=(root / "runs").as_uri())
    built = Source(uri, root)

    def log(model: str, i: int) -> str:
        folder = root / f"{model.replace(' ', '_')}-{i}"
        (folder / "weights").mkdir(parents=True)
        (folder / "MLmodel").write_text(f"flavors:\n  generic: {{}}\nrun: {i}\n")
        (folder / "weights" / "coefficients.json").write_text(f'{{"income": {i / 10}}}\n')
        run = client.create_run(experiment).info.run_id
        client.log_param(run, "C", str(i / 2))
        client.log_metric(run, "auc", 0.8 + i / 100)
        client.log_artifacts(run, str(folder), "model")
        client.set_terminated(run)
        mv = client.create_model_version(
            model,
            f"runs:/{run}/model",
            run_id=run,
            tags={"trained-by": f"job-{i}"},
            description=f"{model} build {i}",
        )
        built.folders[(model, int(mv.version))] = folder
        return str(mv.version)

    client.create_registered_model(
        "Credit Risk", tags={"team": "risk"}, description="Scores loan applications"
    )
    log("Credit Risk", 1)
    log("Credit Risk", 2)
    with warnings.catch_warnings():  # stages are deprecated, and still allowed
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage("Credit Risk", "1", "Production")
    client.set_registered_model_alias("Credit Risk", "champion", "2")
    log("Credit Risk", 3)
    client.set_registered_model_alias("Credit Risk", "production", "3")

    client.create_registered_model("CREDIT RISK")  # no versions; its name clashes
    client.create_registered_model("fraud")
    for i in (1, 2, 3):
        log("fraud", i)
    client.delete_model_version("fraud", "2")  # a gap: fraud's numbers cannot be kept
    client.set_registered_model_alias("fraud", "live", "3")
    client.set_model_version_tag("fraud", "1", "free text key", "x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage("fraud", "1", "Archived")

    for model in ("Credit Risk", "fraud"):
        for mv in client.search_model_versions(f"name = '{model}'"):
            built.created[(model, int(mv.version))] = _time(mv.creation_timestamp)
            built.updated[(model, int(mv.version))] = _time(mv.last_updated_timestamp)
    return built


def _plain(reg: Registry, model: str, env: str, at: datetime) -> list[int]:
    return [v.version for v in reg.live(model, env=env, at=at).versions]


def test_import_maps_every_version_and_event_once(open_registry, source: Source) -> None:
    reg = open_registry(user="alice")
    report = import_mlflow(reg, source.uri, models=["Credit Risk", "fraud"])

    mapping = {(v["source_ref"], v["version"]) for v in report.versions}
    assert mapping == {
        ("mlflow:Credit Risk/1", 1),
        ("mlflow:Credit Risk/2", 2),
        ("mlflow:Credit Risk/3", 3),
        ("mlflow:fraud/1", 1),
        ("mlflow:fraud/3", 2),
    }
    assert {v["source_ref"] for v in report.versions if v["renumbered"]} == {"mlflow:fraud/3"}
    local = {("Credit Risk", 1): ("Credit Risk", 1), ("Credit Risk", 2): ("Credit Risk", 2)}
    local |= {("Credit Risk", 3): ("Credit Risk", 3), ("fraud", 1): ("fraud", 1)}
    local |= {("fraud", 3): ("fraud", 2)}
    for (name, number), (model, version) in local.items():
        got = reg.get(model, version)
        assert got.digest == folder_digest(source.folders[(name, number)])
        assert (
            reg.read_file(model, version, "MLmodel")
            == (source.folders[(name, number)] / "MLmodel").read_bytes()
        )
        assert got.description == f"{name} build {number}"
        assert got.params == {"C": str(number / 2)}
        assert got.metrics == {"auc": pytest.approx(0.8 + number / 100)}
        assert got.tags["import.ref"] == f"mlflow:{name}/{number}"
        assert got.tags["import.from"] == source.uri
        assert got.tags["import.created_at"] == source.created[(name, number)].strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        assert got.tags["trained-by"] == f"job-{number}"
        assert got.tags["mlflow.run_id"]
    credit = reg.model("Credit Risk")
    assert (credit.tags, credit.description) == ({"team": "risk"}, "Scores loan applications")
    assert not any(k.startswith("mlflow.model.") for k in reg.get("Credit Risk", 1).tags)
    assert [(e.kind, e.actor) for e in reg.model_events("Credit Risk")] == [
        ("described", "alice"),
        ("tag_set", "alice"),
    ]
    assert reg.model("fraud").tags == {}

    # Production: v1 by its stage (at its last update), then v3 by the alias (at v3's creation).
    staged = source.updated[("Credit Risk", 1)]
    v3_created = source.created[("Credit Risk", 3)]
    assert staged < v3_created
    production = reg.history("Credit Risk", env="production")
    assert [(e.effective_at, [a.version for a in e.versions]) for e in production] == [
        (staged, [1]),
        (v3_created, [3]),
    ]
    assert all(e.backfill and e.reason.startswith("imported from mlflow ") for e in production)
    assert "stage Production" in production[0].reason
    assert "alias production" in production[1].reason
    assert "keeps no alias times" in production[1].reason
    assert _plain(reg, "Credit Risk", "production", staged - MS) == []
    assert _plain(reg, "Credit Risk", "production", staged) == [1]
    assert _plain(reg, "Credit Risk", "production", v3_created - MS) == [1]
    assert _plain(reg, "Credit Risk", "production", v3_created) == [3]
    v2_created = source.created[("Credit Risk", 2)]
    assert _plain(reg, "Credit Risk", "champion", v2_created - MS) == []
    assert _plain(reg, "Credit Risk", "champion", v2_created) == [2]
    assert _plain(reg, "fraud", "live", source.created[("fraud", 3)]) == [2]
    assert len(report.events) == 4

    unmapped = {u["what"]: u["why"] for u in report.unmapped}
    assert "Archived" in " ".join(unmapped)
    assert any("free text key" in what for what in unmapped)

    before = (
        [v.digest for m in ("Credit Risk", "fraud") for v in reg.versions(m)],
        [e.event_id for m in ("Credit Risk", "fraud") for e in reg.history(m)],
        len(reg.audit_log()),
    )
    again = import_mlflow(reg, source.uri, models=["Credit Risk", "fraud"])
    assert again.counts() == {
        "versions_imported": 0,
        "versions_existing": 5,
        "events_imported": 0,
        "events_existing": 4,
        "unmapped": len(report.unmapped),
    }
    after = (
        [v.digest for m in ("Credit Risk", "fraud") for v in reg.versions(m)],
        [e.event_id for m in ("Credit Risk", "fraud") for e in reg.history(m)],
        len(reg.audit_log()),
    )
    assert after == before


@pytest.mark.sqlite_only
def test_cli_import_and_as_of_queries(run: Run, source: Source) -> None:
    doc = run("import", "mlflow", "--tracking-uri", source.uri, "--model", "fraud", "--json").json
    assert doc["counts"]["versions_imported"] == 2
    assert doc["counts"]["events_imported"] == 1
    assert [u["what"] for u in doc["unmapped"]] == [
        "mlflow:fraud/1 tag free text key",
        "fraud version 1 stage Archived",
    ] or len(doc["unmapped"]) == 2
    again = run("import", "mlflow", "--tracking-uri", source.uri, "--model", "fraud")
    assert "0 versions and 0 deployment events imported; 2 versions and 1 events" in again.out
    assert "not mapped: fraud version 1 stage Archived" in again.out
    at = source.created[("fraud", 3)].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    live = run("live", "fraud", "--env", "live", "--at", at, "--json").json
    assert [v["version"] for v in live["versions"]] == [2]
    assert live["versions"][0]["digest"] == folder_digest(source.folders[("fraud", 3)])


@pytest.mark.sqlite_only
def test_hostile_sources_are_refused(
    run: Run, source: Source, tmp_path: Path, store_dir: Path
) -> None:
    for uri in (
        "ftp://host/mlruns",
        "databricks",
        "s3://bucket/mlruns",
        "https+x://host",
        "sqlite\x00:///x",
    ):
        bad = run("import", "mlflow", "--tracking-uri", uri, ok=False)
        assert bad.code == 1
        assert bad.err.startswith("error: ") and bad.err.count("\n") == 1, bad.err
    assert not store_dir.exists()  # refused before the store was opened

    # A version whose artifacts hold a link to a file outside them is refused, and the
    # file's content is nowhere in the store.
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=source.uri, registry_uri=source.uri)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the registry\n")
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    experiment = client.get_experiment_by_name("credit").experiment_id
    run_id = client.create_run(experiment).info.run_id
    client.log_artifacts(run_id, str(folder), "model")
    artifacts = Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))
    (artifacts / "model" / "leak.txt").symlink_to(secret)
    client.create_registered_model("linked")
    client.create_model_version("linked", f"runs:/{run_id}/model", run_id=run_id)

    doc = run("import", "mlflow", "--tracking-uri", source.uri, "--model", "linked", "--json").json
    assert doc["versions"] == []
    assert any("symbolic link" in u["why"] for u in doc["unmapped"]), doc["unmapped"]
    assert run("versions", "linked", "--json", ok=False).code == 1


@pytest.mark.sqlite_only
def test_a_file_store_given_as_a_folder(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow's opt-in for file stores
    monkeypatch.chdir(tmp_path)  # MLflow's file registry leaves ./mlflow.db where it runs
    folder = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=str(folder), registry_uri=str(folder))
    run_id = client.create_run(client.create_experiment("x")).info.run_id
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text('{"w": 1}\n')
    client.log_artifacts(run_id, str(model), "model")
    client.create_registered_model("scorer")
    mv = client.create_model_version("scorer", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("scorer", "Prod", mv.version)

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    doc = run("import", "mlflow", "--tracking-uri", str(folder), "--json").json
    assert [(v["version"], v["digest"]) for v in doc["versions"]] == [(1, folder_digest(model))]
    assert [(e["environment"], e["versions"]) for e in doc["events"]] == [
        ("Prod", [{"version": 1, "weight": 1.0}])
    ]
    assert doc["source"] == f"mlflow {folder.as_uri()}"
    assert list(cwd.iterdir()) == []  # no default MLflow store appeared beside the import
    assert run("import", "mlflow", "--tracking-uri", str(folder), "--json").json["counts"] == {
        "versions_imported": 0,
        "versions_existing": 1,
        "events_imported": 0,
        "events_existing": 1,
        "unmapped": 0,
    }


@pytest.mark.sqlite_only
def test_names_that_differ_only_in_case_stay_two_models(open_registry, source: Source) -> None:
    """As in MLflow, `CREDIT RISK` and `Credit Risk` are two models, both kept as named."""
    reg = open_registry(user="alice")
    report = import_mlflow(reg, source.uri, models=["CREDIT RISK", "Credit Risk"])
    assert {v["model"] for v in report.versions} == {"Credit Risk"}
    assert not [u for u in report.unmapped if "registered model" in u["what"]]
    assert [v.version for v in reg.versions("Credit Risk")] == [1, 2, 3]
    with pytest.raises(NotFound):
        reg.model("credit-risk")


def test_the_import_leaves_its_source_as_it_found_it(tmp_path: Path) -> None:
    """MLflow's client upgrades an SQLite store whose schema is older than its own (here,
    one migration back, as the MLflow release before it left it); the import reads a copy,
    so the team's own registry is never written to."""
    import hashlib
    import subprocess
    import sys
    import textwrap

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    # Made in another process, as a team's registry is: MLflow keeps the stores it opened.
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(
            """
            import pathlib, sys
            from alembic import command
            from mlflow import MlflowClient
            from mlflow.store.db.utils import _get_alembic_config
            uri, root = sys.argv[1], pathlib.Path(sys.argv[2])
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            experiment = client.create_experiment("e", artifact_location=(root / "runs").as_uri())
            folder = root / "model"
            folder.mkdir()
            (folder / "MLmodel").write_text("flavors:\\n  generic: {}\\n")
            run = client.create_run(experiment).info.run_id
            client.log_artifacts(run, str(folder), "model")
            client.create_registered_model("churn")
            client.create_model_version("churn", f"runs:/{run}/model", run_id=run)
            command.downgrade(_get_alembic_config(uri), "-1")  # as the release before left it
            """
        ), uri, str(tmp_path)],
        check=True, capture_output=True,
    )  # fmt: skip
    before = hashlib.sha256(db.read_bytes()).hexdigest(), sorted(p.name for p in tmp_path.iterdir())

    with Registry(tmp_path / "store", user="alice") as reg:
        report = import_mlflow(reg, uri)
        assert [v["version"] for v in report.versions] == [1]
    after = (
        hashlib.sha256(db.read_bytes()).hexdigest(),
        sorted(p.name for p in tmp_path.iterdir() if p.name != "store"),
    )
    assert after == before, "the source is byte for byte what it was, with nothing beside it"
