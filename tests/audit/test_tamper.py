"""Tampering with the audit log directly in the database is detected and located."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import apsw
import pytest

from modelrepo import InvalidInput, Registry

from ..conftest import T0  # noqa: F401  (fixtures come from conftest)
from ..rawdb import raw_execute

MODELREPO = str(Path(sys.executable).with_name("modelrepo"))
VERIFIER = str(Path(sys.executable).with_name("modelrepo-verifier"))


def build(store: Path, artifact: Path) -> Registry:
    reg = Registry(store, user="alice", checkpoint_every=10)
    for i in range(6):
        (artifact / "features.csv").write_text(f"v{i}\n")
        reg.register("credit-risk", artifact, code=False)
        reg.deploy("credit-risk", i + 1, env="production", reason=f"step {i}")
    reg.tag("credit-risk", 1, "validated", "yes")
    return reg


def db(store: Path) -> apsw.Connection:
    conn = apsw.Connection(str(store / "modelrepo.db"))
    conn.set_busy_timeout(10_000)
    for trigger in ("audit_entries_no_update", "audit_entries_no_delete",
                    "audit_nodes_no_update", "audit_nodes_no_delete",
                    "versions_immutable"):  # fmt: skip
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def verify(store: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODELREPO, "--store", str(store), "audit", "verify", "--json", *extra],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def store(tmp_path: Path, artifact: Path) -> Path:
    path = tmp_path / "store"
    reg = build(path, artifact)
    assert reg.audit_verify().ok
    reg.close()
    return path


def body(conn: apsw.Connection, seq: int) -> str:
    raw = conn.execute("SELECT body FROM audit_entries WHERE seq = ?", (seq,)).fetchall()[0][0]
    return bytes(raw).decode()


def test_the_database_refuses_rewriting_the_log(store: Path) -> None:
    conn = apsw.Connection(str(store / "modelrepo.db"))
    statements = (
        "UPDATE audit_entries SET body = 'x'",
        "DELETE FROM audit_entries",
        "UPDATE audit_nodes SET hash = x'00'",
        "DELETE FROM audit_checkpoints",
    )
    for sql in statements:
        with pytest.raises(apsw.ConstraintError, match="append-only"):
            conn.execute(sql)


def test_clean_log_verifies(store: Path) -> None:
    done = verify(store)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"]
    assert report["size"] == 14  # genesis, 6 registrations, 6 deployments, 1 tag
    assert report["checkpoints_checked"] >= 1


def test_editing_an_entry_is_named(store: Path) -> None:
    conn = db(store)
    edited = body(conn, 5).replace('"actor":"alice"', '"actor":"mallory"')
    conn.execute("UPDATE audit_entries SET body = ? WHERE seq = 5", (edited.encode(),))
    done = verify(store)
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_seq"] == 5
    assert "first bad entry: 5" in done.stderr
    assert done.stderr.count("\n") == 1


def test_editing_an_entry_and_its_hashes_is_caught_by_the_signed_checkpoint(store: Path) -> None:
    """A careful attacker recomputes the leaf hash too; the signed root still differs."""
    from modelrepo.verifier import leaf_hash

    conn = db(store)
    edited = body(conn, 3).replace('"actor":"alice"', '"actor":"mallory"')
    conn.execute("UPDATE audit_entries SET body = ? WHERE seq = 3", (edited.encode(),))
    conn.execute("UPDATE audit_entries SET leaf = ? WHERE seq = 3", (leaf_hash(edited.encode()),))
    done = verify(store)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["first_bad_seq"] == 1  # somewhere in the first checkpoint's range
    assert "rewritten between entries 1 and 10" in done.stdout


def test_deleting_an_entry(store: Path) -> None:
    conn = db(store)
    conn.execute("DELETE FROM audit_entries WHERE seq = 7")
    done = verify(store)
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_seq"] == 7
    assert "entry 7 is missing" in done.stdout


def test_reordering_entries(store: Path) -> None:
    conn = db(store)
    four, six = body(conn, 4), body(conn, 6)
    conn.execute("UPDATE audit_entries SET body = ? WHERE seq = 4", (six.encode(),))
    conn.execute("UPDATE audit_entries SET body = ? WHERE seq = 6", (four.encode(),))
    done = verify(store)
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_seq"] == 4


def test_inserting_an_entry(store: Path) -> None:
    conn = db(store)
    forged = body(conn, 14).replace('"seq":14', '"seq":15')
    conn.execute(
        "INSERT INTO audit_entries (seq, at, kind, subject, body, leaf) "
        "VALUES (15, 0, 'x', 'y', ?, x'00')",
        (forged.encode(),),
    )
    done = verify(store)
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_seq"] == 15


def test_truncating_the_tail(store: Path) -> None:
    conn = db(store)
    conn.execute("DELETE FROM audit_entries WHERE seq > 8")
    done = verify(store)
    assert done.returncode == 1
    assert "entries were removed from its end" in done.stdout
    assert json.loads(done.stdout)["first_bad_seq"] == 9


def test_swapping_the_signing_key(store: Path) -> None:
    key = store / "audit-signing-key.pem"
    key.unlink()
    with Registry(store, user="mallory") as reg:
        reg.audit_checkpoint()  # signed with a brand-new key
    done = verify(store)
    assert done.returncode == 1
    assert "signing key was replaced" in done.stdout or "does not verify" in done.stdout


def test_changing_a_version_record(store: Path) -> None:
    conn = db(store)
    conn.execute("UPDATE versions SET params = '{\"C\": 99}' WHERE number = 2")
    done = verify(store)
    assert done.returncode == 1
    assert "credit-risk@2 no longer matches" in done.stdout


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE deployment_events SET actor = 'mallory' WHERE id = 3", "(actor)"),
        ("UPDATE deployment_events SET reason = 'benign' WHERE id = 3", "(reason)"),
        ("DELETE FROM deployment_events WHERE id = 3", "is gone"),
        ("UPDATE deployment_events SET unknown_from = 0 WHERE id = 3", "(unknown_from)"),
        ("UPDATE deployment_events SET earliest_at = 0 WHERE id = 3", "(earliest_at)"),
    ],
)
def test_changing_the_deployment_history(store: Path, sql: str, expected: str) -> None:
    """Rewriting who put a version live, or why, shows even with the log itself intact."""
    conn = db(store)
    conn.execute("DROP TRIGGER IF EXISTS deployment_events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS deployment_events_no_delete")
    conn.execute(sql)
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert "deployment event 3 of credit-risk@production" in done.stdout
    assert expected in done.stdout


def test_changing_an_imported_deployment(store: Path) -> None:
    with Registry(store, user="alice") as reg:
        reg.import_deployments(
            "credit-risk",
            [
                {"environment": "legacy", "effective_at": f"2025-01-0{i + 1}T00:00:00Z",
                 "versions": {i + 1: 1.0}, "reason": f"from the old system ({i})"}
                for i in range(3)
            ],
            source="sagemaker",
        )  # fmt: skip
        assert reg.audit_verify().ok
    conn = db(store)
    conn.execute("DROP TRIGGER IF EXISTS deployment_events_no_update")
    conn.execute(
        "UPDATE deployment_events SET actor = 'mallory' WHERE id = "
        "(SELECT max(id) FROM deployment_events)"
    )
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert "the 3 deployments imported by entry" in done.stdout


def observed(store: Path) -> None:
    """Two imported observations after three imported deploys, verified clean."""
    with Registry(store, user="alice") as reg:
        reg.import_deployments(
            "credit-risk",
            [
                {"environment": "legacy", "effective_at": "2025-01-01T00:00:00Z",
                 "versions": {1: 1.0}},
                {"kind": "observe", "environment": "mlflow", "versions": {2: 1.0},
                 "effective_at": "2025-02-01T00:00:00Z", "earliest_at": "2025-01-15T00:00:00Z"},
                {"kind": "observe", "environment": "mlflow", "versions": {},
                 "effective_at": "2025-03-01T00:00:00Z", "unknown_from": "2025-02-01T00:00:00Z",
                 "reason": "alias deleted"},
            ],
            source="MLflow (sqlite:///mlflow.db)",
        )  # fmt: skip
        assert reg.audit_verify().ok


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deployment_events SET unknown_from = NULL WHERE id = (SELECT max(id) FROM "
        "deployment_events)",
        "UPDATE deployment_events SET earliest_at = earliest_at + 1 WHERE earliest_at IS NOT NULL",
        "UPDATE deployment_events SET unknown_from = 0 WHERE kind = 'deploy' AND environment_id = "
        "(SELECT environment_id FROM deployment_events ORDER BY id DESC LIMIT 1 OFFSET 2)",
        "UPDATE deployment_events SET kind = 'deploy' WHERE kind = 'observe' AND unknown_from "
        "IS NULL",
    ],
    ids=["widen-unknown", "move-bound", "unknown-on-a-deploy", "observation-made-a-deploy"],
)
def test_changing_an_imported_observation(store: Path, sql: str) -> None:
    """Widening or narrowing what is unknown, or passing an observation off as a deploy, is
    named like any other change to imported history."""
    observed(store)
    conn = db(store)
    conn.execute("DROP TRIGGER IF EXISTS deployment_events_no_update")
    assert conn.execute(sql) is not None and conn.changes() == 1
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert "the 3 deployments imported by entry" in done.stdout


def test_an_older_checkpoint_exposes_a_rewrite_before_it(
    tmp_path: Path, store: Path, artifact: Path
) -> None:
    """An auditor's copy of an old checkpoint catches a rewrite the store itself would hide."""
    from modelrepo.verifier import leaf_hash

    old = tmp_path / "old-checkpoint.json"
    subprocess.run(
        [MODELREPO, "--store", str(store), "audit", "checkpoint", "--out", str(old)], check=True
    )
    key = tmp_path / "key.pem"
    key.write_text(
        subprocess.run(
            [MODELREPO, "--store", str(store), "audit", "key"], capture_output=True, text=True
        ).stdout
    )
    with Registry(store, user="bob") as reg:
        reg.deploy("credit-risk", 1, env="staging")
    assert verify(store, "--checkpoint", str(old), "--key", str(key)).returncode == 0
    # Rewrite entry 12 consistently (leaf and every node above it), as someone with the
    # database, the key and time would, and drop the store's own checkpoints.
    conn = db(store)
    for t in ("audit_checkpoints_no_delete",):
        conn.execute(f"DROP TRIGGER IF EXISTS {t}")
    conn.execute("DELETE FROM audit_checkpoints")
    edited = body(conn, 12).replace('"actor":"alice"', '"actor":"mallory"')
    conn.execute(
        "UPDATE audit_entries SET body = ?, leaf = ? WHERE seq = 12",
        (edited.encode(), leaf_hash(edited.encode())),
    )
    conn.execute("DELETE FROM audit_nodes")
    from modelrepo.domain.audit import new_nodes, node_position

    nodes: dict[tuple[int, int], bytes] = {}
    for seq, text in conn.execute("SELECT seq, body FROM audit_entries ORDER BY seq").fetchall():
        for lv, ix, h in new_nodes(seq - 1, leaf_hash(bytes(text)), lambda a, b: nodes[(a, b)]):
            nodes[(lv, ix)] = h
    conn.executemany(
        "INSERT INTO audit_nodes (pos, hash) VALUES (?, ?)",
        [(node_position(lv, ix), h) for (lv, ix), h in nodes.items() if lv],
    )
    assert verify(store).returncode == 0  # internally consistent now...
    done = verify(store, "--checkpoint", str(old), "--key", str(key))
    assert done.returncode == 1  # ...but not with the auditor's older checkpoint
    assert "given checkpoint" in done.stdout


