"""The store's keys, kept outside the database: Ed25519 for audit checkpoints, an
elliptic-curve key for versions (the OpenSSF model-signing format)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from .domain import attestations
from .domain.errors import InvalidInput, StorageError
from .verifier import key_id

if TYPE_CHECKING:
    from .domain.model import ModelVersion


class Ed25519Signer:
    """Signs checkpoints; its public key is what auditors verify them with."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        public = private_key.public_key()
        self.public_pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        self.key_id = key_id(public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path, mode: int = 0o600) -> Ed25519Signer:
        """Load the key at `path`, or create it (`mode`: 0600, or the store's file mode;
        never overwriting a racing twin)."""
        try:
            return cls._load(path)
        except FileNotFoundError:
            pass
        key = Ed25519PrivateKey.generate()
        if not _write_new_key(path, key, mode):
            return cls._load(path)
        return cls(key)

    @classmethod
    def _load(cls, path: Path) -> Ed25519Signer:
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise StorageError(f"{path} does not hold an Ed25519 private key")
        return cls(key)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class VersionSigner:
    """Signs versions' statements with an elliptic-curve key (P-256, P-384 or P-521: what the
    OpenSSF model-signing verifier accepts; it refuses Ed25519, hence a key of its own beside
    the audit key)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        check_curve(private_key.public_key())
        self._key = private_key
        self.public_pem = private_key.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = attestations.key_id(self.public_pem)

    @classmethod
    def generate(cls) -> VersionSigner:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def load_or_create(cls, path: Path, mode: int = 0o600) -> VersionSigner:
        """The key at `path`, or a new P-256 key written there (never overwriting a twin)."""
        try:
            return cls.from_file(path)
        except FileNotFoundError:
            pass
        key = ec.generate_private_key(ec.SECP256R1())
        if not _write_new_key(path, key, mode):
            return cls.from_file(path)
        return cls(key)

    @classmethod
    def from_file(cls, path: Path, password: bytes | None = None) -> VersionSigner:
        try:
            key = load_pem_private_key(path.read_bytes(), password=password)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"{path} is not a readable PEM private key ({exc})") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidInput(
                f"{path} does not hold an elliptic-curve private key (P-256, P-384 or P-521)"
            )
        return cls(key)

    def sign_statement(self, statement: Mapping[str, Any]) -> str:
        """The statement as a Sigstore bundle: a DSSE envelope signed over its PAE."""
        payload = attestations.statement_payload(statement)
        signature = self._key.sign(attestations.pae(payload), ec.ECDSA(_hash_of(self._key)))
        return attestations.bundle_text(payload, signature, self.public_pem)


def check_curve(key: ec.EllipticCurvePublicKey) -> None:
    if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        raise InvalidInput(f"unsupported curve {key.curve.name}: use P-256, P-384 or P-521")


def _hash_of(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    """The digest model-signing pairs with each curve."""
    return {256: hashes.SHA256(), 384: hashes.SHA384()}.get(key.curve.key_size, hashes.SHA512())


def public_key_pem(text: str | bytes) -> str:
    """A PEM public key in the one form its id is computed on (SubjectPublicKeyInfo)."""
    raw = text.encode() if isinstance(text, str) else text
    try:
        key = load_pem_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a readable PEM public key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidInput(
            "a version signing key must be an elliptic-curve key (P-256, P-384, P-521)"
        )
    check_curve(key)
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def verify_envelope(envelope: attestations.Envelope, public_pem: str) -> None:
    """SignatureInvalid unless `envelope`'s signature verifies with `public_pem`."""
    key = load_pem_public_key(public_pem.encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        key.verify(envelope.signature, attestations.pae(envelope.payload), ec.ECDSA(_hash_of(key)))
    except InvalidSignature:
        raise attestations.SignatureInvalid(
            f"the signature does not verify with key {envelope.key_id[:16]}"
        ) from None


def _write_new_key(
    path: Path, key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey, mode: int
) -> bool:
    """Write `key` to `path` durably unless a file is there (False: another process won)."""
    from .disk.modes import open_new

    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_new(tmp, os.O_WRONLY | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # fails if another process created the key first
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def check_bundle(
    found: ModelVersion, text: str, keys: Iterable[attestations.SigningKey]
) -> tuple[str, str]:
    """(kind, key id) of a bundle that verifies with a trusted, unrevoked key and states
    exactly `found` (its files, or its provenance); SignatureInvalid naming why otherwise."""
    envelope = attestations.read_bundle(text)
    key = next((k for k in keys if k.key_id == envelope.key_id), None)
    trouble = attestations.signature_trouble(key, envelope.key_id)
    if trouble is not None:
        raise attestations.SignatureInvalid(trouble)
    assert key is not None
    verify_envelope(envelope, key.public_pem)
    own = attestations.statement_payload(attestations.model_statement(found.model, found.files))
    if envelope.payload == own:  # as this registry signs it: no need to parse it
        return attestations.MODEL, key.key_id
    statement = envelope.statement()
    kind = statement.get("predicateType")
    if kind == attestations.MODEL_SIGNATURE_PREDICATE:
        attestations.check_model_statement(statement, found.files)
        return attestations.MODEL, key.key_id
    if kind == attestations.PROVENANCE_PREDICATE:
        attestations.check_provenance(statement, found)
        return attestations.PROVENANCE, key.key_id
    raise attestations.SignatureInvalid(f"unknown statement type {kind!r}")


def check_version_signature(
    found: ModelVersion,
    signatures: Sequence[attestations.VersionSignature],
    keys: Sequence[attestations.SigningKey],
    accepted: frozenset[str] = frozenset(),
    kind: str = attestations.MODEL,
) -> attestations.VersionSignature:
    """The newest signature of `found` of `kind` (its files, or its provenance) that counts
    (by one of the `accepted` key ids, when given); SignatureInvalid saying why none does
    (not signed, or each one's trouble)."""
    troubles = []
    for signature in reversed(signatures):
        if signature.kind != kind:
            continue
        if accepted and signature.key_id not in accepted:
            troubles.append(f"key {signature.key_id[:16]} is not one this environment accepts")
            continue
        try:
            check_bundle(found, signature.bundle, keys)
        except attestations.SignatureInvalid as exc:
            troubles.append(str(exc))
            continue
        return signature
    of = "" if kind == attestations.MODEL else f" {kind}"
    if not troubles:
        raise attestations.SignatureInvalid(f"{found.ref}{of} is not signed")
    raise attestations.SignatureInvalid(
        f"no signature of {found.ref}{of} counts: {'; '.join(troubles)}"
    )


def signature_standing(
    found: ModelVersion,
    signature: attestations.VersionSignature,
    keys: Sequence[attestations.SigningKey],
) -> tuple[str, str | None]:
    """Whether `signature` of `found` counts now (`attestations.STANDINGS`), and why not: the
    state of its key first (revoked, not trusted), else its bundle checked again in full."""
    key = next((k for k in keys if k.key_id == signature.key_id), None)
    standing = attestations.key_standing(key)
    try:
        check_bundle(found, signature.bundle, keys)
    except attestations.SignatureInvalid as exc:
        return (attestations.INVALID if standing == attestations.VALID else standing), str(exc)
    return attestations.VALID, None


def signed_statements(signer: Any, found: ModelVersion) -> list[tuple[str, str]]:
    """(event key, bundle) of the version's two statements signed by `signer` (a
    `StatementSigner`): its files, and its provenance."""
    return [
        (
            attestations.signature_event_key(attestations.MODEL, signer.key_id),
            signer.sign_statement(attestations.model_statement(found.model, found.files)),
        ),
        (
            attestations.signature_event_key(attestations.PROVENANCE, signer.key_id),
            signer.sign_statement(attestations.provenance_statement(found)),
        ),
    ]
