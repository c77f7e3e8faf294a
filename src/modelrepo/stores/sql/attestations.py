"""Trusted signing keys and signing policies in SQL: every change is an audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.attestations import (
    SigningKey,
    SigningPolicy,
    check_new_key,
    key_change,
    policy_change,
    revoked_key,
)
from ...domain.principals import Authentication, auth_from_text, auth_text
from ...domain.times import from_micros, to_micros
from .audit import SqlAudit
from .raw import Q


class SqlAttestations(SqlAudit):
    """The signing half of `SqlMetadataStore` (mixed into it)."""

    def trust_signing_key(self, key: SigningKey) -> SigningKey:
        with self._raw.write() as tx:
            row = tx.one(Q.SIGNING_KEY_BY_ID, key_id=key.key_id)
            if not check_new_key(key, None if row is None else _to_key(row)):
                return _to_key(row)
            tx.execute(
                Q.NEW_SIGNING_KEY,
                key_id=key.key_id,
                public_pem=key.public_pem,
                label=key.label,
                added_at=to_micros(key.added_at),
                added_by=key.added_by,
                added_auth=auth_text(key.added_auth),
            )
            self._audit(
                tx,
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
        with self._raw.write() as tx:
            row = tx.one(Q.SIGNING_KEY_BY_ID, key_id=key_id)
            revoked = revoked_key(
                None if row is None else _to_key(row), key_id, actor=actor, at=at, reason=reason
            )
            tx.execute(
                Q.REVOKE_SIGNING_KEY, key_id=key_id, at=to_micros(at), actor=actor, reason=reason
            )
            self._audit(
                tx,
                "signing_key.revoked",
                f"signing-key:{key_id}",
                actor=actor,
                at=at,
                change=key_change(revoked, auth),
            )
        return revoked

    def signing_keys(self) -> list[SigningKey]:
        return [_to_key(r) for r in self._raw.reader().all(Q.SIGNING_KEYS)]

    def set_signing_policy(self, policy: SigningPolicy) -> SigningPolicy:
        with self._raw.write() as tx:
            tx.execute(
                Q.SET_SIGNING_POLICY,
                scope=policy.scope,
                name=policy.name,
                enabled=policy.enabled,
                set_at=to_micros(policy.set_at),
                set_by=policy.set_by,
                set_auth=auth_text(policy.set_auth),
                key_ids=",".join(policy.keys) if policy.keys else None,
            )
            self._audit(
                tx,
                "signing.policy_set",
                f"signing:{policy.scope}:{policy.name}",
                actor=policy.set_by,
                at=policy.set_at,
                change=policy_change(policy),
            )
        return policy

    def signing_policies(self) -> list[SigningPolicy]:
        return [
            SigningPolicy(
                scope=r.scope,
                name=r.name,
                enabled=bool(r.enabled),
                set_at=from_micros(r.set_at),
                set_by=r.set_by,
                set_auth=auth_from_text(r.set_auth),
                keys=tuple(r.key_ids.split(",")) if r.key_ids else (),
            )
            for r in self._raw.reader().all(Q.SIGNING_POLICIES)
        ]


def _to_key(row: Any) -> SigningKey:
    return SigningKey(
        key_id=row.key_id,
        public_pem=row.public_pem,
        label=row.label,
        added_at=from_micros(row.added_at),
        added_by=row.added_by,
        added_auth=auth_from_text(row.added_auth),
        revoked_at=None if row.revoked_at is None else from_micros(row.revoked_at),
        revoked_by=row.revoked_by,
        revoked_reason=row.revoked_reason,
    )
