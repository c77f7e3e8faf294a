"""Signed versions over an embedded store: signing with the store's key or a key file,
keeping signatures made elsewhere once they verify, trusted keys, and signing policies."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.attestations import AttestationsAPI
from ..domain import attestations as att
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.names import validate_model_name
from .core import Core, changes, writes

if TYPE_CHECKING:
    from ..domain.deployments import Allocation
    from ..domain.model import ModelVersion
    from ..ports import StatementSigner


class Attestations(Core, AttestationsAPI):
    @changes
    def sign(
        self,
        name: str,
        version: int,
        *,
        key_file: str | os.PathLike[str] | None = None,
        key_password: bytes | None = None,
        reason: str | None = None,
    ) -> list[att.VersionSignature]:
        from ..signing import VersionSigner

        found = self._readable(name, version)
        if key_file is None:
            signer: StatementSigner = self.backend.version_signer
            trusted_store_key(self, signer)
        else:
            signer = VersionSigner.from_file(Path(key_file), key_password)
            _usable(self.backend.metadata.signing_keys(), signer.key_id)
        keep_signatures(self, found, _signed_statements(signer, found), reason)
        return [s for s in self.signatures(name, version) if s.key_id == signer.key_id]

    @changes
    def add_signatures(
        self, name: str, version: int, bundles: Sequence[str], *, reason: str | None = None
    ) -> list[att.VersionSignature]:
        from ..signing import check_bundle

        found = self._readable(name, version)
        if not bundles:
            raise InvalidInput("give at least one signature bundle")
        keys = self.backend.metadata.signing_keys()
        pairs = []
        for text in bundles:
            kind, key_id = check_bundle(found, text, keys)
            pairs.append((att.signature_event_key(kind, key_id), text))
        keep_signatures(self, found, pairs, reason)
        kept = {key for key, _ in pairs}
        return [s for s in self.signatures(name, version) if s.event_key in kept]

    def signatures(self, name: str, version: int) -> list[att.VersionSignature]:
        found = self._readable(name, version)
        return signatures_of(
            found, self.backend.metadata.version_events(found.model, found.version)
        )

    def verify_signature(
        self, name: str, version: int, *, environment: str | None = None
    ) -> att.VersionSignature:
        accepted = None
        if environment is not None:
            accepted = att.required_signers(self.backend.metadata.signing_policies(), environment)
        return verified_signature(
            self, name, version, accepted or frozenset(), self.backend.metadata.signing_keys()
        )

    def provenance(self, name: str, version: int) -> dict[str, Any]:
        return att.provenance_statement(self._readable(name, version))

    def signing_keys(self) -> list[att.SigningKey]:
        return self.backend.metadata.signing_keys()

    @writes
    def store_signing_key(self) -> att.SigningKey:
        return trusted_store_key(self, self.backend.version_signer)

    @writes
    def trust_signing_key(self, public_key: str, *, label: str) -> att.SigningKey:
        from ..signing import public_key_pem

        label = label.strip() if isinstance(label, str) else ""
        if not label or len(label) > 256:
            raise InvalidInput("a trusted key needs a label of 1 to 256 characters (whose is it)")
        return self.backend.metadata.trust_signing_key(
            new_key(self, public_key_pem(public_key), label)
        )

    @changes
    def revoke_signing_key(self, key_id: str, *, reason: str) -> att.SigningKey:
        found = att.find_key(self.backend.metadata.signing_keys(), key_id)
        return self.backend.metadata.revoke_signing_key(
            found.key_id if found else key_id,
            actor=self.user,
            at=self.clock.now(),
            reason=reason if isinstance(reason, str) else "",
            auth=self.auth,
        )

    @writes
    def rotate_signing_key(self) -> att.SigningKey:
        return trusted_store_key(self, self.backend.rotate_version_key())

    @writes
    def set_signing_policy(
        self, scope: str, name: str = "", *, enabled: bool, keys: Sequence[str] = ()
    ) -> att.SigningPolicy:
        from ..domain.deployments import check_environment_name

        scope, name = att.check_scope_name(scope, name)
        accepted = att.check_policy_keys(scope, keys, self.backend.metadata.signing_keys())
        if scope == att.MODEL_SCOPE:
            validate_model_name(name)
        elif scope == att.ENVIRONMENT:
            check_environment_name(name)
        return self.backend.metadata.set_signing_policy(
            att.SigningPolicy(
                scope=scope,
                name=name,
                enabled=bool(enabled),
                set_at=self.clock.now(),
                set_by=self.user,
                set_auth=self.auth,
                keys=accepted,
            )
        )

    def signing_policies(self) -> list[att.SigningPolicy]:
        return self.backend.metadata.signing_policies()


def new_key(reg: Core, pem: str, label: str) -> att.SigningKey:
    return att.SigningKey(
        key_id=att.key_id(pem.encode()),
        public_pem=pem,
        label=label,
        added_at=reg.clock.now(),
        added_by=reg.user,
        added_auth=reg.auth,
    )


def trusted_store_key(reg: Core, signer: StatementSigner) -> att.SigningKey:
    """The store's key, trusted on its first use (a revoked one refuses to sign)."""
    for key in reg.backend.metadata.signing_keys():
        if key.key_id == signer.key_id:
            if not key.active:
                raise Conflict(
                    "the store's version key is revoked: give it a new one with "
                    "'modelrepo signing rotate'"
                )
            return key
    return reg.backend.metadata.trust_signing_key(
        new_key(reg, signer.public_pem.decode(), "the store's version key")
    )


