"""Import a GTO registry: versions and stage history kept as Git tags.

GTO (iterative/gto) keeps a model registry in a Git repository. Its tags, in GTO's
documented format, are parsed here directly (with `git for-each-ref`), not through GTO's
Python API: that API needs GTO's whole dependency tree (scmrepo, pygit2, dulwich, GitPython,
pydantic) and reports tag times as naive local datetimes, while tags carry the exact instant.

- `NAME@vX.Y.Z` (optionally `#N`) registers version X.Y.Z at the tagged commit: it becomes
  the next modelrepo version of model NAME, with the files of the artifact's path in that
  commit (declared in `artifacts.yaml`, or the file `.gto` names as `index`, or the
  `artifacts` section of a `dvc.yaml`), its code lineage (the commit) and, from `dvc.lock`,
  its data lineage. DVC-tracked artifacts come from the local DVC cache or a folder remote
  when their MD5 matches; otherwise the pointer file is registered and the artifact is
  recorded as a data reference.
- `NAME#STAGE#N` assigns the version registered at the tagged commit to STAGE;
  `NAME#STAGE!#N` unassigns it; `NAME@vX.Y.Z!#N` deregisters a version (it is deprecated
  here too); `NAME@deprecated#N` deprecates the artifact.
- A stage is an environment. After every tag, in tag-time order, each stage serves its most
  recently assigned version that is still assigned and registered (GTO's `--sort timestamp`
  view); each change becomes a deployment event effective at the tag's time, imported as a
  backfill whose reason names the repository and the tag.

Running it again imports nothing twice: versions are recognised by the tag object named in
their description, events by the tag object and environment named in their reason.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..domain.errors import InvalidInput, NotFound
from ..domain.model import CodeRef, DataRef
from ..domain.names import ENVIRONMENT_PATTERN, model_name_problem
from ..domain.times import format_time
from ..dvcfiles import (
    DvcEntry,
    dvc_file_outs,
    fetch,
    folder_remote,
    load_yaml,
    lock_deps,
    unique_refs,
)
from ..gitrepo import (
    TagRef,
    TreeEntry,
    check_repo_path,
    git,
    list_tags,
    read_blob,
    repo_root,
    tree_entries,
    write_blob,
)
from ..lineage import redact_remote

if TYPE_CHECKING:
    from ..registry import Registry

_NAME = r"[a-z0-9](?:[a-z0-9/-]*[a-z0-9])?"
_NUM = r"(?:0|[1-9][0-9]*)"
_IDENT = r"[0-9A-Za-z-]+"
_SEMVER = rf"v{_NUM}\.{_NUM}\.{_NUM}(?:-{_IDENT}(?:\.{_IDENT})*)?(?:\+{_IDENT}(?:\.{_IDENT})*)?"
TAG_PATTERN = re.compile(
    rf"(?P<artifact>(?:[a-z0-9_./-]+=)?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>{_SEMVER}))(?P<cancel>!?)"
    r"|@(?P<deprecated>deprecated)|@(?P<created>created))"
    r"(?:#(?P<counter>[0-9]+))?"
)
# GTO's order for events of the same second: creation, deprecation, registration,
# deregistration, assignment, unassignment.
PRIORITY = {
    "create": 1,
    "deprecate": 2,
    "register": 3,
    "deregister": 4,
    "assign": 5,
    "unassign": 6,
}
_SOURCE_IN_TEXT = re.compile(r"tag \S+ \(([0-9a-f]{40}|[0-9a-f]{64})\)")


@dataclass(frozen=True, slots=True)
class GtoEvent:
    """One GTO tag, parsed."""

    tag: TagRef
    artifact: str  # as written in the tag: NAME, or FOLDER=NAME
    action: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None

    @property
    def source(self) -> str:
        """How the tag is named in what we record: its name and its object id."""
        return f"tag {self.tag.name} ({self.tag.object})"

    def order(self) -> tuple[Any, ...]:
        return (self.tag.tagged_at, self.counter or 0, PRIORITY[self.action], self.tag.name)


def parse_tag(tag: TagRef) -> GtoEvent | None:
    """The GTO event a tag stands for, or None when the name is not in GTO's format."""
    match = TAG_PATTERN.fullmatch(tag.name)
    if match is None:
        return None
    cancel = match["cancel"] == "!"
    if match["version"]:
        action = "deregister" if cancel else "register"
    elif match["stage"]:
        action = "unassign" if cancel else "assign"
    elif match["deprecated"]:
        action = "deprecate"
    else:
        action = "create"
    counter = int(match["counter"]) if match["counter"] else None
    return GtoEvent(tag, match["artifact"], action, match["version"], match["stage"], counter)


