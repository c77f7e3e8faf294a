"""Where a registry keeps things: a backend is a metadata store, a blob store and a lock.

`open_backend(location)` understands a local folder (SQLite + blob folder, the embedded
default); `open_server_backend(database_url, blob_url)` the scale-out form (PostgreSQL +
S3 or a shared folder); `memory_backend()` gives a throwaway one for tests and experiments.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..blobs import open_blob_store
from ..blobs.local import LocalBlobStore
from ..disk.faults import full, missing_blob_folder, read_only
from ..disk.modes import create_file, fsync_dir, make_folder, store_mode
from ..domain.errors import InvalidInput, StorageError, StoreNotFound
from ..domain.permissions import GROUP, StoreMode
from .locks import FileStoreLock, PostgresStoreLock, ThreadStoreLock

if TYPE_CHECKING:
    from ..ports import BlobStore, MetadataStore, Signer, StatementSigner, StoreLock

DEFAULT_STORE = ".modelrepo"
DATABASE_FILE = "modelrepo.db"
AUDIT_KEY_FILE = "audit-signing-key.pem"
VERSION_KEY_FILE = "version-signing-key.pem"


@dataclass
class Backend:
    """The ports a Registry needs, and where they live."""

    metadata: MetadataStore
    blobs: BlobStore
    lock: StoreLock
    signer_factory: Callable[[], Signer]
    location: str
    local_reads: bool = False
    """Metadata reads are answered in this process or from a local file, in microseconds,
    never waiting on a network: the server answers its hottest reads on the event loop."""
    folder: Path | None = None
    """The embedded store's folder, whose files `fsck` checks are not too open."""
    mode: StoreMode | None = None
    """Who may read the embedded store's files (`domain.permissions`)."""
    lost_creation: bool = False
    """Asked to create the store, this process found another had made it first."""
    version_key_file: Path | None = None
    """The file of the key that signs versions (None: the store has none, or keeps it in
    memory); created on first use when the store keeps it in its own folder."""
    version_key_generated: bool = False
    """The version key is made by the store (so it may be rotated by the store)."""
    _signer: Signer | None = None
    _version_signer: StatementSigner | None = None

    @property
    def signer(self) -> Signer:
        """The audit signing key, loaded on first use (it costs an import of cryptography)."""
        if self._signer is None:
            self._signer = self.signer_factory()
        return self._signer

    @property
    def version_signer(self) -> StatementSigner:
        """The store's key for signing versions, loaded (or made) on first use."""
        if self._version_signer is None:
            from ..signing import VersionSigner

            if self.version_key_file is None:
                if self.location != ":memory:":  # a database store whose operator named none
                    raise InvalidInput(
                        "this store has no key to sign versions with: set "
                        "$MODELREPO_SIGNING_KEY_FILE to its PEM file (created if absent), "
                        "or sign with your own key (--key FILE)"
                    )
                self._version_signer = VersionSigner.generate()
            else:
                mode = self.mode.file if self.mode is not None else 0o600
                self._version_signer = VersionSigner.load_or_create(self.version_key_file, mode)
        return self._version_signer

    def rotate_version_key(self) -> StatementSigner:
        """A new version key in place of the old one (kept beside it, renamed): only for a
        key the store made itself; a key file an operator names is replaced by the operator."""
        from ..signing import VersionSigner

        if not self.version_key_generated or self.version_key_file is None:
            if self.version_key_file is None and self.location == ":memory:":
                self._version_signer = VersionSigner.generate()
                return self._version_signer
            raise InvalidInput(
                "this store's version key is the file $MODELREPO_SIGNING_KEY_FILE names: "
                "rotate it by replacing that file on every replica"
            )
        old = self.version_signer
        retired = self.version_key_file.with_name(
            f"{self.version_key_file.stem}.{old.key_id[:16]}.retired.pem"
        )
        os.replace(self.version_key_file, retired)
        self._version_signer = None
        return self.version_signer

    def close(self) -> None:
        self.metadata.close()
        self.lock.close()


def memory_backend() -> Backend:
    """A registry that lives only in this process."""
    from ..blobs.memory import MemoryBlobStore
    from ..signing import Ed25519Signer
    from .memory import MemoryMetadataStore

    return Backend(
        MemoryMetadataStore(),
        MemoryBlobStore(),
        ThreadStoreLock(),
        Ed25519Signer.generate,
        ":memory:",
        local_reads=True,
    )


