"""Tampering with the audit log directly in the database is detected and located."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import apsw
import pytest

from modelrepo import Registry

from ..conftest import T0  # noqa: F401  (fixtures come from conftest)

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
