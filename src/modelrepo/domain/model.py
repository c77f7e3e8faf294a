"""The registry's records: models, versions and their lineage, as immutable values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .canonical import canonical_bytes
from .errors import AlreadyExists, Conflict, InvalidInput, NotFound
from .manifest import FileEntry, manifest_digest
from .names import check_version, validate_key
from .times import format_time, parse_time

JSONValue = Any  # str | int | float | bool | None | list | dict, checked by `check_json`


def check_json(value: JSONValue, where: str) -> JSONValue:
    """Refuse values that JSON cannot carry faithfully (NaN, infinities, non-string keys)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{where}: {value!r} is not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [check_json(item, where) for item in value]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{where}: key {key!r} is not a string")
            out[key] = check_json(item, f"{where}.{key}")
        return out
    raise InvalidInput(f"{where}: {type(value).__name__} is not a JSON value")


def check_params(params: Mapping[str, JSONValue] | None) -> dict[str, JSONValue]:
    """Params: string keys, JSON values."""
    return {
        validate_key(k, "param name"): check_json(v, f"param {k}")
        for k, v in (params or {}).items()
    }


def check_metrics(metrics: Mapping[str, float] | None) -> dict[str, float]:
    """Metrics: string keys, finite numbers."""
    out: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        validate_key(key, "metric name")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"metric {key}: {value!r} is not a number")
        if not math.isfinite(value):
            raise InvalidInput(f"metric {key}: {value!r} is not a finite number")
        out[key] = float(value)
    return out


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Tags: string keys and string values (at most 4096 characters)."""
    out: dict[str, str] = {}
    for key, value in (tags or {}).items():
        validate_key(key, "tag name")
        if not isinstance(value, str):
            raise InvalidInput(f"tag {key}: value must be a string, got {type(value).__name__}")
        if len(value) > 4096:
            raise InvalidInput(f"tag {key}: value longer than 4096 characters")
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class DataRef:
    """A dataset a version was trained or evaluated on: where it is and what it hashed to."""

    uri: str
    digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class CodeRef:
    """The source the version was built from: a Git commit, and whether the tree was dirty."""

    commit: str
    dirty: bool
    remote: str | None = None
    branch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "dirty": self.dirty,
            "remote": self.remote,
            "branch": self.branch,
        }


@dataclass(frozen=True, slots=True)
class PythonEnvironment:
    """The interpreter and distributions present when the version was registered."""

    python: str
    implementation: str
    platform: str
    packages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "implementation": self.implementation,
            "platform": self.platform,
            "packages": list(self.packages),
        }


@dataclass(frozen=True, slots=True)
class Lineage:
    """What a version was made from: data, code and environment."""

    data: tuple[DataRef, ...] = ()
    code: CodeRef | None = None
    environment: PythonEnvironment | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": [ref.to_dict() for ref in self.data],
            "code": self.code.to_dict() if self.code else None,
            "environment": self.environment.to_dict() if self.environment else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Lineage:
        code = raw.get("code")
        env = raw.get("environment")
        return cls(
            data=tuple(DataRef(d["uri"], d.get("digest")) for d in raw.get("data") or ()),
            code=CodeRef(
                commit=code["commit"],
                dirty=bool(code["dirty"]),
                remote=code.get("remote"),
                branch=code.get("branch"),
            )
            if code
            else None,
            environment=PythonEnvironment(
                python=env["python"],
                implementation=env["implementation"],
                platform=env["platform"],
                packages=tuple(env.get("packages") or ()),
            )
            if env
            else None,
        )


@dataclass(frozen=True, slots=True)
class NewVersion:
    """Everything a version is made of except its number, which the store assigns."""

    model: str
    digest: str
    files: tuple[FileEntry, ...]
    created_at: datetime
    created_by: str
    params: Mapping[str, JSONValue] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    flavor: str = "generic"
    signature: Mapping[str, JSONValue] | None = None
    lineage: Lineage = field(default_factory=Lineage)

    def numbered(self, number: int, created_at: datetime) -> ModelVersion:
        """The version this becomes as number `number`, created at `created_at` (the time
        as the store keeps it)."""
        return ModelVersion(
            model=self.model,
            version=number,
            digest=self.digest,
            files=tuple(self.files),
            created_at=created_at,
            created_by=self.created_by,
            params=dict(self.params),
            metrics=dict(self.metrics),
            tags=dict(self.tags),
            description=self.description,
            flavor=self.flavor,
            signature=self.signature,
            lineage=self.lineage,
        )


GIVEN_NUMBER_MAX = 2**31 - 1
"""The highest version number that may be given (what every store's column holds)."""


def next_number(model: str, last: int, wanted: int | None) -> int:
    """The number a new version (or a recorded deletion) of `model` takes: `wanted` when
    given, else `last` + 1. `last` is the highest number the model ever had, kept or
    deleted: numbers are never reused, so a given number must be above it (gaps are allowed,
    as in a registry whose versions were deleted before they were imported)."""
    if wanted is None:
        return last + 1
    if check_version(wanted, "version number") > GIVEN_NUMBER_MAX:
        raise InvalidInput(f"a given version number must be at most {GIVEN_NUMBER_MAX}")
    if wanted <= last:
        raise Conflict(
            f"version {model}@{wanted} cannot be created: {model} already had version {last} "
            "(kept or deleted), and numbers are never reused; give a number above it"
        )
    return wanted


def deleted_record(model: str, actor: str, at: datetime) -> NewVersion:
    """What a version recorded as deleted holds (a tombstone with no files, as another
    registry's deleted version leaves one): no content, created and deleted at `at`."""
    return NewVersion(
        model=model, digest=manifest_digest(()), files=(), created_at=at, created_by=actor
    )


def check_replay(new: NewVersion, key: str, model: str, number: int, digest: str) -> int:
    """The version number a registration made earlier with idempotency `key` (`model`@
    `number`, `digest`) answers `new` with, if `new` is that same registration again;
    else Conflict. Only the model and the files are compared: they are what makes a
    version, and a retry sends the same ones."""
    if model != new.model:
        raise Conflict(
            f"idempotency key {key!r} was already used for {model}@{number}, "
            f"not for model {new.model!r}"
        )
    if digest != new.digest:
        raise Conflict(
            f"idempotency key {key!r} was already used for {model}@{number} with other files"
        )
    return number


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A registered version. Only `tags`, `deprecated` and the deletion tombstone ever change."""

    model: str
    version: int
    digest: str
    files: tuple[FileEntry, ...]
    created_at: datetime
    created_by: str
    params: Mapping[str, JSONValue]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    description: str
    flavor: str
    signature: Mapping[str, JSONValue] | None
    lineage: Lineage
    deprecated: bool = False
    deleted_at: datetime | None = None
    deleted_by: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    def record_digest(self) -> str:
        """sha256 of everything recorded at registration that may never change."""
        import hashlib

        fixed = {
            k: v
            for k, v in self.to_dict().items()
            if k not in ("tags", "deprecated", "deleted_at", "deleted_by")
        }
        return "sha256:" + hashlib.sha256(canonical_bytes(fixed)).hexdigest()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "digest": self.digest,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "description": self.description,
            "flavor": self.flavor,
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "tags": dict(self.tags),
            "signature": self.signature,
            "lineage": self.lineage.to_dict(),
            "deprecated": self.deprecated,
            "deleted_at": format_time(self.deleted_at) if self.deleted_at else None,
            "deleted_by": self.deleted_by,
            "size": self.size,
            "files": [f.to_dict() for f in self.files],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelVersion:
        """The inverse of `to_dict` (for documents a server sent; `size` is derived)."""
        deleted = raw.get("deleted_at")
        return cls(
            model=raw["model"],
            version=int(raw["version"]),
            digest=raw["digest"],
            files=tuple(FileEntry.from_dict(f) for f in raw["files"]),
            created_at=parse_time(raw["created_at"]),
            created_by=raw["created_by"],
            params=dict(raw["params"]),
            metrics={k: float(v) for k, v in raw["metrics"].items()},
            tags=dict(raw["tags"]),
            description=raw["description"],
            flavor=raw["flavor"],
            signature=raw.get("signature"),
            lineage=Lineage.from_dict(raw["lineage"]),
            deprecated=bool(raw["deprecated"]),
            deleted_at=parse_time(deleted) if deleted else None,
            deleted_by=raw.get("deleted_by"),
        )


@dataclass(frozen=True, slots=True)
class Model:
    """A named series of versions. Only its `tags` and `description` ever change, and its
    deletion: a deleted model (`deleted_at`) is kept as evidence but answers as missing."""

    name: str
    created_at: datetime
    created_by: str
    latest_version: int
    version_count: int
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    deleted_at: datetime | None = None
    deleted_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "latest_version": self.latest_version,
            "version_count": self.version_count,
            "description": self.description,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Model:
        return cls(
            name=raw["model"],
            created_at=parse_time(raw["created_at"]),
            created_by=raw["created_by"],
            latest_version=int(raw["latest_version"]),
            version_count=int(raw["version_count"]),
            tags=dict(raw.get("tags") or {}),
            description=raw.get("description") or "",
        )


def check_model_deletable(model: str, *, deployed: bool, decided: bool) -> None:
    """A model may be deleted only if nothing it holds is evidence of use: no version was
    ever deployed or asked to be (in any environment, an environment protected included) and
    no decision names it."""
    if deployed:
        raise Conflict(
            f"model {model!r} cannot be deleted: versions of this model were deployed; they "
            "are kept as evidence"
        )
    if decided:
        raise Conflict(
            f"model {model!r} cannot be deleted: decisions were logged with its versions; they "
            "are kept as evidence"
        )


MODEL_DESCRIPTION_LIMIT = 65536
"""Characters a model's description may hold."""


def check_description(text: str) -> str:
    """A model description: a string of at most `MODEL_DESCRIPTION_LIMIT` characters."""
    if not isinstance(text, str):
        raise InvalidInput(f"description must be a string, got {type(text).__name__}")
    if len(text) > MODEL_DESCRIPTION_LIMIT:
        raise InvalidInput(f"description longer than {MODEL_DESCRIPTION_LIMIT} characters")
    return text


def unchanged_latest(versions: Iterable[ModelVersion], digest: str) -> ModelVersion | None:
    """The latest kept version if its files are exactly `digest`'s: what a registration with
    `if_changed` returns instead of a new version with the same content."""
    kept = (v for v in versions if v.deleted_at is None)
    latest = max(kept, key=lambda v: v.version, default=None)
    return latest if latest is not None and latest.digest == digest else None


def same_content_before(versions: Iterable[ModelVersion], new: ModelVersion) -> ModelVersion | None:
    """The latest kept version before `new` with exactly its files, if there is one."""
    return max(
        (
            v
            for v in versions
            if v.digest == new.digest and v.version < new.version and v.deleted_at is None
        ),
        key=lambda v: v.version,
        default=None,
    )


def require_reason(reason: str | None, refusal: str) -> str:
    """The reason a change that cannot be undone needs, kept with its record: some text
    that is not only whitespace; `refusal` says what needs it."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(refusal)
    return reason


@dataclass(frozen=True, slots=True)
class ModelEvent:
    """A recorded change to a model's own tags or description: who, when, what."""

    seq: int
    model: str
    kind: str  # created | tag_set | tag_removed | described | deleted | renamed (key: old)
    key: str | None
    value: str | None
    actor: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "model": self.model,
            "kind": self.kind,
            "key": self.key,
            "value": self.value,
            "actor": self.actor,
            "at": format_time(self.at),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelEvent:
        return cls(
            seq=int(raw["seq"]),
            model=raw["model"],
            kind=raw["kind"],
            key=raw.get("key"),
            value=raw.get("value"),
            actor=raw["actor"],
            at=parse_time(raw["at"]),
        )


@dataclass(frozen=True, slots=True)
class VersionEvent:
    """A recorded change to a version's mutable state: who, when, what, why."""

    seq: int
    model: str
    version: int
    kind: str  # tag_set | tag_removed | deprecated | undeprecated | deleted | trusted
    key: str | None  # the tag, or the trusted type
    value: str | None
    actor: str
    at: datetime
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "key": self.key,
            "value": self.value,
            "actor": self.actor,
            "at": format_time(self.at),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> VersionEvent:
        return cls(
            seq=int(raw["seq"]),
            model=raw["model"],
            version=int(raw["version"]),
            kind=raw["kind"],
            key=raw.get("key"),
            value=raw.get("value"),
            actor=raw["actor"],
            at=parse_time(raw["at"]),
            reason=raw.get("reason"),
        )


def model_exists(name: str) -> AlreadyExists:
    """What creating a model whose name is taken answers."""
    return AlreadyExists(f"model {name!r} already exists")


def check_rename(name: str, new_name: str, *, taken: bool, deleted: bool) -> None:
    """A model may take `new_name` only if no model, kept or deleted, has it: a deleted
    model keeps its name, so the audit log names one model by it at any time."""
    if new_name == name:
        raise InvalidInput(f"model {name!r} already has that name")
    if deleted:
        raise AlreadyExists(
            f"model {new_name!r} was deleted and keeps its name as evidence: choose another name"
        )
    if taken:
        raise model_exists(new_name)


def check_not_deleted(model: str, version: int, deleted: bool) -> None:
    """A deleted version keeps its history but takes no new tags or deprecation."""
    if deleted:
        raise Conflict(f"version {model}@{version} is deleted")


def _tag_change(current: str | None, value: str | None, absent: str) -> str | None:
    if value is None:
        if current is None:
            raise NotFound(absent)
        return "tag_removed"
    return None if current == value else "tag_set"


def version_tag_change(
    model: str, version: int, key: str, current: str | None, value: str | None
) -> str | None:
    """The history event of setting a version's tag `key` from `current` to `value` (None:
    remove it): "tag_set", "tag_removed", or None when nothing changes, so a repeated
    request records nothing; removing an absent tag is NotFound."""
    return _tag_change(current, value, f"version {model}@{version} has no tag {key!r}")


def model_tag_change(model: str, key: str, current: str | None, value: str | None) -> str | None:
    """As `version_tag_change`, for a tag of the model itself."""
    return _tag_change(current, value, f"model {model!r} has no tag {key!r}")
