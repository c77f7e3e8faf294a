"""The audit-log contract every `MetadataStore` passes (subclass with a `store`): entries,
the hash tree stored beside them, and checkpoints."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ..domain.audit import node_position, root_hash
from ..domain.times import to_micros
from ..ports import MetadataStore
from ..verifier import leaf_hash, node_hash, root_from_leaf_hashes
from .metadata import T0


def _append(store: MetadataStore, n: int, subject: str = "model:credit-risk") -> None:
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        store.record_audit("test.noted", subject, actor="alice", at=at, change={"i": i})


class AuditStoreContract:
    """The log is append-only and hashed as it grows: every entry reads back as it was
    hashed, with its columns, and every complete subtree of the tree is stored."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_entries_carry_the_store_id(self, store: MetadataStore) -> None:
        store_id = store.store_id()
        assert store_id and store.store_id() == store_id
        entry = store.record_audit("test.noted", "s", actor="alice", at=T0, change={})
        assert entry is not None and entry.store == store_id
        assert json.loads(store.audit_entry(entry.seq) or b"{}")["store"] == store_id

    def test_entries_read_back_as_they_were_hashed(self, store: MetadataStore) -> None:
        assert store.audit_size() == 0
        first = store.record_audit(
            "store.created", "store", actor="alice", at=T0, change={"é": [1]}, only_if_empty=True
        )
        assert first is not None and first.seq == 1
        again = store.record_audit(
            "store.created", "store", actor="bob", at=T0, change={}, only_if_empty=True
        )
        assert again is None and store.audit_size() == 1
        second = store.record_audit(
            "test.noted", "model:x", actor="bob", at=T0 + timedelta(hours=1), change={"n": 2}
        )
        assert second is not None and second.seq == 2
        assert (second.kind, second.subject, second.actor, dict(second.change)) == (
            "test.noted",
            "model:x",
            "bob",
            {"n": 2},
        )
        bodies = [first.canonical(), second.canonical()]
        assert [store.audit_entry(seq) for seq in (0, 1, 2, 3)] == [None, *bodies, None]
        entries = list(store.audit_entries())
        assert [(seq, body) for seq, body, _ in entries] == [(1, bodies[0]), (2, bodies[1])]
        assert all(leaf in (None, leaf_hash(body)) for _, body, leaf in entries)
        assert [seq for seq, _, _ in store.audit_entries(2)] == [2]
        assert [seq for seq, _, _ in store.audit_entries(1, 1)] == [1]
        rows = list(store.audit_rows())
        assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows] == [
            (1, bodies[0], to_micros(T0), "store.created", "store"),
            (2, bodies[1], to_micros(T0 + timedelta(hours=1)), "test.noted", "model:x"),
        ]
        assert [r[0] for r in store.audit_rows(2)] == [2]
        assert store.subject_entries("model:x") == [(2, bodies[1])]
        assert store.subject_entries("model:y") == []

    def test_a_models_record_includes_entries_filed_under_several_models(
        self, store: MetadataStore
    ) -> None:
        """A bulk import (`models:a,b`) or a batch of decisions across models (`models`)
        belongs to the record of each model it names, and only theirs."""
        note = store.record_audit("test.noted", "model:a", actor="al", at=T0, change={})
        bulk = store.record_audit(
            "deployment.imported", "models:a,b", actor="al", at=T0, change={"models": ["a", "b"]}
        )
        batch = store.record_audit(
            "decisions.logged", "models", actor="al", at=T0, change={"models": ["b", "c_d"]}
        )
        other = store.record_audit("test.noted", "models:x", actor="al", at=T0, change={})
        assert note and bulk and batch and other
        seqs = {name: [seq for seq, _ in store.subject_entries(f"model:{name}")] for name in
                ("a", "b", "c_d", "cxd", "x")}  # fmt: skip
        assert seqs == {"a": [note.seq, bulk.seq], "b": [bulk.seq, batch.seq],
                        "c_d": [batch.seq], "cxd": [], "x": []}  # fmt: skip
        assert [seq for seq, _ in store.subject_entries("models:a,b")] == [bulk.seq]

    def test_a_range_past_the_end_reads_what_there_is(self, store: MetadataStore) -> None:
        _append(store, 3)
        assert [seq for seq, _, _ in store.audit_entries(2, 10)] == [2, 3]
        assert list(store.audit_entries(4, 10)) == []

    def test_every_complete_subtree_is_stored(self, store: MetadataStore) -> None:
        _append(store, 5)
        leaves = [leaf_hash(body) for _, body, _ in store.audit_entries()]
        assert [store.audit_node(0, i) for i in range(5)] == leaves
        pair = [node_hash(leaves[0], leaves[1]), node_hash(leaves[2], leaves[3])]
        assert [store.audit_node(1, 0), store.audit_node(1, 1)] == pair
        assert store.audit_node(2, 0) == node_hash(*pair)
        for level, index in ((1, 2), (3, 0), (0, 5)):  # not complete yet
            with pytest.raises(LookupError):
                store.audit_node(level, index)
        assert root_hash(5, store.audit_node) == root_from_leaf_hashes(leaves)[0]
        assert list(store.audit_tree()) == [
            (node_position(1, 0), pair[0]),
            (node_position(2, 0), node_hash(*pair)),
            (node_position(1, 1), pair[1]),
        ]

    def test_checkpoints_are_kept_in_order(self, store: MetadataStore) -> None:
        assert (store.checkpoints(), store.last_checkpoint()) == ([], None)
        _append(store, 3)
        store.add_checkpoint(3, T0 + timedelta(hours=1), "signed body 1")
        _append(store, 2)
        store.add_checkpoint(5, T0 + timedelta(hours=2), "signed body 2")
        assert store.checkpoints() == [
            (3, to_micros(T0 + timedelta(hours=1)), "signed body 1"),
            (5, to_micros(T0 + timedelta(hours=2)), "signed body 2"),
        ]
        assert store.last_checkpoint() == (5, to_micros(T0 + timedelta(hours=2)))
