"""What the importers share: safe paths, recognising earlier imports, recording, the report.

An importer turns a source (a tracking server, a bucket, ...) into versions and backfilled
deployment events. Running it again must add nothing: a version carries the source's
reference for it in the tag `import.ref` (and the source location in `import.from`), and is
recognised by that reference together with its digest; an event carries its source identity
at the end of its reason, in brackets, and is recognised by it.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.deployments import OBSERVE, DeploymentEvent
from ..domain.errors import ApprovalRequired, InvalidInput, NotFound
from ..domain.manifest import FileEntry, manifest_digest, validate_relative_path
from ..domain.model import ModelVersion
from ..domain.names import ENVIRONMENT_PATTERN, MAX_NAME_LENGTH, model_name_problem
from ..domain.times import format_time

if TYPE_CHECKING:
    from ..registry import Registry

REF_TAG = "import.ref"
"""Tag holding the source's own reference to an imported version."""
FROM_TAG = "import.from"
"""Tag holding the source location an imported version came from (no credentials)."""
CREATED_TAG = "import.created_at"
"""Tag holding when the source says the version was created."""

_ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
_UNSAFE_RUN = re.compile(r"[^\w.-]+")


def check_source_path(path: str) -> str:
    """A path the source gave for a file: refused before anything is written if it could
    leave the download folder (`..`, absolute, NUL, backslash, empty parts)."""
    try:
        return validate_relative_path(path)
    except InvalidInput as exc:
        raise InvalidInput(f"unsafe path from the source: {exc}") from None


def is_local_name(text: str, what: str = "model name") -> bool:
    """Whether `text` is a valid model name (or environment name) as it is."""
    if what == "model name":
        return model_name_problem(text) is None
    return _ENVIRONMENT.fullmatch(text) is not None


def local_name(text: str, what: str = "model name") -> str:
    """A source's name as a modelrepo name: unchanged when it is one (case, spaces and
    accents kept, as MLflow has them); otherwise its runs of other characters as '-',
    refused if nothing usable is left."""
    if is_local_name(text, what):
        return text
    name = _UNSAFE_RUN.sub("-", text.strip()).strip("-._")[:MAX_NAME_LENGTH]
    if not is_local_name(name, what):
        raise InvalidInput(f"cannot make a {what} of {text!r}")
    return name


def _walk(root: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(manifest path, file, status) of every file below `root`, without following links:
    a symbolic link, or anything that is not a regular file or folder, is refused."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in sorted([*dirs, *files]):
            info = os.lstat(base / name)
            rel = (base / name).relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                raise InvalidInput(f"the source holds a symbolic link at {rel!r}: refused")
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise InvalidInput(f"the source holds {rel!r}, which is not a regular file")
            yield check_source_path(rel), base / name, info


def refuse_links(root: Path) -> None:
    """Refuse a tree holding a symbolic link or anything else that is not a plain file."""
    for _ in _walk(root):
        pass


def tree_manifest(root: Path) -> tuple[FileEntry, ...]:
    """The manifest of a downloaded tree (links refused, every path checked)."""
    entries = [
        FileEntry(rel, info.st_size, _sha256(path), bool(info.st_mode & stat.S_IXUSR))
        for rel, path, info in _walk(root)
    ]
    if not entries:
        raise InvalidInput("the source holds no files for this version")
    return tuple(entries)


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """A deployment the source shows, before it is recorded: `identity` names it in the
    source, so that a second run recognises it."""

    environment: str
    effective_at: datetime
    versions: Mapping[int, float]
    identity: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "effective_at": format_time(self.effective_at),
            "versions": [{"version": v, "weight": w} for v, w in self.versions.items()],
            "source_ref": self.identity,
            "reason": self.note,
        }


