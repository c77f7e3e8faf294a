"""Signed versions: a version's signatures and provenance (read by anyone who reads the
version, signed by whoever may register it), and the keys trusted to sign and the policies
saying where signing is required (read by every reader, changed by administrators only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from ...registry.attestations import described_signatures
from ..auth import Caller, needs
from ..params import Name, Number
from ..schemas import (
    RevokeKeyIn,
    SignaturesIn,
    SignIn,
    SigningKeyOut,
    SigningPolicyIn,
    SigningPolicyOut,
    TrustKeyIn,
    VersionSignatureOut,
)
from .common import ERRORS

router = APIRouter(prefix="/api/v1", tags=["signing"], responses=ERRORS)

KeyId = Annotated[
    str,
    PathParam(
        pattern="^[0-9a-f]{8,64}$",
        description="A signing key's id, or a prefix of it naming one key (8 characters or more).",
    ),
]
VERSION = "/models/{name}/versions/{version}"


@router.get(f"{VERSION}/signatures", response_model=list[VersionSignatureOut])
def signatures(
    name: Name, version: Number, caller: Caller = needs("version.signatures")
) -> list[dict[str, Any]]:
    """Every signature kept for the version, oldest first, with its Sigstore bundle and
    whether it counts now (`standing`: valid, key revoked, not trusted, invalid)."""
    return described_signatures(
        caller.registry, name, version, caller.registry.signatures(name, version)
    )


@router.post(f"{VERSION}/signatures", response_model=list[VersionSignatureOut])
def add_signatures(
    name: Name, version: Number, body: SignaturesIn, caller: Caller = needs("version.sign")
) -> list[dict[str, Any]]:
    """Keep signatures made elsewhere: each bundle must verify with a trusted, unrevoked key
    and state exactly this version's files (or its provenance); otherwise 422 naming why,
    and none is kept. A bundle already held adds nothing. Returns the signatures kept."""
    kept = caller.registry.add_signatures(name, version, body.bundles, reason=body.reason)
    return described_signatures(caller.registry, name, version, kept)


@router.post(f"{VERSION}/sign", response_model=list[VersionSignatureOut])
def sign(
    name: Name, version: Number, body: SignIn | None = None, caller: Caller = needs("version.sign")
) -> list[dict[str, Any]]:
    """Sign the version's files and its provenance with the store's key (trusted on its
    first use); signing again adds nothing. Returns the version's signatures by that key."""
    reason = body.reason if body is not None else None
    made = caller.registry.sign(name, version, reason=reason)
    return described_signatures(caller.registry, name, version, made)


@router.get(f"{VERSION}/provenance", response_model=dict[str, Any])
def provenance(
    name: Name, version: Number, caller: Caller = needs("version.signatures")
) -> dict[str, Any]:
    """The version's in-toto statement with an SLSA provenance v1 predicate, built from its
    recorded lineage (unsigned: its signed form is among the signatures)."""
    return caller.registry.provenance(name, version)


@router.get("/signing/keys", response_model=list[SigningKeyOut])
def signing_keys(caller: Caller = needs("signing.read")) -> list[dict[str, Any]]:
    """The public keys trusted to sign versions, revoked ones included, oldest first."""
    return [k.to_dict() for k in caller.registry.signing_keys()]


@router.post("/signing/keys", response_model=SigningKeyOut, status_code=201)
def trust_key(body: TrustKeyIn, caller: Caller = needs("signing.manage")) -> dict[str, Any]:
    """Trust a PEM public key (EC P-256, P-384 or P-521) to sign versions; audited. Trusting
    a key again changes nothing; a revoked key is never trusted again (409)."""
    return caller.registry.trust_signing_key(body.public_key, label=body.label).to_dict()


@router.post("/signing/keys/{key_id}/revoke", response_model=SigningKeyOut)
def revoke_key(
    key_id: KeyId, body: RevokeKeyIn, caller: Caller = needs("signing.manage")
) -> dict[str, Any]:
    """Withdraw trust in a key for good, with a reason (audited): the signatures it made no
    longer count, so environments that require signatures refuse its versions."""
    return caller.registry.revoke_signing_key(key_id, reason=body.reason).to_dict()


@router.post("/signing/store-key", response_model=SigningKeyOut)
def store_key(caller: Caller = needs("signing.manage")) -> dict[str, Any]:
    """The store's own version key (made on first use), trusted; its public key is what
    others verify the store's signatures with."""
    return caller.registry.store_signing_key().to_dict()


@router.post("/signing/rotate", response_model=SigningKeyOut)
def rotate_key(caller: Caller = needs("signing.manage")) -> dict[str, Any]:
    """Give the store a new version key, trusted from now on; the old one stays trusted for
    the signatures it made until it is revoked. A key file the operator names
    ($MODELREPO_SIGNING_KEY_FILE) is rotated by replacing the file instead (422)."""
    return caller.registry.rotate_signing_key().to_dict()


@router.get("/signing/policies", response_model=list[SigningPolicyOut])
def signing_policies(caller: Caller = needs("signing.read")) -> list[dict[str, Any]]:
    """Where versions are signed at registration, and where only signed versions deploy."""
    return [p.to_dict() for p in caller.registry.signing_policies()]


@router.put("/signing/policies", response_model=SigningPolicyOut)
def set_signing_policy(
    body: SigningPolicyIn, caller: Caller = needs("signing.manage")
) -> dict[str, Any]:
    """Set one policy (audited): `store` signs every new version, `model` NAME that model's
    (over the store's choice), `environment` NAME lets only versions with a valid model
    signature by a trusted key (one of `keys`, when given) be deployed to environments of
    that name."""
    found = caller.registry.set_signing_policy(
        body.scope, body.name, enabled=body.enabled, keys=body.keys
    )
    return found.to_dict()
