"""Signed versions: signing, checking, provenance, trusted keys and where signing is required."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from ..domain.attestations import SigningKey, SigningPolicy, VersionSignature


class AttestationsAPI(Protocol):
    """Signatures over versions in the OpenSSF model-signing format, and SLSA provenance."""

    def sign(
        self,
        name: str,
        version: int,
        *,
        key_file: str | os.PathLike[str] | None = None,
        key_password: bytes | None = None,
        reason: str | None = None,
    ) -> list[VersionSignature]:
        """Sign `name@version`'s files (model signature) and its provenance, with the store's
        key, or with the private key in `key_file` (which must be trusted first, see
        `trust_signing_key`; it never leaves this process). Signing again with the same key
        adds nothing. Returns the version's signatures by that key."""
        ...

    def add_signatures(
        self, name: str, version: int, bundles: Sequence[str], *, reason: str | None = None
    ) -> list[VersionSignature]:
        """Keep signatures made elsewhere (Sigstore bundles): each must verify with a trusted
        key and state exactly this version's files (or its provenance). Returns those kept."""
        ...

    def signatures(self, name: str, version: int) -> list[VersionSignature]:
        """Every signature kept for the version, oldest first (whatever their keys' state)."""
        ...

    def verify_signature(
        self, name: str, version: int, *, environment: str | None = None
    ) -> VersionSignature:
        """The version's model signature by a trusted, unrevoked key that verifies and lists
        exactly its files; `SignatureInvalid` (an `InvalidInput`) naming why when none does.
        `environment`: by one of the keys that environment's signing policy accepts, if it
        names some."""
        ...

    def provenance(self, name: str, version: int) -> dict[str, Any]:
        """The version's in-toto statement with an SLSA provenance v1 predicate, built from
        its recorded lineage (unsigned; its signed form is among `signatures`)."""
        ...

    def signing_keys(self) -> list[SigningKey]:
        """The public keys trusted to sign versions, revoked ones included."""
        ...

    def store_signing_key(self) -> SigningKey:
        """The store's own version key (made on first use), trusted."""
        ...

    def trust_signing_key(self, public_key: str, *, label: str) -> SigningKey:
        """Trust a PEM public key (P-256, P-384, P-521) to sign versions; audited."""
        ...

    def revoke_signing_key(self, key_id: str, *, reason: str) -> SigningKey:
        """Withdraw trust in a key for good (the signatures it made no longer count);
        `key_id` may be a unique prefix of 8 characters or more. Audited, with the reason."""
        ...

    def rotate_signing_key(self) -> SigningKey:
        """Give the store a new version key (trusted from now on); the old one stays trusted
        for the signatures it made until revoked."""
        ...

    def set_signing_policy(
        self, scope: str, name: str = "", *, enabled: bool, keys: Sequence[str] = ()
    ) -> SigningPolicy:
        """`store`: sign every new version; `model` NAME: sign that model's new versions (over
        the store's choice); `environment` NAME: deploy only versions with a valid signature to
        environments of that name (by one of `keys`, trusted key ids or unique prefixes, when
        given). Audited."""
        ...

    def signing_policies(self) -> list[SigningPolicy]:
        """Every signing policy set (store, models, environments), with who set it and when."""
        ...
