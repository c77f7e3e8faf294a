"""Content-addressed bytes: the blob store and a blob pushed into it piece by piece."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from .uploads import UploadStore

Progress = Callable[[int], None]
"""Called with the number of bytes just moved; used for progress bars."""


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A stored blob: its SHA-256 (bare hex), size in bytes, and last write time if known."""

    sha256: str
    size: int
    modified: datetime | None = None


class BlobWriter(Protocol):
    """A blob pushed in piece by piece (an upload arriving over the network), hashed as it
    is written. Nothing is visible in the store before `commit`."""

    def offer(self, data: bytes | bytearray | memoryview) -> memoryview:
        """Take as much of `data` as can be taken without waiting; return the rest."""
        ...

    def wait(self) -> None:
        """Block until `offer` can take more; raises a failure of the write so far."""
        ...

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take all of `data`, waiting as needed."""
        ...

    def finish(self) -> BlobInfo:
        """No more data: the blob's address and size, its bytes durably staged."""
        ...

    def commit(self) -> BlobInfo:
        """Make the blob part of the store (finishing first if needed); idempotent."""
        ...

    def abort(self) -> None:
        """Remove whatever was staged; a no-op after `commit`."""
        ...


class BlobStore(Protocol):
    """Content-addressed bytes. Everything above (manifests, verification) is shared code."""

    def put(self, source: BinaryIO, *, progress: Progress | None = None) -> BlobInfo:
        """Stream `source` in, address it by SHA-256; durable and complete when this returns."""
        ...

    def writer(self, *, progress: Progress | None = None) -> BlobWriter:
        """A blob to push bytes into; `progress` sees each piece as it is taken."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A readable stream of the blob; raises MissingBlobError if absent."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None:
        """Remove a blob; removing an absent blob is not an error."""
        ...

    def list(self) -> Iterator[BlobInfo]:
        """Every complete blob in the store."""
        ...

    def partials(self) -> Iterator[BlobInfo]:
        """Uploads that never completed (their `sha256` is an opaque handle, not a digest)."""
        ...

    def delete_partial(self, handle: str) -> None: ...

    @property
    def uploads(self) -> UploadStore:
        """Resumable uploads into this store (sessions of parts)."""
        ...
