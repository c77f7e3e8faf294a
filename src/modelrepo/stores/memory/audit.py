"""The audit log in memory: entries, the hash tree over them, checkpoints."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from ...domain.audit import AuditEntry, entries_of_subject, new_nodes, node_position
from ...domain.times import parse_time, to_micros


class MemoryAudit:
    """The audit log kept in lists (the reference for `SqlAudit`)."""

    def __init__(self) -> None:
        self._store_id = str(uuid.uuid4())
        self._audit_bodies: list[bytes] = []
        self._audit_nodes: dict[tuple[int, int], bytes] = {}
        self._checkpoints: list[tuple[int, datetime, str]] = []
        self._audit_lock = threading.RLock()

    def store_id(self) -> str:
        return self._store_id

    def _audit(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        at: datetime,
        change: Mapping[str, Any],
    ) -> AuditEntry:
        with self._audit_lock:
            seq = len(self._audit_bodies) + 1
            entry = AuditEntry(seq, at, actor, kind, subject, change, self._store_id)
            nodes = new_nodes(
                seq - 1, entry.leaf_hash(), lambda lv, ix: self._audit_nodes[(lv, ix)]
            )
            self._audit_bodies.append(entry.canonical())
            self._audit_nodes.update({(lv, ix): h for lv, ix, h in nodes})
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
        with self._audit_lock:
            if only_if_empty and self._audit_bodies:
                return None
            return self._audit(kind, subject, actor=actor, at=at, change=change)

    def audit_size(self) -> int:
        return len(self._audit_bodies)

    def audit_node(self, level: int, index: int) -> bytes:
        try:
            return self._audit_nodes[(level, index)]
        except KeyError:
            raise LookupError(f"audit tree node ({level}, {index}) is missing") from None

    def audit_entries(
        self, start: int = 1, end: int | None = None
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        size = len(self._audit_bodies)
        last = size if end is None else min(end, size)  # a range past the end: what there is
        for seq in range(start, last + 1):
            yield seq, self._audit_bodies[seq - 1], self._audit_nodes.get((0, seq - 1))

    def audit_rows(
        self, start: int = 1
    ) -> Iterator[tuple[int, bytes, bytes | None, int, str, str]]:
        for seq, body, leaf in self.audit_entries(start):
            entry = json.loads(body)
            at = to_micros(parse_time(entry["at"]))
            yield seq, body, leaf, at, entry["kind"], entry["subject"]

    def audit_tree(self) -> Iterator[tuple[int, bytes]]:
        with self._audit_lock:
            nodes = [(node_position(lv, ix), h) for (lv, ix), h in self._audit_nodes.items() if lv]
        yield from sorted(nodes)

    def audit_entry(self, seq: int) -> bytes | None:
        return self._audit_bodies[seq - 1] if 1 <= seq <= len(self._audit_bodies) else None

    def subject_entries(self, subject: str) -> list[tuple[int, bytes]]:
        filed = [
            (i + 1, json.loads(body)["subject"], body) for i, body in enumerate(self._audit_bodies)
        ]
        exact = [(seq, body) for seq, under, body in filed if under == subject]
        return entries_of_subject(subject, exact, filed)

    def add_checkpoint(self, size: int, at: datetime, body: str) -> None:
        self._checkpoints.append((size, at, body))

    def checkpoints(self) -> list[tuple[int, int, str]]:
        return [(size, to_micros(at), body) for size, at, body in self._checkpoints]

    def last_checkpoint(self) -> tuple[int, int] | None:
        if not self._checkpoints:
            return None
        size, at, _ = self._checkpoints[-1]
        return size, to_micros(at)
