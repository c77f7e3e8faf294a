"""Webhooks over HTTP (admins with a token for every model): subscriptions, deliveries and
their attempts. Deliveries are sent by the server, never from here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..api.webhooks import WebhooksAPI
from ..domain.errors import InvalidInput
from ..domain.names import check_version
from ..domain.pages import Page
from ..domain.webhooks import Attempt, Delivery, Webhook
from .client import API, ServerClient

if TYPE_CHECKING:
    from ..webhooks import Deliverer


class Webhooks(ServerClient, WebhooksAPI):
    """Who the server tells about changes, and what it sent them."""

    def add_webhook(
        self,
        url: str,
        *,
        model_pattern: str = "*",
        events: Iterable[str],
        allow_private: bool = False,
    ) -> tuple[Webhook, str]:
        from ..domain.webhooks import check_events, check_model_pattern
        from ..domain.webhooks import check_url as check_target

        body = {
            "url": check_target(url, allow_http=allow_private).url,
            "model_pattern": check_model_pattern(model_pattern),
            "events": list(check_events(events)),
            "allow_private": bool(allow_private),
        }
        found = self._post(f"{API}/webhooks", body)
        return Webhook.from_dict(found), str(found["secret"])

    def webhooks(self, *, include_disabled: bool = True) -> list[Webhook]:
        found = self._get(f"{API}/webhooks", include_disabled=include_disabled)
        return [Webhook.from_dict(h) for h in found]

    def disable_webhook(self, webhook_id: str) -> Webhook:
        from ..domain.webhooks import check_webhook_id

        path = f"{API}/webhooks/{check_webhook_id(webhook_id)}/disable"
        return Webhook.from_dict(self._post(path))

    def webhook_deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> list[Delivery]:
        from ..domain.webhooks import check_webhook_id

        if webhook_id is not None:
            check_webhook_id(webhook_id)
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be between 1 and 10000")
        found = self._pages(
            f"{API}/webhooks/deliveries", limit, webhook_id=webhook_id, attempts=False
        )
        return [Delivery.from_dict(d) for d in found]

    def webhook_deliveries_page(
        self, webhook_id: str | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Delivery]:
        from ..domain.webhooks import check_webhook_id

        if webhook_id is not None:
            check_webhook_id(webhook_id)
        return self._page(
            f"{API}/webhooks/deliveries",
            Delivery.from_dict,
            limit,
            cursor,
            webhook_id=webhook_id,
            attempts=False,
        )

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        path = f"{API}/webhooks/deliveries/{check_version(delivery_id)}/attempts"
        return [Attempt.from_dict(a) for a in self._get(path)]

    def deliverer(self, **options: Any) -> Deliverer:
        # Deliveries are sent by the server's own deliverer, which reads its store.
        raise self._no_store()
