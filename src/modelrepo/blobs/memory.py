"""Blobs in a dict: the reference implementation the contract suite is written against."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from ..domain.errors import MissingBlobError, StorageError
from ..domain.manifest import validate_sha256
from ..ports import BlobInfo, Progress
from ..streams import PipelinedBlobWriter, copy_hashing

if TYPE_CHECKING:
    from .memory_uploads import MemoryUploads


class MemoryBlobStore:
    """Content-addressed blobs held in memory; for tests and throwaway registries."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._uploads: dict[str, bytearray] = {}  # handle -> bytes of a writer not committed
        self._lock = threading.Lock()
        self._sessions: MemoryUploads | None = None

    def put(self, source: BinaryIO, *, progress: Progress | None = None) -> BlobInfo:
        buffer = io.BytesIO()
        sha, size = copy_hashing(source, buffer.write, progress)
        with self._lock:
            self._blobs[sha] = buffer.getvalue()
        return BlobInfo(sha, size)

    def writer(self, *, progress: Progress | None = None) -> PipelinedBlobWriter:
        return _MemoryWriter(self, progress)

    @property
    def uploads(self) -> MemoryUploads:
        if self._sessions is None:
            from .memory_uploads import MemoryUploads

            self._sessions = MemoryUploads(self)
        return self._sessions

    def open(self, sha256: str) -> BinaryIO:
        validate_sha256(sha256)
        with self._lock:
            data = self._blobs.get(sha256)
        if data is None:
            raise MissingBlobError(f"blob {sha256} is missing", digest=sha256)
        return io.BytesIO(data)

    def exists(self, sha256: str) -> bool:
        validate_sha256(sha256)
        with self._lock:
            return sha256 in self._blobs

    def delete(self, sha256: str) -> None:
        validate_sha256(sha256)
        with self._lock:
            self._blobs.pop(sha256, None)

    def list(self) -> Iterator[BlobInfo]:
        with self._lock:
            items = sorted(self._blobs.items())
        for sha, data in items:
            yield BlobInfo(sha, len(data))

    def partials(self) -> Iterator[BlobInfo]:
        """Writers neither committed nor aborted, as a folder's temporary files are."""
        with self._lock:
            items = sorted((handle, len(data)) for handle, data in self._uploads.items())
        for handle, size in items:
            yield BlobInfo(handle, size)

    def delete_partial(self, handle: str) -> None:
        with self._lock:
            self._uploads.pop(handle, None)

    def corrupt(self, sha256: str, data: bytes) -> None:
        """Overwrite a blob's bytes without changing its address (for integrity tests)."""
        with self._lock:
            self._blobs[sha256] = data


class _MemoryWriter(PipelinedBlobWriter):
    """Bytes are staged in the store under an upload handle until commit or abort."""

    def __init__(self, store: MemoryBlobStore, progress: Progress | None) -> None:
        self._store = store
        self._handle = f"upload-{uuid.uuid4().hex}"
        self._buffer = bytearray()
        with store._lock:
            store._uploads[self._handle] = self._buffer
        super().__init__(progress)

    def _sink(self, data: memoryview) -> None:
        self._buffer += data

    def _publish(self, info: BlobInfo) -> None:
        with self._store._lock:
            if self._store._uploads.pop(self._handle, None) is None:
                raise StorageError(f"upload {self._handle} was removed before it was committed")
            self._store._blobs[info.sha256] = bytes(self._buffer)
        self._buffer = bytearray()

    def _discard(self) -> None:
        with self._store._lock:
            self._store._uploads.pop(self._handle, None)
        self._buffer = bytearray()
