"""Signed versions in formats third parties verify with their own tools.

Two statements are made about a version, both in-toto Statements v1 wrapped in a DSSE
envelope inside a Sigstore bundle v0.3 (the OpenSSF model-signing format):

- the *model signature* (predicate `https://model_signing/signature/v1.0`): every file's
  SHA-256, so that `model_signing verify key` accepts a downloaded folder and rejects it after
  any byte, file or name changes;
- the *provenance* (SLSA provenance v1): what the version was made from (data and code with
  their digests, parameters, environment) and who registered it.

Both are built from what the version recorded (its manifest holds every file's SHA-256), so
signing reads no file bytes. The cryptography (ECDSA over the PAE) lives in the signing
adapter; here are the documents, their checks and the audit records of keys and policies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import Conflict, InvalidInput, NotFound
from .manifest import FileEntry
from .principals import Authentication, auth_dict
from .times import format_time, parse_time

if TYPE_CHECKING:
    from .model import ModelVersion

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
MODEL_SIGNATURE_PREDICATE = "https://model_signing/signature/v1.0"
PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:modelrepo:registration:v1"
BUILDER_ID = "urn:modelrepo:registry"

MODEL = "model"
PROVENANCE = "provenance"
SIGNED = "signed"
"""The version event that holds a signature: key `<kind>:<key id>`, value the bundle."""

REGISTRATION_REASON = "signed at registration"

SIGNATURE_FILE = "model.sig"
"""Where a download writes the model signature, as `model_signing` expects by default."""
GIT_PATHS = (".git", ".gitignore", ".gitattributes", ".github")
"""Top-level paths the stock `model_signing` verifier leaves out of a folder by default."""

STORE = "store"
MODEL_SCOPE = "model"
ENVIRONMENT = "environment"
SCOPES = (STORE, MODEL_SCOPE, ENVIRONMENT)


# -- the model signature ----------------------------------------------------------------------


def signature_file_name(files: Iterable[FileEntry]) -> str:
    """`model.sig`, unless the version holds a file of that name (then `model.sig.modelrepo`
    and so on): the signature lies beside the files and is never one of them."""
    paths = {f.path for f in files}
    name = SIGNATURE_FILE
    while name in paths:
        name += ".modelrepo"
    return name


def _ignored_by_default(path: str) -> bool:
    top = path.split("/", 1)[0]
    return top in GIT_PATHS


def signed_files(files: Iterable[FileEntry], signature_name: str) -> list[FileEntry]:
    """The files a model signature lists, in the verifier's order (by path component): all
    but those the stock verifier ignores in a folder (top-level Git files, the signature)."""
    kept = [f for f in files if not _ignored_by_default(f.path) and f.path != signature_name]
    return sorted(kept, key=lambda f: f.path.split("/"))


def model_statement(model_name: str, files: Sequence[FileEntry]) -> dict[str, Any]:
    """The in-toto statement the stock model-signing tool makes for a folder holding `files`
    (its `files` serialization over SHA-256; the subject digest is the SHA-256 of every
    file digest in order)."""
    signature_name = signature_file_name(files)
    listed = signed_files(files, signature_name)
    root = hashlib.sha256(b"".join(bytes.fromhex(f.sha256) for f in listed)).hexdigest()
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": model_name, "digest": {"sha256": root}}],
        "predicateType": MODEL_SIGNATURE_PREDICATE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": False,
                "ignore_paths": [*GIT_PATHS, signature_name],
            },
            "resources": [
                {"name": f.path, "algorithm": "sha256", "digest": f.sha256} for f in listed
            ],
        },
    }


def check_model_statement(statement: Mapping[str, Any], files: Sequence[FileEntry]) -> None:
    """The statement signed for a version must list exactly its files' digests (a bundle made
    for another version, or another content, does not count)."""
    expected = model_statement("", files)
    if statement.get("predicateType") != MODEL_SIGNATURE_PREDICATE:
        raise SignatureInvalid("the signed statement is not a model signature")
    predicate = statement.get("predicate")
    resources = predicate.get("resources") if isinstance(predicate, Mapping) else None
    if resources != expected["predicate"]["resources"]:
        raise SignatureInvalid("the signed statement lists other files or digests")
    subject = statement.get("subject")
    if not isinstance(subject, list) or len(subject) != 1:
        raise SignatureInvalid("the signed statement has no single subject")
    if subject[0].get("digest") != expected["subject"][0]["digest"]:
        raise SignatureInvalid("the signed statement's subject digest does not match")


# -- provenance -------------------------------------------------------------------------------


def _digest_set(digest: str | None) -> dict[str, str]:
    """`sha256:ab..` (as lineage records a dataset's digest) as an in-toto digest set."""
    if not digest:
        return {}
    algorithm, sep, value = digest.partition(":")
    return {algorithm: value} if sep else {"sha256": digest}


def provenance_statement(version: ModelVersion) -> dict[str, Any]:
    """SLSA provenance v1 for `version`: its files are the subjects; its recorded data and
    code commit are the resolved dependencies, with exactly the digests lineage recorded."""
    lineage = version.lineage
    dependencies: list[dict[str, Any]] = []
    for ref in lineage.data:
        dependency: dict[str, Any] = {"uri": ref.uri, "annotations": {"role": "data"}}
        digest = _digest_set(ref.digest)
        if digest:
            dependency["digest"] = digest
        dependencies.append(dependency)
    if lineage.code is not None:
        code = lineage.code
        where = f"git+{code.remote}" if code.remote else "git"
        dependencies.append(
            {
                "uri": f"{where}@{code.commit}",
                "digest": {"gitCommit": code.commit},
                "annotations": {"role": "code", "dirty": code.dirty, "branch": code.branch},
            }
        )
    internal: dict[str, Any] = {
        "registeredBy": version.created_by,
        "versionDigest": version.digest,
    }
    if lineage.environment is not None:
        internal["environment"] = lineage.environment.to_dict()
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": f.path, "digest": {"sha256": f.sha256}}
            for f in sorted(version.files, key=lambda f: f.path.encode("utf-8"))
        ],
        "predicateType": PROVENANCE_PREDICATE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "model": version.model,
                    "version": version.version,
                    "flavor": version.flavor,
                    "params": dict(version.params),
                },
                "internalParameters": internal,
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID},
                "metadata": {
                    "invocationId": version.ref,
                    "finishedOn": format_time(version.created_at),
                },
            },
        },
    }


