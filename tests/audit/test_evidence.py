"""Every row the registry answers from has its audit entry and every entry its row; the columns
and tree nodes kept beside the entries say what the entries say. On SQLite and PostgreSQL,
with rows written, removed and changed behind the registry's back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo import Registry
from modelrepo.domain.denials import Denial

from ..conftest import T0

MODELREPO = str(Path(sys.executable).with_name("modelrepo"))
VERIFIER = str(Path(sys.executable).with_name("modelrepo-verifier"))


def everything(reg: Registry, artifact: Path) -> None:
    """A store that has seen every kind of change: versions (tagged, deprecated, deleted),
    models with tags, a description and input policies, deployments (deploy, rollback, undeploy,
    imported), protected environments with requests approved and rejected and one left
    pending, decisions (one made by a version not live, so flagged), a retention purge, tokens
    and webhooks."""
    bob = reg.as_user("bob")
    for i in range(4):
        (artifact / "features.csv").write_text(f"v{i}\n")
        reg.register("credit-risk", artifact, code=False, environment=False,
                     tags={"team": "risk"} if i == 0 else None)  # fmt: skip
    reg.register("fraud", artifact, code=False, environment=False)
    reg.register("churn", artifact, code=False, environment=False, idempotency_key="churn-1")
    (artifact / "features.csv").write_text("fraud 2\n")
    reg.register("fraud", artifact, code=False, environment=False, idempotency_key="fraud-2")
    reg.tag_model("churn", "owner", "growth")
    reg.set_decision_inputs("churn", "digest")
    reg.tag("credit-risk", 1, "validated", "yes")
    reg.tag("credit-risk", 2, "validated", "yes")
    reg.tag("credit-risk", 1, "stage", "gold")
    reg.untag("credit-risk", 1, "stage")
    reg.deprecate("credit-risk", 2, reason="superseded")
    reg.deprecate("credit-risk", 2, deprecated=False)
    reg.delete("credit-risk", 4, reason="bad build")
    reg.trust("credit-risk", 3, ["sklearn.tree._tree.Tree"], reason="our own forest")
    reg.trust("credit-risk", 3, ["numpy.dtype", "sklearn.tree._tree.Tree"], reason="dtypes")
    reg.tag_model("credit-risk", "owner", "risk-team")
    reg.tag_model("credit-risk", "tier", "1")
    reg.untag_model("credit-risk", "tier")
    reg.describe_model("credit-risk", "Probability of default")
    reg.deploy("credit-risk", 1, env="staging", reason="first")
    reg.deploy("credit-risk", 2, env="staging")
    reg.rollback("credit-risk", env="staging", reason="regression")
    reg.undeploy("credit-risk", env="staging")
    reg.deploy("credit-risk", 1, env="production")
    reg.protect("credit-risk", env="canary")
    reg.protect("credit-risk", env="production")
    approved = reg.deploy("credit-risk", 2, env="production", reason="better").request
    assert approved is not None
    bob.approve(approved.request_id, reason="four eyes")
    rejected = reg.deploy("credit-risk", 3, env="production").request
    assert rejected is not None
    bob.reject(rejected.request_id, reason="not validated")
    reg.unprotect("credit-risk", env="production", reason="retired")  # left pending
    reg.import_deployments(
        "credit-risk",
        [{"environment": "legacy", "effective_at": f"2025-01-0{i + 1}T00:00:00Z",
          "versions": {i + 1: 1.0}, "reason": f"old system {i}"} for i in range(2)],
        source="sagemaker",
    )  # fmt: skip
    reg.log_decisions(
        {"model": "credit-risk", "environment": "production", "inputs": {"income": i},
         "output": {"score": i / 10}, "decision_id": f"d-{i}", "metadata": {"channel": "web"}}
        for i in range(5)
    )  # fmt: skip
    reg.log_decision("credit-risk", version=3, environment="production", inputs={"x": 1},
                     output=1, decision_id="not-live")  # fmt: skip
    reg.set_decision_inputs("credit-risk", "inline", retention_days=30)
    reg.log_decisions(
        {"model": "credit-risk", "version": 1, "inputs": {"income": i}, "output": i,
         "decision_id": f"old-{i}", "decided_at": f"2025-01-0{i + 1}T12:00:00Z"}
        for i in range(2)
    )  # fmt: skip
    assert reg.purge_decision_inputs() == {"credit-risk": 2}
    reg.create_token("carol", "deployer", model_pattern="credit-*")
    revoked, _ = reg.create_token("dave", "viewer")
    reg.revoke_token(revoked.token_id)
    idp = "https://idp.bank.example"
    reg.grant_role("erin@bank.example", "deployer", issuer=idp, model_pattern="credit-*")
    gone = reg.grant_role("frank@bank.example", "viewer", issuer=idp)
    reg.revoke_role(gone.binding_id)
    reg.add_webhook("http://127.0.0.1:9/kept", events=["deployed"], allow_private=True)
    hook, _ = reg.add_webhook("http://127.0.0.1:9/gone", events=["approved"], allow_private=True)
    reg.disable_webhook(hook.webhook_id)
    assert reg.decision("not-live")["flags"] == ["not_live"]
    at = T0 - timedelta(days=1)
    refused = [
        Denial(at, at, n, None, "0123456789ab", "10.0.0.9", "POST",
               "/api/v1/models/{name}/environments/{env}/deploy", "deployment.deploy",
               "credit-risk", f"unknown API token {n}", 401)
        for n in (1, 2, 3)
    ]  # fmt: skip
    reg.record_denials(refused[:2])
    reg.record_denials(refused[2:])
    # a model's own life: numbers kept from elsewhere, created before a version, deleted
    reg.record_deleted_version("imported", 2, reason="deleted in MLflow")
    reg.register("imported", artifact, code=False, environment=False, number=5)
    reg.create_model("scratch", description="a trial", tags={"k": "v"})
    reg.register("scratch", artifact, code=False, environment=False)
    reg.set_decision_inputs("scratch", "digest")
    reg.delete_model("scratch", reason="trial over")
    reg.create_model("scratch", tags={"k": "again"})
    reg.create_model("retired")
    reg.delete_model("retired", reason="never used")


@pytest.fixture
def full(registry: Registry, artifact: Path) -> Registry:
    everything(registry, artifact)
    report = registry.audit_verify()
    assert report.ok, report.problems
    return registry


def sqlite(reg: Registry) -> bool:
    return bool(reg.backend.metadata.dialect == "sqlite")  # type: ignore[attr-defined]


def tamper(reg: Registry, *statements: str) -> None:
    """Run statements on the registry's database behind its back, with every guard off: the
    append-only triggers dropped (SQLite) or not fired (PostgreSQL), and foreign keys unchecked."""
    raw: Any = reg.backend.metadata._raw  # type: ignore[attr-defined]
    conn = raw._connect()
    try:
        if sqlite(reg):
            triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (name,) in list(triggers):
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute("PRAGMA foreign_keys = OFF")
        else:
            conn.execute("SET session_replication_role = replica")
        for sql in statements:
            conn.execute(sql)
    finally:
        conn.close()


def blob(reg: Registry, data: bytes) -> str:
    """`data` as a binary literal of the registry's database."""
    return f"x'{data.hex()}'" if sqlite(reg) else f"'\\x{data.hex()}'::bytea"