def open_server_backend(
    database_url: str,
    blob_url: str | None,
    *,
    audit_key_file: str | os.PathLike[str] | None = None,
    signing_key_file: str | os.PathLike[str] | None = None,
    create: bool = True,
) -> Backend:
    """The scale-out store: metadata in PostgreSQL at `database_url`, blobs at `blob_url`.

    Every replica must sign audit checkpoints with the same key, so it is named explicitly
    (`audit_key_file` or $MODELREPO_AUDIT_KEY_FILE) instead of living beside the data."""
    from .sql import SqlMetadataStore
    from .sql.store import postgresql_conninfo, redact_url

    if not blob_url:
        raise InvalidInput(
            "a database store needs a blob store too: give --blob-url (or $MODELREPO_BLOB_URL), "
            "e.g. s3://bucket/prefix"
        )
    key_file = audit_key_file or os.environ.get("MODELREPO_AUDIT_KEY_FILE")
    version_key = signing_key_file or os.environ.get("MODELREPO_SIGNING_KEY_FILE")
    conninfo = postgresql_conninfo(database_url)
    blobs = open_blob_store(blob_url)
    metadata = SqlMetadataStore.open_postgresql(database_url, create=create)

    def signer() -> Signer:
        from ..signing import Ed25519Signer

        if not key_file:
            raise InvalidInput(
                "a database store signs audit checkpoints with a key every replica shares: "
                "set $MODELREPO_AUDIT_KEY_FILE to its PEM file (created if absent)"
            )
        return Ed25519Signer.load_or_create(Path(key_file).expanduser())

    return Backend(
        metadata=metadata,
        blobs=blobs,
        lock=PostgresStoreLock(conninfo),
        signer_factory=signer,
        location=f"{redact_url(database_url)} + {blob_url}",
        version_key_file=Path(version_key).expanduser() if version_key else None,
    )


def open_backend(
    location: str | os.PathLike[str], *, create: bool = True, group_access: bool = False
) -> Backend:
    """Open (and with `create`, initialise) the embedded store in folder `location`.

    A new store is private: its folder 0700, its files 0600 (blobs 0400), whatever the
    umask; with `group_access`, or in a folder that already grants its group everything,
    shared with the folder's group (2770, 0660, 0440). From then on the folder's mode says
    which, to every process that opens the store."""
    text = os.fspath(location)
    if text.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        return open_server_backend(text, os.environ.get("MODELREPO_BLOB_URL"), create=create)
    if "://" in text:
        raise InvalidInput(
            f"unsupported store {text!r}: give a local folder or a postgresql:// database URL"
        )
    root = Path(text).expanduser()
    database = root / DATABASE_FILE
    lost_creation = False
    if not database.exists():
        if not create:
            raise StoreNotFound(
                f"no modelrepo store at {root}: run 'modelrepo init' to create one there, "
                "or give the folder of an existing store with --store (or $MODELREPO_STORE)"
            )
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"store location {root} exists and is not a folder")
        mode = GROUP if group_access else store_mode(root)
        made = _missing_folders(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            os.chmod(root, mode.folder)  # the store's policy, for every process from now on
            # The blob folder first: a process that finds the database finds it too, even
            # while another is still creating the store.
            make_folder(root / "blobs", mode)
        except OSError as exc:
            _undo_creation(made)
            raise _creation_fault(exc, root) from exc
        try:
            lost_creation = not _create_database(database, mode)
        except BaseException:
            _undo_creation(made)  # the database, if there now, is another process's
            raise
    else:
        if not (root / "blobs").is_dir():
            raise missing_blob_folder(root / "blobs")
        mode = store_mode(root)
    from .sql import SqlMetadataStore

    def signer() -> Signer:
        from ..signing import Ed25519Signer

        return Ed25519Signer.load_or_create(root / AUDIT_KEY_FILE, mode.file)

    metadata = SqlMetadataStore.open_sqlite(database, create=create)
    try:
        blobs = LocalBlobStore(root / "blobs", mode)
    except BaseException:
        metadata.close()
        raise
    return Backend(
        metadata=metadata,
        blobs=blobs,
        lock=FileStoreLock(root / "gc.lock", mode.file),
        signer_factory=signer,
        location=str(root),
        local_reads=True,
        folder=root,
        mode=mode,
        lost_creation=lost_creation,
        version_key_file=root / VERSION_KEY_FILE,
        version_key_generated=True,
    )


def _missing_folders(root: Path) -> list[Path]:
    """`root` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (root, *root.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _create_database(database: Path, mode: StoreMode) -> bool:
    """Build a new store's database beside `database` and link it into place complete, so
    that no process ever opens a half-made one; whether this call made it (False: another
    process linked its own first, and that one is the store)."""
    from .sql import SqlMetadataStore

    building = database.with_name(f".{database.name}.{os.getpid()}.{os.urandom(4).hex()}.new")
    try:
        try:
            # SQLite gives its -wal and -shm files the database file's mode.
            create_file(building, mode.file)
        except OSError as exc:
            raise _creation_fault(exc, database.parent) from exc
        # Closed cleanly, SQLite checkpoints its write-ahead log into the file and removes it.
        SqlMetadataStore.open_sqlite(building, create=True).close()
        try:
            os.link(building, database)  # never replaces a database another process linked
        except FileExistsError:
            return False
        except OSError as exc:
            raise _creation_fault(exc, database.parent) from exc
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                building.with_name(building.name + suffix).unlink()
    fsync_dir(database.parent)
    return True


def _undo_creation(made: list[Path]) -> None:
    """Remove the folders creating a store made before it failed (only if nothing else was
    put in them meanwhile; a database in them is another process's store)."""
    import shutil

    if made and not (made[0] / DATABASE_FILE).exists():
        with contextlib.suppress(OSError):
            shutil.rmtree(made[0] / "blobs")
    for folder in made:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _creation_fault(exc: OSError, root: Path) -> StorageError:
    """Why a new store could not be made at `root`, in words."""
    where = next((p for p in (root, *root.parents) if p.exists()), root)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return full(where)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return read_only(where, exc.strerror or "read-only")
    return StorageError(f"cannot create a store at {root}: {exc.strerror or exc}")