def statement_payload(statement: Mapping[str, Any]) -> bytes:
    """The exact bytes signed: compact JSON with sorted keys."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# -- DSSE and the Sigstore bundle -------------------------------------------------------------


def pae(payload: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature is computed over."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def key_id(public_pem: bytes) -> str:
    """A signing key's id: the SHA-256 of its PEM (SubjectPublicKeyInfo), which is the key
    hint model-signing writes in a bundle and compares with the key it is given."""
    return hashlib.sha256(public_pem).hexdigest()


def bundle_text(payload: bytes, signature: bytes, public_pem: bytes) -> str:
    """A Sigstore bundle v0.3 holding the DSSE envelope, as model-signing writes one for a
    key (no transparency log entry: verified offline against a public key)."""
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": key_id(public_pem)},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
        },
    }
    return json.dumps(bundle, indent=2) + "\n"


class SignatureInvalid(InvalidInput):
    """A signature that does not verify, or verifies something else than the version."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a bundle carries: the statement's bytes, the signature over their PAE, the key."""

    payload: bytes
    signature: bytes
    key_id: str

    def statement(self) -> dict[str, Any]:
        try:
            found = json.loads(self.payload)
        except ValueError:
            raise SignatureInvalid("the signed payload is not JSON") from None
        if not isinstance(found, dict) or found.get("_type") != STATEMENT_TYPE:
            raise SignatureInvalid("the signed payload is not an in-toto statement v1")
        return found


