"""Refused requests in SQL: each batch of rows and its audit entry in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.times import from_micros, to_micros
from .audit import SqlAudit
from .raw import Q

if TYPE_CHECKING:  # loaded where used: opening a store for a read needs none of it
    from ...domain.denials import Denial


class SqlDenials(SqlAudit):
    """The refused-requests half of `SqlMetadataStore` (mixed into it)."""

    def record_denials(self, batch: Sequence[Denial], *, actor: str, at: datetime) -> list[Denial]:
        if not batch:
            return []
        from ...domain.denials import AUDIT_KIND, AUDIT_SUBJECT, denials_change

        with self._raw.write() as tx:  # writers are serialised: the ids are ours to give
            first = int(tx.scalar(Q.LAST_DENIAL_ID) or 0) + 1
            stored = [replace(d, id=first + i) for i, d in enumerate(batch)]
            recorded_at = to_micros(at)
            tx.executemany(
                Q.NEW_DENIAL,
                [
                    {
                        "id": d.id,
                        "first_at": to_micros(d.first_at),
                        "last_at": to_micros(d.last_at),
                        "count": d.count,
                        "user": d.user,
                        "token_id": d.token_id,
                        "client": d.client,
                        "method": d.method,
                        "route": d.route,
                        "operation": d.operation,
                        "model": d.model,
                        "reason": d.reason,
                        "status": d.status,
                        "recorded_at": recorded_at,
                    }
                    for d in stored
                ],
            )
            self._audit(
                tx, AUDIT_KIND, AUDIT_SUBJECT, actor=actor, at=at, change=denials_change(stored)
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
        after = to_micros(since) if since is not None else 0
        tx = self._raw.reader()
        if model is None:
            rows = tx.all(Q.DENIALS, since=after, limit=limit, offset=offset)
        else:
            rows = tx.all(Q.DENIALS_OF_MODEL, model=model, since=after, limit=limit, offset=offset)
        return [_to_denial(r) for r in rows]

    def denials_between(self, first: int, last: int) -> list[Denial]:
        return [
            _to_denial(r) for r in self._raw.reader().all(Q.DENIALS_BETWEEN, first=first, last=last)
        ]


def _to_denial(row: Any) -> Denial:
    from ...domain.denials import Denial

    return Denial(
        first_at=from_micros(row.first_at),
        last_at=from_micros(row.last_at),
        count=int(row.count),
        user=row.user_name,
        token_id=row.token_id,
        client=row.client,
        method=row.method,
        route=row.route,
        operation=row.operation,
        model=row.model,
        reason=row.reason,
        status=int(row.status),
        id=int(row.id),
    )