@dataclass
class ImportReport:
    """What an import recorded, what it found already recorded, and what it could not map."""

    source: str
    versions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[dict[str, str]] = field(default_factory=list)

    def skip(self, what: str, why: str) -> None:
        self.unmapped.append({"what": what, "why": why})

    def counts(self) -> dict[str, int]:
        def count(items: list[dict[str, Any]], status: str) -> int:
            return sum(1 for i in items if i["status"] == status)

        return {
            "versions_imported": count(self.versions, "imported"),
            "versions_existing": count(self.versions, "existing"),
            "versions_deleted": count(self.versions, "deleted"),
            "events_imported": count(self.events, "imported"),
            "events_existing": count(self.events, "existing"),
            "unmapped": len(self.unmapped),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "versions": self.versions,
            "events": self.events,
            "unmapped": self.unmapped,
            "counts": self.counts(),
        }


def imported_version(reg: Registry, model: str, ref: str, location: str) -> ModelVersion | None:
    """The version an earlier run imported from `ref` at `location`, if any."""
    try:
        found = reg.versions(model, include_deleted=True)
    except NotFound:
        return None
    for version in found:
        if version.tags.get(REF_TAG) == ref and version.tags.get(FROM_TAG) == location:
            return version
    return None


def record_version(
    reg: Registry,
    report: ImportReport,
    model: str,
    path: Path,
    *,
    ref: str,
    location: str,
    source_version: str,
    tags: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    description: str = "",
    created_at: datetime | None = None,
    number: int | None = None,
) -> int | None:
    """Register the file or tree at `path` as `model`'s next version (or as version `number`,
    to keep the source's numbering) unless an earlier run did; returns the modelrepo version
    number, or None when it could not be mapped."""
    manifest = tree_manifest(path) if path.is_dir() else None
    if manifest is None:
        manifest = _single_file(path)
    digest = manifest_digest(manifest)
    entry = {"model": model, "source_ref": ref, "source_version": source_version}
    all_tags = _clean_tags(tags or {}, model, ref, report)
    earlier = imported_version(reg, model, ref, location)
    if earlier is not None:
        if earlier.digest != digest:
            report.skip(
                f"{model} {ref}",
                f"imported before as version {earlier.version} with digest {earlier.digest}, "
                f"but the source now holds {digest}",
            )
            return None
        report.versions.append(
            {**entry, "version": earlier.version, "digest": digest, "status": "existing"}
        )
        return earlier.version
    all_tags.update({REF_TAG: ref, FROM_TAG: location})
    if created_at is not None:
        all_tags[CREATED_TAG] = format_time(created_at)
    version = reg.register(
        model,
        path,
        params=params,
        metrics=metrics,
        tags=all_tags,
        description=description,
        code=False,
        environment=False,
        number=number,
    )
    if version.digest != digest:  # the files changed under us between hashing and storing
        raise InvalidInput(f"{ref} changed while it was being imported")
    report.versions.append(
        {**entry, "version": version.version, "digest": digest, "status": "imported"}
    )
    return version.version


def _single_file(path: Path) -> tuple[FileEntry, ...]:
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"the source holds {path.name!r}, which is not a regular file")
    return (
        FileEntry(
            check_source_path(path.name),
            info.st_size,
            _sha256(path),
            bool(info.st_mode & stat.S_IXUSR),
        ),
    )


def _clean_tags(
    tags: Mapping[str, str], model: str, ref: str, report: ImportReport
) -> dict[str, str]:
    from ..domain.model import check_tags

    out: dict[str, str] = {}
    for key, value in tags.items():
        if key in (REF_TAG, FROM_TAG, CREATED_TAG):
            report.skip(f"{model} {ref} tag {key}", "the name is reserved for the import")
            continue
        try:
            out.update(check_tags({key: value}))
        except InvalidInput as exc:
            report.skip(f"{model} {ref} tag {key}", str(exc))
    return out