def keep_signatures(
    reg: Core, found: ModelVersion, pairs: Sequence[tuple[str, str]], reason: str | None
) -> None:
    reg.backend.metadata.sign_version(
        found.model, found.version, pairs, actor=reg.user, at=reg.clock.now(), reason=reason
    )


def signer_for_registration(reg: Core, model: str, sign: bool) -> StatementSigner | None:
    """The key a new version of `model` is signed with (asked, or by policy), loaded before
    anything is written: a store that cannot sign refuses the registration."""
    wanted = sign or att.signs_at_registration(reg.backend.metadata.signing_policies(), model)
    if not wanted:
        return None
    signer = reg.backend.version_signer
    trusted_store_key(reg, signer)
    return signer


def _signed_statements(signer: StatementSigner, found: ModelVersion) -> list[tuple[str, str]]:
    """`signing.signed_statements`, imported when something is signed: it loads
    cryptography, which commands that only read should not pay for."""
    from ..signing import signed_statements

    return signed_statements(signer, found)


def sign_registered(reg: Core, made: ModelVersion, signer: StatementSigner | None) -> None:
    if signer is not None:
        keep_signatures(reg, made, _signed_statements(signer, made), att.REGISTRATION_REASON)


def signatures_of(found: ModelVersion, events: Iterable[Any]) -> list[att.VersionSignature]:
    found_signatures = []
    for event in events:
        if event.kind != att.SIGNED:
            continue
        kind, key_id = att.parse_event_key(event.key or "")
        found_signatures.append(
            att.VersionSignature(
                model=found.model,
                version=found.version,
                kind=kind,
                key_id=key_id,
                bundle=event.value or "",
                signed_at=event.at,
                signed_by=event.actor,
            )
        )
    return found_signatures


def described_signatures(
    reg: Attestations, name: str, version: int, signatures: Sequence[att.VersionSignature]
) -> list[dict[str, Any]]:
    """`signatures` of `name@version` as the API shows them: each with its bundle, whose key
    it is (`key_label`, None for a key not trusted here) and whether it counts now
    (`standing`, `standing_reason`), its bundle checked again against today's keys."""
    from ..signing import signature_standing

    found = reg.get(name, version)
    keys = reg.signing_keys()
    labels = {k.key_id: k.label for k in keys}
    described = []
    for signature in signatures:
        standing, why = signature_standing(found, signature, keys)
        described.append(
            {
                **signature.to_dict(bundle=True),
                "key_label": labels.get(signature.key_id),
                "standing": standing,
                "standing_reason": why,
            }
        )
    return described


def _usable(keys: Iterable[att.SigningKey], key_id: str) -> att.SigningKey:
    for key in keys:
        if key.key_id == key_id:
            if not key.active:
                raise Conflict(f"signing key {key_id[:16]} is revoked: it signs nothing more")
            return key
    raise InvalidInput(
        f"key {key_id[:16]} is not trusted to sign versions: trust its public key first "
        "('modelrepo signing trust PUBLIC.pem --label WHOSE')"
    )


def verified_signature(
    reg: Core,
    name: str,
    version: int,
    accepted: frozenset[str],
    keys: Sequence[att.SigningKey],
) -> att.VersionSignature:
    """`verify_signature` once the policy and the trusted keys are known."""
    from ..signing import check_version_signature

    found = reg._readable(name, version)
    events = reg.backend.metadata.version_events(found.model, found.version)
    return check_version_signature(found, signatures_of(found, events), keys, accepted)


def check_signed_for(
    reg: Core, model: str, environment: str, versions: Iterable[Allocation]
) -> None:
    """Refuse to put versions live in an environment whose name requires signatures unless
    each has a valid model signature by a key it accepts (Conflict naming why)."""
    accepted = att.required_signers(reg.backend.metadata.signing_policies(), environment)
    if accepted is None:
        return
    keys = reg.backend.metadata.signing_keys()  # read once for every version of a split
    for allocation in versions:
        try:
            verified_signature(reg, model, allocation.version, accepted, keys)
        except att.SignatureInvalid as exc:
            raise Conflict(
                att.unsigned_refusal(f"{model}@{allocation.version}", environment, str(exc))
            ) from None


def sign_for_protected(
    reg: Core, model: str, environment: str, versions: Iterable[Allocation]
) -> None:
    """Signing is on for protected environments: a version on its way into one is signed
    with the store's key (once), when the store has a usable key, so that what reaches
    production can be checked by anyone; a store without one leaves it to the policies."""
    try:
        protected = reg.backend.metadata.environment(model, environment).protected
    except NotFound:  # its first deployment: a new environment is never protected
        return
    if not protected:
        return
    try:
        signer = reg.backend.version_signer
        trusted_store_key(reg, signer)
    except (InvalidInput, Conflict):  # no key configured, or the store's key is revoked
        return
    for allocation in versions:
        found = reg._readable(model, allocation.version)
        held = {
            s.key_id
            for s in signatures_of(found, reg.backend.metadata.version_events(model, found.version))
        }
        if signer.key_id not in held:
            keep_signatures(
                reg,
                found,
                _signed_statements(signer, found),
                f"signed on its way to protected environment {environment!r}",
            )