def read_bundle(text: str | bytes) -> Envelope:
    """The envelope of a bundle, refusing anything but a v0.3 bundle with one DSSE signature
    over an in-toto payload and a public-key hint."""
    try:
        bundle = json.loads(text)
        if bundle["mediaType"] != BUNDLE_MEDIA_TYPE:
            raise SignatureInvalid(f"not a Sigstore bundle v0.3: {bundle['mediaType']!r}")
        hint = bundle["verificationMaterial"]["publicKey"]["hint"]
        envelope = bundle["dsseEnvelope"]
        if envelope["payloadType"] != PAYLOAD_TYPE or len(envelope["signatures"]) != 1:
            raise SignatureInvalid("the bundle must hold one signature over an in-toto payload")
        return Envelope(
            payload=base64.b64decode(envelope["payload"], validate=True),
            signature=base64.b64decode(envelope["signatures"][0]["sig"], validate=True),
            key_id=str(hint),
        )
    except SignatureInvalid:
        raise
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as exc:
        raise SignatureInvalid(f"not a readable signature bundle ({exc})") from None


# -- a version's signatures -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionSignature:
    """One signature of a version: which statement, by which key, when, by whom."""

    model: str
    version: int
    kind: str  # model | provenance
    key_id: str
    bundle: str
    signed_at: datetime
    signed_by: str

    @property
    def event_key(self) -> str:
        return signature_event_key(self.kind, self.key_id)

    @property
    def bundle_sha256(self) -> str:
        return hashlib.sha256(self.bundle.encode()).hexdigest()

    def to_dict(self, *, bundle: bool = False) -> dict[str, Any]:
        found: dict[str, Any] = {
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "key_id": self.key_id,
            "bundle_sha256": self.bundle_sha256,
            "signed_at": format_time(self.signed_at),
            "signed_by": self.signed_by,
        }
        if bundle:
            found["bundle"] = self.bundle
        return found

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> VersionSignature:
        return cls(
            model=str(raw["model"]),
            version=int(raw["version"]),
            kind=str(raw["kind"]),
            key_id=str(raw["key_id"]),
            bundle=str(raw.get("bundle") or ""),
            signed_at=parse_time(raw["signed_at"]),
            signed_by=str(raw["signed_by"]),
        )


