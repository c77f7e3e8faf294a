"""`modelrepo migrate`: an embedded store copied into PostgreSQL + S3 is the same store —
versions, histories, decisions and the audit log with its root hash — resumable, refusing
targets that hold anything else."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

from modelrepo import InvalidInput, ManualClock, Registry
from modelrepo.testing.denials import denial
from modelrepo.testing.s3server import aws_test_environment, new_bucket
from modelrepo.transfer import migrate

from ..cli.conftest import MODELREPO
from ..conftest import T0

MODELS = ("credit-risk", "fraud")


class Interrupted(Exception):
    pass


@pytest.fixture
def target(
    pg_url: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """An empty PostgreSQL database (schema only) and a new bucket, and the environment a
    command reaches them with."""
    aws = {k: v for k, v in aws_test_environment(s3_endpoint, tmp_path).items() if v}
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    bucket = new_bucket(boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1"))
    return {**aws, "database_url": pg_url, "blob_url": f"s3://{bucket}/models"}


def build_source(store: Path, tmp_path: Path) -> ManualClock:
    """A store with a bit of everything, written through the SDK."""
    clock = ManualClock(T0, step=timedelta(seconds=1))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "coefficients.json").write_text('{"income": 0.25}\n')
    (folder / "weights.bin").write_bytes(os.urandom(100 * 1024))  # over 64 KiB: a blob
    with Registry(store, user="alice", clock=clock) as reg:
        for i in range(3):
            (folder / "coefficients.json").write_text(json.dumps({"income": 0.25 + i}))
            reg.register(
                "credit-risk",
                folder,
                params={"C": 0.5 + i},
                metrics={"auc": 0.8 + i / 100},
                tags={"stage": "candidate"},
                description=f"refresh {i}",
                code=False,
            )
        reg.register("fraud", folder / "coefficients.json", code=False, environment=False)
        reg.register("fraud", folder / "weights.bin", code=False, idempotency_key="ci-fraud-2")
        reg.record_deleted_version("fraud", 4, reason="deleted in MLflow")
        reg.register("fraud", folder / "coefficients.json", code=False, number=6)
        reg.create_model("scratch", description="a trial", tags={"k": "v"})
        reg.register("scratch", folder / "coefficients.json", code=False)
        reg.delete_model("scratch", reason="trial over")
        reg.tag("credit-risk", 1, "stage", "retired")
        reg.untag("credit-risk", 2, "stage")
        reg.tag_model("credit-risk", "owner", "risk-team")
        reg.tag_model("credit-risk", "tier", "1")
        reg.describe_model("credit-risk", "Scores loan applications.")
        reg.deprecate("credit-risk", 1, reason="superseded")
        reg.delete("fraud", 1, reason="registered by mistake")
        reg.deploy("credit-risk", 1, env="staging", reason="first")
        reg.deploy("credit-risk", 2, env="staging")
        reg.deploy(
            "credit-risk", 1, env="production", effective_at=T0 - timedelta(days=3),
            reason="backfill: deployed by hand before the registry",
        )  # fmt: skip
        reg.deploy_split("credit-risk", {1: 0.9, 2: 0.1}, env="production", reason="canary")
        reg.rollback("credit-risk", env="staging", reason="oops")
        reg.protect("credit-risk", env="production")
        pending = reg.deploy("credit-risk", 3, env="production", reason="Q1 refresh")
        assert pending.request is not None
        reg.deploy("fraud", 2, env="production")
        reg.record_denials([denial(), denial(9, user="mallory", status=403)])
        reg.log_decision(
            "credit-risk", environment="production", version=2, inputs={"x": 1}, output=0
        )
        reg.set_decision_inputs("credit-risk", "blob", retention_days=30)
        reg.log_decisions(
            {"model": "credit-risk", "environment": "production", "version": 1 + i % 2,
             "decision_id": f"d-{i}",
             "inputs": {"x": i, "history": list(range(i * 10))}, "output": i % 2}
            for i in range(5)
        )  # fmt: skip
        reg.log_decisions(  # made long ago: their inputs purged before any copy
            {"model": "credit-risk", "version": 1, "decision_id": f"old-{i}",
             "decided_at": T0 - timedelta(days=60 - i), "inputs": {"x": -i}, "output": 0}
            for i in range(3)
        )  # fmt: skip
        assert reg.purge_decision_inputs() == {"credit-risk": 3}
        reg.audit_checkpoint()
        reg.backend.metadata.serving_start(
            "credit-risk", "production", instance_id="pod-1", host="node-a", version=1,
            digest=reg.get("credit-risk", 1).digest, at=clock.now(),
        )  # fmt: skip
        reg.backend.metadata.serving_heartbeat("credit-risk", "production", "pod-1", clock.now())
    with Registry(store, user="bob", clock=clock) as bob:
        bob.approve(pending.request.request_id, reason="four eyes")
        bob.log_decision("credit-risk", environment="production", inputs={"x": 9}, output=1)
    return clock


def run_migrate(
    store: Path, env: dict[str, str], *args: str, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [MODELREPO, "--store", str(store), "migrate", "--to-database-url", env["database_url"],
         "--to-blob-url", env["blob_url"], *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300, check=False,
    )  # fmt: skip
    if ok:
        assert done.returncode == 0, done
    return done


def open_target(env: dict[str, str], key_file: Path, **kwargs: Any) -> Registry:
    os.environ["MODELREPO_AUDIT_KEY_FILE"] = str(key_file)
    return Registry(database_url=env["database_url"], blob_url=env["blob_url"], **kwargs)


def everything(reg: Registry) -> dict[str, Any]:
    """What the registry answers about its content, as plain data."""
    out: dict[str, Any] = {"models": [m.to_dict() for m in reg.models()]}
    instants = [T0 - timedelta(days=2), T0 + timedelta(seconds=30), T0 + timedelta(days=1)]
    for name in MODELS:
        versions = reg.versions(name, include_deleted=True)
        out[name] = {
            "versions": [v.to_dict() for v in versions],
            "events": {v.version: [e.to_dict() for e in reg.events(name, v.version)]
                       for v in versions},
            "model_events": [e.to_dict() for e in reg.model_events(name)],
            "environments": [e.to_dict() for e in reg.environments(name)],
            "history": [e.to_dict() for e in reg.history(name)],
            "timeline": [i.to_dict() for i in reg.timeline(name)],
            "requests": [r.to_dict() for r in reg.requests(name)],
            "decisions": [d.to_dict() for d in reg.decisions(name)],
            "live": [reg.live(name, env=env, at=at, as_known_at=known).to_dict()
                     for env in [e.name for e in reg.environments(name)] for at in instants
                     for known in (None, T0 + timedelta(seconds=20))],
        }  # fmt: skip
    decisions = out["credit-risk"]["decisions"]
    out["stories"] = [reg.decision(d["decision_id"]) for d in decisions]
    out["inputs"] = [_inputs(reg, d["decision_id"]) for d in decisions]
    out["weights"] = reg.read_file("fraud", 2, "weights.bin")
    out["audit_log"] = reg.audit_log()
    out["denied"] = [d.to_dict() for d in reg.audit_denied()]
    out["checkpoints"] = reg.audit_checkpoints()
    return out


def _inputs(reg: Registry, decision_id: str) -> Any:
    try:
        return reg.decision_inputs(decision_id)
    except InvalidInput as refused:  # purged, or only a digest kept
        return str(refused)


def test_a_migrated_store_is_the_same_store(target: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "store"
    clock = build_source(store, tmp_path)
    key_copy = tmp_path / "replica" / "audit-key.pem"
    key_copy.parent.mkdir()
    first = json.loads(
        run_migrate(store, target, "--audit-key-file", str(key_copy), "--json").stdout
    )
    assert first["ok"] is True, first["problems"]
    assert first["blobs_copied"] >= 3 and first["blobs_skipped"] == 0  # weights + inputs
    assert first["key_file_written"] == str(key_copy)
    assert key_copy.read_bytes() == (store / "audit-signing-key.pem").read_bytes()
    assert key_copy.stat().st_mode & 0o777 == 0o600
    for name, table in first["tables"].items():  # the store id was set when it was claimed
        assert table["copied"] == table["rows"] - (name == "store_info"), name
    with psycopg.connect(target["database_url"], autocommit=True) as conn:
        partitioned = [
            str(r[0])
            for root in ("decisions", "decision_inputs")
            for r in conn.execute("SELECT relid::text FROM pg_partition_tree(%s)", (root,))
        ]
        assert len(partitioned) >= 5  # both roots and partitions the copy made
        for table in partitioned:  # refused with the root's function, as on a live store
            with pytest.raises(psycopg.errors.RaiseException, match="TRUNCATE is refused"):
                conn.execute(f"TRUNCATE {table}")
    with Registry(store, user="alice", clock=clock) as source:
        verified = source.audit_verify()
        assert (first["audit_size"], first["root_hash"]) == (verified.size, verified.root_hash)
        expected = everything(source)
        key_id = source.audit_key_id()

    # Twice: nothing copied, still verified.
    again = json.loads(run_migrate(store, target, "--json").stdout)
    assert again["ok"] is True and again["rows_copied"] == 0 and again["blobs_copied"] == 0
    assert again["root_hash"] == first["root_hash"]
    human = run_migrate(store, target).stdout
    assert "OK: the target verifies" in human
    assert "MODELREPO_AUDIT_KEY_FILE" in human and "audit-signing-key.pem" in human

    with open_target(target, key_copy, user="carol", clock=clock) as migrated:
        assert everything(migrated) == expected
        report = migrated.audit_verify()
        assert report.ok, report.problems
        assert (report.size, report.root_hash) == (verified.size, verified.root_hash)
        assert migrated.fsck().ok
        assert migrated.audit_key_id() == key_id
        # Idempotency keys came along: a retry of a registration made before the copy
        # answers the version it made, and writes nothing.
        assert first["tables"]["registration_keys"]["copied"] == 1
        retried = migrated.as_user("alice").register(
            "fraud", tmp_path / "model" / "weights.bin", code=False, idempotency_key="ci-fraud-2"
        )
        assert retried == migrated.get("fraud", 2)
        assert migrated.audit_verify().size == verified.size


def test_the_source_keeps_going_and_the_target_catches_up(
    target: dict[str, str], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    clock = build_source(store, tmp_path)
    run_migrate(store, target)
    with Registry(store, user="alice", clock=clock) as source:
        source.tag("credit-risk", 3, "stage", "production")  # an update
        source.untag("credit-risk", 1, "stage")  # a removal
        source.tag_model("credit-risk", "owner", "fraud-team")  # an update
        source.untag_model("credit-risk", "tier")  # a removal
        source.describe_model("credit-risk", "Scores loans.")
        source.deprecate("credit-risk", 2)
        (tmp_path / "model" / "coefficients.json").write_text('{"income": 9}')
        source.register("credit-risk", tmp_path / "model", code=False)
        source.deploy("fraud", 2, env="staging")
        source.log_decision("credit-risk", environment="production", inputs={"x": 7}, output=1)
        clock.advance(timedelta(days=31))  # retention: inputs copied before are purged now
        assert source.purge_decision_inputs() == {"credit-risk": 8}
        expected = everything(source)
        verified = source.audit_verify()
    caught_up = json.loads(run_migrate(store, target, "--json").stdout)
    assert caught_up["ok"] is True, caught_up["problems"]
    tables = caught_up["tables"]
    assert tables["version_tags"]["updated"] == 1 and tables["version_tags"]["removed"] == 1
    assert tables["versions"]["updated"] == 1 and tables["versions"]["copied"] == 1
    assert tables["models"]["updated"] == 1
    assert tables["model_tags"]["updated"] == 1 and tables["model_tags"]["removed"] == 1
    assert tables["model_events"]["copied"] == 3
    assert tables["decisions"]["updated"] == 7 and tables["decisions"]["copied"] == 1
    assert caught_up["root_hash"] == verified.root_hash
    key = store / "audit-signing-key.pem"
    with open_target(target, key, user="carol", clock=clock) as migrated:
        assert everything(migrated) == expected
        # The sequences moved past the copied ids: new rows get new ones.
        events = migrated.history("credit-risk")
        (tmp_path / "model" / "coefficients.json").write_text('{"income": 10}')
        assert migrated.register("credit-risk", tmp_path / "model", code=False).version == 5
        outcome = migrated.deploy("fraud", 2, env="qa")
        assert outcome.event is not None
        assert outcome.event.event_id > max(e.event_id for e in events)
        logged = migrated.log_decision("fraud", environment="qa", inputs={"y": 1}, output=2)
        assert migrated.decision(logged.decision_id)["version"] == 2
        migrated.audit_checkpoint()
        assert migrated.audit_verify().ok
    # Written to on its own, the target is no copy any more: refused, untouched.
    refused = run_migrate(store, target, ok=False)
    assert refused.returncode == 1
    assert "written to after it was copied" in refused.stderr


def test_an_interrupted_migration_resumes(target: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "store"
    clock = build_source(store, tmp_path)
    seen: list[str] = []

    def stop_after_some(table: str, rows: int) -> None:
        seen.append(table)
        if len(seen) == 12:
            raise Interrupted

    with Registry(store, user="alice", clock=clock) as source:
        with pytest.raises(Interrupted):
            migrate(
                source, target["database_url"], target["blob_url"], batch_rows=3,
                after_batch=stop_after_some,
            )  # fmt: skip
        expected = everything(source)
    assert len(set(seen)) > 2  # stopped in the middle, several tables in
    resumed = json.loads(run_migrate(store, target, "--batch-size", "4", "--json").stdout)
    assert resumed["ok"] is True, resumed["problems"]
    assert resumed["blobs_copied"] == 0 and resumed["blobs_skipped"] >= 3
    tables = resumed["tables"]
    assert sum(t["unchanged"] for t in tables.values()) > 0 and resumed["rows_copied"] > 0
    for name, table in tables.items():
        assert table["copied"] + table["unchanged"] == table["rows"], name
    with open_target(target, store / "audit-signing-key.pem", clock=clock) as migrated:
        assert everything(migrated) == expected
        assert migrated.audit_verify().ok


def test_a_target_holding_something_else_is_refused(target: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "store"
    clock = build_source(store, tmp_path)
    # Another store already lives there.
    other_key = tmp_path / "other-key.pem"
    with open_target(target, other_key, user="eve", clock=clock) as other:
        other.register("unrelated", tmp_path / "model" / "coefficients.json", code=False)
    refused = run_migrate(store, target, ok=False)
    assert refused.returncode == 1
    assert "holds another store" in refused.stderr and "empty database" in refused.stderr
    with open_target(target, other_key) as other:
        assert [m.name for m in other.models()] == ["unrelated"]


def test_a_target_that_diverged_is_refused(target: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "store"
    build_source(store, tmp_path)
    run_migrate(store, target)
    with psycopg.connect(target["database_url"], autocommit=True) as conn:
        conn.execute("ALTER TABLE versions DISABLE TRIGGER USER")
        conn.execute("UPDATE versions SET description = 'rewritten' WHERE number = 2")
    refused = run_migrate(store, target, ok=False)
    assert refused.returncode == 1
    assert "versions row" in refused.stderr and "description" in refused.stderr
    assert "refusing to overwrite" in refused.stderr
    with psycopg.connect(target["database_url"]) as conn:
        found = conn.execute("SELECT count(*) FROM versions WHERE description = 'rewritten'")
        assert found.fetchone() == (2,)  # credit-risk@2 and fraud@2, as they were left


def test_a_key_file_holding_another_key_is_refused(target: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "store"
    build_source(store, tmp_path)
    taken = tmp_path / "taken.pem"
    taken.write_text("another key\n")
    refused = run_migrate(store, target, "--audit-key-file", str(taken), ok=False)
    assert refused.returncode == 1 and "holds another key" in refused.stderr
    assert taken.read_text() == "another key\n"
    with psycopg.connect(target["database_url"]) as conn:
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone() == (0,)


def test_only_an_embedded_store_is_a_source(target: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [MODELREPO, "--database-url", target["database_url"], "migrate",
         "--to-database-url", target["database_url"], "--to-blob-url", target["blob_url"]],
        capture_output=True, text=True, env={**os.environ, **target}, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "embedded store" in done.stderr
