"""Signed versions: the signatures (version events), the trusted keys and the policies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.attestations import SigningKey, SigningPolicy
    from ..domain.principals import Authentication


class AttestationStore(Protocol):
    def sign_version(
        self,
        model: str,
        version: int,
        signatures: Sequence[tuple[str, str]],
        *,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> list[str]:
        """Keep the (event key, bundle) pairs a (not deleted) version does not hold yet, as
        `signed` version events, with one `version.signed` audit entry, in one transaction;
        returns the keys kept (none: nothing is written)."""
        ...

    def trust_signing_key(self, key: SigningKey) -> SigningKey:
        """Keep a trusted key, with an audit entry (`signing_key.trusted`); the same key again
        returns the one kept; Conflict if it was revoked."""
        ...

    def revoke_signing_key(
        self,
        key_id: str,
        *,
        actor: str,
        at: datetime,
        reason: str,
        auth: Authentication | None,
    ) -> SigningKey:
        """Revoke a key for good, with an audit entry (`signing_key.revoked`)."""
        ...

    def signing_keys(self) -> list[SigningKey]: ...

    def set_signing_policy(self, policy: SigningPolicy) -> SigningPolicy:
        """Keep a policy (replacing the one of its scope and name), with an audit entry
        (`signing.policy_set`)."""
        ...

    def signing_policies(self) -> list[SigningPolicy]: ...
