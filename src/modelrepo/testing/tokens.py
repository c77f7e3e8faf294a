"""The API-token contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ..domain.access import ApiToken
from ..domain.errors import Conflict, NotFound
from ..ports import MetadataStore
from .metadata import T0


def token(token_id: str = "0123456789ab", **overrides: Any) -> ApiToken:  # noqa: S107
    fields: dict[str, Any] = {
        "token_id": token_id,
        "user": "bob",
        "role": "deployer",
        "model_pattern": "fraud-*",
        "created_at": T0,
        "created_by": "admin",
    }
    fields.update(overrides)
    return ApiToken(**fields)


class TokenStoreContract:
    """Tokens are found by hash only, listed without it, and revoked once, with audit entries."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_a_token_is_found_by_its_hash_only(self, store: MetadataStore) -> None:
        created = store.create_token(token(), "a" * 64)
        assert store.token_by_hash("a" * 64) == created
        assert store.token_by_hash("b" * 64) is None
        assert store.list_tokens() == [created]

    def test_ids_and_hashes_are_unique(self, store: MetadataStore) -> None:
        store.create_token(token(), "a" * 64)
        with pytest.raises(Conflict):
            store.create_token(token(), "b" * 64)
        with pytest.raises(Conflict):
            store.create_token(token("ba9876543210"), "a" * 64)
        assert len(store.list_tokens()) == 1

    def test_revoking_is_recorded_once(self, store: MetadataStore) -> None:
        store.create_token(token(), "a" * 64)
        store.create_token(token("ba9876543210", role="viewer", model_pattern=None), "c" * 64)
        at = T0 + timedelta(minutes=5)
        revoked = store.revoke_token("0123456789ab", actor="carol", at=at)
        assert (revoked.revoked_at, revoked.revoked_by, revoked.active) == (at, "carol", False)
        assert store.token_by_hash("a" * 64) == revoked
        with pytest.raises(Conflict):
            store.revoke_token("0123456789ab", actor="carol", at=at)
        with pytest.raises(NotFound):
            store.revoke_token("ffffffffffff", actor="carol", at=at)
        assert [t.token_id for t in store.list_tokens()] == ["0123456789ab", "ba9876543210"]
        assert store.list_tokens()[1].active

    def test_creation_and_revocation_are_audited_without_the_hash(
        self, store: MetadataStore
    ) -> None:
        store.create_token(token(), "a" * 64)
        store.revoke_token("0123456789ab", actor="carol", at=T0 + timedelta(seconds=1))
        entries = [json.loads(body) for _, body in store.subject_entries("token:0123456789ab")]
        assert [(e["kind"], e["actor"]) for e in entries] == [
            ("token.created", "admin"),
            ("token.revoked", "carol"),
        ]
        assert entries[0]["change"]["user"] == "bob"
        assert "a" * 64 not in json.dumps(entries)

    def test_hashes_are_listed_by_token_id_for_authentication(self, store: MetadataStore) -> None:
        assert store.token_hashes() == {}
        store.create_token(token(), "a" * 64)
        store.create_token(token("ba9876543210"), "c" * 64)
        store.revoke_token("ba9876543210", actor="carol", at=T0 + timedelta(seconds=1))
        assert store.token_hashes() == {"0123456789ab": "a" * 64, "ba9876543210": "c" * 64}