def signature_event_key(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def parse_event_key(key: str) -> tuple[str, str]:
    kind, _, found = key.partition(":")
    return kind, found


def signature_change(
    model: str, version: int, signatures: Sequence[tuple[str, str]], reason: str | None
) -> dict[str, Any]:
    """The audit change of signing a version: each (event key, bundle) in full, so the log
    alone holds every signature an auditor may want to check."""
    return {
        "model": model,
        "version": version,
        "signatures": [{"key": key, "bundle": bundle} for key, bundle in signatures],
        "reason": reason,
    }


def new_signatures(
    existing: Iterable[str], wanted: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The (event key, bundle) pairs not yet held: signing again with the same key is a no-op
    (also within `wanted`: the first bundle of a key is the one kept)."""
    held = set(existing)
    found = []
    for key, bundle in wanted:
        if key not in held:
            held.add(key)
            found.append((key, bundle))
    return found


# -- trusted keys -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A public key trusted to sign versions; revoking it withdraws that trust for good, from
    the signatures it made before too."""

    key_id: str
    public_pem: str
    label: str
    added_at: datetime
    added_by: str
    added_auth: Authentication | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoked_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "public_key": self.public_pem,
            "label": self.label,
            "added_at": format_time(self.added_at),
            "added_by": self.added_by,
            "revoked_at": None if self.revoked_at is None else format_time(self.revoked_at),
            "revoked_by": self.revoked_by,
            "revoked_reason": self.revoked_reason,
            "active": self.active,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SigningKey:
        revoked = raw.get("revoked_at")
        return cls(
            key_id=str(raw["key_id"]),
            public_pem=str(raw["public_key"]),
            label=str(raw["label"]),
            added_at=parse_time(raw["added_at"]),
            added_by=str(raw["added_by"]),
            revoked_at=None if revoked is None else parse_time(revoked),
            revoked_by=raw.get("revoked_by"),
            revoked_reason=raw.get("revoked_reason"),
        )


def key_not_found(key: str) -> str:
    return f"no signing key {key!r}: see 'modelrepo signing keys'"


def check_new_key(key: SigningKey, existing: SigningKey | None) -> bool:
    """Whether `key` is new (True) or already trusted (False: adding it again is a no-op);
    a revoked key is never trusted again."""
    if existing is None:
        return True
    if existing.revoked_at is not None:
        raise Conflict(f"signing key {key.key_id[:16]} was revoked; it cannot be trusted again")
    return False


def revoked_key(
    key: SigningKey | None, wanted: str, *, actor: str, at: datetime, reason: str
) -> SigningKey:
    if key is None:
        raise NotFound(key_not_found(wanted))
    if key.revoked_at is not None:
        raise Conflict(f"signing key {key.key_id[:16]} is already revoked")
    if not reason.strip():
        raise InvalidInput("revoking a signing key needs a reason")
    return replace(key, revoked_at=at, revoked_by=actor, revoked_reason=reason)


def key_change(key: SigningKey, auth: Authentication | None) -> dict[str, Any]:
    """The audit change of trusting or revoking a key (its PEM in full: the log says which
    key was trusted, not only its id)."""
    return {
        "key_id": key.key_id,
        "public_key": key.public_pem,
        "label": key.label,
        "reason": key.revoked_reason,
        "auth": auth_dict(auth),
    }


def signing_key_fields(key: SigningKey) -> dict[str, Any]:
    """A key's row as `audit verify` compares it with the entries that made it."""
    return {k: v for k, v in key.to_dict().items() if k not in ("key_id", "active")}


def find_key(keys: Iterable[SigningKey], wanted: str) -> SigningKey | None:
    """The key whose id is `wanted` or starts with it (at least 8 characters, one match)."""
    wanted = wanted.strip().lower()
    if len(wanted) < 8:
        raise InvalidInput("give at least 8 characters of a signing key's id")
    found = [k for k in keys if k.key_id.startswith(wanted)]
    if len(found) > 1:
        raise InvalidInput(f"{wanted!r} names several signing keys: give more of its id")
    return found[0] if found else None


# -- where versions are signed, and where only signed versions deploy ---------------------------


@dataclass(frozen=True, slots=True)
class SigningPolicy:
    """`store` (name ''): sign every version at registration; `model` NAME: sign that
    model's versions; `environment` NAME: deploy only versions signed by a trusted key (one
    of `keys`, when given) to every environment of that name."""

    scope: str
    name: str
    enabled: bool
    set_at: datetime
    set_by: str
    set_auth: Authentication | None = None
    keys: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "name": self.name,
            "enabled": self.enabled,
            "set_at": format_time(self.set_at),
            "set_by": self.set_by,
            "keys": list(self.keys),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SigningPolicy:
        return cls(
            scope=str(raw["scope"]),
            name=str(raw["name"]),
            enabled=bool(raw["enabled"]),
            set_at=parse_time(raw["set_at"]),
            set_by=str(raw["set_by"]),
            keys=tuple(str(k) for k in raw.get("keys") or ()),
        )


def check_scope_name(scope: str, name: str) -> tuple[str, str]:
    if scope not in SCOPES:
        raise InvalidInput(f"unknown signing scope {scope!r}: one of {', '.join(SCOPES)}")
    if scope == STORE and name:
        raise InvalidInput("the store-wide signing policy takes no name")
    if scope != STORE and not name:
        raise InvalidInput(f"a {scope} signing policy needs the {scope}'s name")
    return scope, name


def policy_change(policy: SigningPolicy) -> dict[str, Any]:
    return {
        "scope": policy.scope,
        "name": policy.name,
        "enabled": policy.enabled,
        "keys": list(policy.keys),
        "auth": auth_dict(policy.set_auth),
    }


def policy_row_fields(policy: SigningPolicy) -> dict[str, Any]:
    return {
        "enabled": policy.enabled,
        "set_at": format_time(policy.set_at),
        "set_by": policy.set_by,
        "keys": list(policy.keys),
    }


def check_policy_keys(
    scope: str, keys: Iterable[str], trusted: Iterable[SigningKey]
) -> tuple[str, ...]:
    """The full ids of the keys an environment policy names (each a trusted key's id or a
    unique prefix of it), sorted; only an environment policy names keys."""
    wanted = list(keys)
    if wanted and scope != ENVIRONMENT:
        raise InvalidInput("only an environment's signing policy names the keys it accepts")
    known = list(trusted)
    found = set()
    for key in wanted:
        match = find_key(known, key)
        if match is None:
            raise NotFound(key_not_found(key))
        found.add(match.key_id)
    return tuple(sorted(found))


def signs_at_registration(policies: Iterable[SigningPolicy], model: str) -> bool:
    """Whether a new version of `model` is signed: the model's own policy, else the store's."""
    found = {(p.scope, p.name): p.enabled for p in policies}
    return found.get((MODEL_SCOPE, model), found.get((STORE, ""), False))


def required_signers(policies: Iterable[SigningPolicy], environment: str) -> frozenset[str] | None:
    """None if `environment` does not require signatures; else the key ids it accepts (empty:
    any trusted key)."""
    for p in policies:
        if p.scope == ENVIRONMENT and p.name == environment and p.enabled:
            return frozenset(p.keys)
    return None


def requires_signature(policies: Iterable[SigningPolicy], environment: str) -> bool:
    return required_signers(policies, environment) is not None


def signature_trouble(key: SigningKey | None, key_hint: str) -> str | None:
    """Why a signature by `key` (None: not among the trusted keys) does not count, or None."""
    standing = key_standing(key)
    if standing == NOT_TRUSTED:
        return f"it is signed by key {key_hint[:16]}, which is not trusted here"
    if standing == KEY_REVOKED:
        assert key is not None and key.revoked_at is not None
        return (
            f"key {key.key_id[:16]} that signed it was revoked on {format_time(key.revoked_at)} "
            f"({key.revoked_reason})"
        )
    return None


VALID = "valid"
KEY_REVOKED = "key revoked"
NOT_TRUSTED = "not trusted"
INVALID = "invalid"
STANDINGS = (VALID, KEY_REVOKED, NOT_TRUSTED, INVALID)
"""Whether a kept signature counts now: its key may have been revoked (or never trusted
here, for one kept before a store's keys were replaced) since it was checked."""


def key_standing(key: SigningKey | None) -> str:
    """What the state of the key that made a signature says of it (before any cryptography)."""
    if key is None:
        return NOT_TRUSTED
    return VALID if key.revoked_at is None else KEY_REVOKED


def check_provenance(statement: Mapping[str, Any], version: ModelVersion) -> None:
    """The signed provenance must be the version's, under the name the model had when it was
    signed (a rename changes no content, and is in the audit log)."""
    try:
        named = statement["predicate"]["buildDefinition"]["externalParameters"]["model"]
    except (KeyError, TypeError):
        named = version.model
    if isinstance(named, str) and named != version.model:
        version = replace(version, model=named)
    if statement_payload(statement) != statement_payload(provenance_statement(version)):
        raise SignatureInvalid("the signed provenance differs from the version's recorded lineage")


def unsigned_refusal(ref: str, environment: str, why: str) -> str:
    return (
        f"{ref} cannot be deployed to {environment!r}: it requires versions signed by a trusted "
        f"key, and {why}; sign it with 'modelrepo sign {ref}'"
    )