@dataclass
class ImportReport:
    """What an import did, what it found already done, and what it could not map."""

    repo: str
    registered: list[dict[str, Any]] = field(default_factory=list)
    existing: list[dict[str, Any]] = field(default_factory=list)
    deprecated: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    events_existing: int = 0
    unmapped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "registered": self.registered,
            "existing": self.existing,
            "deprecated": self.deprecated,
            "events": self.events,
            "events_existing": self.events_existing,
            "unmapped": self.unmapped,
        }


@dataclass
class _Artifact:
    """Where a registered version's files are in its commit, found before anything is written."""

    event: GtoEvent
    path: str
    kind: str | None
    description: str
    files: list[TreeEntry]  # the Git blobs, or empty for a DVC-tracked artifact
    dvc: DvcEntry | None = None
    pointer: tuple[str, bytes] | None = None  # the DVC file naming it, registered if need be
    data: list[DataRef] = field(default_factory=list)


def _repo_identity(root: Path) -> str:
    try:
        remote = git(root, "remote", "get-url", "origin").decode().strip()
    except InvalidInput:
        return str(root)
    return redact_remote(remote) if remote else str(root)


def _yaml_at(root: Path, commit: str, path: str) -> Any:
    content = read_blob(root, commit, path)
    return None if content is None else load_yaml(content, f"{path} at {commit[:12]}")


def _declaration(root: Path, event: GtoEvent) -> tuple[str, dict[str, Any]] | None:
    """(the folder paths are relative to, the artifact's entry) at the tagged commit."""
    commit = event.tag.target
    folder, sep, name = event.artifact.rpartition("=")
    if not sep:
        config = _yaml_at(root, commit, ".gto") or {}
        index = "artifacts.yaml"
        if isinstance(config, dict):
            index = str(config.get("index") or config.get("INDEX") or index)
        index = check_repo_path(index, ".gto index")
        declared = _yaml_at(root, commit, index)
        if isinstance(declared, dict) and isinstance(declared.get(name), dict):
            return "", declared[name]
    dvc_yaml = f"{folder.strip('/')}/dvc.yaml" if folder else "dvc.yaml"
    doc = _yaml_at(root, commit, check_repo_path(dvc_yaml, event.artifact))
    artifacts = doc.get("artifacts") if isinstance(doc, dict) else None
    if isinstance(artifacts, dict) and isinstance(artifacts.get(name), dict):
        return folder.strip("/"), artifacts[name]
    return None


def _dvc_lock_lineage(root: Path, commit: str) -> list[DataRef]:
    doc = _yaml_at(root, commit, "dvc.lock")
    if doc is None:
        return []
    return unique_refs(e.data_ref() for e in lock_deps(doc, "", f"dvc.lock at {commit[:12]}"))