def test_inclusion_proof_checks_offline(tmp_path: Path, store: Path) -> None:
    bundle = tmp_path / "bundle.json"
    key = tmp_path / "key.pem"
    subprocess.run(
        [MODELREPO, "--store", str(store), "audit", "prove", "5", "--out", str(bundle)], check=True
    )
    key.write_text(
        subprocess.run(
            [MODELREPO, "--store", str(store), "audit", "key"], capture_output=True, text=True
        ).stdout
    )
    ok = subprocess.run([VERIFIER, "inclusion", str(bundle), "--key", str(key)],
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.startswith("OK: entry 5 is included")
    data = json.loads(bundle.read_text())
    data["entry"]["actor"] = "mallory"
    bundle.write_text(json.dumps(data))
    bad = subprocess.run([VERIFIER, "inclusion", str(bundle), "--key", str(key)],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 1
    assert "not included" in bad.stdout
    # The verifier needs nothing from modelrepo: run the file alone, in isolated mode.
    copy = tmp_path / "verifier.py"
    copy.write_text(Path(__import__("modelrepo.verifier").verifier.__file__).read_text())
    data["entry"]["actor"] = "alice"
    bundle.write_text(json.dumps(data))
    alone = subprocess.run([sys.executable, "-I", str(copy), "inclusion", str(bundle), "--key",
                            str(key)], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert alone.returncode == 0, alone.stderr


def test_consistency_proof_between_checkpoints(tmp_path: Path, store: Path) -> None:
    from modelrepo.verifier import verify_consistency

    with Registry(store, user="bob") as reg:
        old = reg.audit_checkpoint()
        reg.deploy("credit-risk", 2, env="staging")
        new = reg.audit_checkpoint()
        proof = reg.audit_consistency(old["size"], new["size"])["proof"]
    assert verify_consistency(
        old["size"], new["size"], [bytes.fromhex(h) for h in proof],
        bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"]),
    )  # fmt: skip


def test_checkpoints_are_exported_as_new_files(tmp_path: Path, artifact: Path) -> None:
    worm = tmp_path / "worm"
    with Registry(tmp_path / "s", user="a", checkpoint_every=3, checkpoint_dir=worm) as reg:
        for i in range(4):
            (artifact / "features.csv").write_text(f"{i}\n")
            reg.register("m", artifact, code=False)
        manual = reg.audit_checkpoint()
    files = sorted(worm.iterdir())
    assert len(files) >= 2  # one automatic (every 3 entries), one asked for
    assert json.loads(files[-1].read_text()) == manual
    assert all(not os.access(f, os.W_OK) or os.geteuid() == 0 for f in files)
    assert all(oct(f.stat().st_mode & 0o777) == "0o444" for f in files)
    given = [json.loads(f.read_text()) for f in files]
    with Registry(tmp_path / "s", user="a") as reg:
        assert reg.audit_verify(given).ok


@pytest.fixture
def decided(store: Path, tmp_path: Path) -> dict[str, int]:
    """The store with a batch of decisions recorded each way there is: logged as records (10),
    given by columns (5), imported from a file (4). Returns each batch's entry by its way."""
    jsonl = tmp_path / "decisions.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"model": "credit-risk", "environment": "production",
                        "inputs": {"income": i}, "output": {"score": i}, "decision_id": f"i-{i}"})
            + "\n"
            for i in range(4)
        )
    )  # fmt: skip
    with Registry(store, user="alice") as reg:
        reg.log_decisions(
            {"model": "credit-risk", "environment": "production", "inputs": {"income": i},
             "output": {"score": i / 10}, "decision_id": f"d-{i}"}
            for i in range(10)
        )  # fmt: skip
        reg.log_decision_columns(
            "credit-risk",
            environment="production",
            outputs=[{"score": i / 5} for i in range(5)],
            inputs=[{"income": 100 + i} for i in range(5)],
            decision_ids=[f"c-{i}" for i in range(5)],
        )
    imported = subprocess.run(
        [MODELREPO, "--store", str(store), "decisions", "import", str(jsonl)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    with Registry(store, user="alice") as reg:
        batches = [e for e in reg.audit_log() if e["kind"] == "decisions.logged"]
    assert [e["change"]["count"] for e in batches] == [10, 5, 4]
    return dict(zip(("logged", "columns", "imported"), (e["seq"] for e in batches), strict=True))


def unguarded_decisions(store: Path) -> apsw.Connection:
    conn = db(store)
    for trigger in ("decisions_no_delete", "decisions_immutable", "decisions_purge_only"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def test_the_database_refuses_rewriting_decisions(decided: dict[str, int], store: Path) -> None:
    conn = apsw.Connection(str(store / "modelrepo.db"))
    for sql in ("UPDATE decisions SET output = '1'", "DELETE FROM decisions"):
        with pytest.raises(apsw.ConstraintError):
            conn.execute(sql)


def test_a_clean_decision_log_verifies(decided: dict[str, int], store: Path) -> None:
    done = verify(store)
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["ok"]


def test_purged_inputs_still_verify(store: Path) -> None:
    """Retention drops stored inputs; the batch digest covers their digest, which stays."""
    with Registry(store, user="alice") as reg:
        reg.log_decisions(
            {"model": "credit-risk", "version": 1, "inputs": {"income": i}, "output": i,
             "decision_id": f"old-{i}", "decided_at": f"2025-01-0{i + 1}T12:00:00Z"}
            for i in range(3)
        )  # fmt: skip
        reg.log_decision("credit-risk", version=1, inputs={"income": 9}, output=9,
                         decision_id="new")  # fmt: skip
        reg.set_decision_inputs("credit-risk", "inline", retention_days=30)
        assert reg.purge_decision_inputs() == {"credit-risk": 3}
        with pytest.raises(InvalidInput, match="purged"):
            reg.decision_inputs("old-1")
        assert reg.decision_inputs("new") == {"income": 9}
        assert reg.report_decision("old-1")["audit"]["decision_batch"]["rows_match"]
    done = verify(store)
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["ok"]


@pytest.mark.parametrize(
    ("sql", "batch", "counts"),
    [
        ("UPDATE decisions SET output = '{\"score\":0.9}' WHERE decision_id = 'd-3'",
         "logged", (10, 10)),
        ("UPDATE decisions SET version = 1 WHERE decision_id = 'd-3'", "logged", (10, 10)),
        ("DELETE FROM decisions WHERE decision_id = 'd-3'", "logged", (10, 9)),
        ("DELETE FROM decisions WHERE decision_id = 'd-0'", "logged", (10, 9)),
        ("UPDATE decisions SET decided_at = decided_at - 1 WHERE decision_id = 'c-4'",
         "columns", (5, 5)),
        ("UPDATE decisions SET inputs_digest = 'sha256:' || printf('%064d', 0) "
         "WHERE decision_id = 'i-2'", "imported", (4, 4)),
    ],
)  # fmt: skip
def test_changing_the_decision_log(
    decided: dict[str, int], store: Path, sql: str, batch: str, counts: tuple[int, int]
) -> None:
    """Rewriting what a model decided, which version decided it, or dropping a decision shows
    even with the log itself intact, and names the entry of its batch."""
    unguarded_decisions(store).execute(sql)
    done = verify(store)
    assert done.returncode == 1, done.stdout
    report = json.loads(done.stdout)
    seq = decided[batch]
    expected, found = counts
    assert report["problems"] == [
        f"the {expected} decisions recorded by entry {seq} no longer match it ({found} found): "
        "the decision log was changed after it was recorded"
    ]
    assert report["first_bad_seq"] == seq
    assert f"(first bad entry: {seq})" in done.stderr


def test_a_changed_decision_fails_its_report(decided: dict[str, int], store: Path) -> None:
    conn = unguarded_decisions(store)
    conn.execute("UPDATE decisions SET output = '1' WHERE decision_id = 'c-1'")
    with Registry(store, user="alice") as reg:
        audit = reg.report_decision("c-1")["audit"]
    assert not audit["decision_batch"]["rows_match"]
    assert not audit["verified"]
    assert f"recorded by entry {decided['columns']} no longer match" in audit["problems"][0]


def test_a_tag_spelling_an_entry_kind_is_not_taken_for_one(store: Path, artifact: Path) -> None:
    """Entries are told apart by their kind, not by text a tag may also hold."""
    with Registry(store, user="alice") as reg:
        for i, kind in enumerate(("deployment.recorded", "decisions.logged")):
            (artifact / "features.csv").write_text(f"tagged {i}\n")
            reg.register("tagged", artifact, code=False, tags={"kind": kind})
    done = verify(store)
    assert done.returncode == 0, done.stdout + done.stderr


def test_changing_decisions_on_either_database(
    registry: Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL too, where decisions live in monthly partitions with their ids kept
    apart: a batch spanning months, rewritten in one of them, and another batch cut short,
    are both named; batches are read back a few rows at a time here, across page seams."""
    monkeypatch.setattr("modelrepo.stores.sql.decisions.ROWS_PAGE", 4)
    registry.register("credit-risk", artifact, code=False)
    for batch in ("a", "b"):
        registry.log_decisions(
            {"model": "credit-risk", "version": 1, "inputs": {"i": i}, "output": {"p": i / 3},
             "decision_id": f"{batch}-{i}", "decided_at": f"2026-0{1 + i % 3}-1{i}T00:00:00Z"}
            for i in range(9)
        )  # fmt: skip
    first, second = (e["seq"] for e in registry.audit_log() if e["kind"] == "decisions.logged")
    assert registry.audit_verify().ok
    on = "" if registry.backend.metadata.dialect == "sqlite" else " ON decisions"  # type: ignore[attr-defined]
    for trigger in ("decisions_immutable", "decisions_no_delete"):
        raw_execute(registry, f"DROP TRIGGER IF EXISTS {trigger}{on}")
    raw_execute(registry, "UPDATE decisions SET output = '{\"p\":1}' WHERE decision_id = 'a-4'")
    raw_execute(registry, "DELETE FROM decisions WHERE decision_id = 'b-5'")
    report = registry.audit_verify()
    assert report.problems == [
        f"the 9 decisions recorded by entry {first} no longer match it (9 found): "
        "the decision log was changed after it was recorded",
        f"the 9 decisions recorded by entry {second} no longer match it (8 found): "
        "the decision log was changed after it was recorded",
    ]
    assert report.first_bad_seq == first


@pytest.fixture
def renumbered(store: Path, artifact: Path) -> Path:
    """The store with `fraud`: @2 recorded as deleted (another registry's tombstone), then
    @3 registered with its number given."""
    with Registry(store, user="alice") as reg:
        reg.record_deleted_version("fraud", 2, reason="deleted in MLflow")
        (artifact / "features.csv").write_text("fraud\n")
        reg.register("fraud", artifact, code=False, number=3)
        assert reg.audit_verify().ok
    return store


FRAUD = "(SELECT id FROM models WHERE name = 'fraud')"
TOMBSTONE = f"(SELECT id FROM versions WHERE model_id = {FRAUD} AND number = 2)"


def _tampered_then_verified(store: Path, sql: str, expected: str, table: str) -> None:
    """Run `sql` on the store with the append-only guards of `table` dropped too: verify
    must fail and say `expected`."""
    conn = db(store)
    for trigger in (f"{table}_no_update", f"{table}_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute(sql)
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert expected in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (f"UPDATE versions SET deleted_at = NULL, deleted_by = NULL WHERE id = {TOMBSTONE}",
         "version fraud@2 no longer matches entry 15 (deleted_at, deleted_by)"),
        (f"UPDATE version_events SET reason = 'benign' WHERE version_id = {TOMBSTONE}",
         "version fraud@2 no longer matches entry 15 (events)"),
        (f"DELETE FROM version_events WHERE version_id = {TOMBSTONE}",
         "version fraud@2 no longer matches entry 15 (events)"),
        (f"UPDATE versions SET number = 1 WHERE id = {TOMBSTONE}",
         "version fraud@1 has no audit entry"),
        (f"UPDATE versions SET number = 4 WHERE model_id = {FRAUD} AND number = 3",
         "version fraud@3 of entry 16 is gone"),
        (f"UPDATE models SET last_version = 9 WHERE id = {FRAUD}",
         "model 'fraud' no longer matches entry 16 (latest_version)"),
        (f"INSERT INTO versions (model_id, number, digest, created_at, created_by, description,"
         f" flavor, params, metrics, lineage, deprecated, deleted_at, deleted_by) SELECT "
         f"model_id, 7, digest, created_at, created_by, description, flavor, params, metrics,"
         f" lineage, deprecated, deleted_at, deleted_by FROM versions WHERE id = {TOMBSTONE}",
         "version fraud@7 has no audit entry"),
    ],
)  # fmt: skip
def test_changing_a_recorded_deletion_or_a_given_number(
    renumbered: Path, sql: str, expected: str
) -> None:
    """A tombstone recorded for another registry's deleted version, and a number given at
    registration, are checked against their entries both ways."""
    _tampered_then_verified(renumbered, sql, expected, "version_events")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE models SET created_by = 'mallory' WHERE name = 'fresh'",
         "model 'fresh' no longer matches entry 17 (created_by)"),
        ("DELETE FROM model_events WHERE kind = 'created'",
         "model 'fresh' no longer matches entry 17 (events)"),
        ("INSERT INTO models (name, created_at, created_by, last_version, description) "
         "VALUES ('forged', 0, 'mallory', 0, '')", "model 'forged' has no audit entry"),
    ],
)  # fmt: skip
def test_changing_a_model_created_before_its_versions(store: Path, sql: str, expected: str) -> None:
    with Registry(store, user="alice") as reg:
        reg.create_model("fresh", description="d", tags={"k": "v"})
        assert [e["seq"] for e in reg.audit_log("model:fresh")] == [15, 16, 17]
        assert reg.audit_verify().ok
    _tampered_then_verified(store, sql, expected, "model_events")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE models SET deleted_at = NULL, deleted_by = NULL WHERE name = 'scratch'",
         "model 'scratch' no longer matches entry 17 (deleted_at, deleted_by)"),
        ("UPDATE models SET deleted_by = 'mallory' WHERE name = 'scratch'",
         "model 'scratch' no longer matches entry 17 (deleted_by)"),
        ("UPDATE versions SET deleted_at = NULL, deleted_by = NULL WHERE number = 1 AND "
         "model_id = (SELECT id FROM models WHERE name = 'scratch')",
         "version scratch@1 no longer matches entry 17 (deleted_at, deleted_by)"),
        ("DELETE FROM model_events WHERE kind = 'deleted'",
         "model 'scratch' no longer matches entry 17 (events)"),
        ("INSERT INTO model_tags (model_id, key, value) SELECT id, 'k', 'v' FROM models "
         "WHERE name = 'scratch'", "model 'scratch' no longer matches entry 17 (tags)"),
    ],
)  # fmt: skip
def test_changing_a_deleted_model(store: Path, artifact: Path, sql: str, expected: str) -> None:
    """A deleted model and its versions are kept, and checked against their entries."""
    with Registry(store, user="alice") as reg:
        (artifact / "features.csv").write_text("scratch\n")
        reg.register("scratch", artifact, code=False, tags={"t": "1"})
        reg.tag_model("scratch", "k", "v")
        reg.delete_model("scratch", reason="a trial")
        assert [e["seq"] for e in reg.audit_log("model:scratch")] == [15, 16, 17]
        assert reg.audit_verify().ok
    _tampered_then_verified(store, sql, expected, "model_events")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE deployment_events SET actor = 'mallory' WHERE id = 3",
         "deployment event 3 of credit-risk-retail@production"),
        ("UPDATE versions SET description = 'forged' WHERE number = 2",
         "version credit-risk-retail@2 no longer matches"),
        ("UPDATE decisions SET output = '1' WHERE decision_id = 'before'",
         "decisions recorded by entry"),
        ("UPDATE models SET name = 'credit-risk-other' WHERE name = 'credit-risk-retail'",
         "model 'credit-risk-other' has no audit entry"),
        ("DELETE FROM model_events WHERE kind = 'renamed'",
         "model 'credit-risk-retail' no longer matches"),
    ],
)  # fmt: skip
def test_a_renamed_model_still_verifies_and_still_catches_tampering(
    store: Path, sql: str, expected: str
) -> None:
    with Registry(store, user="alice") as reg:
        reg.log_decision("credit-risk", environment="production", inputs={"x": 1}, output=0,
                         decision_id="before")  # fmt: skip
        reg.rename_model("credit-risk", "credit-risk-retail", reason="split by segment")
        report = reg.audit_verify()
        assert report.ok, report.problems
    assert verify(store).returncode == 0
    conn = db(store)
    for trigger in ("deployment_events_no_update", "model_events_no_delete",
                    "decisions_immutable"):  # fmt: skip
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute(sql)
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert expected in done.stdout, done.stdout
