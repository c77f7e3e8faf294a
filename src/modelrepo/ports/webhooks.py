"""Webhook subscriptions (audited) and the deliveries made from audit entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.webhooks import Attempt, Delivery, NewDelivery, Webhook


class WebhookStore(Protocol):
    """Webhooks (subscriptions are audited; deliveries come from audit entries)."""

    def add_webhook(self, hook: Webhook) -> Webhook:
        """Keep a subscription, with an audit entry (`webhook.created`, never the secret);
        it concerns audit entries after that one (`after_seq` of the result)."""
        ...

    def webhooks(self) -> list[Webhook]:
        """Every subscription, oldest first, disabled ones and secrets included."""
        ...

    def disable_webhook(self, webhook_id: str, *, actor: str, at: datetime) -> Webhook:
        """Disable a subscription for good, with an audit entry; NotFound, or Conflict."""
        ...

    def webhook_cursor(self) -> int:
        """The last audit entry already turned into deliveries."""
        ...

    def enqueue_deliveries(
        self, after: int, upto: int, deliveries: Sequence[NewDelivery], *, at: datetime
    ) -> bool:
        """Atomically add `deliveries` (made from audit entries after..upto) and move the
        cursor from `after` to `upto`; False, changing nothing, if the cursor is not at
        `after` (another process got there first). One delivery per subscription and entry."""
        ...

    def claim_deliveries(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[Delivery]:
        """Pending deliveries due at `now` of active subscriptions, not leased by anyone,
        leased to `owner` until `lease_until` in the same transaction."""
        ...

    def record_delivery_attempt(
        self, attempt: Attempt, *, owner: str, next_attempt_at: datetime | None
    ) -> Delivery:
        """Log an attempt and end the lease: delivered if it succeeded, else pending until
        `next_attempt_at`, or failed for good when that is None."""
        ...

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Delivery]:
        """The delivery log, newest first: at most `limit` deliveries after skipping the
        first `offset`."""
        ...

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]: ...
