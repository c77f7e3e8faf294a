"""Webhook subscriptions and their delivery log, over an embedded store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..api.webhooks import WebhooksAPI
from ..domain.errors import InvalidInput
from .core import Core, changes, writes

if TYPE_CHECKING:
    from ..domain.pages import Page
    from ..domain.webhooks import Attempt, Delivery, Webhook
    from ..webhooks import Deliverer


class Webhooks(Core, WebhooksAPI):
    @writes
    def add_webhook(
        self,
        url: str,
        *,
        model_pattern: str = "*",
        events: Iterable[str],
        allow_private: bool = False,
    ) -> tuple[Webhook, str]:
        import secrets

        from ..domain.webhooks import Webhook, check_events, check_model_pattern, check_url
        from ..webhooks import new_secret

        target = check_url(url, allow_http=allow_private)
        secret = new_secret()
        record = Webhook(
            webhook_id="wh_" + secrets.token_hex(6),
            url=target.url,
            model_pattern=check_model_pattern(model_pattern),
            events=check_events(events),
            created_at=self.clock.now(),
            created_by=self.user,
            allow_private=bool(allow_private),
            secret=secret,
        )
        return self.backend.metadata.add_webhook(record), secret

    def webhooks(self, *, include_disabled: bool = True) -> list[Webhook]:
        found = self.backend.metadata.webhooks()
        return found if include_disabled else [h for h in found if h.active]

    @changes
    def disable_webhook(self, webhook_id: str) -> Webhook:
        from ..domain.webhooks import check_webhook_id

        return self.backend.metadata.disable_webhook(
            check_webhook_id(webhook_id), actor=self.user, at=self.clock.now()
        )

    def webhook_deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> list[Delivery]:
        from ..domain.webhooks import check_webhook_id

        if webhook_id is not None:
            check_webhook_id(webhook_id)
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be between 1 and 10000")
        return self.backend.metadata.deliveries(webhook_id, limit=limit)

    def webhook_deliveries_page(
        self, webhook_id: str | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Delivery]:
        from ..domain.pages import read_page
        from ..domain.webhooks import check_webhook_id

        if webhook_id is not None:
            check_webhook_id(webhook_id)
        return read_page(
            lambda count, offset: self.backend.metadata.deliveries(
                webhook_id, limit=count, offset=offset
            ),
            limit,
            cursor,
            most=10_000,
        )

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        return self.backend.metadata.delivery_attempts(delivery_id)

    def deliverer(self, **options: Any) -> Deliverer:
        from ..webhooks import Deliverer

        return Deliverer(self.backend.metadata, self.clock, **options)
