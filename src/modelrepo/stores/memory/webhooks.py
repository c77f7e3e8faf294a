"""Webhooks and their deliveries in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ...domain.errors import NotFound, delivery_not_found, webhook_not_found
from ...domain.webhooks import (
    PENDING,
    Attempt,
    Delivery,
    NewDelivery,
    Webhook,
    after_attempt,
    check_new_webhook,
    disabled_webhook,
)
from .audit import MemoryAudit


class MemoryWebhooks(MemoryAudit):
    """Webhooks, the fan-out cursor and the delivery log (the reference for `SqlWebhooks`)."""

    def __init__(self) -> None:
        self._webhooks: dict[str, Webhook] = {}
        self._webhook_cursor = 0
        self._deliveries: list[Delivery] = []
        self._leases: dict[int, datetime] = {}
        self._attempts: list[Attempt] = []

    def add_webhook(self, hook: Webhook) -> Webhook:
        with self._audit_lock:
            check_new_webhook(hook.webhook_id, hook.webhook_id in self._webhooks)
            entry = self._audit(
                "webhook.created",
                f"webhook:{hook.webhook_id}",
                actor=hook.created_by,
                at=hook.created_at,
                change=hook.audit_change(),
            )
            stored = replace(hook, after_seq=entry.seq)
            self._webhooks[hook.webhook_id] = stored
            return stored

    def webhooks(self) -> list[Webhook]:
        with self._audit_lock:
            return sorted(self._webhooks.values(), key=lambda h: (h.created_at, h.webhook_id))

    def disable_webhook(self, webhook_id: str, *, actor: str, at: datetime) -> Webhook:
        with self._audit_lock:
            found = self._webhooks.get(webhook_id)
            disabled = disabled_webhook(found, webhook_id, actor=actor, at=at)
            self._webhooks[webhook_id] = disabled
            self._audit(
                "webhook.disabled",
                f"webhook:{webhook_id}",
                actor=actor,
                at=at,
                change=disabled.audit_change(),
            )
            return disabled

    def webhook_cursor(self) -> int:
        with self._audit_lock:
            return self._webhook_cursor

    def enqueue_deliveries(
        self, after: int, upto: int, deliveries: Sequence[NewDelivery], *, at: datetime
    ) -> bool:
        with self._audit_lock:
            if self._webhook_cursor != after:
                return False
            for webhook_id in sorted({d.webhook_id for d in deliveries}):  # before any write
                if webhook_id not in self._webhooks:
                    raise NotFound(webhook_not_found(webhook_id))
            known = {(d.webhook_id, d.seq) for d in self._deliveries}
            for new in deliveries:
                if (new.webhook_id, new.seq) in known:
                    continue
                known.add((new.webhook_id, new.seq))
                self._deliveries.append(
                    Delivery(
                        len(self._deliveries) + 1,
                        new.webhook_id,
                        new.seq,
                        new.event_id,
                        new.kind,
                        new.payload,
                        PENDING,
                        0,
                        at,
                        at,
                    )
                )
            self._webhook_cursor = upto
            return True

    def claim_deliveries(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[Delivery]:
        with self._audit_lock:
            due = [
                d
                for d in self._deliveries
                if d.status == PENDING
                and d.next_attempt_at <= now
                and self._leases.get(d.delivery_id, now) <= now
                and self._webhooks[d.webhook_id].active
            ]
            due.sort(key=lambda d: (d.next_attempt_at, d.delivery_id))
            for d in due[:limit]:
                self._leases[d.delivery_id] = lease_until
            return due[:limit]

    def record_delivery_attempt(
        self, attempt: Attempt, *, owner: str, next_attempt_at: datetime | None
    ) -> Delivery:
        with self._audit_lock:
            if not 1 <= attempt.delivery_id <= len(self._deliveries):
                raise NotFound(delivery_not_found(attempt.delivery_id))
            found = self._deliveries[attempt.delivery_id - 1]
            self._attempts.append(attempt)
            self._leases.pop(attempt.delivery_id, None)
            updated = after_attempt(found, attempt, next_attempt_at)
            self._deliveries[attempt.delivery_id - 1] = updated
            return updated

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Delivery]:
        with self._audit_lock:
            found = [d for d in self._deliveries if webhook_id in (None, d.webhook_id)]
            return found[::-1][offset : offset + limit]

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        with self._audit_lock:
            return [a for a in self._attempts if a.delivery_id == delivery_id]
