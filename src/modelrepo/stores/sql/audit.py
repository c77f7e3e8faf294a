"""The audit log in SQL: one entry per mutation, in the mutation's own transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from ...domain.audit import (
    AuditEntry,
    TreeRebuild,
    entries_of_subject,
    node_position,
    read_frontier,
)
from ...domain.times import to_micros
from ...verifier import leaf_hash
from .raw import Q, RawConnections, Tx

PAGE = 50_000


class SqlAudit:
    """The audit half of `SqlMetadataStore` (mixed into it)."""

    _raw: RawConnections
    _frontier: tuple[int, bytes, TreeRebuild] | None = None

    def store_id(self) -> str:
        cached: str | None = getattr(self, "_store_id", None)
        if cached is None:
            cached = str(self._raw.reader().scalar(Q.STORE_ID))
            self._store_id = cached
        return cached

    def _audit(
        self,
        tx: Tx,
        kind: str,
        subject: str,
        *,
        actor: str,
        at: datetime,
        change: Mapping[str, Any],
    ) -> AuditEntry:
        """Append one entry and the tree nodes it completes; the caller's transaction commits."""
        last = tx.one(Q.AUDIT_LAST)  # the log's size and last leaf, in one statement
        size, last_leaf = (0, b"") if last is None else (int(last.seq), bytes(last.leaf))
        seq = size + 1
        entry = AuditEntry(seq, at, actor, kind, subject, change, self.store_id())
        body = entry.canonical()
        leaf = leaf_hash(body)
        tx.execute(
            Q.NEW_AUDIT_ENTRY,
            seq=seq,
            at=to_micros(at),
            kind=kind,
            subject=subject,
            body=body,
            leaf=leaf,
        )
        # The right frontier of the tree (the perfect subtrees that make up `size`) holds every
        # left sibling the append needs. It is cached from the last append, which may have
        # been rolled back, or followed by another writer's: so it is used only if the
        # database's last leaf is the one it was computed with (entries before it are
        # committed and can never change).
        cached, self._frontier = self._frontier, None  # the tree changes below: unusable if
        # this append fails half way
        if cached is not None and size and cached[0] == size and last_leaf == cached[1]:
            tree = cached[2]
        else:
            tree = TreeRebuild.resumed(
                size, read_frontier(size, lambda level, index: self._node(tx, level, index))
            )
        nodes = tree.append_nodes(leaf)
        if nodes:
            tx.executemany(Q.NEW_AUDIT_NODE, [{"pos": pos, "hash": h} for pos, h in nodes])
        self._frontier = (seq, leaf, tree)
        return entry

    def record_audit(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        at: datetime,
        change: Mapping[str, Any],
        only_if_empty: bool = False,
    ) -> AuditEntry | None:
        """Append an entry on its own (e.g. the store's genesis entry)."""
        with self._raw.write() as tx:
            if only_if_empty and tx.scalar(Q.AUDIT_SIZE):
                return None
            return self._audit(tx, kind, subject, actor=actor, at=at, change=change)

    def audit_size(self) -> int:
        return int(self._raw.reader().scalar(Q.AUDIT_SIZE) or 0)

    def _node(self, tx: Tx, level: int, index: int) -> bytes:
        if level == 0:
            found = tx.scalar(Q.AUDIT_LEAF, seq=index + 1)
        else:
            found = tx.scalar(Q.AUDIT_NODE, pos=node_position(level, index))
        if found is None:
            raise LookupError(f"audit tree node ({level}, {index}) is missing")
        return bytes(found)

    def audit_node(self, level: int, index: int) -> bytes:
        return self._node(self._raw.reader(), level, index)

    def audit_entries(
        self, start: int = 1, end: int | None = None
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(seq, canonical body, stored leaf hash) in order, streamed in pages."""
        last = self.audit_size() if end is None else end
        tx = self._raw.reader()
        position = start
        while position <= last:
            rows = tx.tuples(Q.AUDIT_ENTRIES, start=position, end=min(last, position + PAGE - 1))
            if not rows:
                return
            yield from rows  # (seq, body bytes, leaf bytes or None)
            position = rows[-1][0] + 1

    def audit_rows(
        self, start: int = 1
    ) -> Iterator[tuple[int, bytes, bytes | None, int, str, str]]:
        """(seq, body, leaf, at, kind, subject): each entry with the columns kept beside it
        (what queries select entries by), streamed in pages."""
        last = self.audit_size()
        tx = self._raw.reader()
        position = start
        while position <= last:
            rows = tx.tuples(Q.AUDIT_ROWS, start=position, end=min(last, position + PAGE - 1))
            if not rows:
                return
            yield from rows
            position = rows[-1][0] + 1

    def audit_tree(self) -> Iterator[tuple[int, bytes]]:
        """(position, hash) of each stored interior node, in position order, in pages."""
        tx = self._raw.reader()
        after = -1
        while True:
            rows = tx.tuples(Q.AUDIT_TREE, after=after, limit=PAGE)
            if not rows:
                return
            yield from rows  # (int, bytes) on both databases
            after = rows[-1][0]

    def audit_entry(self, seq: int) -> bytes | None:
        row = self._raw.reader().one(Q.AUDIT_ENTRY, seq=seq)
        return None if row is None else bytes(row.body)

    def subject_entries(self, subject: str) -> list[tuple[int, bytes]]:
        reader = self._raw.reader()
        exact = [(r.seq, bytes(r.body)) for r in reader.all(Q.SUBJECT_ENTRIES, subject=subject)]
        if not subject.startswith("model:"):
            return exact
        shared = ((r.seq, r.subject, bytes(r.body)) for r in reader.all(Q.SHARED_SUBJECT_ENTRIES))
        return entries_of_subject(subject, exact, shared)

    def add_checkpoint(self, size: int, at: datetime, body: str) -> None:
        with self._raw.write() as tx:
            tx.execute(Q.NEW_CHECKPOINT, size=size, at=to_micros(at), body=body)

    def checkpoints(self) -> list[tuple[int, int, str]]:
        return [(int(r[0]), int(r[1]), str(r[2])) for r in self._raw.reader().all(Q.CHECKPOINTS)]

    def last_checkpoint(self) -> tuple[int, int] | None:
        """(size, at in microseconds) of the newest checkpoint."""
        row = self._raw.reader().one(Q.LAST_CHECKPOINT)
        return None if row is None else (int(row.size), int(row.at))