def record_events(
    reg: Registry,
    report: ImportReport,
    model: str,
    source: str,
    planned: Iterable[PlannedEvent],
) -> None:
    """Record the planned events not recorded by an earlier run, as one backfill per
    environment (imports into a protected environment are refused, and reported)."""
    by_env: dict[str, list[PlannedEvent]] = {}
    for event in planned:
        by_env.setdefault(event.environment, []).append(event)
    for env, events in sorted(by_env.items()):
        known = _recorded_identities(reg, model, env, source)
        new: list[PlannedEvent] = []
        for event in sorted(events, key=lambda e: e.effective_at):
            seen = event.identity in known
            report.events.append(
                {"model": model, **event.to_dict(), "status": "existing" if seen else "imported"}
            )
            if not seen:
                new.append(event)
        if not new:
            continue
        records = [
            {
                "environment": env,
                "effective_at": e.effective_at,
                "versions": dict(e.versions),
                "reason": f"{e.note} [{e.identity}]",
            }
            for e in new
        ]
        try:
            reg.import_deployments(model, records, source=source)
        except ApprovalRequired as exc:
            for item in report.events[-len(events) :]:
                if item["status"] == "imported":
                    item["status"] = "refused"
            report.skip(f"{model}@{env}", str(exc))


def _recorded_identities(reg: Registry, model: str, env: str, source: str) -> set[str]:
    """The source identities of the events earlier imports from `source` recorded."""
    prefix = f"imported from {source}: "
    try:
        history = reg.history(model, env=env)
    except NotFound:
        return set()
    return {
        e.reason.rpartition(" [")[2][:-1]
        for e in history
        if e.reason and e.reason.startswith(prefix) and e.reason.endswith("]")
    }


@dataclass(frozen=True, slots=True)
class Observation:
    """What a source that keeps no history says serves an environment now: `versions` (empty:
    nothing), with `earliest_at`, the earliest instant they can have started serving (their
    creation), and a note saying where the source says it."""

    environment: str
    versions: Mapping[int, float]
    earliest_at: datetime | None
    note: str


def record_observations(
    reg: Registry,
    report: ImportReport,
    model: str,
    source: str,
    observations: Iterable[Observation],
) -> None:
    """Record what the source says serves now, as observations at this instant: only where
    it differs from what the last observation from `source` recorded, so that an unchanged
    source records nothing. An environment an earlier observation from `source` saw serving
    that the source no longer names is observed serving nothing. Before the first observation
    of an environment, and between two observations that differ, what served is unknown
    (the source keeps no history); the observation says so."""
    now = reg.clock.now()
    wanted = {o.environment: o for o in observations}
    try:
        environments = {e.name for e in reg.environments(model)}
    except NotFound:
        environments = set()
    records: list[dict[str, Any]] = []
    for env in sorted(environments | set(wanted)):
        history = reg.history(model, env=env) if env in environments else []
        previous = _last_observation(history, source)
        seen = wanted.get(env)
        if seen is None:
            if previous is None or not previous.versions:
                continue  # the source never said anything served here, or said nothing did
            seen = Observation(env, {}, None, "no longer named by the source")
        versions = {v: float(w) for v, w in seen.versions.items()}
        entry = {
            "model": model,
            "environment": env,
            "observed_at": format_time(now),
            "versions": [{"version": v, "weight": w} for v, w in versions.items()],
            "reason": seen.note,
        }
        if previous is not None and _split(previous) == versions:
            report.events.append({**entry, "status": "existing"})
            continue
        latest = max((e.effective_at for e in history if e.effective_at <= now), default=None)
        records.append(
            {
                "kind": OBSERVE,
                "environment": env,
                "effective_at": now,
                "versions": versions,
                "unknown_from": latest,
                "earliest_at": seen.earliest_at,
                "reason": seen.note,
            }
        )
        report.events.append({**entry, "status": "imported"})
    if not records:
        return
    try:
        reg.import_deployments(model, records, source=source)
    except ApprovalRequired as exc:
        for item in report.events:
            if item["model"] == model and item["status"] == "imported":
                item["status"] = "refused"
        report.skip(f"{model} observations", str(exc))


def _last_observation(history: Iterable[DeploymentEvent], source: str) -> DeploymentEvent | None:
    """The latest observation an import from `source` recorded, if any."""
    prefix = f"imported from {source},"
    found = [e for e in history if e.kind == OBSERVE and (e.reason or "").startswith(prefix)]
    return max(found, key=lambda e: e.order) if found else None


def _split(event: DeploymentEvent) -> dict[int, float]:
    return {a.version: float(a.weight) for a in event.versions}
