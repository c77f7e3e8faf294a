"""Refused requests in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ...domain.denials import AUDIT_KIND as DENIALS_KIND
from ...domain.denials import AUDIT_SUBJECT as DENIALS_SUBJECT
from ...domain.denials import Denial, denials_change
from .audit import MemoryAudit


class MemoryDenials(MemoryAudit):
    """Refused requests in a list (the reference for `SqlDenials`)."""

    def __init__(self) -> None:
        self._denials: list[Denial] = []

    def record_denials(self, batch: Sequence[Denial], *, actor: str, at: datetime) -> list[Denial]:
        if not batch:
            return []
        with self._audit_lock:
            first = len(self._denials) + 1
            stored = [replace(d, id=first + i) for i, d in enumerate(batch)]
            self._denials.extend(stored)
            self._audit(
                DENIALS_KIND, DENIALS_SUBJECT, actor=actor, at=at, change=denials_change(stored)
            )
            return stored

    def denials(
        self,
        *,
        since: datetime | None = None,
        model: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Denial]:
        with self._audit_lock:
            found = [
                d
                for d in self._denials
                if (since is None or d.last_at >= since) and (model is None or d.model == model)
            ]
        found.sort(key=lambda d: (d.last_at, d.id or 0), reverse=True)
        return found[offset : offset + limit]

    def denials_between(self, first: int, last: int) -> list[Denial]:
        with self._audit_lock:
            return [d for d in self._denials if d.id is not None and first <= d.id <= last]
