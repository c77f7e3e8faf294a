"""A store written before canonical JSON lived in one module verifies, and its bytes are what
the code writes now (`fixtures/pre-canonical-store.tar.gz`, built by `awkward_store.py`)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import apsw
import pytest

from modelrepo import Registry
from modelrepo.domain.canonical import canonical_bytes, canonical_text
from modelrepo.domain.deployments import Allocation, allocations_json
from modelrepo.domain.manifest import manifest_digest
from modelrepo.domain.webhooks import fan_out

FIXTURE = Path(__file__).with_name("fixtures") / "pre-canonical-store.tar.gz"
MODELREPO = str(Path(sys.executable).with_name("modelrepo"))


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "store"


def rows(store: Path, sql: str) -> list[tuple[object, ...]]:
    conn = apsw.Connection(str(store / "modelrepo.db"), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def test_the_old_store_passes_audit_verify(old_store: Path) -> None:
    done = subprocess.run(
        [MODELREPO, "--store", str(old_store), "audit", "verify", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["size"] == 9 and report["checkpoints_checked"] == 2
    with Registry(old_store) as reg:
        assert reg.fsck().ok
        for version in reg.versions("credit-risk"):
            assert manifest_digest(version.files) == version.digest


def test_the_old_stores_bytes_are_those_written_now(old_store: Path) -> None:
    for (body,) in rows(old_store, "SELECT body FROM audit_entries"):
        assert isinstance(body, bytes) and canonical_bytes(json.loads(body)) == body
    for columns in rows(old_store, "SELECT params, metrics, signature, lineage FROM versions"):
        for text in columns:
            assert isinstance(text, str) and canonical_text(json.loads(text)) == text
    for digest, body in rows(old_store, "SELECT digest, body FROM environment_snapshots"):
        assert isinstance(body, str) and canonical_text(json.loads(body)) == body
        assert digest == "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    for columns in rows(old_store, "SELECT inputs, output, metadata FROM decisions"):
        for text in columns:
            assert isinstance(text, str) and canonical_text(json.loads(text)) == text
    for (text,) in rows(old_store, "SELECT versions FROM deployment_events"):
        assert isinstance(text, str)
        split = tuple(Allocation(a["version"], a["weight"]) for a in json.loads(text))
        assert allocations_json(split) == text


def test_the_old_stores_webhook_bodies_are_made_again_byte_for_byte(old_store: Path) -> None:
    stored = [p for (p,) in rows(old_store, "SELECT payload FROM webhook_deliveries ORDER BY id")]
    entries = [json.loads(b) for (b,) in rows(old_store, "SELECT body FROM audit_entries")]
    with Registry(old_store) as reg:
        hooks = reg.webhooks()
    assert len(stored) == 5 and any("\\u00e5lice" in str(p) for p in stored)
    assert [d.payload for d in fan_out(entries, hooks)] == stored
