"""Webhooks in SQL: subscriptions (audited), the fan-out cursor, deliveries and attempts.

Every write runs in the store's write transaction, which is exclusive (SQLite: BEGIN
IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock): advancing the cursor and claiming
deliveries are therefore never done twice by two processes at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.errors import NotFound, delivery_not_found, webhook_not_found
from ...domain.times import from_micros, to_micros
from .audit import SqlAudit
from .raw import Q

if TYPE_CHECKING:  # loaded where used: opening a store for a read needs none of it
    from ...domain.webhooks import Attempt, Delivery, NewDelivery, Webhook


class SqlWebhooks(SqlAudit):
    """The webhook half of `SqlMetadataStore` (mixed into it)."""

    def add_webhook(self, hook: Webhook) -> Webhook:
        from ...domain.webhooks import check_new_webhook

        with self._raw.write() as tx:
            taken = tx.one(Q.WEBHOOK_BY_ID, webhook_id=hook.webhook_id)
            check_new_webhook(hook.webhook_id, taken is not None)
            entry = self._audit(
                tx,
                "webhook.created",
                f"webhook:{hook.webhook_id}",
                actor=hook.created_by,
                at=hook.created_at,
                change=hook.audit_change(),
            )
            stored = replace(hook, after_seq=entry.seq)
            tx.execute(
                Q.NEW_WEBHOOK,
                webhook_id=hook.webhook_id,
                url=hook.url,
                model_pattern=hook.model_pattern,
                events=json.dumps(list(hook.events)),
                allow_private=hook.allow_private,
                secret=hook.secret,
                after_seq=entry.seq,
                created_at=to_micros(hook.created_at),
                created_by=hook.created_by,
            )
        return stored

    def webhooks(self) -> list[Webhook]:
        return [_to_webhook(r) for r in self._raw.reader().all(Q.WEBHOOKS)]

    def disable_webhook(self, webhook_id: str, *, actor: str, at: datetime) -> Webhook:
        from ...domain.webhooks import disabled_webhook

        with self._raw.write() as tx:
            row = tx.one(Q.WEBHOOK_BY_ID, webhook_id=webhook_id)
            found = None if row is None else _to_webhook(row)
            disabled = disabled_webhook(found, webhook_id, actor=actor, at=at)
            tx.execute(Q.DISABLE_WEBHOOK, webhook_id=webhook_id, at=to_micros(at), actor=actor)
            self._audit(
                tx,
                "webhook.disabled",
                f"webhook:{webhook_id}",
                actor=actor,
                at=at,
                change=disabled.audit_change(),
            )
        return disabled

    def webhook_cursor(self) -> int:
        return int(self._raw.reader().scalar(Q.WEBHOOK_CURSOR) or 0)

    def enqueue_deliveries(
        self, after: int, upto: int, deliveries: Sequence[NewDelivery], *, at: datetime
    ) -> bool:
        with self._raw.write() as tx:
            if int(tx.scalar(Q.WEBHOOK_CURSOR) or 0) != after:
                return False  # another process fanned these entries out meanwhile
            for webhook_id in sorted({d.webhook_id for d in deliveries}):  # one per subscription
                if tx.one(Q.WEBHOOK_BY_ID, webhook_id=webhook_id) is None:
                    raise NotFound(webhook_not_found(webhook_id))
            tx.executemany(
                Q.NEW_DELIVERY,
                [
                    {
                        "webhook_id": d.webhook_id,
                        "seq": d.seq,
                        "event_id": d.event_id,
                        "kind": d.kind,
                        "payload": d.payload,
                        "at": to_micros(at),
                    }
                    for d in deliveries
                ],
            )
            tx.execute(Q.SET_WEBHOOK_CURSOR, seq=upto)
        return True

    def claim_deliveries(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[Delivery]:
        with self._raw.write() as tx:
            rows = tx.all(Q.DUE_DELIVERIES, now=to_micros(now), limit=limit)
            for row in rows:
                tx.execute(Q.LEASE_DELIVERY, id=row.id, owner=owner, until=to_micros(lease_until))
        return [_to_delivery(r) for r in rows]

    def record_delivery_attempt(
        self, attempt: Attempt, *, owner: str, next_attempt_at: datetime | None
    ) -> Delivery:
        from ...domain.webhooks import after_attempt

        with self._raw.write() as tx:
            row = tx.one(Q.DELIVERY_BY_ID, id=attempt.delivery_id)
            if row is None:
                raise NotFound(delivery_not_found(attempt.delivery_id))
            updated = after_attempt(_to_delivery(row), attempt, next_attempt_at)
            tx.execute(
                Q.NEW_ATTEMPT,
                delivery_id=attempt.delivery_id,
                attempt=attempt.attempt,
                at=to_micros(attempt.at),
                ok=attempt.ok,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
                owner=owner,
            )
            delivered = updated.delivered_at
            tx.execute(
                Q.FINISH_ATTEMPT,
                id=attempt.delivery_id,
                status=updated.status,
                attempts=updated.attempts,
                next_attempt_at=to_micros(updated.next_attempt_at),
                last_error=updated.last_error,
                delivered_at=None if delivered is None else to_micros(delivered),
            )
            return updated

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Delivery]:
        reader = self._raw.reader()
        if webhook_id is None:
            rows = reader.all(Q.DELIVERIES, limit=limit, offset=offset)
        else:
            rows = reader.all(
                Q.DELIVERIES_OF_WEBHOOK, webhook_id=webhook_id, limit=limit, offset=offset
            )
        return [_to_delivery(r) for r in rows]

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        from ...domain.webhooks import Attempt

        rows = self._raw.reader().all(Q.ATTEMPTS, delivery_id=delivery_id)
        return [
            Attempt(
                delivery_id=int(r.delivery_id),
                attempt=int(r.attempt),
                at=from_micros(r.at),
                ok=bool(r.ok),
                status_code=r.status_code,
                error=r.error,
                duration_ms=int(r.duration_ms),
            )
            for r in rows
        ]


def _to_webhook(row: Any) -> Webhook:
    from ...domain.webhooks import Webhook

    return Webhook(
        webhook_id=row.webhook_id,
        url=row.url,
        model_pattern=row.model_pattern,
        events=tuple(json.loads(row.events)),
        created_at=from_micros(row.created_at),
        created_by=row.created_by,
        allow_private=bool(row.allow_private),
        disabled_at=None if row.disabled_at is None else from_micros(row.disabled_at),
        disabled_by=row.disabled_by,
        after_seq=int(row.after_seq),
        secret=row.secret,
    )


def _to_delivery(row: Any) -> Delivery:
    from ...domain.webhooks import Delivery

    return Delivery(
        delivery_id=int(row.id),
        webhook_id=row.webhook_id,
        seq=int(row.seq),
        event_id=row.event_id,
        kind=row.kind,
        payload=row.payload,
        status=row.status,
        attempts=int(row.attempts),
        created_at=from_micros(row.created_at),
        next_attempt_at=from_micros(row.next_attempt_at),
        last_error=row.last_error,
        delivered_at=None if row.delivered_at is None else from_micros(row.delivered_at),
    )
