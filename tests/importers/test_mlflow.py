"""`import mlflow` against a real MLflow registry (an SQLite tracking store made with mlflow's
own client), version by version and event by event, then again with nothing duplicated."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo import Registry
from modelrepo.domain.errors import InvalidInput
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

    client.create_registered_model("CREDIT RISK", description="no versions yet")
    client.create_registered_model("fraud")
    for i in (1, 2, 3):
        log("fraud", i)
    client.delete_model_version("fraud", "2")  # a gap, kept as a deleted version
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


def _plain(reg: Registry, model: str, env: str, at: datetime | None = None) -> list[int]:
    return [v.version for v in reg.live(model, env=env, at=at).versions]


def _unknown(reg: Registry, model: str, env: str, at: datetime) -> bool:
    state = reg.live(model, env=env, at=at)
    return state.unknown is not None and not state.versions


def test_import_keeps_names_numbers_and_states_only_what_mlflow_says(
    open_registry, source: Source
) -> None:
    reg = open_registry(user="alice")
    report = import_mlflow(reg, source.uri, models=["Credit Risk", "CREDIT RISK", "fraud"])

    mapping = {(v["source_ref"], v["version"], v["status"]) for v in report.versions}
    assert mapping == {
        ("mlflow:Credit Risk/1", 1, "imported"),
        ("mlflow:Credit Risk/2", 2, "imported"),
        ("mlflow:Credit Risk/3", 3, "imported"),
        ("mlflow:fraud/1", 1, "imported"),
        ("mlflow:fraud/2", 2, "deleted"),
        ("mlflow:fraud/3", 3, "imported"),
    }
    for (name, number), folder in source.folders.items():
        if (name, number) == ("fraud", 2):
            continue
        got = reg.get(name, number)
        assert got.digest == folder_digest(folder)
        assert reg.read_file(name, number, "MLmodel") == (folder / "MLmodel").read_bytes()
        assert got.description == f"{name} build {number}"
        assert got.params["C"] == str(number / 2)
        assert got.params["mlflow.run_id"]
        assert got.params["mlflow.source"].startswith("runs:/")
        assert got.metrics == {"auc": pytest.approx(0.8 + number / 100)}
        assert got.tags["import.ref"] == f"mlflow:{name}/{number}"
        assert got.tags["import.from"] == source.uri
        assert got.tags["import.created_at"] == source.created[(name, number)].strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        assert got.tags["trained-by"] == f"job-{number}"
    deleted = reg.versions("fraud", include_deleted=True)
    assert [(v.version, v.deleted_at is not None) for v in deleted] == [
        (1, False),
        (2, True),
        (3, False),
    ]
    assert [v.version for v in reg.versions("fraud")] == [1, 3]

    credit = reg.model("Credit Risk")
    assert (credit.tags, credit.description) == ({"team": "risk"}, "Scores loan applications")
    empty = reg.model("CREDIT RISK")  # case-sensitive, as in MLflow: another model
    assert (empty.description, reg.versions("CREDIT RISK")) == ("no versions yet", [])
    assert reg.get("Credit Risk", 1).tags["mlflow.stage"] == "Production"
    assert reg.get("fraud", 1).tags["mlflow.stage"] == "Archived"
    assert "mlflow.stage" not in reg.get("Credit Risk", 2).tags

    # What MLflow serves now is what serves here now; before the import, nothing is known.
    assert _plain(reg, "Credit Risk", "champion") == [2]
    assert _plain(reg, "Credit Risk", "production") == [3]  # the alias, not the stage
    assert _plain(reg, "fraud", "live") == [3]
    observed = reg.history("Credit Risk", env="champion")
    assert [(e.kind, e.unknown_from) for e in observed] == [("observe", None)]
    assert observed[0].earliest_at == source.created[("Credit Risk", 2)]
    assert "which keeps no history" in (observed[0].reason or "")
    for model, env in (
        ("Credit Risk", "champion"),
        ("Credit Risk", "production"),
        ("fraud", "live"),
    ):
        (seen,) = reg.history(model, env=env)
        for when in (source.created[(model, 1)], seen.effective_at - MS):
            assert _unknown(reg, model, env, when), (model, env, when)
        assert not _unknown(reg, model, env, seen.effective_at)
    assert len(report.events) == 3

    unmapped = {u["what"]: u["why"] for u in report.unmapped}
    assert "the alias production" in unmapped["Credit Risk stage Production"]
    assert any("free text key" in what for what in unmapped)

    before = (
        [(v.version, v.digest) for m in ("Credit Risk", "fraud") for v in reg.versions(m)],
        [e.event_id for m in ("Credit Risk", "fraud") for e in reg.history(m)],
        len(reg.audit_log()),
    )
    again = import_mlflow(reg, source.uri, models=["Credit Risk", "CREDIT RISK", "fraud"])
    assert again.counts() == {
        "versions_imported": 0,
        "versions_existing": 5,
        "versions_deleted": 0,
        "events_imported": 0,
        "events_existing": 3,
        "unmapped": len(report.unmapped),
    }
    after = (
        [(v.version, v.digest) for m in ("Credit Risk", "fraud") for v in reg.versions(m)],
        [e.event_id for m in ("Credit Risk", "fraud") for e in reg.history(m)],
        len(reg.audit_log()),
    )
    assert after == before
    assert reg.audit_verify().ok


@pytest.mark.sqlite_only
def test_cli_import_then_live_says_unknown_before_it(run: Run, source: Source) -> None:
    doc = run("import", "mlflow", "--tracking-uri", source.uri, "--model", "fraud", "--json").json
    assert doc["counts"]["versions_imported"] == 2
    assert doc["counts"]["versions_deleted"] == 1
    assert doc["counts"]["events_imported"] == 1
    again = run("import", "mlflow", "--tracking-uri", source.uri, "--model", "fraud")
    assert "0 versions and 0 deployment events imported; 2 versions and 1 events" in again.out
    at = source.created[("fraud", 3)].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    before = run("live", "fraud", "--env", "live", "--at", at)
    assert "unknown before" in before.out and "which keeps no history" in before.out
    assert before.out.splitlines()[1].strip().startswith("unknown before ")  # no version
    assert run("live", "fraud", "--env", "live", "--at", at, "--json").json["versions"] == []
    now = run("live", "fraud", "--env", "live", "--json").json
    assert [v["version"] for v in now["versions"]] == [3]
    assert now["versions"][0]["digest"] == folder_digest(source.folders[("fraud", 3)])


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
    assert run("versions", "linked", "--json").json["versions"] == []  # the model, empty


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
    assert doc["source"] == f"MLflow ({folder.as_uri()})"
    assert list(cwd.iterdir()) == []  # no default MLflow store appeared beside the import
    assert run("import", "mlflow", "--tracking-uri", str(folder), "--json").json["counts"] == {
        "versions_imported": 0,
        "versions_existing": 1,
        "versions_deleted": 0,
        "events_imported": 0,
        "events_existing": 1,
        "unmapped": 0,
    }


def test_the_import_leaves_its_source_as_it_found_it(tmp_path: Path) -> None:
    """MLflow's client upgrades an SQLite store whose schema is older than its own (here,
    one migration back, as the MLflow release before it left it); the import reads a copy,
    so the team's own registry is never written to."""
    import hashlib

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    _build_in_a_process(uri, tmp_path, extra="""
        from alembic import command
        from mlflow.store.db.utils import _get_alembic_config
        command.downgrade(_get_alembic_config(uri), "-1")  # as the release before left it
        """)  # fmt: skip
    before = hashlib.sha256(db.read_bytes()).hexdigest(), sorted(p.name for p in tmp_path.iterdir())

    with Registry(tmp_path / "store", user="alice") as reg:
        report = import_mlflow(reg, uri)
        assert [v["version"] for v in report.versions] == [1]
    after = (
        hashlib.sha256(db.read_bytes()).hexdigest(),
        sorted(p.name for p in tmp_path.iterdir() if p.name != "store"),
    )
    assert after == before, "the source is byte for byte what it was, with nothing beside it"