def cli_verify(reg: Registry) -> subprocess.CompletedProcess[str]:
    """`modelrepo audit verify --json` on the registry's store, as an auditor runs it."""
    if sqlite(reg):
        where, env = ["--store", reg.location], dict(os.environ)
    else:
        database_url, blob_url = reg.location.split(" + ")
        where = []
        env = {**os.environ, "MODELREPO_DATABASE_URL": database_url,
               "MODELREPO_BLOB_URL": blob_url}  # fmt: skip
    return subprocess.run(
        [MODELREPO, *where, "audit", "verify", "--json"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip


def problems(reg: Registry) -> tuple[list[str], int | None]:
    report = reg.audit_verify()
    assert not report.ok
    return report.problems, report.first_bad_seq


def seq_of(reg: Registry, kind: str, nth: int = 0) -> int:
    return int([e["seq"] for e in reg.audit_log() if e["kind"] == kind][nth])


def test_a_store_with_every_kind_of_change_verifies(full: Registry) -> None:
    report = full.audit_verify()
    assert report.ok, report.problems
    kinds = {e["kind"] for e in full.audit_log()}
    assert {"version.registered", "version.tag_set", "version.tag_removed",
            "version.deprecated", "version.undeprecated", "version.deleted", "version.trusted",
            "model.tag_set",
            "model.tag_removed", "model.described", "deployment.recorded",
            "deployment.imported", "environment.protected", "deployment.requested",
            "request.approved", "request.rejected", "decisions.logged",
            "decisions.policy_set", "decisions.inputs_purged", "token.created",
            "token.revoked", "webhook.created", "webhook.disabled", "model.created",
            "model.deleted", "version.recorded_deleted"} <= kinds  # fmt: skip
    changes = {e["kind"]: e["change"] for e in full.audit_log()}
    assert changes["decisions.logged"]["rows"] == 2  # metadata and flags in the digest
    assert changes["deployment.imported"]["environments"] == [["credit-risk", "legacy"]]
    assert changes["token.created"]["credential"].startswith("sha256:")
    keys = {e["change"]["key"] for e in full.audit_log() if e["kind"] == "version.registered"}
    assert "fraud-2" in keys


def test_the_memory_store_writes_the_same_entries(artifact: Path) -> None:
    """The reference store replays into the same evidence and verifies the same way."""
    from modelrepo import ManualClock

    reg = Registry.in_memory(user="alice", clock=ManualClock(T0, step=timedelta(seconds=1)))
    everything(reg, artifact)
    report = reg.audit_verify()
    assert report.ok, report.problems
    batches = [e["change"] for e in reg.audit_log() if e["kind"] == "decisions.logged"]
    assert {b["rows"] for b in batches} == {2}
    imported = [e["change"] for e in reg.audit_log() if e["kind"] == "deployment.imported"]
    assert imported[0]["environments"] == [["credit-risk", "legacy"]]


# -- the columns kept beside each entry -------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "sql", "expected"),
    [
        ("at", "UPDATE audit_entries SET at = at + 1 WHERE seq = {seq}", "the at stored"),
        ("kind", "UPDATE audit_entries SET kind = 'store.created' WHERE seq = {seq}",
         "the kind stored"),
        ("subject", "UPDATE audit_entries SET subject = 'model:other' WHERE seq = {seq}",
         "the subject stored"),
    ],
)  # fmt: skip
def test_a_column_beside_an_entry_edited_is_named(
    full: Registry, column: str, sql: str, expected: str
) -> None:
    seq = seq_of(full, "deployment.recorded", 1)
    tamper(full, sql.format(seq=seq))
    found, first = problems(full)
    assert first == seq
    assert expected in found[0], found


def test_an_entry_rewritten_with_its_leaf_is_named_by_the_stored_tree(full: Registry) -> None:
    """Past every checkpoint, an entry rewritten with a matching leaf hash still disagrees with
    the tree node stored above it (and with the row it describes)."""
    from modelrepo.verifier import leaf_hash

    seq = seq_of(full, "model.described")
    body = full.backend.metadata.audit_entry(seq)
    assert body is not None and not full.audit_checkpoints()
    forged = body.replace(b"Probability of default", b"Nothing to see")
    tamper(full, f"UPDATE audit_entries SET body = {blob(full, forged)}, "
                 f"leaf = {blob(full, leaf_hash(forged))} WHERE seq = {seq}")  # fmt: skip
    found, first = problems(full)
    assert first is not None and seq <= first <= 2 * seq
    assert found[0].startswith("tree node ("), found
    assert any("model 'credit-risk' no longer matches" in p for p in found), found


def test_an_entry_rewritten_into_nonsense_is_reported_not_a_crash(full: Registry) -> None:
    seq = seq_of(full, "deployment.recorded", 2)
    body = full.backend.metadata.audit_entry(seq)
    assert body is not None
    entry = json.loads(body)
    forged = json.dumps({**entry, "change": {"event_id": "x"}}, sort_keys=True,
                        separators=(",", ":")).encode()  # fmt: skip
    from modelrepo.verifier import leaf_hash

    tamper(full, f"UPDATE audit_entries SET body = {blob(full, forged)}, "
                 f"leaf = {blob(full, leaf_hash(forged))} WHERE seq = {seq}")  # fmt: skip
    found, _ = problems(full)
    assert any(p.startswith(f"entry {seq} is not a deployment.recorded entry") for p in found)


def test_a_hidden_entry_is_named_through_the_cli(full: Registry) -> None:
    """Moving an entry to another model hides it from `audit log --model`; verify says so."""
    seq = seq_of(full, "deployment.recorded", 0)
    before = [e["seq"] for e in full.audit_log("model:credit-risk")]
    tamper(full, f"UPDATE audit_entries SET subject = 'model:fraud' WHERE seq = {seq}")
    assert seq in before and seq not in [e["seq"] for e in full.audit_log("model:credit-risk")]
    done = cli_verify(full)
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["first_bad_seq"] == seq
    assert f"(first bad entry: {seq})" in done.stderr
    assert "subject stored beside" in done.stderr


def test_two_entries_swapped_with_their_hashes_are_named(full: Registry) -> None:
    """Swapping the last two entries with their leaves is past every checkpoint; the seq each
    body carries, and the tree nodes stored with them, still tell."""
    size = full.backend.metadata.audit_size()
    tamper(
        full,
        f"UPDATE audit_entries SET seq = -1 WHERE seq = {size}",
        f"UPDATE audit_entries SET seq = {size} WHERE seq = {size - 1}",
        f"UPDATE audit_entries SET seq = {size - 1} WHERE seq = -1",
    )
    found, first = problems(full)
    assert first == size - 1
    assert f"the seq stored beside entry {size - 1}" in found[0], found


# -- the stored tree ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2, 3, 5])
def test_a_stored_tree_node_changed_is_named(full: Registry, level: int) -> None:
    from modelrepo.domain.audit import node_position

    position = node_position(level, 0)
    tamper(full, f"UPDATE audit_nodes SET hash = (SELECT hash FROM audit_nodes WHERE pos = "
                 f"{node_position(1, 1)}) WHERE pos = {position}")  # fmt: skip
    found, first = problems(full)
    assert first == 1 << level  # the entry whose append stored it
    assert found[0].startswith(f"tree node ({level}, 0) stored with entry {1 << level} differs")


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_checkpoints SET size = size - 1", "UPDATE audit_checkpoints SET at = at + 1",
     "UPDATE audit_checkpoints SET body = replace(body, '\"size\"', '\"size_\"')"],
)  # fmt: skip
def test_a_stored_checkpoint_column_edited_is_reported(full: Registry, sql: str) -> None:
    """The size and time kept beside a signed checkpoint (they schedule the next one) must
    say what it says; its body is covered by its signature."""
    full.audit_checkpoint()
    assert full.audit_verify().ok
    tamper(full, sql)
    found, _ = problems(full)
    assert any("stored checkpoint of size" in p for p in found), found


