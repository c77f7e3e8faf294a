"""Where a registry keeps things: a backend is a metadata store, a blob store and a lock.

`open_backend(location)` understands a local folder (SQLite + blob folder, the embedded
default); `memory_backend()` gives a throwaway one for tests and experiments.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..blobs.local import LocalBlobStore
from ..domain.errors import InvalidInput, StoreNotFound
from ..ports import BlobStore, MetadataStore, Signer, StoreLock
from .locks import FileStoreLock, ThreadStoreLock

DEFAULT_STORE = ".modelrepo"
DATABASE_FILE = "modelrepo.db"
AUDIT_KEY_FILE = "audit-signing-key.pem"


@dataclass
class Backend:
    """The ports a Registry needs, and where they live."""

    metadata: MetadataStore
    blobs: BlobStore
    lock: StoreLock
    signer_factory: Callable[[], Signer]
    location: str
    _signer: Signer | None = None

    @property
    def signer(self) -> Signer:
        """The audit signing key, loaded on first use (it costs an import of cryptography)."""
        if self._signer is None:
            self._signer = self.signer_factory()
        return self._signer

    def close(self) -> None:
        self.metadata.close()


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
    )


def open_backend(location: str | os.PathLike[str], *, create: bool = True) -> Backend:
    """Open (and with `create`, initialise) the embedded store in folder `location`."""
    text = os.fspath(location)
    if "://" in text:
        raise InvalidInput(
            f"unsupported store {text!r}: only a local folder is supported in this version"
        )
    root = Path(text).expanduser()
    database = root / DATABASE_FILE
    if not database.exists():
        if not create:
            raise StoreNotFound(
                f"no modelrepo store at {root} (run 'modelrepo init' or register a model first)"
            )
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"store location {root} exists and is not a folder")
        root.mkdir(parents=True, exist_ok=True)
    from .sql import SqlMetadataStore

    def signer() -> Signer:
        from ..signing import Ed25519Signer

        return Ed25519Signer.load_or_create(root / AUDIT_KEY_FILE)

    metadata = SqlMetadataStore.open_sqlite(database)
    return Backend(
        metadata=metadata,
        blobs=LocalBlobStore(root / "blobs"),
        lock=FileStoreLock(root / "gc.lock"),
        signer_factory=signer,
        location=str(root),
    )
