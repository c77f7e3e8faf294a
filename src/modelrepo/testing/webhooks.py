"""The webhook contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ..domain.errors import Conflict, NotFound
from ..domain.webhooks import Attempt, NewDelivery, Webhook
from ..ports import MetadataStore
from .metadata import T0, new_version


def webhook(webhook_id: str = "wh_0123456789ab", **overrides: Any) -> Webhook:
    fields: dict[str, Any] = {
        "webhook_id": webhook_id,
        "url": "https://hooks.example/modelrepo",
        "model_pattern": "fraud-*",
        "events": ("registered", "deployed"),
        "created_at": T0,
        "created_by": "admin",
        "secret": "whsec_test",
    }
    fields.update(overrides)
    return Webhook(**fields)


def _new(hook: str, seq: int) -> NewDelivery:
    return NewDelivery(hook, seq, f"store:{seq}", "registered", json.dumps({"seq": seq}))


class WebhookStoreContract:
    """Subscriptions are audited and disabled once; deliveries are enqueued once per entry,
    claimed under a lease, and every attempt is logged."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_a_subscription_is_kept_with_its_secret_and_audited(self, store: MetadataStore) -> None:
        store.create_version(new_version("fraud-a"))
        added = store.add_webhook(webhook())
        assert added.after_seq == store.audit_size()
        assert store.webhooks() == [added]
        assert store.webhooks()[0].secret == "whsec_test"  # noqa: S105
        body = json.loads(store.audit_entry(added.after_seq) or b"{}")
        assert body["kind"] == "webhook.created"
        assert "whsec_test" not in json.dumps(body)
        with pytest.raises(Conflict):
            store.add_webhook(webhook())

    def test_disabling_is_recorded_once(self, store: MetadataStore) -> None:
        store.add_webhook(webhook())
        at = T0 + timedelta(minutes=1)
        disabled = store.disable_webhook("wh_0123456789ab", actor="carol", at=at)
        assert (disabled.disabled_at, disabled.disabled_by, disabled.active) == (at, "carol", False)
        assert store.webhooks() == [disabled]
        with pytest.raises(Conflict):
            store.disable_webhook("wh_0123456789ab", actor="carol", at=at)
        with pytest.raises(NotFound):
            store.disable_webhook("wh_ffffffffffff", actor="carol", at=at)
        assert json.loads(store.audit_entry(store.audit_size()) or b"{}")["kind"] == (
            "webhook.disabled"
        )

    def test_the_cursor_moves_only_from_where_it_is(self, store: MetadataStore) -> None:
        store.add_webhook(webhook())
        assert store.webhook_cursor() == 0
        assert store.enqueue_deliveries(0, 3, [_new("wh_0123456789ab", 2)], at=T0)
        assert store.webhook_cursor() == 3
        # A second process that read the old cursor changes nothing.
        assert not store.enqueue_deliveries(0, 3, [_new("wh_0123456789ab", 2)], at=T0)
        # The same entry twice for one subscription is one delivery.
        assert store.enqueue_deliveries(3, 4, [_new("wh_0123456789ab", 2)], at=T0)
        assert [d.seq for d in store.deliveries()] == [2]

    def test_a_delivery_for_an_unknown_subscription_is_refused_whole(
        self, store: MetadataStore
    ) -> None:
        store.add_webhook(webhook())
        news = [_new("wh_0123456789ab", 1), _new("wh_ffffffffffff", 1)]
        with pytest.raises(NotFound, match="wh_ffffffffffff"):
            store.enqueue_deliveries(0, 1, news, at=T0)
        assert (store.webhook_cursor(), store.deliveries()) == (0, [])
        assert store.claim_deliveries("a", now=T0, lease_until=T0, limit=5) == []

    def test_claims_lease_due_deliveries_of_active_subscriptions(
        self, store: MetadataStore
    ) -> None:
        store.add_webhook(webhook())
        store.add_webhook(webhook("wh_ba9876543210"))
        news = [_new("wh_0123456789ab", 5), _new("wh_ba9876543210", 5), _new("wh_0123456789ab", 6)]
        store.enqueue_deliveries(0, 6, news, at=T0)
        lease = T0 + timedelta(minutes=2)
        first = store.claim_deliveries("a", now=T0, lease_until=lease, limit=2)
        assert len(first) == 2 and all(d.status == "pending" for d in first)
        second = store.claim_deliveries("b", now=T0, lease_until=lease, limit=10)
        assert {d.delivery_id for d in second}.isdisjoint({d.delivery_id for d in first})
        assert len(second) == 1
        assert store.claim_deliveries("c", now=T0, lease_until=lease, limit=10) == []
        # A lease that ran out (its holder died) lets another process claim it.
        later = store.claim_deliveries(
            "c", now=lease, lease_until=lease + timedelta(days=1), limit=10
        )
        assert len(later) == 3
        store.disable_webhook("wh_ba9876543210", actor="admin", at=T0)
        again = store.claim_deliveries(
            "d", now=lease + timedelta(days=2), lease_until=lease + timedelta(days=3), limit=10
        )
        assert {d.webhook_id for d in again} == {"wh_0123456789ab"}

    def test_the_delivery_log_pages_newest_first_by_offset(self, store: MetadataStore) -> None:
        store.add_webhook(webhook())
        store.add_webhook(webhook("wh_ba9876543210"))
        hooks = ["wh_0123456789ab", "wh_ba9876543210"]
        store.enqueue_deliveries(0, 7, [_new(hooks[s % 2], s) for s in range(1, 8)], at=T0)
        newest = store.deliveries()
        assert [d.seq for d in newest] == [7, 6, 5, 4, 3, 2, 1]
        assert store.deliveries(limit=3, offset=0) == newest[:3]
        assert store.deliveries(limit=3, offset=3) == newest[3:6]
        assert store.deliveries(limit=3, offset=6) == newest[6:]
        assert store.deliveries(limit=3, offset=7) == []
        assert [d.seq for d in store.deliveries(hooks[1], limit=2, offset=1)] == [5, 3]

    def test_attempts_are_logged_and_settle_the_delivery(self, store: MetadataStore) -> None:
        store.add_webhook(webhook())
        store.enqueue_deliveries(
            0, 2, [_new("wh_0123456789ab", 1), _new("wh_0123456789ab", 2)], at=T0
        )
        one, two = store.claim_deliveries(
            "a", now=T0, lease_until=T0 + timedelta(minutes=1), limit=5
        )
        retry = T0 + timedelta(seconds=4)
        failed = Attempt(one.delivery_id, 1, T0, False, 500, "HTTP 500", 12)
        pending = store.record_delivery_attempt(failed, owner="a", next_attempt_at=retry)
        assert (pending.status, pending.attempts, pending.next_attempt_at) == ("pending", 1, retry)
        assert pending.last_error == "HTTP 500"
        assert store.claim_deliveries("a", now=T0, lease_until=retry, limit=5) == []
        (due,) = store.claim_deliveries(
            "a", now=retry, lease_until=retry + timedelta(days=1), limit=5
        )
        assert due.delivery_id == one.delivery_id
        ok = Attempt(one.delivery_id, 2, retry, True, 204, None, 3)
        done = store.record_delivery_attempt(ok, owner="a", next_attempt_at=None)
        assert (done.status, done.attempts, done.delivered_at, done.last_error) == (
            "delivered",
            2,
            retry,
            None,
        )
        gave_up = store.record_delivery_attempt(
            Attempt(two.delivery_id, 1, T0, False, None, "refused", 1),
            owner="a",
            next_attempt_at=None,
        )
        assert gave_up.status == "failed"
        assert store.delivery_attempts(one.delivery_id) == [failed, ok]
        assert [d.delivery_id for d in store.deliveries("wh_0123456789ab")] == [
            two.delivery_id,
            one.delivery_id,
        ]
        assert store.deliveries("wh_ffffffffffff") == []
        assert (
            store.claim_deliveries(
                "b", now=retry + timedelta(days=9), lease_until=retry + timedelta(days=10), limit=5
            )
            == []
        )