def _locate(root: Path, event: GtoEvent, report: ImportReport) -> _Artifact | None:
    """Find a registration's files; refuses paths that leave the repository and links."""
    commit = event.tag.target
    found = _declaration(root, event)
    if found is None or not found[1].get("path"):
        report.unmapped.append(
            f"{event.tag.name}: artifact {event.artifact} declares no path at commit "
            f"{commit[:12]}; version not imported"
        )
        return None
    base, entry = found
    raw_path = str(entry["path"])
    where = f"{event.tag.name}: artifact {event.artifact}"
    path = check_repo_path(str(PurePosixPath(base, raw_path)) if base else raw_path, where)
    files = tree_entries(root, commit, path)
    for item in files:
        if item.mode == "120000":
            raise InvalidInput(f"{where}: {item.path} is a symbolic link; links are refused")
        if item.kind != "blob":
            raise InvalidInput(f"{where}: {item.path} is a {item.kind}, not a file")
    artifact = _Artifact(
        event,
        path,
        str(entry["type"]) if entry.get("type") else None,
        str(entry.get("description") or ""),
        files,
        data=_dvc_lock_lineage(root, commit),
    )
    if files:
        return artifact
    pointer = read_blob(root, commit, path + ".dvc")
    if pointer is not None:
        parent = PurePosixPath(path).parent.as_posix()
        outs = dvc_file_outs(
            load_yaml(pointer, path + ".dvc"), "" if parent == "." else parent, where
        )
        artifact.pointer = (PurePosixPath(path).name + ".dvc", pointer)
    else:
        lock = read_blob(root, commit, "dvc.lock")
        outs = lock_deps(load_yaml(lock, "dvc.lock"), "", where, outs=True) if lock else []
        artifact.pointer = ("dvc.lock", lock) if lock else None
    artifact.dvc = next((o for o in outs if o.path == path), None)
    if artifact.dvc is None:
        report.unmapped.append(
            f"{event.tag.name}: {path} is neither in commit {commit[:12]} nor tracked by DVC "
            "there; version not imported"
        )
        return None
    return artifact


