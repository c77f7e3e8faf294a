"""The registry's use-cases over its ports; the SDK, CLI and server all call these."""

from __future__ import annotations

import contextlib
import copy
import functools
import getpass
import hashlib
import io
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from .clock import SystemClock
from .domain.deployments import (
    DEPLOY,
    ROLLBACK,
    UNDEPLOY,
    Allocation,
    DeploymentChange,
    DeploymentEvent,
    DeploymentOutcome,
    DeploymentRequest,
    Environment,
    Interval,
    LiveState,
    LiveVersion,
    check_environment_name,
    normalise_split,
    timeline,
)
from .domain.errors import (
    ApprovalRequired,
    Conflict,
    CorruptBlobError,
    HistoryMoved,
    InvalidInput,
    MissingBlobError,
    NotFound,
    StoreNotFound,
    Unauthenticated,
)
from .domain.manifest import FileEntry, manifest_digest, sorted_entries, validate_relative_path
from .domain.model import (
    CodeRef,
    DataRef,
    JSONValue,
    Lineage,
    Model,
    ModelEvent,
    ModelVersion,
    NewVersion,
    VersionEvent,
    check_description,
    check_json,
    check_metrics,
    check_params,
    check_tags,
    require_reason,
    unchanged_latest,
)
from .domain.names import (
    check_version,
    parse_ref,
    validate_flavor,
    validate_idempotency_key,
    validate_key,
    validate_model_name,
)
from .domain.times import format_time, parse_time
from .flavors import check_files
from .ports import BlobInfo, BlobWriter, Clock, FileReference, Progress
from .stores import DEFAULT_STORE, Backend, memory_backend, open_backend, open_server_backend

if TYPE_CHECKING:
    # Loaded where used: reading a version or a deployment needs neither the audit log's
    # verification nor tokens, decisions or webhooks, and every CLI call stays fast.
    from . import auditing
    from .domain.access import ApiToken
    from .domain.decisions import Decision, DecisionColumns
    from .domain.denials import Denial
    from .domain.diff import VersionDiff
    from .domain.filters import Filter
    from .domain.permissions import StoreMode
    from .domain.webhooks import Attempt, Delivery, Webhook
    from .handles import ModelHandle
    from .webhooks import Deliverer

INLINE_MAX = 64 * 1024
DECISION_ATTEMPTS = 20
"""Tries to append a decision batch while deployments keep landing between check and write."""
"""Files up to this size are stored in the metadata database, in the version's transaction."""
INLINE_TOTAL_MAX = 8 * 1024 * 1024
"""At most this much of one version is held in memory to be stored inline."""

ProgressFactory = Callable[[str, int], Progress]
"""Given a file's path and size, returns the callback that is fed bytes moved."""

DataInput = DataRef | str | tuple[str, str | None]


@dataclass(frozen=True)
class StagedFile:
    """One file of an upload for `Registry.register_stored`: its bytes if small, else a
    writer of the store's blobs that has them staged."""

    path: str
    content: bytes | BlobWriter
    executable: bool = False