def test_a_stored_tree_node_removed_is_named(full: Registry) -> None:
    from modelrepo.domain.audit import node_position

    tamper(full, f"DELETE FROM audit_nodes WHERE pos = {node_position(2, 1)}")
    found, first = problems(full)
    assert first == 8
    assert found[0].startswith("tree node (2, 1) stored with entry 8 is missing")


def test_a_stored_tree_node_added_is_named(full: Registry) -> None:
    from modelrepo.domain.audit import node_position

    size = full.backend.metadata.audit_size()
    beyond = node_position(1, size)  # a node no entry has completed yet
    tamper(full, f"INSERT INTO audit_nodes (pos, hash) SELECT {beyond}, hash FROM audit_nodes "
                 f"WHERE pos = 1")  # fmt: skip
    found, first = problems(full)
    assert found == [f"tree node at position {beyond} (level 1, index {size}) is not a node of "
                     f"the tree of {size} entries"]  # fmt: skip
    assert first == size + 1


def test_a_bad_node_is_named_through_the_cli_before_proofs_fail_offline(
    full: Registry, tmp_path: Path
) -> None:
    from modelrepo.domain.audit import node_position

    full.audit_checkpoint()
    tamper(full, f"UPDATE audit_nodes SET hash = (SELECT hash FROM audit_nodes WHERE pos = 1) "
                 f"WHERE pos = {node_position(1, 1)}")  # fmt: skip
    done = cli_verify(full)
    assert done.returncode == 1, done.stdout
    assert json.loads(done.stdout)["first_bad_seq"] == 4
    assert "tree node (1, 1) stored with entry 4 differs" in done.stderr
    bundle = tmp_path / "bundle.json"
    key = tmp_path / "key.pem"
    bundle.write_text(json.dumps(full.audit_prove(1)))
    key.write_text(full.audit_key())
    offline = subprocess.run([VERIFIER, "inclusion", str(bundle), "--key", str(key)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert offline.returncode == 1  # what verify warned of


# -- rows with no entry, entries with no row, rows that differ from their entry ---------------

MODEL = "(SELECT id FROM models WHERE name = 'credit-risk')"


def version(number: int) -> str:
    return f"(SELECT id FROM versions WHERE model_id = {MODEL} AND number = {number})"


def environment(name: str) -> str:
    return f"(SELECT id FROM environments WHERE model_id = {MODEL} AND name = '{name}')"


def model(name: str) -> str:
    return f"(SELECT id FROM models WHERE name = '{name}')"


V1, V2, V3, V4 = (version(n) for n in (1, 2, 3, 4))
STAGING = environment("staging")
PENDING = "(SELECT max(id) FROM deployment_requests)"

TABLES: dict[str, list[tuple[str, str]]] = {
    # Each table: a row inserted, one deleted, one changed (each a different row where the
    # table's rows answer apart), and what verify must say about each.
    "versions": [
        ("INSERT INTO versions (model_id, number, digest, created_at, created_by, description, "
         "flavor, params, metrics, signature, lineage, deprecated) SELECT model_id, 9, digest, "
         "created_at, 'mallory', description, flavor, params, metrics, signature, lineage, "
         f"deprecated FROM versions WHERE id = {V1}", "version credit-risk@9 has no audit entry"),
        (f"DELETE FROM versions WHERE id = {V3}", "version credit-risk@3 of entry"),
        (f"UPDATE versions SET description = 'better' WHERE id = {V1}",
         "version credit-risk@1 no longer matches entry"),
    ],
    "version_files": [
        ("INSERT INTO version_files (version_id, path, size, sha256, executable) SELECT "
         "version_id, 'extra.bin', size, sha256, executable FROM version_files WHERE version_id "
         f"= {V1} AND path = 'features.csv'", "version credit-risk@1 no longer matches"),
        (f"DELETE FROM version_files WHERE version_id = {V2}",
         "version credit-risk@2 no longer matches"),
        (f"UPDATE version_files SET size = size + 1 WHERE version_id = {V3}",
         "version credit-risk@3 no longer matches"),
    ],
    "version_tags": [
        (f"INSERT INTO version_tags (key, value, version_id) VALUES ('ok', 'y', {V3})",
         "version credit-risk@3 no longer matches entry"),
        ("DELETE FROM version_tags WHERE key = 'team'",
         "version credit-risk@1 no longer matches entry"),
        (f"UPDATE version_tags SET value = 'no' WHERE version_id = {V2}",
         "version credit-risk@2 no longer matches entry"),
    ],
    "version_events": [
        ("INSERT INTO version_events (version_id, kind, key, value, actor, at, reason) SELECT "
         f"{V3}, kind, key, value, actor, at, reason FROM version_events WHERE id = "
         "(SELECT min(id) FROM version_events)", "credit-risk@3 no longer matches entry"),
        ("DELETE FROM version_events WHERE kind = 'deprecated'",
         "credit-risk@2 no longer matches entry"),
        ("UPDATE version_events SET reason = 'benign' WHERE kind = 'deleted'",
         "credit-risk@4 no longer matches entry"),
    ],
    "version_events (trust)": [
        # Trust forged for a version, a grant removed, and who gave it rewritten: each a
        # version whose record no longer reads as its entries.
        ("INSERT INTO version_events (version_id, kind, key, value, actor, at, reason) SELECT "
         f"{V1}, 'trusted', 'builtins.eval', NULL, actor, at, reason FROM version_events "
         "WHERE kind = 'trusted'", "credit-risk@1 no longer matches entry"),
        ("DELETE FROM version_events WHERE kind = 'trusted' AND key = 'numpy.dtype'",
         "credit-risk@3 no longer matches entry"),
        ("UPDATE version_events SET actor = 'mallory' WHERE kind = 'trusted'",
         "credit-risk@3 no longer matches entry"),
    ],
    "models": [
        ("INSERT INTO models (name, created_at, created_by, last_version, description) "
         "VALUES ('forged', 0, 'mallory', 0, '')", "model 'forged' has no audit entry"),
        ("DELETE FROM models WHERE name = 'churn'", "model 'churn' of entry"),
        ("UPDATE models SET description = 'safe', last_version = 7 WHERE name = 'credit-risk'",
         "(description, latest_version)"),
    ],
    "model_tags": [
        (f"INSERT INTO model_tags (model_id, key, value) VALUES ({model('fraud')}, 'tier', '3')",
         "model 'fraud' no longer matches entry"),
        (f"DELETE FROM model_tags WHERE model_id = {MODEL}",
         "model 'credit-risk' no longer matches entry"),
        ("UPDATE model_tags SET value = 'x' WHERE key = 'owner' AND model_id = "
         f"{model('churn')}", "model 'churn' no longer matches entry"),
    ],
    "model_events": [
        ("INSERT INTO model_events (model_id, kind, key, value, actor, at) SELECT "
         f"{model('fraud')}, kind, key, value, actor, at FROM model_events WHERE id = "
         "(SELECT min(id) FROM model_events)", "model 'fraud' no longer matches entry"),
        ("DELETE FROM model_events WHERE kind = 'described'",
         "model 'credit-risk' no longer matches entry"),
        (f"UPDATE model_events SET actor = 'mallory' WHERE model_id = {model('churn')}",
         "model 'churn' no longer matches entry"),
    ],
    "environments": [
        ("INSERT INTO environments (model_id, name, protected, created_at, created_by) SELECT "
         "model_id, 'shadow', protected, created_at, created_by FROM environments WHERE id = "
         f"{STAGING}", "environment 'shadow' of credit-risk has no audit entry"),
        (f"DELETE FROM environments WHERE id = {STAGING}",
         "environment 'staging' of credit-risk of entry"),
        (f"UPDATE environments SET protected = false WHERE id = {environment('production')}",
         "environment 'production' of credit-risk no longer matches entry"),
    ],
    "environment_events": [
        ("INSERT INTO environment_events (environment_id, kind, actor, at, request_id, reason) "
         f"VALUES ({STAGING}, 'protected', 'mallory', 0, NULL, NULL)",
         "environment 'staging' of credit-risk no longer matches entry"),
        ("DELETE FROM environment_events WHERE environment_id = "
         f"{environment('production')}",
         "environment 'production' of credit-risk no longer matches entry"),
        ("UPDATE environment_events SET actor = 'mallory' WHERE environment_id = "
         f"{environment('canary')}", "environment 'canary' of credit-risk no longer matches"),
    ],
    "deployment_events": [
        ("INSERT INTO deployment_events (model_id, environment_id, kind, versions, effective_at, "
         "recorded_at, actor, reason) SELECT model_id, environment_id, kind, versions, "
         "effective_at + 1, recorded_at + 1, 'mallory', NULL FROM deployment_events WHERE id = "
         "(SELECT min(id) FROM deployment_events)", "has no audit entry"),
        (f"DELETE FROM deployment_events WHERE environment_id = {STAGING} AND kind = 'undeploy'",
         "is gone"),
        ("UPDATE deployment_events SET reason = 'benign' WHERE reason = 'regression'",
         "(reason)"),
    ],
    "deployment_requests": [
        ("INSERT INTO deployment_requests (model_id, environment_id, kind, versions, "
         "effective_at, requested_by, requested_at, reason, base_event_id) SELECT model_id, "
         "environment_id, kind, versions, effective_at, 'mallory', requested_at, reason, "
         "base_event_id FROM deployment_requests WHERE kind = 'unprotect'", "has no audit entry"),
        ("DELETE FROM deployment_requests WHERE kind = 'unprotect' AND requested_by = 'alice'",
         "is gone"),
        ("UPDATE deployment_requests SET reason = 'routine' WHERE reason = 'better'",
         "(reason)"),
    ],
    "request_decisions": [
        ("INSERT INTO request_decisions (request_id, decision, decided_by, decided_at, reason, "
         f"event_id) VALUES ({PENDING}, 'approved', 'mallory', 0, NULL, NULL)",
         "(decided_at, decided_by, status)"),
        ("DELETE FROM request_decisions WHERE decision = 'rejected'",
         "(decided_at, decided_auth, decided_by, decision_reason, status)"),
        ("UPDATE request_decisions SET decided_by = 'alice' WHERE decision = 'approved'",
         "(decided_by)"),
    ],
    "decisions": [
        ("INSERT INTO decisions (decision_id, model_id, environment, version, version_source, "
         "decided_at, recorded_at, inputs_digest, inputs_mode, output, metadata, flags) SELECT "
         "'forged', model_id, environment, version, version_source, decided_at, recorded_at, "
         "inputs_digest, 'digest', output, metadata, flags FROM decisions WHERE decision_id = "
         "'d-1'", "decision 'forged' belongs to no batch"),
        ("DELETE FROM decisions WHERE decision_id = 'd-2'", "(4 found)"),
        ("UPDATE decisions SET flags = '[]' WHERE decision_id = 'not-live'",
         "the 1 decisions recorded by entry"),
        ("UPDATE decisions SET metadata = '{\"channel\":\"app\"}' WHERE decision_id = "
         "'old-1'", "the 2 decisions recorded by entry"),
    ],
    "api_tokens": [
        ("INSERT INTO api_tokens (token_id, token_hash, user_name, role, model_pattern, "
         "created_at, created_by) VALUES ('f0f0f0f0f0f0', 'ab', 'mallory', 'admin', NULL, 0, "
         "'mallory')", "token f0f0f0f0f0f0 has no audit entry"),
        ("DELETE FROM api_tokens WHERE user_name = 'dave'", "is gone"),
        ("UPDATE api_tokens SET role = 'admin', token_hash = 'cd' WHERE user_name = 'carol'",
         "(credential, role)"),
    ],
    "role_bindings": [
        ("INSERT INTO role_bindings (binding_id, issuer, principal, role, model_pattern, "
         "granted_at, granted_by) VALUES ('f0f0f0f0f0f0', 'https://idp.bank.example', "
         "'mallory@bank.example', 'admin', NULL, 0, 'mallory')",
         "role binding f0f0f0f0f0f0 has no audit entry"),
        ("DELETE FROM role_bindings WHERE principal = 'frank@bank.example'", "is gone"),
        ("UPDATE role_bindings SET role = 'admin', model_pattern = NULL "
         "WHERE principal = 'erin@bank.example'", "(model_pattern, role)"),
    ],
    "webhooks": [
        ("INSERT INTO webhooks (webhook_id, url, model_pattern, events, allow_private, secret, "
         "after_seq, created_at, created_by) SELECT 'f0f0f0f0f0f0', 'http://evil.example/', "
         "model_pattern, events, allow_private, secret, after_seq, created_at, created_by FROM "
         "webhooks WHERE url LIKE '%kept'", "webhook f0f0f0f0f0f0 has no audit entry"),
        ("DELETE FROM webhooks WHERE url LIKE '%gone'", "is gone"),
        ("UPDATE webhooks SET url = 'http://evil.example/' WHERE url LIKE '%kept'", "(url)"),
    ],
    "registration_keys": [
        ("INSERT INTO registration_keys (actor, key, model_id, number, digest, created_at) "
         "SELECT 'alice', 'replayed', model_id, number, digest, created_at FROM versions WHERE "
         f"id = {V1}", "the idempotency key 'replayed' of alice has no audit entry"),
        ("DELETE FROM registration_keys WHERE key = 'churn-1'",
         "the idempotency key 'churn-1' of alice of entry"),
        ("UPDATE registration_keys SET number = 1 WHERE key = 'fraud-2'",
         "the idempotency key 'fraud-2' of alice no longer matches entry"),
    ],
    "decision_policies": [
        ("INSERT INTO decision_policies (model_id, inputs_mode, retention_days) SELECT id, "
         "'digest', NULL FROM models WHERE name = 'fraud'",
         "the decision inputs policy of fraud has no audit entry"),
        (f"DELETE FROM decision_policies WHERE model_id = {model('churn')}",
         "policy of churn no longer matches entry"),
        (f"UPDATE decision_policies SET retention_days = 3650 WHERE model_id = {MODEL}",
         "policy of credit-risk no longer matches entry"),
    ],
    "access_denials": [
        ("INSERT INTO access_denials (id, first_at, last_at, count, user_name, token_id, client, "
         "method, route, operation, model, reason, status, recorded_at) SELECT id + 100, first_at, "
         "last_at, count, 'mallory', token_id, client, method, route, operation, model, reason, "
         "status, recorded_at FROM access_denials WHERE id = (SELECT min(id) FROM "
         "access_denials)", "refused-request record(s) from id"),
        ("DELETE FROM access_denials WHERE id = (SELECT min(id) FROM access_denials)",
         "the 2 refused requests recorded by entry"),
        ("UPDATE access_denials SET count = 1000 WHERE id = (SELECT max(id) FROM "
         "access_denials WHERE user_name IS NULL)", "the 1 refused requests recorded by entry"),
    ],
}  # fmt: skip


@pytest.mark.parametrize("table", list(TABLES))
def test_rows_inserted_deleted_and_changed_behind_the_registrys_back_are_reported(
    full: Registry, table: str
) -> None:
    tamper(full, *(sql for sql, _ in TABLES[table]))
    found, _ = problems(full)
    for sql, expected in TABLES[table]:
        assert any(expected in p for p in found), (sql, found)


def test_purges_are_evidence(full: Registry) -> None:
    """A purge undone, or one made by hand, no longer reads as the purge entry recorded it."""
    seq = seq_of(full, "decisions.inputs_purged")
    if sqlite(full):
        tamper(full, "UPDATE decisions SET inputs_purged_at = NULL WHERE decision_id = 'old-0'",
               "UPDATE decisions SET inputs = NULL, inputs_purged_at = 5 "
               "WHERE decision_id = 'd-4'")  # fmt: skip
    else:
        tamper(full, "UPDATE decision_purges SET purged_at = purged_at + 1",
               "INSERT INTO decision_purges (model_id, decided_before, last_id, purged_at) "
               f"SELECT {MODEL}, max(decided_at) + 1, max(id), 5 FROM decisions "
               "WHERE decision_id = 'd-4'")  # fmt: skip
    found, first = problems(full)
    assert any("read as purged at an instant no purge entry records" in p for p in found), found
    assert any(f"recorded by entry {seq} no longer match it" in p for p in found), found
    assert first == seq


def test_a_forged_deployment_is_reported_though_live_answers_it(full: Registry) -> None:
    """The scenario of the tamper test: an event inserted with the triggers dropped, by an
    actor no entry names, becomes what `live` answers; verify reports it, through the CLI."""
    tamper(full, "INSERT INTO deployment_events (model_id, environment_id, kind, versions, "
                 f"effective_at, recorded_at, actor, reason) SELECT {MODEL}, {STAGING}, "
                 "'deploy', '[{\"version\":3,\"weight\":1.0}]', max(recorded_at) + 1, "
                 "max(recorded_at) + 1, 'mallory', NULL FROM deployment_events")  # fmt: skip
    live = full.live("credit-risk", env="staging", at=T0 + timedelta(days=3650)).event
    assert live is not None and live.actor == "mallory"
    done = cli_verify(full)
    assert done.returncode == 1, done.stdout
    report = json.loads(done.stdout)
    assert any(
        f"deployment event {live.event_id} of credit-risk@staging has no audit entry" in p
        for p in report["problems"]
    ), report


def test_a_decision_outside_every_batch_and_a_flag_removed_are_reported(full: Registry) -> None:
    batch = seq_of(full, "decisions.logged", 1)
    tamper(
        full,
        "UPDATE decisions SET flags = '[]' WHERE decision_id = 'not-live'",
        "INSERT INTO decisions (decision_id, model_id, environment, version, version_source, "
        "decided_at, recorded_at, inputs_digest, inputs_mode, output, metadata, flags) SELECT "
        "'stray', model_id, environment, version, version_source, decided_at, recorded_at, "
        "inputs_digest, 'digest', output, metadata, flags FROM decisions WHERE decision_id = 'd-0'",
    )
    found, first = problems(full)
    assert found == [
        f"the 1 decisions recorded by entry {batch} no longer match it (1 found): the decision "
        "log was changed after it was recorded",
        "decision 'stray' belongs to no batch the audit log recorded: written behind the "
        "registry's back",
    ]
    assert first == batch
    assert full.decision("not-live")["flags"] == []  # what answers now show, unrecorded


def test_entries_written_before_they_carried_evidence_are_checked_as_far_as_they_go(
    registry: Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store whose entries predate the new fields (batches hashed without metadata and
    flags, registrations without their key, imports without their environments, tokens
    without their credential) still verifies; what those entries never bound is not checked,
    and everything else is."""
    import modelrepo.stores.sql.decisions as sql_decisions
    import modelrepo.stores.sql.deployments as sql_deployments
    import modelrepo.stores.sql.store as sql_store
    import modelrepo.stores.sql.tokens as sql_tokens
    from modelrepo.domain import access, audit

    def layout_1(columns: Any) -> dict[str, Any]:
        change = audit.decisions_change(columns)
        digest = audit.DecisionsDigest(layout=1)
        c = columns
        digest.update(c.decision_ids, c.models, c.environments, c.versions, c.decided_at,
                      c.inputs_digests, c.outputs)  # fmt: skip
        del change["rows"]
        return {**change, "rows_sha256": digest.hexdigest()}

    def without(name: str, make: Any) -> Any:
        return lambda *args: {k: v for k, v in make(*args).items() if k != name}

    monkeypatch.setattr(sql_decisions, "decisions_change", layout_1)
    monkeypatch.setattr(sql_store, "registration_change", without("key", audit.registration_change))
    monkeypatch.setattr(sql_deployments, "import_batch_change",
                        without("environments", audit.import_batch_change))  # fmt: skip
    monkeypatch.setattr(
        sql_tokens, "credential_change", without("credential", access.credential_change)
    )
    everything(registry, artifact)
    monkeypatch.undo()
    changes = {e["kind"]: e["change"] for e in registry.audit_log()}
    assert "rows" not in changes["decisions.logged"]
    assert "key" not in changes["version.registered"]
    report = registry.audit_verify()
    assert report.ok, report.problems
    # Not bound by these entries, so not reported: a flag removed, a token's hash swapped.
    tamper(registry, "UPDATE decisions SET flags = '[]' WHERE decision_id = 'not-live'",
           "UPDATE api_tokens SET token_hash = 'cd' WHERE user_name = 'carol'")  # fmt: skip
    assert registry.audit_verify().ok
    # Bound all along: a decision's output, a forged deployment, an idempotency key moved.
    tamper(
        registry,
        "UPDATE decisions SET output = '7' WHERE decision_id = 'd-1'",
        "INSERT INTO deployment_events (model_id, environment_id, kind, versions, effective_at, "
        "recorded_at, actor, reason) SELECT model_id, environment_id, kind, versions, "
        "effective_at + 1, recorded_at + 1, 'mallory', NULL FROM deployment_events WHERE id = "
        "(SELECT min(id) FROM deployment_events)",
        "UPDATE registration_keys SET number = 1 WHERE key = 'fraud-2'",
    )
    found, _ = problems(registry)
    assert any("the 5 decisions recorded by entry" in p for p in found), found
    assert any("has no audit entry: it was written" in p and "deployment event" in p
               for p in found), found  # fmt: skip
    assert any("the idempotency key 'fraud-2' of alice has no audit entry" in p
               for p in found), found  # fmt: skip