def _build_in_a_process(uri: str, root: Path, extra: str = "") -> None:
    """A registry with one version of `churn` (alias `champion`), made by MLflow's client in
    another process, as a team's registry is (MLflow keeps the stores it opened); `extra` is
    more of the script, run after it."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import pathlib, sys
        from mlflow import MlflowClient
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
        client.set_registered_model_alias("churn", "champion", "1")
        """
    ) + textwrap.dedent(extra)
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    subprocess.run(
        [sys.executable, "-c", script, uri, str(root)],
        check=True, capture_output=True, cwd=root, env=env,
    )  # fmt: skip


def _tree(root: Path) -> dict[str, str]:
    import hashlib

    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "folder"
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.sqlite_only
def test_a_file_store_is_left_as_it_was_found(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's file store writes a default experiment into a store that lacks one when its
    client opens it: the import reads a copy of the metadata, never the store itself."""
    import shutil

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow's opt-in for file stores
    folder = tmp_path / "mlruns"
    _build_in_a_process(str(folder), tmp_path)
    shutil.rmtree(folder / "0")  # as a store whose default experiment was removed
    before = _tree(tmp_path)
    monkeypatch.chdir(tmp_path / "model")
    doc = run("import", "mlflow", "--tracking-uri", str(folder), "--json").json
    assert [(v["version"], v["status"]) for v in doc["versions"]] == [(1, "imported")]
    after = {k: v for k, v in _tree(tmp_path).items() if not k.startswith("store")}
    assert after == before


def test_a_postgresql_source_is_read_in_read_only_transactions(
    tmp_path: Path, store_dir: Path
) -> None:
    """A database source is read without a single write, and refused, untouched, when its
    schema is not the one the installed MLflow client expects (it would migrate it)."""
    import psycopg

    from ..postgres import fresh_database

    with fresh_database(None) as url:
        uri = url.replace("postgresql://", "postgresql+psycopg://", 1)
        _build_in_a_process(uri, tmp_path)

        def contents() -> list[Any]:
            with psycopg.connect(url) as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                    )
                ]
                return [
                    (t, sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall())))
                    for t in tables
                ]

        before = contents()
        with Registry(store_dir, user="alice") as reg:
            report = import_mlflow(reg, uri)
            assert [(v["version"], v["status"]) for v in report.versions] == [(1, "imported")]
            assert [v.version for v in reg.live("churn", env="champion").versions] == [1]
        assert contents() == before

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE alembic_version SET version_num = 'an-older-one'")
        older = contents()
        with (
            Registry(tmp_path / "other", user="alice") as reg,
            pytest.raises(InvalidInput, match="would migrate the database in place"),
        ):
            import_mlflow(reg, uri)
        assert contents() == older