@dataclass
class FsckReport:
    """What `fsck` found; `ok` means every referenced blob is present and intact."""

    blobs_checked: int = 0
    bytes_checked: int = 0
    missing: list[FileReference] = field(default_factory=list)
    corrupt: list[FileReference] = field(default_factory=list)
    orphaned: list[BlobInfo] = field(default_factory=list)
    partials: list[BlobInfo] = field(default_factory=list)
    too_open: list[tuple[str, int]] = field(default_factory=list)
    """(path in the store folder, permission bits) of what others than the store's owner
    (or group) may read or write: decision inputs are personal data."""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt

    def to_dict(self) -> dict[str, Any]:
        def ref(r: FileReference) -> dict[str, Any]:
            return {
                "model": r.model,
                "version": r.version,
                "path": r.path,
                "sha256": r.sha256,
                "size": r.size,
            }

        return {
            "ok": self.ok,
            "blobs_checked": self.blobs_checked,
            "bytes_checked": self.bytes_checked,
            "missing": [ref(r) for r in self.missing],
            "corrupt": [ref(r) for r in self.corrupt],
            "orphaned": [{"sha256": b.sha256, "size": b.size} for b in self.orphaned],
            "partial_uploads": [{"name": b.sha256, "size": b.size} for b in self.partials],
            "too_open": [{"path": p, "mode": f"{m:04o}"} for p, m in self.too_open],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FsckReport:
        """The inverse of `to_dict` (a server's answer)."""

        def ref(r: Mapping[str, Any]) -> FileReference:
            return FileReference(
                r["model"], int(r["version"]), r["path"], r["sha256"], int(r["size"])
            )

        return cls(
            blobs_checked=int(data["blobs_checked"]),
            bytes_checked=int(data["bytes_checked"]),
            missing=[ref(r) for r in data["missing"]],
            corrupt=[ref(r) for r in data["corrupt"]],
            orphaned=[BlobInfo(b["sha256"], int(b["size"])) for b in data["orphaned"]],
            partials=[BlobInfo(b["name"], int(b["size"])) for b in data["partial_uploads"]],
            too_open=[(e["path"], int(e["mode"], 8)) for e in data.get("too_open", [])],
        )


@dataclass
class GcReport:
    """What `gc` removed (or, in a dry run, would remove)."""

    dry_run: bool
    blobs_removed: int = 0
    bytes_freed: int = 0
    partials_removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "blobs_removed": self.blobs_removed,
            "bytes_freed": self.bytes_freed,
            "partial_uploads_removed": self.partials_removed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GcReport:
        return cls(
            dry_run=bool(data["dry_run"]),
            blobs_removed=int(data["blobs_removed"]),
            bytes_freed=int(data["bytes_freed"]),
            partials_removed=int(data["partial_uploads_removed"]),
        )


def is_remote(store: object) -> bool:
    """Whether `store` names a modelrepo server rather than a local or database store."""
    return isinstance(store, str) and store.lower().startswith(("http://", "https://"))


def _remote_default(kwargs: Mapping[str, Any]) -> bool:
    """`Registry()` with $MODELREPO_STORE naming a server (and no other store given)."""
    if isinstance(kwargs.get("store"), str):
        return is_remote(kwargs["store"])
    if kwargs.get("database_url") or os.environ.get("MODELREPO_DATABASE_URL"):
        return False
    return is_remote(os.environ.get("MODELREPO_STORE"))


def _default_user() -> str:
    user = os.environ.get("MODELREPO_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _collect_files(root: Path) -> list[tuple[str, Path]]:
    """(manifest path, file) pairs for a file or a directory tree; symlinks are refused."""
    if root.is_symlink():
        raise InvalidInput(f"{root} is a symbolic link; register its target instead")
    if root.is_file():
        return [(root.name, root)]
    if not root.is_dir():
        raise InvalidInput(f"nothing to register: {root} does not exist")
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        for name in sorted(dirs):
            if (base / name).is_symlink():
                raise InvalidInput(f"{base / name} is a symbolic link; links are not registered")
        dirs.sort()
        for name in sorted(files):
            path = base / name
            if path.is_symlink():
                raise InvalidInput(f"{path} is a symbolic link; links are not registered")
            if not path.is_file():
                raise InvalidInput(f"{path} is not a regular file")
            found.append((validate_relative_path(path.relative_to(root).as_posix()), path))
    if not found:
        raise InvalidInput(f"nothing to register: {root} contains no files")
    return found


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _files_digest(files: Iterable[tuple[str, Path]]) -> str:
    """The digest a version of these (manifest path, file) pairs has: its manifest's."""
    return manifest_digest(
        FileEntry(rel, p.stat().st_size, _hash_file(p), bool(p.stat().st_mode & stat.S_IXUSR))
        for rel, p in files
    )


def _local_digest(path: Path) -> str:
    """sha256 of a file, or the manifest digest of a folder, for data references."""
    if path.is_dir():
        return _files_digest(_collect_files(path))
    return "sha256:" + _hash_file(path)


def parse_data_ref(value: DataInput) -> DataRef:
    """`URI[#DIGEST]`, a DataRef, or (uri, digest). Local paths get their digest computed."""
    if isinstance(value, DataRef):
        uri, digest = value.uri, value.digest
    elif isinstance(value, tuple):
        uri, digest = value
    else:
        uri, sep, fragment = value.partition("#")
        digest = fragment if sep else None
    if not uri:
        raise InvalidInput("empty data reference")
    if digest is not None:
        digest = _normalise_digest(digest, uri)
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme in ("", "file"):
        local = Path(uri[len("file://") :] if scheme else uri).expanduser()
        if not local.exists():
            raise InvalidInput(f"data reference {uri!r}: no such file or folder")
        actual = _local_digest(local)
        if digest is not None and digest != actual:
            raise InvalidInput(f"data reference {uri!r}: digest {digest} does not match {actual}")
        return DataRef(local.resolve().as_uri(), actual)
    return DataRef(uri, digest)


def _normalise_digest(digest: str, uri: str) -> str:
    text = digest.strip().lower()
    algo, sep, hexpart = text.partition(":")
    if not sep:
        algo, hexpart = "sha256", text
    if not algo.isalnum() or not hexpart or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidInput(
            f"data reference {uri!r}: invalid digest {digest!r}, expected ALGO:HEX (sha256:...)"
        )
    return f"{algo}:{hexpart}"


T = TypeVar("T")


def _writes(method: Callable[..., T]) -> Callable[..., T]:
    """A mutation: the store it needs is created when it first touches it (not before, so a
    call refused while checking its arguments leaves no store behind); after it, a checkpoint
    is signed if one is due (every N entries, or on schedule)."""

    @functools.wraps(method)
    def wrapper(self: Registry, *args: Any, **kwargs: Any) -> T:
        opening = _opening_of(self)
        with opening.writing() if opening else contextlib.nullcontext():
            result = method(self, *args, **kwargs)
        if opening is not None and opening.backend is None:  # nothing written: no store yet
            return result
        from . import auditing

        auditing.maybe_checkpoint(
            self.backend.metadata,
            lambda: self.backend.signer,
            self.clock,
            self.checkpoint_every,
            self.checkpoint_interval,
            self.checkpoint_dir,
            self._export_mode(),
        )
        return result

    return wrapper


def _opening_of(reg: Registry) -> _Opening | None:
    """The store a local registry opens (a remote one has none: the server has it)."""
    return reg.__dict__.get("_opening")


def _may_create(method: Callable[..., T]) -> Callable[..., T]:
    """A write that signs no checkpoint itself (its caller does), yet may create the store."""

    @functools.wraps(method)
    def wrapper(self: Registry, *args: Any, **kwargs: Any) -> T:
        opening = _opening_of(self)
        with opening.writing() if opening else contextlib.nullcontext():
            return method(self, *args, **kwargs)

    return wrapper


def _corrupt_file(found: ModelVersion, entry: FileEntry, why: str) -> CorruptBlobError:
    """The error naming the version and file whose stored bytes are not what was stored."""
    return CorruptBlobError(
        f"{found.ref}: file {entry.path!r} is corrupt in the store ({why})",
        path=entry.path,
        digest=entry.sha256,
    )


class _Opening:
    """The store a registry works on: open, or not created yet. `Registry(path)` on a path
    with no store does not create one (a typo must not make a new store with a new key):
    the first write does, and a read before it is refused with `StoreNotFound`. Shared by
    the copies `as_user` makes, so a store one of them creates is the others' too."""

    def __init__(
        self,
        backend: Backend | None,
        open_: Callable[[bool], Backend] | None = None,
        missing: StoreNotFound | None = None,
    ) -> None:
        self.backend = backend
        self.created = False
        self._open = open_  # (may it create the store?) -> the store
        self._missing = missing
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """While this thread runs a mutation, a missing store may be created."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth

    def get(self, on_open: Callable[[Backend], None]) -> Backend:
        found = self.backend
        if found is not None:
            return found
        # A read looks again (another process may have made the store since); a write may
        # make it.
        return self.open(on_open, create=bool(getattr(self._local, "depth", 0)))

    def open(self, on_open: Callable[[Backend], None], *, create: bool) -> Backend:
        """Open the store, made now if `create` and nobody made it meanwhile; `on_open`
        initialises it (the audit log's first entry)."""
        with self._lock:
            if self.backend is None:
                if self._open is None:
                    raise StoreNotFound(str(self._missing or "no modelrepo store"))
                existed = True
                try:
                    backend = self._open(False)
                except StoreNotFound:
                    if not create:
                        raise
                    backend, existed = self._open(True), False
                try:
                    on_open(backend)
                except BaseException:
                    backend.close()
                    raise
                self.backend = backend
                self.created = not existed and not backend.lost_creation
            return self.backend


class _LazySigner:
    """The backend's signer, loaded only if a signature or the key is really needed."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @property
    def key_id(self) -> str:
        return self._backend.signer.key_id

    @property
    def public_pem(self) -> bytes:
        return self._backend.signer.public_pem

    def sign(self, data: bytes) -> bytes:
        return self._backend.signer.sign(data)


class Registry:
    """A versioned model registry.

    `Registry()` opens the embedded store in `./.modelrepo` (or $MODELREPO_STORE);
    `Registry(database_url="postgresql://...", blob_url="s3://bucket/prefix")` (or
    $MODELREPO_DATABASE_URL and $MODELREPO_BLOB_URL) the scale-out store;
    `Registry("https://host:port", token=...)` (or $MODELREPO_TOKEN) a modelrepo server,
    as a `RemoteRegistry` with the same methods.

    A store is created by its first write (or `create_store()`), never by a read: on a path
    with no store yet, reads raise `StoreNotFound` until something is written, so a mistyped
    path makes no new store (with a new signing key); `create=False` refuses it at once.
    An embedded store is created private (folder 0700, files 0600, whatever the umask);
    `group_access=True` creates it shared with its folder's group instead (2770, 0660)."""

    def __new__(cls, store: object = None, *args: Any, **kwargs: Any) -> Registry:
        if cls is Registry and (is_remote(store) or (store is None and _remote_default(kwargs))):
            from .remote import RemoteRegistry

            return RemoteRegistry(store, *args, **kwargs)  # type: ignore[arg-type,return-value]
        return super().__new__(cls)

    def __init__(
        self,
        store: str | os.PathLike[str] | Backend | None = None,
        *,
        database_url: str | None = None,
        blob_url: str | None = None,
        user: str | None = None,
        clock: Clock | None = None,
        create: bool = True,
        checkpoint_every: int = 1000,
        checkpoint_interval: float = 3600.0,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        token: str | None = None,
        group_access: bool = False,
    ) -> None:
        if token is not None:
            raise InvalidInput("an API token is for a modelrepo server (http:// or https://)")
        database_url = database_url or (
            None if store is not None else os.environ.get("MODELREPO_DATABASE_URL")
        )
        opener: Callable[[bool], Backend]
        if isinstance(store, Backend):
            backend = store

            def opener(_: bool) -> Backend:
                return backend
        elif database_url:
            blob_url = blob_url or os.environ.get("MODELREPO_BLOB_URL")

            def opener(may_create: bool) -> Backend:
                return open_server_backend(database_url, blob_url, create=may_create)
        else:
            location = store if store is not None else os.environ.get("MODELREPO_STORE")

            def opener(may_create: bool) -> Backend:
                return open_backend(
                    location or DEFAULT_STORE, create=may_create, group_access=group_access
                )

        self.user = user or _default_user()
        self._owns_backend = True
        self.clock: Clock = clock or SystemClock()
        self._checked_names: set[tuple[str, str]] = set()
        self._live_versions: dict[int, tuple[LiveVersion, ...]] = {}
        self.checkpoint_every = checkpoint_every
        export = checkpoint_dir or os.environ.get("MODELREPO_CHECKPOINT_DIR")
        self.checkpoint_dir = Path(export) if export else None
        self.checkpoint_interval = checkpoint_interval
        try:
            opened = opener(False)
        except StoreNotFound as missing:
            if not create:
                raise
            self._opening = _Opening(None, opener, missing)
            return
        self._opening = _Opening(opened)
        try:
            self._genesis(opened)
        except BaseException:
            opened.close()
            raise

    def _genesis(self, backend: Backend) -> None:
        """The audit log's first entry, in a store that has none yet."""
        if backend.metadata.audit_size():  # an existing store: reads import no audit code
            return
        from . import auditing

        auditing.genesis(backend.metadata, _LazySigner(backend), self.user, self.clock.now())

    @property
    def backend(self) -> Backend:
        """The store's ports; a store that does not exist yet is created by a write only."""
        return self._opening.get(self._genesis)

    @property
    def created_store(self) -> bool:
        """Whether this registry created its store (a new store, on its first write)."""
        return self._opening.created

    def create_store(self) -> bool:
        """Create the store now if it does not exist yet (what `modelrepo init` does);
        True if this call created it."""
        was = self._opening.created or self._opening.backend is not None
        self._opening.open(self._genesis, create=True)
        return not was and self._opening.created

    @classmethod
    def in_memory(cls, *, user: str | None = None, clock: Clock | None = None) -> Registry:
        """A registry that lives only in this process (for tests and notebooks)."""
        return cls(memory_backend(), user=user, clock=clock)

    @property
    def location(self) -> str:
        return self.backend.location

    def as_user(self, user: str) -> Registry:
        """The same store acting as another identity (e.g. the user of a server's API token).

        Shares the backend, clock and caches, so a server answers many identities without
        opening a store per request; closing the copy leaves the store open."""
        from .domain.access import check_user

        other = copy.copy(self)
        other.user = check_user(user)
        other._owns_backend = False
        return other

    def close(self) -> None:
        if self._owns_backend and self._opening.backend is not None:
            self._opening.backend.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- registering ----------------------------------------------------------------------

    @_writes
    def register(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        params: Mapping[str, JSONValue] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        data: Iterable[DataInput] = (),
        description: str = "",
        flavor: str = "generic",
        signature: Mapping[str, JSONValue] | None = None,
        code: CodeRef | bool = True,
        environment: bool = True,
        progress: ProgressFactory | None = None,
        idempotency_key: str | None = None,
        if_changed: bool = False,
    ) -> ModelVersion:
        """Store the file or folder at `path` as the next version of model `name`.

        `flavor` is recorded for ever, so it must be one of `modelrepo.flavors.FLAVORS` and
        the files must hold what its loader needs (else InvalidInput, before anything is
        stored). `code=True` records the Git commit of the working directory's work tree (if any);
        pass a CodeRef to state it, or False to record none. Blobs are durable before the
        version is committed, so an interrupted register leaves no visible version.
        `idempotency_key`: a register repeated with the same key (by the same user) returns
        the version the first one made instead of making another; with other files, or for
        another model, it raises Conflict.
        `if_changed=True`: when the latest version holds exactly these files, return it
        instead of making a new version with the same content.
        """
        key = None if idempotency_key is None else validate_idempotency_key(idempotency_key)
        details = self._version_details(
            name, params, metrics, tags, data, description, flavor, signature, code, environment
        )
        files = _collect_files(Path(path))
        check_files(flavor, [rel for rel, _ in files])
        with self.backend.lock.shared():
            entries = []
            inline: dict[str, bytes] = {}
            inline_total = 0
            for rel, source in files:
                with open(source, "rb") as stream:
                    status = os.fstat(stream.fileno())
                    executable = bool(status.st_mode & stat.S_IXUSR)
                    if status.st_size <= INLINE_MAX and inline_total < INLINE_TOTAL_MAX:
                        # Small files travel inside the version's own transaction: one
                        # durable commit instead of three fsyncs per file.
                        content = stream.read(INLINE_MAX + 1)
                        if len(content) <= INLINE_MAX:
                            sha = hashlib.sha256(content).hexdigest()
                            inline[sha] = content
                            inline_total += len(content)
                            entries.append(FileEntry(rel, len(content), sha, executable))
                            continue
                        stream.seek(0)
                    callback = progress(rel, status.st_size) if progress else None
                    info = self.backend.blobs.put(stream, progress=callback)
                entries.append(FileEntry(rel, info.size, info.sha256, executable))
            if if_changed:
                same = self._unchanged(name, manifest_digest(sorted_entries(entries)))
                if same is not None:
                    return same
            return self._create_version(details, entries, inline, key)

    def _unchanged(self, name: str, digest: str) -> ModelVersion | None:
        """The latest version when it holds exactly `digest` (for `if_changed`)."""
        try:
            return unchanged_latest(self.versions(name), digest)
        except NotFound:  # the model's first version
            return None

    @_may_create
    def register_stored(
        self,
        name: str,
        files: Sequence[StagedFile],
        *,
        params: Mapping[str, JSONValue] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        data: Iterable[DataInput] = (),
        description: str = "",
        flavor: str = "generic",
        signature: Mapping[str, JSONValue] | None = None,
        code: CodeRef | bool = False,
        environment: bool = False,
        idempotency_key: str | None = None,
    ) -> ModelVersion:
        """Register files a transport has already streamed into this store's blobs (the
        server's upload): small files as bytes, the others as writers of this store, staged
        but not yet committed. The writers are committed here, under the store lock, and
        aborted if anything fails. The caller must hold the store lock shared while it
        writes them, as `gc` removes staged uploads. `code` and `environment` default to
        False: the files were not made here. `idempotency_key` as for `register`."""
        writers = [f.content for f in files if not isinstance(f.content, bytes)]
        try:
            key = None if idempotency_key is None else validate_idempotency_key(idempotency_key)
            details = self._version_details(
                name, params, metrics, tags, data, description, flavor, signature, code, environment
            )
            if not files:
                raise InvalidInput("a version needs at least one file")
            for staged in files:
                validate_relative_path(staged.path)
            check_files(flavor, [staged.path for staged in files])
            with self.backend.lock.shared():
                entries = []
                inline: dict[str, bytes] = {}
                for staged in files:
                    content = staged.content
                    if isinstance(content, bytes):
                        if len(content) > INLINE_MAX:
                            raise InvalidInput(
                                f"file {staged.path!r}: give files over {INLINE_MAX} bytes "
                                "as a blob writer"
                            )
                        sha = hashlib.sha256(content).hexdigest()
                        inline[sha] = content
                        entries.append(FileEntry(staged.path, len(content), sha, staged.executable))
                    else:
                        info = content.commit()
                        entries.append(
                            FileEntry(staged.path, info.size, info.sha256, staged.executable)
                        )
                return self._create_version(details, entries, inline, key)
        except BaseException:
            for writer in writers:
                writer.abort()
            raise

    def _version_details(
        self,
        name: str,
        params: Mapping[str, JSONValue] | None,
        metrics: Mapping[str, float] | None,
        tags: Mapping[str, str] | None,
        data: Iterable[DataInput],
        description: str,
        flavor: str,
        signature: Mapping[str, JSONValue] | None,
        code: CodeRef | bool,
        environment: bool,
    ) -> dict[str, Any]:
        """A version's record without its files, checked (the files are added last)."""
        validate_model_name(name)
        validate_flavor(flavor)
        clean_params = check_params(params)
        clean_metrics = check_metrics(metrics)
        clean_tags = check_tags(tags)
        clean_signature = _check_signature(signature)
        data_refs = tuple(parse_data_ref(d) for d in data)
        if not isinstance(description, str):
            raise InvalidInput("description must be a string")
        from .lineage import capture_code, capture_environment  # subprocess, importlib.metadata

        code_ref = capture_code() if code is True else (code or None)
        lineage = Lineage(
            data=data_refs,
            code=code_ref,
            environment=capture_environment() if environment else None,
        )
        return {
            "model": name,
            "params": clean_params,
            "metrics": clean_metrics,
            "tags": clean_tags,
            "description": description,
            "flavor": flavor,
            "signature": clean_signature,
            "lineage": lineage,
        }

    def _create_version(
        self,
        details: Mapping[str, Any],
        entries: Sequence[FileEntry],
        inline: Mapping[str, bytes],
        key: str | None = None,
    ) -> ModelVersion:
        """Version N+1 with these files; its time is when it is created, after its blobs.
        With `key`, the version an earlier request with that key made, if there was one."""
        manifest = sorted_entries(entries)
        return self.backend.metadata.create_version(
            NewVersion(
                **details,
                digest=manifest_digest(manifest),
                files=manifest,
                created_at=self.clock.now(),
                created_by=self.user,
            ),
            inline=inline,
            key=key,
        )

    def register_archive(
        self, name: str, archive: str | os.PathLike[str], **options: Any
    ) -> ModelVersion:
        """Register the files of a tar or zip archive, unpacked with the checks a server
        applies to an uploaded one (no links, absolute paths or `..`; bounded size).
        `options` as for `register`, `idempotency_key` included."""
        import shutil
        import tempfile

        from .archives import extract_to_staging

        source = Path(archive)
        if not source.is_file():
            raise InvalidInput(f"no archive file at {source}")
        staging = Path(tempfile.mkdtemp(prefix="modelrepo-archive-"))
        try:
            return self.register(name, extract_to_staging(source, staging, None), **options)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------

    def models(self) -> list[Model]:
        """Every model, by name."""
        return self.backend.metadata.list_models()

    def model(self, name: str) -> Model:
        return self.backend.metadata.get_model(validate_model_name(name))

    def get(self, name: str, version: int) -> ModelVersion:
        """One version's full record."""
        return self.backend.metadata.get_version(validate_model_name(name), _number(version))

    def versions(
        self,
        name: str,
        where: Sequence[str | Filter] = (),
        *,
        include_deleted: bool = False,
    ) -> list[ModelVersion]:
        """A model's versions, oldest first, that satisfy every filter in `where`."""
        from .domain.filters import Filter, parse_filter, select

        filters = [w if isinstance(w, Filter) else parse_filter(w) for w in where]
        found = self.backend.metadata.list_versions(validate_model_name(name))
        if not include_deleted:
            found = [v for v in found if v.deleted_at is None]
        return select(found, filters)

    def events(self, name: str, version: int) -> list[VersionEvent]:
        """Tag, deprecation and deletion changes of a version, oldest first."""
        return self.backend.metadata.version_events(validate_model_name(name), _number(version))

    def _readable(self, name: str, version: int) -> ModelVersion:
        found = self.get(name, version)
        if found.deleted_at is not None:
            raise Conflict(f"version {found.ref} was deleted; its files are no longer kept")
        return found

    def read_file(self, name: str, version: int, path: str) -> bytes:
        """One file of a version, verified against its digest (for small files)."""
        found = self._readable(name, version)
        entry = next((f for f in found.files if f.path == path), None)
        if entry is None:
            raise InvalidInput(f"version {found.ref} has no file {path!r}")
        chunks: list[bytes] = []
        self._copy_verified(found, entry, lambda b: chunks.append(bytes(b)), None)
        return b"".join(chunks)

    def open_file(self, name: str, version: int, path: str) -> tuple[FileEntry, BinaryIO]:
        """One file of a version as a stream, for serving it in pieces (HTTP ranges).

        The bytes are not verified here: whoever reads them whole compares them with
        `entry.sha256`, as the server does before ending a full download."""
        found = self._readable(name, version)
        entry = next((f for f in found.files if f.path == path), None)
        if entry is None:
            raise NotFound(f"version {found.ref} has no file {path!r}")
        try:
            return entry, self._open_blob(entry.sha256, entry.size)
        except MissingBlobError:
            raise MissingBlobError(
                f"{found.ref}: file {entry.path!r} is missing from the store (blob {entry.sha256})",
                path=entry.path,
                digest=entry.sha256,
            ) from None

    def _copy_verified(
        self,
        found: ModelVersion,
        entry: FileEntry,
        write: Callable[[memoryview], object],
        progress: Progress | None,
        dst_fd: int | None = None,
    ) -> None:
        """Copy one file out of the store, verifying its bytes against the manifest.

        With `dst_fd` (a local file) and a blob that is itself a local file, the copy is done
        by the kernel and the *written* bytes are hashed while they are fsynced.
        """
        from .blobs._streams import copy_file_hashing, copy_hashing

        try:
            stream = self._open_blob(entry.sha256, entry.size)
        except MissingBlobError:
            raise MissingBlobError(
                f"{found.ref}: file {entry.path!r} is missing from the store (blob {entry.sha256})",
                path=entry.path,
                digest=entry.sha256,
            ) from None
        try:
            with stream:
                if dst_fd is not None and isinstance(stream, io.BufferedReader):
                    sha, size = copy_file_hashing(stream, dst_fd, progress)
                else:
                    sha, size = copy_hashing(stream, write, progress)
                    if dst_fd is not None:
                        os.fsync(dst_fd)
        except CorruptBlobError as exc:  # a store that verifies as it reads (S3) found it
            raise _corrupt_file(found, entry, str(exc)) from exc
        if sha != entry.sha256 or size != entry.size:
            raise _corrupt_file(found, entry, f"expected sha256 {entry.sha256}, got {sha}")

    def _open_blob(self, sha256: str, size: int) -> BinaryIO:
        """A file's bytes, from the metadata database (small files) or the blob store."""
        if size <= INLINE_MAX:
            data = self.backend.metadata.inline_blob(sha256)
            if data is not None:
                return io.BytesIO(data)
        return self.backend.blobs.open(sha256)

    def download(
        self,
        name: str,
        version: int,
        dest: str | os.PathLike[str],
        *,
        progress: ProgressFactory | None = None,
    ) -> Path:
        """Materialise a version's files under `dest`, every byte verified, atomically.

        The tree is built next to `dest` and renamed into place only when complete; `dest`
        must not exist or be an empty folder.
        """
        found = self._readable(name, version)
        target = Path(dest).absolute()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise Conflict(f"destination {target} already exists and is not an empty folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        import tempfile

        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            for entry in found.files:
                out_path = staging.joinpath(*entry.path.split("/"))
                out_path.parent.mkdir(parents=True, exist_ok=True)
                callback = progress(entry.path, entry.size) if progress else None
                with open(out_path, "x+b", buffering=0) as out:
                    self._copy_verified(found, entry, out.write, callback, out.fileno())
                if entry.executable:
                    out_path.chmod(out_path.stat().st_mode | 0o111)
            os.replace(staging, target)
        except BaseException:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    def diff(self, a: tuple[str, int], b: tuple[str, int]) -> VersionDiff:
        """Compare two versions, with unified diffs of changed text files (JSON, CSV, ...)."""
        from .domain.diff import (
            MAX_TEXT_DIFF_BYTES,
            diff_versions,
            looks_textual,
            unified_text_diff,
        )

        va = self.get(*a)
        vb = self.get(*b)
        result = diff_versions(va, vb)
        if va.deleted_at is None and vb.deleted_at is None:
            files_a = {f.path: f for f in va.files}
            files_b = {f.path: f for f in vb.files}
            for path in result.files_modified:
                fa, fb = files_a[path], files_b[path]
                if not looks_textual(path) or max(fa.size, fb.size) > MAX_TEXT_DIFF_BYTES:
                    continue
                text = unified_text_diff(
                    path,
                    self.read_file(va.model, va.version, path),
                    self.read_file(vb.model, vb.version, path),
                    va.ref,
                    vb.ref,
                )
                if text:
                    result.text_diffs[path] = text
        return result

    # -- the few things that may change ---------------------------------------------------

    @_writes
    def tag(self, name: str, version: int, key: str, value: str) -> ModelVersion:
        """Set a tag on a version; the change is recorded with who and when."""
        validate_key(key, "tag name")
        check_tags({key: value})
        return self.backend.metadata.set_tag(
            validate_model_name(name),
            _number(version),
            key,
            value,
            actor=self.user,
            at=self.clock.now(),
        )

    @_writes
    def untag(self, name: str, version: int, key: str) -> ModelVersion:
        """Remove a tag from a version; the removal is recorded."""
        return self.backend.metadata.set_tag(
            validate_model_name(name),
            _number(version),
            validate_key(key, "tag name"),
            None,
            actor=self.user,
            at=self.clock.now(),
        )

    @_writes
    def tag_model(self, name: str, key: str, value: str) -> Model:
        """Set a tag on the model itself; the change is recorded with who and when."""
        validate_key(key, "tag name")
        check_tags({key: value})
        return self.backend.metadata.set_model_tag(
            validate_model_name(name), key, value, actor=self.user, at=self.clock.now()
        )

    @_writes
    def untag_model(self, name: str, key: str) -> Model:
        """Remove a tag from the model itself; the removal is recorded."""
        return self.backend.metadata.set_model_tag(
            validate_model_name(name),
            validate_key(key, "tag name"),
            None,
            actor=self.user,
            at=self.clock.now(),
        )

    @_writes
    def describe_model(self, name: str, text: str) -> Model:
        """Replace the model's description; the change is recorded with who and when."""
        return self.backend.metadata.set_model_description(
            validate_model_name(name), check_description(text), actor=self.user, at=self.clock.now()
        )

    def model_events(self, name: str) -> list[ModelEvent]:
        """Changes to the model's own tags and description, oldest first."""
        return self.backend.metadata.model_events(validate_model_name(name))

    @_writes
    def deprecate(
        self, name: str, version: int, *, reason: str | None = None, deprecated: bool = True
    ) -> ModelVersion:
        """Flag a version as deprecated (or, with deprecated=False, lift the flag)."""
        return self.backend.metadata.set_deprecated(
            validate_model_name(name),
            _number(version),
            deprecated,
            actor=self.user,
            at=self.clock.now(),
            reason=reason,
        )

    @_writes
    def delete(self, name: str, version: int, *, reason: str) -> ModelVersion:
        """Tombstone a version: its record stays, its files become collectable by `gc`.
        `reason` is required: the files cannot come back, so the record says why."""
        return self.backend.metadata.delete_version(
            validate_model_name(name),
            _number(version),
            actor=self.user,
            at=self.clock.now(),
            reason=require_reason(reason, "deleting a version needs a reason (it is recorded)"),
        )

    # -- deployments ----------------------------------------------------------------------

    def resolve(self, ref: str) -> tuple[str, int]:
        """`NAME@N` -> (NAME, N); `NAME@ENV` -> the one version live in ENV now."""
        parsed = parse_ref(ref)
        if parsed.version is not None:
            return parsed.model, parsed.version
        assert parsed.environment is not None
        state = self.live(parsed.model, env=parsed.environment)
        if not state.versions:
            raise NotFound(f"nothing is live in {parsed.model}@{parsed.environment}")
        if len(state.versions) > 1:
            shares = ", ".join(f"{v.version} ({v.weight:.0%})" for v in state.versions)
            raise Conflict(
                f"{parsed.model}@{parsed.environment} is split between versions {shares}; "
                "name one version"
            )
        return parsed.model, state.versions[0].version

    def _apply(self, change: DeploymentChange) -> DeploymentOutcome:
        validate_model_name(change.model)
        check_environment_name(change.environment)
        past = change.effective_at is not None and change.effective_at < self.clock.now()
        if past:
            require_reason(
                change.reason, "an effective time in the past records a backfill and needs a reason"
            )
        store = self.backend.metadata
        try:
            event = store.record_deployment(change, clock=self.clock)
        except ApprovalRequired:
            return DeploymentOutcome(
                "pending", request=store.request_deployment(change, clock=self.clock)
            )
        status = "scheduled" if event.effective_at > event.recorded_at else "live"
        return DeploymentOutcome(status, event=event)

    def deploy(
        self,
        name: str,
        version: int,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        """Make `version` serve all traffic of `env` (pending if `env` is protected)."""
        return self.deploy_split(
            name, {_number(version): 1.0}, env=env, reason=reason, effective_at=effective_at
        )

    @_writes
    def deploy_split(
        self,
        name: str,
        split: Mapping[int, float],
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        """Share `env`'s traffic between versions, e.g. {7: 0.9, 8: 0.1}."""
        return self._apply(
            DeploymentChange(
                model=name,
                environment=env,
                kind=DEPLOY,
                versions=normalise_split(split),
                actor=self.user,
                reason=reason,
                effective_at=_optional_time(effective_at, "effective time"),
            )
        )

    @_writes
    def undeploy(
        self,
        name: str,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        """Stop serving anything from `env`."""
        return self._apply(
            DeploymentChange(
                model=name,
                environment=env,
                kind=UNDEPLOY,
                versions=(),
                actor=self.user,
                reason=reason,
                effective_at=_optional_time(effective_at, "effective time"),
            )
        )

    @_writes
    def rollback(self, name: str, *, env: str, reason: str | None = None) -> DeploymentOutcome:
        """Restore what served `env` before the current deployment."""
        return self._apply(
            DeploymentChange(
                model=name,
                environment=env,
                kind=ROLLBACK,
                versions=None,
                actor=self.user,
                reason=reason,
            )
        )

    @_writes
    def import_deployments(
        self, name: str, records: Iterable[Mapping[str, Any]], *, source: str
    ) -> int:
        """Bulk-record past deployments (all or none), marked as backfills from `source`.

        Each record has `environment`, `effective_at`, and `versions` ({version: weight}, or
        empty for an undeploy); `reason` is optional and prefixed with the source.
        """
        validate_model_name(name)
        changes = []
        checked_envs: set[str] = set()
        splits: dict[tuple[tuple[Any, Any], ...], tuple[Allocation, ...]] = {}
        prefix = f"imported from {source}"
        for record in records:
            split = record.get("versions") or {}
            effective = _optional_time(record.get("effective_at"), "effective time")
            if effective is None:
                raise InvalidInput("every imported deployment needs an effective_at")
            env = record.get("environment")
            if env not in checked_envs:
                checked_envs.add(check_environment_name(str(env)))
            allocations: tuple[Allocation, ...] = ()
            if split:
                key = tuple(split.items())
                found = splits.get(key)  # histories repeat the same few splits
                if found is None:
                    found = splits[key] = normalise_split({int(k): v for k, v in key})
                allocations = found
            note = record.get("reason")
            changes.append(
                DeploymentChange(
                    name,
                    str(env),
                    DEPLOY if split else UNDEPLOY,
                    allocations,
                    self.user,
                    f"{prefix}: {note}" if note else prefix,
                    effective,
                )
            )
        return self.backend.metadata.import_deployments(changes, clock=self.clock)

    @_writes
    def approve(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        """Approve a pending request as this registry's user (never the requester)."""
        return self.backend.metadata.decide_request(
            _number(request_id), approve=True, actor=self.user, reason=reason, clock=self.clock
        )

    @_writes
    def reject(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        """Reject a pending request (never by the requester)."""
        return self.backend.metadata.decide_request(
            _number(request_id), approve=False, actor=self.user, reason=reason, clock=self.clock
        )

    def requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[DeploymentRequest]:
        """Deployment requests, oldest first, optionally of one model and status."""
        if status not in (None, "pending", "approved", "rejected"):
            raise InvalidInput(f"invalid status {status!r}: use pending, approved or rejected")
        if name is not None:
            validate_model_name(name)
        return self.backend.metadata.list_requests(name, status)

    def request(self, request_id: int) -> DeploymentRequest:
        return self.backend.metadata.get_request(_number(request_id))

    @_writes
    def protect(self, name: str, *, env: str) -> Environment:
        """Require a second identity's approval for every change to `env`."""
        return self.backend.metadata.protect(
            validate_model_name(name),
            check_environment_name(env),
            actor=self.user,
            clock=self.clock,
        )

    @_writes
    def unprotect(self, name: str, *, env: str, reason: str | None = None) -> DeploymentRequest:
        """Ask to lift protection; like any change to a protected environment, needs approval."""
        validate_model_name(name)
        if not self.backend.metadata.environment(name, check_environment_name(env)).protected:
            raise Conflict(f"environment {env!r} of {name} is not protected")
        return self.backend.metadata.request_deployment(
            DeploymentChange(name, env, "unprotect", (), self.user, reason), clock=self.clock
        )

    def environments(self, name: str) -> list[Environment]:
        return self.backend.metadata.environments(validate_model_name(name))

    def live(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        as_known_at: datetime | str | None = None,
    ) -> LiveState:
        """What served `env` at `at` (default now), as the registry knew it at `as_known_at`."""
        if (name, env) not in self._checked_names:  # the hot path of every audit question
            validate_model_name(name)
            check_environment_name(env)
            self._checked_names.add((name, env))
        when = _optional_time(at, "time") or self.clock.now()
        known = _optional_time(as_known_at, "as-known-at time")
        event = self.backend.metadata.live(name, env, when, known)
        if event is None:
            return LiveState(name, env, when, known, (), None)
        versions = self._live_versions.get(event.event_id)
        if versions is None:
            digest = self.backend.metadata.digest
            versions = tuple(
                LiveVersion(a.version, a.weight, digest(name, a.version)) for a in event.versions
            )
            if len(self._live_versions) > 100_000:
                self._live_versions.clear()
            self._live_versions[event.event_id] = versions  # events never change
        return LiveState(name, env, when, known, versions, event)

    def history(
        self,
        name: str,
        *,
        env: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> list[DeploymentEvent]:
        """Deployment events in effective order, optionally of one environment and period."""
        start = _optional_time(since, "since")
        end = _optional_time(until, "until")
        if env is not None:
            check_environment_name(env)
        events = self.backend.metadata.deployment_events(validate_model_name(name), env)
        chosen = [
            e
            for e in events
            if (start is None or e.effective_at >= start) and (end is None or e.effective_at <= end)
        ]
        return sorted(chosen, key=lambda e: e.order)

    def timeline(
        self,
        name: str,
        *,
        env: str | None = None,
        version: int | None = None,
        as_known_at: datetime | str | None = None,
    ) -> list[Interval]:
        """Intervals of what served where; with `version`, only the intervals it served in."""
        if env is not None:
            check_environment_name(env)
        events = self.backend.metadata.deployment_events(validate_model_name(name), env)
        intervals = timeline(events, _optional_time(as_known_at, "as-known-at time"))
        if version is not None:
            intervals = [i for i in intervals if any(a.version == version for a in i.versions)]
        return intervals

    # -- audit ----------------------------------------------------------------------------

    def audit_key(self) -> str:
        """The public key (PEM) that verifies this store's checkpoints."""
        return self.backend.signer.public_pem.decode()

    def audit_key_id(self) -> str:
        return self.backend.signer.key_id

    def audit_checkpoint(self) -> dict[str, Any]:
        """Sign the current tree head (size, root hash, time) and keep it (and export it to
        `checkpoint_dir` / `MODELREPO_CHECKPOINT_DIR` when set)."""
        from . import auditing

        return auditing.make_checkpoint(
            self.backend.metadata,
            self.backend.signer,
            self.clock,
            self.checkpoint_dir,
            self._export_mode(),
        )

    def _export_mode(self) -> StoreMode | None:
        """The store's mode if checkpoints are exported inside the store folder, where they
        are as private as the rest of it."""
        folder, mode, export = self.backend.folder, self.backend.mode, self.checkpoint_dir
        if folder is None or mode is None or export is None:
            return None
        inside = Path(os.path.abspath(export)).is_relative_to(os.path.abspath(folder))
        return mode if inside else None

    def audit_checkpoints(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(body) for _, _, body in self.backend.metadata.checkpoints()]

    def audit_verify(
        self,
        checkpoints: Sequence[Mapping[str, Any]] = (),
        *,
        public_key_pem: bytes | None = None,
        records: bool = True,
    ) -> auditing.VerifyReport:
        """Recompute the log and check it against every checkpoint (stored and given).

        `public_key_pem` is the key an auditor trusts (default: the store's own); `records`
        also checks that every row the registry answers from is one the log recorded, as it
        recorded it, and that every row it recorded is still there.
        """
        key = public_key_pem or self.backend.signer.public_pem
        from . import auditing
        from .domain.evidence import Evidence

        store = self.backend.metadata
        evidence = Evidence() if records else None
        report = auditing.verify(store, key, [dict(c) for c in checkpoints], evidence=evidence)
        if evidence is not None:
            auditing.check_records(store, report, evidence)
        return report

    def audit_prove(
        self, seq: int, *, checkpoint: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """An inclusion proof bundle for entry `seq`, against the newest checkpoint covering
        it (one is signed now if none does)."""
        chosen = dict(checkpoint) if checkpoint else None
        if chosen is None:
            # Checked here, against the log itself: an entry past its end is not a reason
            # to sign a checkpoint, nor is a checkpoint's size the log's.
            size = self.backend.metadata.audit_size()
            if not 1 <= _number(seq) <= size:
                raise NotFound(f"audit entry {seq} does not exist: the log has {size} entries")
            covering = [c for c in self.audit_checkpoints() if c["size"] >= seq]
            chosen = covering[-1] if covering else self.audit_checkpoint()
        from . import auditing

        return auditing.prove(self.backend.metadata, _number(seq), chosen)

    def audit_consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """A consistency proof that the log of `new_size` extends the one of `old_size`."""
        from . import auditing

        size = self.backend.metadata.audit_size() if new_size is None else new_size
        return {
            "old_size": old_size,
            "new_size": size,
            "proof": auditing.consistency(self.backend.metadata, old_size, size),
        }

    def audit_log(
        self, subject: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Audit entries in sequence order, all or of one subject (e.g. `model:credit-risk`);
        `after` and `limit` read one page: at most `limit` entries after entry `after`."""
        import json

        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput("after must be an entry number (0 or more)")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):  # fmt: skip
            raise InvalidInput("limit must be a positive number of entries")
        store = self.backend.metadata
        if subject is None:
            size = store.audit_size()
            end = size if limit is None else min(size, after + limit)
            bodies = [(seq, body) for seq, body, _ in store.audit_entries(after + 1, end)]
        else:
            bodies = [(seq, body) for seq, body in store.subject_entries(subject) if seq > after]
            bodies = bodies if limit is None else bodies[:limit]
        entries = []
        for seq, body in bodies:
            try:
                entries.append(json.loads(body))
            except ValueError:  # damaged: `audit verify` names it
                entries.append({"seq": seq, "kind": "unreadable", "damaged": True})
        return entries

    def audit_denied(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[Denial]:
        """Refused requests to the server (missing or bad tokens, roles or scopes that do not
        permit the action, self-approvals), newest first: each a record of one refusal or of
        its repeats within a window, with a count. `since`: last seen at or after it."""
        from .domain.denials import check_limit

        return self.backend.metadata.denials(
            since=_optional_time(since, "since"),
            model=None if model is None else validate_model_name(model),
            limit=check_limit(limit),
        )

    @_writes
    def record_denials(self, batch: Sequence[Denial]) -> list[Denial]:
        """Keep a batch of refused requests (the server's record of them), with one audit
        entry carrying their digest; returns them with their ids."""
        return self.backend.metadata.record_denials(batch, actor=self.user, at=self.clock.now())

    # -- API tokens -----------------------------------------------------------------------

    @_writes
    def create_token(
        self, user: str, role: str, *, model_pattern: str | None = None
    ) -> tuple[ApiToken, str]:
        """A new API token for `user` with `role` (on models matching `model_pattern`, or
        all). Returns the record and the token itself, which is never stored or shown again."""
        import secrets

        from .domain.access import (
            TOKEN_PREFIX,
            ApiToken,
            check_pattern,
            check_role,
            check_user,
            hash_token,
        )

        token_id = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        record = ApiToken(
            token_id=token_id,
            user=check_user(user),
            role=check_role(role),
            model_pattern=check_pattern(model_pattern),
            created_at=self.clock.now(),
            created_by=self.user,
        )
        return self.backend.metadata.create_token(record, hash_token(secret)), secret

    def tokens(self, *, include_revoked: bool = True) -> list[ApiToken]:
        """API tokens, oldest first (never the tokens themselves)."""
        found = self.backend.metadata.list_tokens()
        return found if include_revoked else [t for t in found if t.active]

    @_writes
    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke an API token for good; the revocation is recorded with who and when."""
        from .domain.access import check_token_id

        return self.backend.metadata.revoke_token(
            check_token_id(token_id), actor=self.user, at=self.clock.now()
        )

    # -- webhooks -------------------------------------------------------------------------

    @_writes
    def add_webhook(
        self,
        url: str,
        *,
        model_pattern: str = "*",
        events: Iterable[str],
        allow_private: bool = False,
    ) -> tuple[Webhook, str]:
        """Subscribe `url` to `events` of models matching `model_pattern`. Returns the record
        and the signing secret, shown only here (it is stored, since deliveries are signed
        with it, but never listed). `allow_private`: the target may be a loopback or private
        address, and may use plain http."""
        import secrets

        from .domain.webhooks import Webhook, check_events, check_model_pattern, check_url
        from .webhooks import new_secret

        target = check_url(url, allow_http=allow_private)
        secret = new_secret()
        record = Webhook(
            webhook_id="wh_" + secrets.token_hex(6),
            url=target.url,
            model_pattern=check_model_pattern(model_pattern),
            events=check_events(events),
            created_at=self.clock.now(),
            created_by=self.user,
            allow_private=bool(allow_private),
            secret=secret,
        )
        return self.backend.metadata.add_webhook(record), secret

    def webhooks(self, *, include_disabled: bool = True) -> list[Webhook]:
        """Subscriptions, oldest first."""
        found = self.backend.metadata.webhooks()
        return found if include_disabled else [h for h in found if h.active]

    @_writes
    def disable_webhook(self, webhook_id: str) -> Webhook:
        """Stop a subscription for good (pending deliveries are no longer sent)."""
        from .domain.webhooks import check_webhook_id

        return self.backend.metadata.disable_webhook(
            check_webhook_id(webhook_id), actor=self.user, at=self.clock.now()
        )

    def webhook_deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> list[Delivery]:
        """The delivery log, newest first (of one subscription, or of all)."""
        from .domain.webhooks import check_webhook_id

        if webhook_id is not None:
            check_webhook_id(webhook_id)
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be between 1 and 10000")
        return self.backend.metadata.deliveries(webhook_id, limit=limit)

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        return self.backend.metadata.delivery_attempts(delivery_id)

    def deliverer(self, **options: Any) -> Deliverer:
        """What sends webhook deliveries from this store (see `modelrepo.webhooks`)."""
        from .webhooks import Deliverer

        return Deliverer(self.backend.metadata, self.clock, **options)

    def ready(self) -> int:
        """Ask the store a question (the audit log's size) to show it answers."""
        return self.backend.metadata.audit_size()

    def authenticate(self, secret: str) -> ApiToken:
        """The active token `secret` is, or Unauthenticated (unknown, malformed or revoked)."""
        from .domain.access import hash_token, token_id_of

        if token_id_of(secret) is None:
            raise Unauthenticated("not a modelrepo API token")
        found = self.backend.metadata.token_by_hash(hash_token(secret))
        if found is None:
            raise Unauthenticated("unknown API token")
        if not found.active:
            raise Unauthenticated(f"API token {found.token_id} was revoked")
        return found

    # -- decisions ------------------------------------------------------------------------

    @_writes
    def log_decisions(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Record many decisions in one transaction (all or none); returns how many.

        Each record: `model`, `inputs`, `output`, and `version` or `environment` (to resolve
        the version live there at `decided_at`); optional `decision_id`, `decided_at`
        (default now), `metadata`. Doubtful ones are flagged, never dropped."""
        from .decisioning import prepare

        rows = list(records)
        return len(self._append_decisions(lambda: prepare(self, rows)))

    def _append_decisions(self, make: Callable[[], DecisionColumns]) -> DecisionColumns:
        """Check a batch against the history and append it; if a deployment was recorded in
        between (so a version or flag may be out of date), check it again."""
        for attempt in range(1, DECISION_ATTEMPTS + 1):
            columns = make()
            try:
                self.backend.metadata.record_decision_columns(
                    columns, actor=self.user, clock=self.clock
                )
            except HistoryMoved:
                if attempt == DECISION_ATTEMPTS:
                    raise
                continue
            return columns
        raise AssertionError("unreachable")  # pragma: no cover

    @_writes
    def log_decision_columns(
        self,
        model: str,
        *,
        outputs: Sequence[Any],
        environment: str | None = None,
        version: int | None = None,
        decided_at: Sequence[datetime | str] | datetime | str | None = None,
        inputs: Sequence[Any] | None = None,
        inputs_digests: Sequence[str] | None = None,
        decision_ids: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | Mapping[str, Any] | None = None,
    ) -> int:
        """Record many decisions of one model, given column by column, in one transaction
        (all or none); returns how many. The bulk form of `log_decisions`, with the same
        checks and flags, for callers that already hold columns (a data frame, an Arrow
        table: pass each column as a list, or anything with `to_pylist()` or `tolist()`).

        `outputs` has one value per decision, and sets how many there are; `inputs` or (when
        the model keeps a digest only) `inputs_digests`, `decided_at` (default now),
        `decision_ids` (default generated) and `metadata` are columns of the same length, or
        one value for every decision (`decided_at`, `metadata`). The version is `version`,
        or the one live in `environment` at each decision's time."""
        from .decisioning import Given, as_column, prepare_columns

        out = as_column(outputs, "outputs")
        count = len(out)
        times: list[Any] | None
        if decided_at is None:
            times = None  # now, for all
        elif isinstance(decided_at, (str, datetime)):
            times = [decided_at] * count
        else:
            times = as_column(decided_at, "decided_at")
        if metadata is None or isinstance(metadata, Mapping):
            meta: list[Any] = [metadata] * count
        else:
            meta = as_column(metadata, "metadata")
        if inputs is not None and inputs_digests is not None:
            raise InvalidInput("send the decisions' inputs or their digests, not both")
        given = Given(
            models=[model] * count,
            environments=[environment] * count,
            versions=[version] * count,
            outputs=out,
            decided_at=times,
            metadata=meta,
        )
        if inputs is not None:
            given.inputs = as_column(inputs, "inputs")
        if inputs_digests is not None:
            given.inputs_digests = as_column(inputs_digests, "inputs_digests")
        if decision_ids is not None:
            given.decision_ids = as_column(decision_ids, "decision_ids")
        return len(self._append_decisions(lambda: prepare_columns(self, given)))

    @_writes
    def log_decision(
        self,
        model: str,
        *,
        inputs: Any,
        output: Any,
        environment: str | None = None,
        version: int | None = None,
        decision_id: str | None = None,
        decided_at: datetime | str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Record one decision and return it as stored."""
        from .decisioning import prepare

        record = {
            "model": model,
            "inputs": inputs,
            "output": output,
            "environment": environment,
            "version": version,
            "decision_id": decision_id,
            "decided_at": decided_at,
            "metadata": metadata,
        }
        columns = self._append_decisions(lambda: prepare(self, [record]))
        return self.backend.metadata.get_decision(columns.decision_ids[0])

    def decision(self, decision_id: str) -> dict[str, Any]:
        """The whole story of a decision: record, version, lineage, deployment, approval."""
        from .decisioning import explain

        return explain(self, decision_id)

    def decision_inputs(self, decision_id: str) -> Any:
        """A decision's stored inputs (refused when only their digest was kept)."""
        from .decisioning import stored_inputs

        return stored_inputs(self, decision_id)

    def decisions(
        self,
        model: str,
        *,
        env: str | None = None,
        version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 1000,
    ) -> list[Decision]:
        """A model's decisions in decision-time order, optionally filtered."""
        found = self.backend.metadata.list_decisions(
            validate_model_name(model),
            _optional_time(since, "since"),
            _optional_time(until, "until"),
            limit if env is None and version is None else 10 * limit,
        )
        chosen = [
            d
            for d in found
            if (env is None or d.environment == env) and (version is None or d.version == version)
        ]
        return chosen[:limit]

    @_writes
    def set_decision_inputs(
        self, model: str, mode: str, *, retention_days: int | None = None
    ) -> None:
        """How this model's decision inputs are kept (inline, blob, or digest only), and for
        how many days before `purge_decision_inputs` drops them (None: kept)."""
        from .domain.decisions import check_input_mode

        if retention_days is not None and (
            isinstance(retention_days, bool) or not isinstance(retention_days, int)
            or retention_days < 1
        ):  # fmt: skip
            raise InvalidInput("retention must be a positive number of days")
        self.backend.metadata.set_input_mode(
            validate_model_name(model),
            check_input_mode(mode),
            actor=self.user,
            at=self.clock.now(),
            retention_days=retention_days,
        )

    @_writes
    def purge_decision_inputs(self, model: str | None = None) -> dict[str, int]:
        """Apply retention: drop stored inputs older than each model's retention period,
        keeping every record and digest; each purge is an audit entry. Blob-kept inputs
        become collectable by `gc`."""
        from datetime import timedelta

        names = [validate_model_name(model)] if model else [m.name for m in self.models()]
        now = self.clock.now()
        purged: dict[str, int] = {}
        for name in names:
            _, days = self.backend.metadata.input_policy(name)
            if days is None:
                continue
            done = self.backend.metadata.purge_inputs(
                name, now - timedelta(days=days), actor=self.user, at=now
            )
            if done:
                purged[name] = len(done)
        return purged

    def import_decisions(
        self,
        path: str | os.PathLike[str],
        *,
        check: Callable[[Sequence[Any]], None] | None = None,
    ) -> int:
        """Record decisions from a JSON Lines or Parquet file (one transaction).

        `check` is given the model of every decision in the file before anything is
        recorded (a server refuses models outside its caller's scope there)."""
        from .decisioning import Given, prepare_columns, read_records

        found = read_records(Path(path))
        if check is not None:
            check(found.models if isinstance(found, Given) else [r.get("model") for r in found])
        if not isinstance(found, Given):
            return self.log_decisions(found)
        return self._log_columns(lambda: prepare_columns(self, found))

    @_writes
    def _log_columns(self, make: Callable[[], DecisionColumns]) -> int:
        return len(self._append_decisions(make))

    # -- loading, predicting, replaying ----------------------------------------------------

    def _materialise(self, version: ModelVersion) -> Path:
        """A verified copy of the version's files, cached by digest inside the store."""
        if self.backend.location == ":memory:" or not Path(self.backend.location).is_dir():
            import tempfile  # no folder of its own (memory, or a database and S3)

            return self.download(version.model, version.version, Path(tempfile.mkdtemp()) / "v")
        cache = Path(self.backend.location) / "cache" / version.digest.replace(":", "-")
        if not cache.exists():
            from .stores.permissions import make_folder, seal_tree

            mode = self.backend.mode
            if mode is not None:
                make_folder(cache.parent, mode)
            try:
                self.download(version.model, version.version, cache)
            except Conflict:
                if not cache.exists():  # a concurrent loader won the race; anything else is real
                    raise
            if mode is not None:
                seal_tree(cache, mode)  # as private as the rest of the store
        return cache

    def load(
        self,
        name: str,
        version: int,
        *,
        trust_pickle: bool = False,
        trusted_types: Sequence[str] = (),
        module: Any = None,
        environment: str | None = None,
    ) -> ModelHandle:
        """Load a version for its flavor; pickle is refused unless `trust_pickle` (recorded).

        `module`: for a pytorch version, the `nn.Module` (or zero-argument factory of one) to
        load the weights into; without it the recorded nn.Module subclass is built."""
        from .flavors import LoadOptions, loader_for
        from .handles import ModelHandle

        found = self._readable(name, version)
        loader = loader_for(found.flavor)
        folder = self._materialise(found)
        if found.flavor == "pickle" and trust_pickle:
            self._record_pickle_trust(found)
        predictor = loader(
            folder,
            LoadOptions(
                trust_pickle=trust_pickle, trusted_types=tuple(trusted_types), module=module
            ),
        )
        return ModelHandle(
            self, found.model, found.version, found.digest, found.flavor, folder, predictor,
            environment,
        )  # fmt: skip

    def load_live(
        self, name: str, *, env: str, instance_id: str | None = None, **options: Any
    ) -> ModelHandle:
        """Load the version live in `env` now; its decisions are stamped with that version,
        and the handle reports itself as a serving instance (see `serving`)."""
        import socket
        import uuid

        model, version = self.resolve(f"{name}@{env}")
        handle = self.load(model, version, environment=env, **options)
        handle.instance_id = instance_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:12]}"
        handle.host = socket.gethostname()
        self.serving_start(
            model,
            env=env,
            instance_id=handle.instance_id,
            host=handle.host,
            version=version,
            digest=handle.digest,
        )
        return handle

    def _record_pickle_trust(self, found: ModelVersion) -> None:
        self.backend.metadata.record_audit(
            "model.pickle_trusted",
            f"model:{found.model}",
            actor=self.user,
            at=self.clock.now(),
            change={"model": found.model, "version": found.version, "digest": found.digest},
        )

    def serving_start(
        self, name: str, *, env: str, instance_id: str, host: str, version: int, digest: str
    ) -> None:
        """Record that `instance_id` now serves `version` in `env` (what `load_live` does;
        for serving code that loads models by other means). The digest must be the version's."""
        found = self._readable(name, version)
        if digest != found.digest:
            raise InvalidInput(f"digest {digest!r} is not the digest of {found.ref}")
        self.backend.metadata.serving_start(
            found.model,
            check_environment_name(env),
            instance_id=_instance_id(instance_id),
            host=_host_name(host),
            version=found.version,
            digest=found.digest,
            at=self.clock.now(),
        )

    def serving_heartbeat(self, name: str, *, env: str, instance_id: str) -> None:
        """The serving instance is still up (one small update); NotFound if it never served
        `name`@`env`."""
        validate_model_name(name)
        check_environment_name(env)
        self.backend.metadata.serving_heartbeat(
            name, env, _instance_id(instance_id), self.clock.now()
        )

    def serving_stop(self, name: str, *, env: str, instance_id: str) -> None:
        """The serving instance stopped (its open period ends now); NotFound as above."""
        validate_model_name(name)
        check_environment_name(env)
        self.backend.metadata.serving_stop(name, env, _instance_id(instance_id), self.clock.now())

    def serving(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        ttl: float = 300.0,
    ) -> dict[str, Any]:
        """What was actually serving at `at` (default now), next to what the history says
        should have; instances silent for `ttl` seconds have aged out. Every period during
        which an instance served a version the history did not have live is listed as drift,
        with its times."""
        from datetime import timedelta

        validate_model_name(name)
        check_environment_name(env)
        when = _optional_time(at, "time") or self.clock.now()
        keep = timedelta(seconds=ttl)
        periods = self.backend.metadata.serving_periods(name, env)
        try:
            expected = [v.version for v in self.live(name, env=env, at=when).versions]
        except NotFound:
            if not periods:
                raise  # a misspelt environment is an error, not "nothing was serving"
            expected = []
        active = [p for p in periods if p.since <= when < p.until(keep)]
        events = self.history(name, env=env)
        drift = []
        intervals = timeline(events)
        for period in periods:
            end = min(period.until(keep), when)
            for interval in intervals:
                start = max(period.since, interval.start)
                stop = min(end, interval.end or end)
                if start < stop and all(a.version != period.version for a in interval.versions):
                    drift.append({"instance_id": period.instance_id, "version": period.version,
                                  "from": format_time(start), "to": format_time(stop),
                                  "expected": [a.version for a in interval.versions]})  # fmt: skip
            gaps = _uncovered(period.since, end, intervals)
            for start, stop in gaps:
                drift.append({"instance_id": period.instance_id, "version": period.version,
                              "from": format_time(start), "to": format_time(stop),
                              "expected": []})  # fmt: skip
        return {
            "model": name,
            "environment": env,
            "at": format_time(when),
            "ttl_seconds": ttl,
            "expected": expected,
            "serving": [{**p.to_dict(keep), "drift": p.version not in expected} for p in active],
            "aged_out": [
                p.to_dict(keep) for p in periods if p.aged_out(when, keep) and p.since <= when
            ],
            "drift": sorted(drift, key=lambda d: (d["from"], d["instance_id"])),
        }

    def replay(
        self,
        decision_id: str,
        *,
        tolerance: float = 1e-9,
        trust_pickle: bool = False,
        module: Any = None,
    ) -> dict[str, Any]:
        """Re-run the exact version that made a decision on its stored inputs and compare
        (`module` as for `load`)."""
        from .handles import compare

        decision = self.backend.metadata.get_decision(decision_id)
        inputs = self.decision_inputs(decision_id)
        handle = self.load(
            decision.model, decision.version, trust_pickle=trust_pickle, module=module
        )
        replayed = handle.rerun(inputs)
        match, worst = compare(decision.output, replayed, tolerance)
        return {
            "decision_id": decision_id,
            "model": decision.model,
            "version": decision.version,
            "digest": handle.digest,
            "recorded": decision.output,
            "replayed": replayed,
            "match": match,
            "max_abs_diff": worst,
            "tolerance": tolerance,
        }

    # -- evidence -------------------------------------------------------------------------

    def report_model(
        self, name: str, *, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        """The evidence report of a model over a period, as a JSON-ready document."""
        from .reports import model_report

        self.model(name)
        return model_report(self, validate_model_name(name), since=since, until=until)

    def report_decision(self, decision_id: str) -> dict[str, Any]:
        """The evidence report of one decision, as a JSON-ready document."""
        from .reports import decision_report

        return decision_report(self, decision_id)

    # -- integrity ------------------------------------------------------------------------

    def fsck(self, *, progress: ProgressFactory | None = None) -> FsckReport:
        """Re-hash every referenced blob; report missing, corrupt and orphaned blobs, and
        the files of an embedded store that are more open than its mode allows."""
        from .blobs._streams import copy_hashing

        report = FsckReport()
        by_blob: dict[str, list[FileReference]] = {}
        for ref in self.backend.metadata.file_references():
            by_blob.setdefault(ref.sha256, []).append(ref)
        blobs = self.backend.blobs
        for sha, refs in by_blob.items():
            try:
                stream = self._open_blob(sha, refs[0].size)
            except MissingBlobError:
                report.missing.extend(refs)
                continue
            callback = progress(refs[0].path, refs[0].size) if progress else None
            try:
                with stream:
                    actual, size = copy_hashing(stream, lambda _b: None, callback)
            except CorruptBlobError:  # a store that verifies as it reads (S3) says so itself
                actual, size = "", refs[0].size
            report.blobs_checked += 1
            report.bytes_checked += size
            if actual != sha:
                report.corrupt.extend(refs)
        kept_inputs = self.backend.metadata.decision_input_blobs()
        report.orphaned = [
            b for b in blobs.list() if b.sha256 not in by_blob and b.sha256 not in kept_inputs
        ]
        report.orphaned += [
            BlobInfo(sha, size)
            for sha, size in self.backend.metadata.inline_blobs()
            if sha not in by_blob
        ]
        report.partials = list(blobs.partials())
        if self.backend.folder is not None and self.backend.mode is not None:
            from .stores.permissions import too_open

            report.too_open = list(too_open(self.backend.folder, self.backend.mode))
        return report

    def gc(self, *, dry_run: bool = False) -> GcReport:
        """Remove blobs no live version references, and abandoned uploads.

        Holds the store lock exclusively, so no upload can be in flight while it runs.
        """
        report = GcReport(dry_run=dry_run)
        with self.backend.lock.exclusive():
            referenced = {r.sha256 for r in self.backend.metadata.file_references()}
            referenced |= self.backend.metadata.decision_input_blobs()
            blobs = self.backend.blobs
            for info in list(blobs.list()):
                if info.sha256 in referenced:
                    continue
                report.blobs_removed += 1
                report.bytes_freed += info.size
                if not dry_run:
                    blobs.delete(info.sha256)
            for sha, size in list(self.backend.metadata.inline_blobs()):
                if sha not in referenced:
                    report.blobs_removed += 1
                    report.bytes_freed += size
                    if not dry_run:
                        self.backend.metadata.delete_inline_blob(sha)
            for partial in list(blobs.partials()):
                report.partials_removed += 1
                report.bytes_freed += partial.size
                if not dry_run:
                    blobs.delete_partial(partial.sha256)
        return report


def _uncovered(
    start: datetime, stop: datetime, intervals: Sequence[Interval]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, stop) during which nothing was live at all."""
    gaps = []
    cursor = start
    for interval in sorted(intervals, key=lambda i: i.start):
        if interval.start > cursor:
            gaps.append((cursor, min(interval.start, stop)))
        cursor = max(cursor, interval.end or stop)
        if cursor >= stop:
            break
    if cursor < stop:
        gaps.append((cursor, stop))
    return [(a, b) for a, b in gaps if a < b]


def _instance_id(value: str) -> str:
    """A serving instance's id: 1-128 printable characters (it appears in reports)."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= 128
        or not value.isprintable()
        or "/" in value
    ):
        raise InvalidInput(f"invalid instance id {value!r}: 1-128 printable characters, no '/'")
    return value


def _host_name(value: str) -> str:
    if not isinstance(value, str) or len(value) > 255 or not value.isprintable():
        raise InvalidInput(f"invalid host {value!r}: use up to 255 printable characters")
    return value


def _optional_time(value: datetime | str | None, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_time(value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} {value.isoformat()} has no time zone")
    return value


def _number(version: int) -> int:
    return check_version(version)


def _check_signature(signature: Mapping[str, JSONValue] | None) -> dict[str, JSONValue] | None:
    """A signature is a JSON object with `inputs` and/or `outputs` lists of fields."""
    if signature is None:
        return None
    if not isinstance(signature, Mapping):
        raise InvalidInput("signature must be a JSON object with 'inputs' and 'outputs'")
    clean = check_json(signature, "signature")
    unknown = set(clean) - {"inputs", "outputs", "params"}
    if unknown:
        raise InvalidInput(f"signature has unknown keys {sorted(unknown)}")
    for key in ("inputs", "outputs"):
        fields = clean.get(key, [])
        if not isinstance(fields, list) or not all(
            isinstance(f, dict) and isinstance(f.get("type"), str) for f in fields
        ):
            raise InvalidInput(f"signature {key} must be a list of objects with a 'type'")
    return dict(clean)
