"""The role-binding contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ..domain.errors import Conflict, NotFound
from ..domain.principals import Authentication
from ..domain.roles import RoleBinding
from ..ports import MetadataStore
from .metadata import T0

ISSUER = "https://idp.bank.example"
ADMIN_AUTH = Authentication("oidc", issuer=ISSUER, subject="00u1")


def binding(binding_id: str = "0123456789ab", **overrides: Any) -> RoleBinding:
    fields: dict[str, Any] = {
        "binding_id": binding_id,
        "issuer": ISSUER,
        "principal": "bob@bank.example",
        "role": "deployer",
        "model_pattern": "fraud-*",
        "granted_at": T0,
        "granted_by": "admin@bank.example",
        "granted_auth": ADMIN_AUTH,
    }
    fields.update(overrides)
    return RoleBinding(**fields)


class RoleBindingStoreContract:
    """Bindings are kept as granted, found by issuer and principal while active, and revoked
    once, each change with an audit entry."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_a_binding_is_kept_as_granted(self, store: MetadataStore) -> None:
        granted = store.grant_role(binding())
        plain = store.grant_role(
            binding("ba9876543210", role="viewer", model_pattern=None, granted_auth=None)
        )
        assert store.list_role_bindings() == [granted, plain]
        assert store.list_role_bindings()[0].granted_auth == ADMIN_AUTH
        assert store.list_role_bindings()[1].granted_auth is None

    def test_bindings_are_found_by_issuer_and_principal_exactly(self, store: MetadataStore) -> None:
        first = store.grant_role(binding())
        second = store.grant_role(
            binding("ba9876543210", role="viewer", granted_at=T0 + timedelta(seconds=1))
        )
        store.grant_role(binding("00000000000c", principal="carol@bank.example"))
        store.grant_role(binding("00000000000d", issuer="https://other.example"))
        assert store.bindings_for(ISSUER, "bob@bank.example") == [first, second]
        assert store.bindings_for(ISSUER, "Bob@bank.example") == []
        assert store.bindings_for(ISSUER + "/", "bob@bank.example") == []

    def test_ids_are_unique_and_an_active_grant_is_not_repeated(self, store: MetadataStore) -> None:
        store.grant_role(binding())
        with pytest.raises(Conflict):
            store.grant_role(binding(principal="carol@bank.example"))
        with pytest.raises(Conflict, match="already holds role deployer"):
            store.grant_role(binding("ba9876543210"))
        assert len(store.list_role_bindings()) == 1
        store.revoke_role("0123456789ab", actor="carol", at=T0, auth=None)
        again = store.grant_role(binding("ba9876543210", granted_at=T0 + timedelta(seconds=1)))
        assert store.bindings_for(ISSUER, "bob@bank.example") == [again]

    def test_revoking_is_recorded_once(self, store: MetadataStore) -> None:
        store.grant_role(binding())
        other = store.grant_role(binding("ba9876543210", role="viewer"))
        at = T0 + timedelta(minutes=5)
        revoked = store.revoke_role("0123456789ab", actor="carol", at=at, auth=None)
        assert (revoked.revoked_at, revoked.revoked_by, revoked.active) == (at, "carol", False)
        assert store.bindings_for(ISSUER, "bob@bank.example") == [other]
        assert store.list_role_bindings()[0] == revoked
        with pytest.raises(Conflict):
            store.revoke_role("0123456789ab", actor="carol", at=at, auth=None)
        with pytest.raises(NotFound):
            store.revoke_role("ffffffffffff", actor="carol", at=at, auth=None)
        assert [b.active for b in store.list_role_bindings()] == [False, True]

    def test_granting_and_revoking_are_audited_with_how_the_actor_authenticated(
        self, store: MetadataStore
    ) -> None:
        store.grant_role(binding())
        revoker = Authentication("token", token_id="0123456789ab", minted_by="root")  # noqa: S106
        store.revoke_role("0123456789ab", actor="carol", at=T0 + timedelta(seconds=1), auth=revoker)
        entries = [json.loads(body) for _, body in store.subject_entries("role:0123456789ab")]
        assert [(e["kind"], e["actor"]) for e in entries] == [
            ("role.granted", "admin@bank.example"),
            ("role.revoked", "carol"),
        ]
        assert entries[0]["change"] == {
            "binding_id": "0123456789ab",
            "principal": "bob@bank.example",
            "issuer": ISSUER,
            "role": "deployer",
            "model_pattern": "fraud-*",
            "auth": ADMIN_AUTH.to_dict(),
        }
        assert entries[1]["change"]["auth"] == revoker.to_dict()
