"""Webhook delivery: audit entries become deliveries, deliveries are sent, signed, retried.

Events come from the audit log, which every mutation appends to in its own transaction: the
fan-out reads the entries after a cursor and, in one write transaction, adds a delivery per
subscription that wants one and moves the cursor. Nothing is notified that did not happen,
and nothing that happened is lost (at-least-once: a receiver may see an event twice and
should de-duplicate by its `id`).

Deliveries are claimed with a lease in the store's write transaction, so several server
replicas share the work without sending one delivery at the same time. Each attempt is
logged; a failure is retried with exponential backoff and jitter, up to `max_attempts`.

Deliveries are sent by `modelrepo.outbound`'s client: every address the target's host
resolves to is checked at connect time (no private networks unless the subscription allows
them) and the connection made to the address that was checked; no redirects, no proxy.

Needs httpx (the `server` extra).
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from .domain.errors import InvalidInput
from .domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Attempt,
    Delivery,
    Webhook,
    backoff,
    check_url,
    fan_out,
    signature,
)

if TYPE_CHECKING:
    from .outbound import Resolver
    from .ports import Clock, MetadataStore

log = logging.getLogger(__name__)

FAN_OUT_BATCH = 1000


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass
class Outcome:
    """What one `Deliverer.run_once` did."""

    enqueued: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "enqueued": self.enqueued,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
        }


class Deliverer:
    """Turns audit entries into deliveries and sends the due ones."""

    def __init__(
        self,
        store: MetadataStore,
        clock: Clock,
        *,
        resolver: Resolver | None = None,  # default: the system's
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 3600.0,
        timeout: float = 10.0,
        lease: float = 120.0,
        rng: random.Random | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.resolver = resolver
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.lease = lease
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.owner = owner or f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"

    def fan_out(self) -> int:
        """Add deliveries for audit entries after the cursor; how many were added."""
        added = 0
        while True:
            head = self.store.audit_size()  # read before the subscriptions: see below
            cursor = self.store.webhook_cursor()
            if head <= cursor:
                return added
            # A subscription stored after `head` was read has a later `after_seq`, so the
            # entries up to `head` never concern it.
            hooks = [h for h in self.store.webhooks() if h.active]
            # Entries up to the oldest subscription's creation concern none of them.
            start = max(cursor, min(h.after_seq for h in hooks)) if hooks else head
            upto = min(head, start + FAN_OUT_BATCH)
            entries = (
                [json.loads(body) for _, body, _ in self.store.audit_entries(start + 1, upto)]
                if upto > start
                else []
            )
            new = fan_out(entries, hooks)
            if self.store.enqueue_deliveries(cursor, upto, new, at=self.clock.now()):
                added += len(new)

    def deliver_due(self, limit: int = 50) -> Outcome:
        """Send the deliveries due now (each once); what became of them."""
        outcome = Outcome()
        now = self.clock.now()
        claimed = self.store.claim_deliveries(
            self.owner, now=now, lease_until=now + timedelta(seconds=self.lease), limit=limit
        )
        if not claimed:
            return outcome
        hooks = {h.webhook_id: h for h in self.store.webhooks()}
        for delivery in claimed:
            done = self._attempt(hooks[delivery.webhook_id], delivery)
            if done.status == "delivered":
                outcome.delivered += 1
            elif done.status == "failed":
                outcome.failed += 1
            else:
                outcome.retrying += 1
        return outcome

    def run_once(self, limit: int = 50) -> Outcome:
        enqueued = self.fan_out()
        outcome = self.deliver_due(limit)
        outcome.enqueued = enqueued
        return outcome

    def _attempt(self, hook: Webhook, delivery: Delivery) -> Delivery:
        number = delivery.attempts + 1
        started = time.monotonic()
        at = self.clock.now()
        status_code: int | None = None
        error: str | None = None
        try:
            status_code = self._send(hook, delivery, int(at.timestamp()))
            if 300 <= status_code < 400:
                error = f"HTTP {status_code}: redirects are not followed"
            elif not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except InvalidInput as exc:
            error = str(exc)
        except Exception as exc:  # any failure to send is logged and retried
            error = f"{type(exc).__name__}: {exc}"[:500]
        ok = error is None
        retry_at = None
        if not ok and number < self.max_attempts:
            delay = backoff(number, base=self.base_delay, cap=self.max_delay, rng=self.rng)
            retry_at = at + timedelta(seconds=delay)
        attempt = Attempt(
            delivery.delivery_id,
            number,
            at,
            ok,
            status_code,
            error,
            int((time.monotonic() - started) * 1000),
        )
        if not ok:
            log.warning("webhook %s delivery %s: %s", hook.webhook_id, delivery.delivery_id, error)
        return self.store.record_delivery_attempt(
            attempt, owner=self.owner, next_attempt_at=retry_at
        )

    def _send(self, hook: Webhook, delivery: Delivery, timestamp: int) -> int:
        target = check_url(hook.url, allow_http=hook.allow_private)
        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(hook.secret, timestamp, body),
            EVENT_HEADER: delivery.kind,
            DELIVERY_HEADER: delivery.event_id,
        }
        from .outbound import outbound_client, system_resolver

        client = outbound_client(
            allow_private=hook.allow_private,
            resolver=self.resolver or system_resolver,
            timeout=self.timeout,
        )
        with (
            client,
            client.stream("POST", target.url, content=body, headers=headers) as response,
        ):
            return response.status_code

    def run(self, stop: threading.Event, *, interval: float = 2.0) -> None:
        """Deliver until `stop` is set (the server's background thread)."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # a store hiccup must not end the thread
                log.exception("webhook delivery round failed")
            stop.wait(interval)

    def start(self, *, interval: float = 2.0) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(
            target=self.run,
            args=(stop,),
            kwargs={"interval": interval},
            daemon=True,
            name="modelrepo-webhooks",
        )
        thread.start()
        return thread, stop