def _stage(
    root: Path, artifact: _Artifact, tmp: Path, report: ImportReport
) -> tuple[Path, list[DataRef]]:
    """Write the artifact's files under `tmp`; the path to register and its data lineage."""
    name = PurePosixPath(artifact.path).name
    data = list(artifact.data)
    if artifact.files:
        if len(artifact.files) == 1 and artifact.files[0].path == artifact.path:
            target = tmp / name
            write_blob(root, artifact.files[0].object, target)
            if artifact.files[0].mode == "100755":
                target.chmod(target.stat().st_mode | stat.S_IXUSR)
            return target, data
        folder = tmp / name
        for item in artifact.files:
            rel = item.path[len(artifact.path) + 1 :]
            target = folder / check_repo_path(rel, artifact.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_blob(root, item.object, target)
            if item.mode == "100755":
                target.chmod(target.stat().st_mode | stat.S_IXUSR)
        return folder, data
    assert artifact.dvc is not None
    dvc_dir = root / ".dvc"
    config = read_blob(root, artifact.event.tag.target, ".dvc/config")
    stores = [dvc_dir / "cache"]
    remote = folder_remote(config.decode("utf-8", errors="replace") if config else None, dvc_dir)
    if remote is not None:
        stores.append(remote)
    target = tmp / name
    if fetch(artifact.dvc, stores, target):
        return target, data
    report.unmapped.append(
        f"{artifact.event.tag.name}: {artifact.path} is in DVC storage that is not reachable "
        "here; registered its DVC pointer and recorded it as a data reference"
    )
    assert artifact.pointer is not None
    pointer = tmp / artifact.pointer[0]
    pointer.write_bytes(artifact.pointer[1])
    return pointer, unique_refs([*data, artifact.dvc.data_ref()])


def _known_sources(texts: list[str | None]) -> set[str]:
    return {m.group(1) for t in texts if t for m in _SOURCE_IN_TEXT.finditer(t)}


def read_events(root: Path, report: ImportReport) -> list[GtoEvent]:
    """The GTO events of a repository in the order GTO folds them."""
    events = []
    for tag in list_tags(root):
        event = parse_tag(tag)
        if event is None:
            continue
        if not tag.annotated:
            report.unmapped.append(f"{tag.name}: a lightweight tag (GTO reads annotated tags)")
        elif tag.target_type != "commit":
            report.unmapped.append(f"{tag.name}: points to a {tag.target_type}, not a commit")
        else:
            events.append(event)
    return sorted(events, key=GtoEvent.order)


def import_gto(
    reg: Registry, repo: str | os.PathLike[str], *, models: Mapping[str, str] | None = None
) -> ImportReport:
    """Import the GTO registry of the Git repository at `repo` into `reg`.

    `models` renames artifacts (GTO name -> model name); others keep their name when it is
    a valid model name. Every registration is located and checked before anything is
    written, so a hostile path refuses the whole import.
    """
    root = repo_root(Path(repo))
    source = _repo_identity(root)
    report = ImportReport(source)
    by_artifact: dict[str, list[GtoEvent]] = {}
    for event in read_events(root, report):
        by_artifact.setdefault(event.artifact, []).append(event)
    renames = dict(models or {})
    plans: dict[str, tuple[str, list[GtoEvent], dict[str, int], dict[str, _Artifact]]] = {}
    for tag_name, events in sorted(by_artifact.items()):
        name = tag_name.replace("=", ":")  # GTO writes FOLDER:NAME as FOLDER=NAME in tags
        model = renames.get(name, name)
        if model_name_problem(model) is not None:
            report.unmapped.append(
                f"artifact {name}: not a valid model name; give --model {name}=NAME"
            )
            continue
        imported = _imported(reg, model)
        numbers: dict[str, int] = {}  # GTO version -> modelrepo version
        located: dict[str, _Artifact] = {}  # GTO version -> what to register
        for event in events:
            if event.action != "register" or event.version is None:
                continue
            row = {"gto_version": event.version, "tag": event.tag.name, "model": model}
            if event.version in numbers or event.version in located:
                report.unmapped.append(f"{event.tag.name}: {name} {event.version} registered twice")
            elif event.tag.object in imported:
                numbers[event.version] = imported[event.tag.object]
                report.existing.append({**row, "version": numbers[event.version]})
            elif (artifact := _locate(root, event, report)) is not None:
                located[event.version] = artifact
        plans[name] = (model, events, numbers, located)
    with tempfile.TemporaryDirectory(prefix="modelrepo-gto-") as tmp:
        for name, (model, events, numbers, located) in plans.items():
            _register(reg, root, source, model, located, numbers, Path(tmp), report)
            _deregister(reg, model, events, numbers, report)
            _deploy(reg, source, model, name, events, numbers, report)
    return report


def _imported(reg: Registry, model: str) -> dict[str, int]:
    """Versions of `model` imported before: tag object -> version number."""
    try:
        known = reg.versions(model, include_deleted=True)
    except NotFound:
        return {}
    return {s: v.version for v in known for s in _known_sources([v.description])}


def _register(
    reg: Registry,
    root: Path,
    source: str,
    model: str,
    located: dict[str, _Artifact],
    numbers: dict[str, int],
    tmp: Path,
    report: ImportReport,
) -> None:
    """Register the located versions in order, adding their numbers to `numbers`."""
    remote = None if source == str(root) else source
    for semver, artifact in located.items():
        event = artifact.event
        tag = event.tag
        row = {"gto_version": semver, "tag": tag.name, "model": model}
        where = tmp / tag.object
        where.mkdir()
        path, data = _stage(root, artifact, where, report)
        assert tag.tagged_at is not None
        tagger = f"{tag.tagger} <{tag.tagger_email}>" if tag.tagger_email else str(tag.tagger)
        description = (
            f"Imported from GTO: {event.source} on commit {tag.target} in {source}; "
            f"registered by {tagger} at {format_time(tag.tagged_at)}."
        )
        if tag.subject:
            description += f" {tag.subject}"
        if artifact.description:
            description += f"\n\n{artifact.description}"
        tags = {
            "gto.artifact": event.artifact.replace("=", ":"),
            "gto.version": semver,
            "gto.tag": tag.name,
            "gto.registered_by": tagger,
            "gto.registered_at": format_time(tag.tagged_at),
        }
        if artifact.kind:
            tags["gto.type"] = artifact.kind
        version = reg.register(
            model,
            path,
            tags=tags,
            data=data,
            description=description,
            code=CodeRef(commit=tag.target, dirty=False, remote=remote),
            environment=False,
        )
        numbers[semver] = version.version
        report.registered.append({**row, "version": version.version})


def _deregister(
    reg: Registry,
    model: str,
    events: list[GtoEvent],
    numbers: dict[str, int],
    report: ImportReport,
) -> None:
    for event in events:
        if event.action != "deregister" or event.version not in numbers:
            continue
        number = numbers[event.version]
        recorded = reg.events(model, number)
        if event.tag.object in _known_sources([e.reason for e in recorded]):
            continue
        reg.deprecate(model, number, reason=f"deregistered in GTO: {event.source}")
        report.deprecated.append({"model": model, "version": number, "tag": event.tag.name})


def _deploy(
    reg: Registry,
    source: str,
    model: str,
    artifact: str,
    events: list[GtoEvent],
    numbers: dict[str, int],
    report: ImportReport,
) -> None:
    """Fold the tags into stage states; each change of what a stage serves is an event."""
    by_commit: dict[str, str] = {}
    for event in events:
        if event.action == "register" and event.version in numbers:
            by_commit.setdefault(event.tag.target, event.version)
    assigned: dict[str, dict[str, int]] = {}
    inactive: set[str] = set()
    active = True
    serving: dict[str, str | None] = {}
    records: list[dict[str, Any]] = []
    for seq, event in enumerate(events):
        active = event.action != "deprecate"
        if event.action == "deregister" and event.version:
            inactive.add(event.version)
        elif event.action == "register" and event.version:
            inactive.discard(event.version)
        elif event.action in ("assign", "unassign"):
            assert event.stage is not None
            version = by_commit.get(event.tag.target)
            if not re.fullmatch(ENVIRONMENT_PATTERN, event.stage):
                report.unmapped.append(
                    f"{event.tag.name}: stage {event.stage!r} is not a valid environment name"
                )
                continue
            if version is None:
                report.unmapped.append(
                    f"{event.tag.name}: no imported version of {artifact} is registered at "
                    f"commit {event.tag.target[:12]}"
                )
                continue
            stage = assigned.setdefault(event.stage, {})
            if event.action == "assign":
                stage[version] = seq
            else:
                stage.pop(version, None)
        for env in sorted(assigned):
            candidates = [(s, v) for v, s in assigned[env].items() if v not in inactive]
            now = max(candidates)[1] if candidates and active else None
            if now == serving.get(env):
                continue
            serving[env] = now
            assert event.tag.tagged_at is not None
            records.append(
                {
                    "environment": env,
                    "effective_at": event.tag.tagged_at,
                    "versions": {numbers[now]: 1.0} if now else {},
                    "reason": f"{event.source} by {event.tag.tagger}: {event.tag.subject}",
                    "source": event.tag.object,
                    "tag": event.tag.name,
                }
            )
    try:
        history = reg.history(model)
    except NotFound:
        history = []
    done = {(e.environment, s) for e in history for s in _known_sources([e.reason])}
    new = [r for r in records if (r["environment"], r["source"]) not in done]
    report.events_existing += len(records) - len(new)
    if not new:
        return
    reg.import_deployments(
        model,
        [{k: v for k, v in r.items() if k not in ("source", "tag")} for r in new],
        source=f"gto {source}",
    )
    for r in new:
        versions = list(r["versions"])
        report.events.append(
            {
                "model": model,
                "environment": r["environment"],
                "kind": "deploy" if versions else "undeploy",
                "version": versions[0] if versions else None,
                "effective_at": format_time(r["effective_at"]),
                "tag": r["tag"],
            }
        )
