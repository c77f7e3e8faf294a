"""The webhooks API (subscriptions and their delivery log), as both registries offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..domain.pages import Page
    from ..domain.webhooks import Attempt, Delivery, Webhook
    from ..webhooks import Deliverer


class WebhooksAPI(Protocol):
    """Webhook subscriptions and their delivery log."""

    def add_webhook(
        self,
        url: str,
        *,
        model_pattern: str = "*",
        events: Iterable[str],
        allow_private: bool = False,
    ) -> tuple[Webhook, str]:
        """Subscribe `url` to `events` of models matching `model_pattern`. Returns the record
        and the signing secret, shown only here (it is stored, since deliveries are signed
        with it, but never listed). `allow_private`: the target may be a loopback or private
        address, and may use plain http."""
        ...

    def webhooks(self, *, include_disabled: bool = True) -> list[Webhook]:
        """Subscriptions, oldest first."""
        ...

    def disable_webhook(self, webhook_id: str) -> Webhook:
        """Stop a subscription for good (pending deliveries are no longer sent)."""
        ...

    def webhook_deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> list[Delivery]:
        """The delivery log, newest first (of one subscription, or of all): at most `limit`
        deliveries (`webhook_deliveries_page` pages through all of them)."""
        ...

    def webhook_deliveries_page(
        self, webhook_id: str | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Delivery]:
        """One page of `webhook_deliveries` (newest first) and the `next_cursor` to pass for
        the next page, None on the last: a long list never ends without saying so. A page
        holds up to 10,000 deliveries (1,000 through a server)."""
        ...

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        """Every try at one delivery, oldest first: when, the answer's status or the error,
        and how long it took."""
        ...

    def deliverer(self, **options: Any) -> Deliverer:
        """What sends webhook deliveries from this store (see `modelrepo.webhooks`)."""
        ...
