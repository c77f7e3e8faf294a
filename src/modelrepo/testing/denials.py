"""The refused-requests contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ..domain.audit import rows_digest
from ..domain.denials import AUDIT_KIND, Denial
from ..ports import MetadataStore
from .metadata import T0


def denial(seconds: int = 0, **overrides: Any) -> Denial:
    fields: dict[str, Any] = {
        "first_at": T0 + timedelta(seconds=seconds),
        "last_at": T0 + timedelta(seconds=seconds + 30),
        "count": 3,
        "user": None,
        "token_id": "0123456789ab",
        "client": "192.0.2.7",
        "method": "POST",
        "route": "/api/v1/models/{name}/deployments",
        "operation": "deployment.deploy",
        "model": "credit-risk",
        "reason": "unknown API token",
        "status": 401,
    }
    fields.update(overrides)
    return Denial(**fields)


class DenialStoreContract:
    """Refusals are appended in batches, each bound by one audit entry, and read back
    newest first, by time and model."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_a_batch_is_kept_with_ids_in_order(self, store: MetadataStore) -> None:
        at = T0 + timedelta(minutes=1)
        first = store.record_denials(
            [denial(), denial(5, user="bob", token_id=None)], actor="srv", at=at
        )
        assert [d.id for d in first] == [1, 2]
        second = store.record_denials([denial(60, model=None, status=403)], actor="srv", at=at)
        assert [d.id for d in second] == [3]
        assert store.denials_between(1, 3) == [*first, *second]
        assert store.denials_between(2, 2) == [first[1]]
        assert store.record_denials([], actor="srv", at=at) == []

    def test_read_newest_first_by_time_and_model(self, store: MetadataStore) -> None:
        at = T0 + timedelta(hours=1)
        kept = store.record_denials(
            [denial(0), denial(100, model="fraud"), denial(200, user="eve")], actor="srv", at=at
        )
        assert store.denials() == kept[::-1]
        assert store.denials(limit=2) == kept[:0:-1]
        assert store.denials(model="fraud") == [kept[1]]
        assert store.denials(since=T0 + timedelta(seconds=130)) == [kept[2], kept[1]]
        assert store.denials(since=T0 + timedelta(seconds=131), model="fraud") == []
        assert store.denials(model="nothing") == []

    def test_the_store_pages_newest_first_by_offset(self, store: MetadataStore) -> None:
        at = T0 + timedelta(hours=1)
        kept = store.record_denials(
            [denial(i * 10, model="fraud" if i % 2 else "credit-risk") for i in range(7)],
            actor="srv",
            at=at,
        )
        newest = kept[::-1]
        assert store.denials(limit=3, offset=0) == newest[:3]
        assert store.denials(limit=3, offset=3) == newest[3:6]
        assert store.denials(limit=3, offset=6) == newest[6:]
        assert store.denials(limit=3, offset=7) == []
        fraud = [d for d in newest if d.model == "fraud"]
        assert store.denials(model="fraud", limit=2, offset=1) == fraud[1:3]
        since = T0 + timedelta(seconds=60)
        recent = [d for d in newest if d.last_at >= since]
        assert store.denials(since=since, limit=2, offset=2) == recent[2:4]

    def test_each_batch_is_one_audit_entry_with_its_digest(self, store: MetadataStore) -> None:
        before = store.audit_size()
        at = T0 + timedelta(minutes=2)
        kept = store.record_denials(
            [denial(), denial(1, count=1000, status=404)], actor="srv", at=at
        )
        assert store.audit_size() == before + 1
        entry = json.loads(store.audit_entry(before + 1) or b"{}")
        assert (entry["kind"], entry["subject"], entry["actor"]) == (AUDIT_KIND, "access", "srv")
        assert entry["change"] == {
            "records": 2,
            "attempts": 1003,
            "first": 1,
            "last": 2,
            "rows_sha256": rows_digest([d.row() for d in kept]),
        }
