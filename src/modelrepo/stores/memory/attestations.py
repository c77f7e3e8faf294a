"""Trusted signing keys and signing policies in memory."""

from __future__ import annotations

from datetime import datetime

from ...domain.attestations import (
    SigningKey,
    SigningPolicy,
    check_new_key,
    key_change,
    policy_change,
    revoked_key,
)
from ...domain.principals import Authentication
from .audit import MemoryAudit


class MemoryAttestations(MemoryAudit):
    """Keys by id and policies by scope and name (the reference for `SqlAttestations`)."""

    def __init__(self) -> None:
        self._signing_keys: dict[str, SigningKey] = {}
        self._signing_policies: dict[tuple[str, str], SigningPolicy] = {}

    def trust_signing_key(self, key: SigningKey) -> SigningKey:
        with self._audit_lock:
            found = self._signing_keys.get(key.key_id)
            if not check_new_key(key, found):
                assert found is not None
                return found
            self._signing_keys[key.key_id] = key
            self._audit(
                "signing_key.trusted",
                f"signing-key:{key.key_id}",
                actor=key.added_by,
                at=key.added_at,
                change=key_change(key, key.added_auth),
            )
            return key

    def revoke_signing_key(
        self,
        key_id: str,
        *,
        actor: str,
        at: datetime,
        reason: str,
        auth: Authentication | None,
    ) -> SigningKey:
        with self._audit_lock:
            revoked = revoked_key(
                self._signing_keys.get(key_id), key_id, actor=actor, at=at, reason=reason
            )
            self._signing_keys[key_id] = revoked
            self._audit(
                "signing_key.revoked",
                f"signing-key:{key_id}",
                actor=actor,
                at=at,
                change=key_change(revoked, auth),
            )
            return revoked

    def signing_keys(self) -> list[SigningKey]:
        with self._audit_lock:
            return sorted(self._signing_keys.values(), key=lambda k: (k.added_at, k.key_id))

    def set_signing_policy(self, policy: SigningPolicy) -> SigningPolicy:
        with self._audit_lock:
            self._signing_policies[(policy.scope, policy.name)] = policy
            self._audit(
                "signing.policy_set",
                f"signing:{policy.scope}:{policy.name}",
                actor=policy.set_by,
                at=policy.set_at,
                change=policy_change(policy),
            )
            return policy

    def signing_policies(self) -> list[SigningPolicy]:
        with self._audit_lock:
            return [self._signing_policies[k] for k in sorted(self._signing_policies)]
