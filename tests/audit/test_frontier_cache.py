"""The audit tree's cached right edge survives a rolled-back append and other writers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelrepo.domain.audit import root_hash
from modelrepo.stores.sql import SqlMetadataStore
from modelrepo.verifier import CompactRange

AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_writers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[SqlMetadataStore, SqlMetadataStore]]:
    """Two store objects (two processes' worth of caches) on one database."""
    if request.param == "sqlite":
        opened = [SqlMetadataStore.open_sqlite(tmp_path / "m.db") for _ in range(2)]
    else:
        url = request.getfixturevalue("pg_url")
        opened = [SqlMetadataStore.open_postgresql(url) for _ in range(2)]
    yield opened[0], opened[1]
    for store in opened:
        store.close()


def test_a_rolled_back_append_leaves_no_stale_edge(
    two_writers: tuple[SqlMetadataStore, SqlMetadataStore],
) -> None:
    a, b = two_writers
    for i in range(5):
        a.record_audit("test", "s", actor="a", at=AT, change={"i": i})
    with pytest.raises(RuntimeError), a._raw.write() as tx:
        a._audit(tx, "test", "s", actor="a", at=AT, change={"lost": True})
        raise RuntimeError("the rest of the transaction failed")
    b.record_audit("test", "s", actor="b", at=AT, change={"from": "b"})  # takes seq 6
    for i in range(5):  # a appends on top of b's entry: its cached edge must not be used
        a.record_audit("test", "s", actor="a", at=AT, change={"after": i})
    assert a.audit_size() == 11
    from_leaves = CompactRange()
    for _, _, leaf in a.audit_entries():
        assert leaf is not None
        from_leaves.append(leaf)
    for size in range(1, 12):  # every stored interior node agrees with the leaves
        partial = CompactRange()
        for _, _, leaf in a.audit_entries(1, size):
            assert leaf is not None
            partial.append(leaf)
        assert root_hash(size, a.audit_node) == partial.root(), f"tree of size {size}"
    assert root_hash(11, b.audit_node) == from_leaves.root()
