"""An import from MLflow states only what MLflow knows: a real MLflow registry whose aliases
moved back and forth, with two versions in one stage, description edits, a deleted version
and names with capitals and spaces, is imported; then every answer about what was live is
either true (checked against the timeline the test itself went through) or says unknown."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrepo import Registry
from modelrepo.importers.mlflow import import_mlflow

from ..cli.conftest import Run
from ..serving import serve
from .conftest import folder_digest

pytest.importorskip("mlflow")

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

NAME, OTHER = "Credit Risk", "CreditRisk"
MS = timedelta(milliseconds=1)


@dataclass
class Timeline:
    """What served each (model, alias or stage environment), from when, as the test made it
    happen in MLflow: a list of (instant just after the change, version or None)."""

    uri: str
    root: Path
    changes: dict[tuple[str, str], list[tuple[datetime, int | None]]] = field(default_factory=dict)
    folders: dict[tuple[str, int], Path] = field(default_factory=dict)

    def served(self, model: str, env: str, at: datetime) -> int | None:
        """What served at `at`; only meaningful outside the instants of a change."""
        current = None
        for when, version in self.changes.get((model, env), []):
            if when <= at:
                current = version
        return current

    def instants(self) -> list[datetime]:
        """Instants to ask about: around each change, and between changes."""
        found = sorted(w for changes in self.changes.values() for w, _ in changes)
        points = [found[0] - timedelta(days=1)]
        for a, b in zip(found, [*found[1:], found[-1] + timedelta(seconds=1)], strict=True):
            points += [a - MS, a + MS, a + (b - a) / 2]
        return points


def _now() -> datetime:
    return datetime.now(UTC)


def _step(
    timeline: Timeline, model: str, env: str, version: int | None, act: Callable[[], Any]
) -> None:
    """Do `act` in MLflow, and note that `env` serves `version` from just after it."""
    act()
    time.sleep(0.005)
    timeline.changes.setdefault((model, env), []).append((_now(), version))
    time.sleep(0.005)


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def timeline(tmp_path: Path) -> Timeline:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = _client(uri)
    experiment = client.create_experiment("credit", artifact_location=(tmp_path / "runs").as_uri())
    made = Timeline(uri, tmp_path)

    def log(model: str, i: int) -> None:
        folder = tmp_path / "built" / f"{model}-{i}"
        folder.mkdir(parents=True)
        (folder / "MLmodel").write_text(f"flavors:\n  generic: {{}}\nbuild: {model} {i}\n")
        (folder / "coefficients.json").write_text(f'{{"income": {i / 10}}}\n')
        run = client.create_run(experiment).info.run_id
        client.log_artifacts(run, str(folder), "model")
        mv = client.create_model_version(model, f"runs:/{run}/model", run_id=run)
        assert int(mv.version) == i
        made.folders[(model, i)] = folder

    def stage(version: int, to: str, archive: bool = False) -> Callable[[], Any]:
        return lambda: client.transition_model_version_stage(NAME, str(version), to, archive)

    client.create_registered_model(NAME, description="Scores loan applications")
    for i in (1, 2, 3, 4):
        log(NAME, i)
    alias = client.set_registered_model_alias
    _step(made, NAME, "champion", 1, lambda: alias(NAME, "champion", "1"))
    _step(made, NAME, "champion", 2, lambda: alias(NAME, "champion", "2"))
    _step(made, NAME, "champion", 1, lambda: alias(NAME, "champion", "1"))  # and back
    _step(made, NAME, "production", 2, stage(2, "Production"))
    _step(made, NAME, "production", 4, stage(4, "Production"))  # v2 stays in Production
    _step(made, NAME, "challenger", 4, lambda: alias(NAME, "challenger", "4"))
    client.delete_model_version(NAME, "3")
    # A description edit moves v2's last update after v4's: the stage must still serve v4.
    client.update_model_version(NAME, "2", description="re-described")
    client.update_registered_model(NAME, description="Scores loan applications, v2")

    client.create_registered_model(OTHER)
    log(OTHER, 1)
    _step(made, OTHER, "Champion", 1, lambda: alias(OTHER, "Champion", "1"))
    return made


def _answers(reg: Registry, timeline: Timeline, at: datetime) -> list[tuple[Any, ...]]:
    """Every (model, env, instant) whose answer is neither unknown nor what served."""
    wrong = []
    for model, env in timeline.changes:
        state = reg.live(model, env=env, at=at)
        if state.unknown is not None:
            assert state.versions == ()
            continue
        got = [v.version for v in state.versions]
        expected = timeline.served(model, env, at)
        if got != ([expected] if expected else []):
            wrong.append((model, env, at, got, expected))
    return wrong


def test_every_answer_is_true_or_unknown_and_a_second_import_adds_nothing(
    open_registry, timeline: Timeline
) -> None:
    reg = open_registry(user="alice")
    before_import = _now()
    import_mlflow(reg, timeline.uri)
    client = _client(timeline.uri)

    # Numbers as MLflow has them; the deleted v3 is a deleted version with its number.
    assert [
        (v.version, v.deleted_at is not None) for v in reg.versions(NAME, include_deleted=True)
    ] == [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
    ]
    for (model, number), folder in timeline.folders.items():
        if (model, number) != (NAME, 3):
            assert reg.get(model, number).digest == folder_digest(folder)

    # Now, every alias and stage serves exactly what MLflow serves.
    for model in (NAME, OTHER):
        for alias, version in client.get_registered_model(model).aliases.items():
            assert [v.version for v in reg.live(model, env=alias).versions] == [int(version)]
    (production,) = client.get_latest_versions(NAME, stages=["Production"])
    assert int(production.version) == 4
    assert [v.version for v in reg.live(NAME, env="production").versions] == [4]
    assert reg.get(NAME, 2).tags["mlflow.stage"] == "Production"

    # Every answer, at every instant of the timeline, is true or unknown; before the import
    # every one is unknown.
    instants = timeline.instants()
    assert len(instants) >= 20
    for at in [*instants, _now()]:
        assert _answers(reg, timeline, at) == []
    for at in instants:
        if at < before_import:
            for model, env in timeline.changes:
                assert reg.live(model, env=env, at=at).unknown is not None, (model, env, at)

    # A second import, on a source where only a description changed, records nothing.
    client.update_model_version(NAME, "4", description="re-described too")
    audit = len(reg.audit_log())
    events = [e.event_id for m in (NAME, OTHER) for e in reg.history(m)]
    again = import_mlflow(reg, timeline.uri)
    assert again.counts()["versions_imported"] == again.counts()["events_imported"] == 0
    assert [e.event_id for m in (NAME, OTHER) for e in reg.history(m)] == events
    assert len(reg.audit_log()) == audit
    first_at = next(e for e in reg.history(NAME, env="champion")).effective_at

    # Then MLflow changes: challenger moves, champion is removed, a stage empties.
    client.set_registered_model_alias(NAME, "challenger", "2")
    client.delete_registered_model_alias(NAME, "champion")
    client.transition_model_version_stage(NAME, "4", "Archived")
    third = import_mlflow(reg, timeline.uri)
    changed = {
        (e["environment"], tuple(v["version"] for v in e["versions"]))
        for e in third.events
        if e["status"] == "imported"
    }
    assert changed == {("challenger", (2,)), ("champion", ()), ("production", (2,))}
    assert [v.version for v in reg.live(NAME, env="challenger").versions] == [2]
    assert reg.live(NAME, env="champion").versions == ()
    assert [v.version for v in reg.live(NAME, env="production").versions] == [2]
    assert reg.get(NAME, 4).tags["mlflow.stage"] == "Archived"
    third_at = reg.history(NAME, env="challenger")[-1].effective_at
    middle = first_at + (third_at - first_at) / 2
    for env in ("challenger", "champion", "production"):
        state = reg.live(NAME, env=env, at=middle)
        assert state.unknown is not None and state.unknown.since == first_at, env
        assert state.unknown.until == third_at
    assert reg.audit_verify().ok


@pytest.mark.sqlite_only
def test_live_before_the_import_says_unknown_on_the_command_line(
    run: Run, timeline: Timeline
) -> None:
    run("import", "mlflow", "--tracking-uri", timeline.uri)
    ((at, _),) = timeline.changes[(OTHER, "Champion")]
    when = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out = run("live", OTHER, "--env", "Champion", "--at", when).out
    assert "unknown before " in out and "which keeps no history" in out, out
    assert run("live", OTHER, "--env", "Champion", "--json").json["versions"][0]["version"] == 1


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_an_unmodified_client_loads_the_same_bytes_from_both(
    run: Run, store_dir: Path, tmp_path: Path, timeline: Timeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`models:/<name>@alias`, `models:/<name>/<number>` and `models:/<name>/Production`,
    downloaded by MLflow's own client from MLflow and from `modelrepo serve`."""
    import mlflow

    run("import", "mlflow", "--tracking-uri", timeline.uri)
    admin = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json
    uris = [
        f"models:/{NAME}@champion",
        f"models:/{NAME}@challenger",
        f"models:/{NAME}/2",
        f"models:/{NAME}/4",
        f"models:/{NAME}/Production",
        f"models:/{OTHER}@Champion",
        f"models:/{OTHER}/1",
    ]

    def fetched(target: Path) -> tuple[str, dict[str, str]]:
        """The files' digest, and the `registered_model_meta` the client writes beside them
        (from the server's answer: a version is a number from a store, a string over REST)."""
        meta = target / "registered_model_meta"
        written = yaml.safe_load(meta.read_text())
        meta.unlink()
        return folder_digest(target), {k: str(v) for k, v in written.items()}

    expected = {}
    monkeypatch.setenv("MLFLOW_TRACKING_URI", timeline.uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", timeline.uri)
    for i, uri in enumerate(uris):
        target = tmp_path / "from-mlflow" / str(i)
        mlflow.artifacts.download_artifacts(uri, dst_path=str(target))
        expected[uri] = fetched(target)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin["token"])
    with serve(["--store", str(store_dir)], {}, tmp_path / "log") as (base, _):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", base)
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", base)
        for i, uri in enumerate(uris):
            target = tmp_path / "from-modelrepo" / str(i)
            mlflow.artifacts.download_artifacts(uri, dst_path=str(target))
            assert fetched(target) == expected[uri], uri
