"""The signing contract every `MetadataStore` passes (subclass with a `store`): a version's
signatures are version events kept once per key, trusted keys are revoked for good, and a
policy is one per scope and name; each change is one audit entry."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ..domain.attestations import SigningKey, SigningPolicy, key_change, key_id
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.principals import Authentication
from ..ports import MetadataStore
from ..signing import VersionSigner, signed_statements
from .metadata import T0, new_version

ADMIN_AUTH = Authentication("oidc", issuer="https://idp.bank.example", subject="00u1")


def trusted(signer: VersionSigner, label: str = "release key", **overrides: Any) -> SigningKey:
    fields: dict[str, Any] = {
        "key_id": signer.key_id,
        "public_pem": signer.public_pem.decode(),
        "label": label,
        "added_at": T0,
        "added_by": "admin",
        "added_auth": ADMIN_AUTH,
    }
    fields.update(overrides)
    return SigningKey(**fields)


def policy(scope: str, name: str = "", enabled: bool = True, **overrides: Any) -> SigningPolicy:
    fields: dict[str, Any] = {
        "scope": scope,
        "name": name,
        "enabled": enabled,
        "set_at": T0,
        "set_by": "admin",
        "set_auth": ADMIN_AUTH,
    }
    fields.update(overrides)
    return SigningPolicy(**fields)


def _entries(store: MetadataStore, subject: str, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(body) for _, body in store.subject_entries(subject)]
    return [e for e in found if e["kind"] == kind]


def _log_size(store: MetadataStore) -> int:
    return sum(1 for _ in store.audit_entries())


class AttestationStoreContract:
    """Signatures, trusted keys and signing policies, as every backend keeps them."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_signing_keeps_each_bundle_as_an_event_with_one_audit_entry(
        self, store: MetadataStore
    ) -> None:
        made = store.create_version(new_version())
        signer = VersionSigner.generate()
        pairs = signed_statements(signer, made)
        at = T0 + timedelta(hours=1)
        before = _log_size(store)
        kept = store.sign_version("credit-risk", 1, pairs, actor="ann", at=at, reason="release")
        assert kept == [f"model:{signer.key_id}", f"provenance:{signer.key_id}"]
        events = store.version_events("credit-risk", 1)
        assert [(e.kind, e.key, e.value, e.actor, e.at, e.reason) for e in events] == [
            ("signed", key, bundle, "ann", at, "release") for key, bundle in pairs
        ]
        assert _log_size(store) == before + 1
        [entry] = _entries(store, "model:credit-risk", "version.signed")
        assert (entry["actor"], entry["change"]) == (
            "ann",
            {
                "model": "credit-risk",
                "version": 1,
                "signatures": [{"key": key, "bundle": bundle} for key, bundle in pairs],
                "reason": "release",
            },
        )

    def test_signing_again_with_a_key_keeps_the_first_signature(self, store: MetadataStore) -> None:
        made = store.create_version(new_version())
        first, second = VersionSigner.generate(), VersionSigner.generate()
        pairs = signed_statements(first, made)
        store.sign_version("credit-risk", 1, pairs, actor="ann", at=T0, reason=None)
        size = _log_size(store)
        again = signed_statements(first, made)  # ECDSA: other bytes, the same event keys
        assert again != pairs
        assert store.sign_version("credit-risk", 1, again, actor="bob", at=T0, reason="x") == []
        assert _log_size(store) == size  # nothing kept, nothing audited
        other = signed_statements(second, made)
        kept = store.sign_version(
            "credit-risk", 1, [pairs[0], other[0], other[0]], actor="bob", at=T0, reason=None
        )
        assert kept == [other[0][0]]  # the same key twice in one call is kept once
        assert [(e.key, e.value) for e in store.version_events("credit-risk", 1)] == [
            *pairs,
            other[0],
        ]
        assert _log_size(store) == size + 1

    def test_a_deleted_or_missing_version_is_not_signed(self, store: MetadataStore) -> None:
        store.create_version(new_version())
        made = store.create_version(new_version(seed=1))
        pairs = signed_statements(VersionSigner.generate(), made)
        store.delete_version("credit-risk", 2, actor="ann", at=T0, reason="mistake")
        size = _log_size(store)
        with pytest.raises(Conflict):
            store.sign_version("credit-risk", 2, pairs, actor="ann", at=T0, reason=None)
        with pytest.raises(NotFound):
            store.sign_version("credit-risk", 3, pairs, actor="ann", at=T0, reason=None)
        with pytest.raises(NotFound):
            store.sign_version("nope", 1, pairs, actor="ann", at=T0, reason=None)
        assert [e.kind for e in store.version_events("credit-risk", 2)] == ["deleted"]
        assert _log_size(store) == size

    def test_a_key_is_trusted_once_and_kept_as_given(self, store: MetadataStore) -> None:
        signer = VersionSigner.generate()
        key = trusted(signer)
        assert key.key_id == key_id(signer.public_pem)
        assert store.trust_signing_key(key) == key
        size = _log_size(store)
        later = trusted(signer, "another label", added_at=T0 + timedelta(days=1), added_by="x")
        assert store.trust_signing_key(later) == key  # the one kept, unchanged
        assert store.signing_keys() == [key]
        assert store.signing_keys()[0].added_auth == ADMIN_AUTH
        assert _log_size(store) == size
        [entry] = _entries(store, f"signing-key:{key.key_id}", "signing_key.trusted")
        assert (entry["actor"], entry["change"]) == ("admin", key_change(key, ADMIN_AUTH))
        assert entry["change"]["public_key"] == signer.public_pem.decode()

    def test_keys_are_listed_by_when_they_were_added(self, store: MetadataStore) -> None:
        keys = [
            trusted(VersionSigner.generate(), f"key {i}", added_at=T0 + timedelta(minutes=m))
            for i, m in enumerate((5, 1, 3))
        ]
        for key in keys:
            store.trust_signing_key(key)
        assert [k.label for k in store.signing_keys()] == ["key 1", "key 2", "key 0"]
        plain = trusted(VersionSigner.generate(), "no auth", added_auth=None)
        assert store.trust_signing_key(plain).added_auth is None
        assert store.signing_keys()[0] == plain

    def test_a_key_is_revoked_once_and_never_trusted_again(self, store: MetadataStore) -> None:
        signer, other = VersionSigner.generate(), VersionSigner.generate()
        key = store.trust_signing_key(trusted(signer))
        kept = store.trust_signing_key(trusted(other, added_at=T0 + timedelta(seconds=1)))
        at = T0 + timedelta(days=2)
        revoker = Authentication("token", token_id="0123456789ab", minted_by="root")  # noqa: S106
        revoked = store.revoke_signing_key(
            key.key_id, actor="carol", at=at, reason="laptop lost", auth=revoker
        )
        assert (revoked.revoked_at, revoked.revoked_by, revoked.revoked_reason) == (
            at,
            "carol",
            "laptop lost",
        )
        assert not revoked.active
        assert store.signing_keys() == [revoked, kept]
        size = _log_size(store)
        with pytest.raises(Conflict, match="already revoked"):
            store.revoke_signing_key(key.key_id, actor="carol", at=at, reason="x", auth=None)
        with pytest.raises(NotFound):
            store.revoke_signing_key("f" * 64, actor="carol", at=at, reason="x", auth=None)
        with pytest.raises(InvalidInput):
            store.revoke_signing_key(kept.key_id, actor="carol", at=at, reason=" ", auth=None)
        with pytest.raises(Conflict, match="cannot be trusted again"):
            store.trust_signing_key(trusted(signer, added_at=at + timedelta(seconds=1)))
        assert store.signing_keys() == [revoked, kept]
        assert _log_size(store) == size
        entries = [
            json.loads(body) for _, body in store.subject_entries(f"signing-key:{key.key_id}")
        ]
        assert [(e["kind"], e["actor"]) for e in entries] == [
            ("signing_key.trusted", "admin"),
            ("signing_key.revoked", "carol"),
        ]
        assert entries[1]["change"] == key_change(revoked, revoker)

    def test_a_policy_replaces_the_one_of_its_scope_and_name(self, store: MetadataStore) -> None:
        made = [
            store.set_signing_policy(policy("store")),
            store.set_signing_policy(policy("model", "credit-risk", set_auth=None)),
            store.set_signing_policy(policy("environment", "production")),
            store.set_signing_policy(policy("environment", "staging", enabled=False)),
        ]
        assert store.signing_policies() == [made[2], made[3], made[1], made[0]]
        later = policy("environment", "production", False, set_at=T0 + timedelta(hours=1))
        size = _log_size(store)
        assert store.set_signing_policy(later) == later
        assert store.signing_policies() == [later, made[3], made[1], made[0]]
        assert _log_size(store) == size + 1
        entries = _entries(store, "signing:environment:production", "signing.policy_set")
        assert [e["change"] for e in entries] == [
            {"scope": "environment", "name": "production", "enabled": True, "keys": [],
             "auth": ADMIN_AUTH.to_dict()},
            {"scope": "environment", "name": "production", "enabled": False, "keys": [],
             "auth": ADMIN_AUTH.to_dict()},
        ]  # fmt: skip

    def test_a_renamed_model_carries_its_own_policy_only(self, store: MetadataStore) -> None:
        store.create_version(new_version())
        own = store.set_signing_policy(policy("model", "credit-risk"))
        same_name = store.set_signing_policy(policy("environment", "credit-risk"))
        other = store.set_signing_policy(policy("model", "credit-risk-v2", enabled=False))
        store.rename_model("credit-risk", "scoring", actor="ann", at=T0, reason=None)
        moved = SigningPolicy("model", "scoring", True, T0, "admin", ADMIN_AUTH)
        assert store.signing_policies() == [same_name, other, moved]
        assert own.name == "credit-risk"

    def test_a_renamed_model_policy_replaces_one_set_ahead_for_the_new_name(
        self, store: MetadataStore
    ) -> None:
        store.create_version(new_version())
        store.create_version(new_version("fraud"))
        store.set_signing_policy(policy("model", "credit-risk"))
        store.set_signing_policy(policy("model", "scoring", enabled=False))
        store.set_signing_policy(policy("model", "fraud-v2", enabled=False))
        store.rename_model("credit-risk", "scoring", actor="ann", at=T0, reason=None)
        assert [(p.name, p.enabled) for p in store.signing_policies()] == [
            ("fraud-v2", False),
            ("scoring", True),
        ]
        # a model without a policy of its own takes up the one set ahead for its new name
        store.rename_model("fraud", "fraud-v2", actor="ann", at=T0, reason=None)
        assert [(p.name, p.enabled) for p in store.signing_policies()] == [
            ("fraud-v2", False),
            ("scoring", True),
        ]
