"""Where a registry keeps things: a backend is a metadata store, a blob store and a lock.

`open_backend(location)` understands a local folder (SQLite + blob folder, the embedded
default); `memory_backend()` gives a throwaway one for tests and experiments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..blobs.local import LocalBlobStore
from ..domain.errors import InvalidInput, StoreNotFound
from ..ports import BlobStore, MetadataStore, StoreLock
from .locks import FileStoreLock, ThreadStoreLock

DEFAULT_STORE = ".modelrepo"
DATABASE_FILE = "modelrepo.db"


@dataclass
class Backend:
    """The three ports a Registry needs, and where they live."""

    metadata: MetadataStore
    blobs: BlobStore
    lock: StoreLock
    location: str

    def close(self) -> None:
        self.metadata.close()


def memory_backend() -> Backend:
    """A registry that lives only in this process."""
    from ..blobs.memory import MemoryBlobStore
    from .memory import MemoryMetadataStore

    return Backend(MemoryMetadataStore(), MemoryBlobStore(), ThreadStoreLock(), ":memory:")


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

    metadata = SqlMetadataStore.open_sqlite(database)
    return Backend(
        metadata=metadata,
        blobs=LocalBlobStore(root / "blobs"),
        lock=FileStoreLock(root / "gc.lock"),
        location=str(root),
    )
