"""Blobs in a local folder, one file per SHA-256, written crash-safely.

Layout: `<root>/sha256/<2 hex>/<62 hex>` for complete blobs, `<root>/tmp/` for uploads in
progress. A blob appears under its address only by an atomic rename after its bytes and the
rename are fsynced, so a crash leaves at worst a temp file, never a half-written blob.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..disk.faults import full, missing_blob_folder, read_only
from ..disk.modes import fsync_dir, make_folder, store_mode
from ..domain.errors import MissingBlobError, StorageError
from ..domain.manifest import validate_sha256
from ..ports import BlobInfo, Progress
from ..streams import FileSink, PipelinedBlobWriter, copy_file_hashing, copy_hashing

if TYPE_CHECKING:
    from ..domain.permissions import StoreMode
    from .local_uploads import LocalUploads


def _is_regular_file(source: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(source.fileno()).st_mode) and source.tell() == 0
    except (AttributeError, OSError, ValueError):
        return False


class LocalBlobStore:
    """Content-addressed blobs under a local directory."""

    def __init__(self, root: str | os.PathLike[str], mode: StoreMode | None = None) -> None:
        """`mode`: who may read the blobs (`domain.permissions`); by default what the
        folder's own mode says, private for a new folder."""
        self.root = Path(root)
        self.mode = mode or store_mode(self.root)
        self._objects = self.root / "sha256"
        self._tmp = self.root / "tmp"
        with self.faults():
            for folder in (self.root, self._objects, self._tmp):
                make_folder(folder, self.mode)

    def fault(self, exc: OSError) -> StorageError:
        """The one-line error for a failure of this folder's disk: the one place where the
        blob folder's `OSError`s are worded."""
        code = exc.errno
        if code in (errno.ENOSPC, errno.EDQUOT):
            return full(self.root)
        if code == errno.EROFS:
            return read_only(self.root, "read-only file system")
        if code in (errno.EACCES, errno.EPERM):
            return read_only(self.root, "permission denied")
        if code == errno.ENOENT and not self.root.is_dir():
            return missing_blob_folder(self.root)
        where = f" ({exc.filename})" if exc.filename else ""
        return StorageError(f"blob folder {self.root}: {exc.strerror or exc}{where}")

    @contextmanager
    def faults(self) -> Iterator[None]:
        """`OSError`s raised inside become the store's one-line errors (see `fault`)."""
        try:
            yield
        except OSError as exc:
            if not self._ours(exc):
                raise  # the file being stored failed to read, not this folder
            raise self.fault(exc) from exc

    def _ours(self, exc: OSError) -> bool:
        """Whether `exc` is this folder's failure: a write refused for want of space or on a
        read-only disk, or anything about a file under it."""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) or not self.root.is_dir():
            return True
        name = exc.filename
        return isinstance(name, str | os.PathLike) and Path(name).is_relative_to(self.root)

    def _temporary(self) -> tuple[int, str]:
        """A new file under `tmp/` (mkstemp's are 0600; a group store's 0660)."""
        import tempfile  # loaded on the first write: reads (every CLI read) need none

        with self.faults():
            fd, name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
            if self.mode.file != 0o600:
                os.fchmod(fd, self.mode.file)
        return fd, name

    def _path(self, sha256: str) -> Path:
        validate_sha256(sha256)
        return self._objects / sha256[:2] / sha256[2:]

    def put(self, source: BinaryIO, *, progress: Progress | None = None) -> BlobInfo:
        fd, tmp_name = self._temporary()
        tmp = Path(tmp_name)
        try:
            with self.faults(), os.fdopen(fd, "w+b", buffering=0) as out:
                if _is_regular_file(source):
                    sha, size = copy_file_hashing(source, out.fileno(), progress)
                else:
                    sha, size = copy_hashing(source, out.write, progress)
                    os.fsync(out.fileno())
            return self.adopt(tmp, sha, size)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def adopt(self, tmp: Path, sha: str, size: int) -> BlobInfo:
        """Give the durable temporary file `tmp` its address (or drop it if that content is
        already stored)."""
        final = self._path(sha)
        with self.faults():
            try:
                existing = final.stat().st_size
            except FileNotFoundError:
                existing = -1
            if existing == size:
                # Same content already stored; refresh its time so a grace period protects it.
                tmp.unlink()
                os.utime(final)
                return BlobInfo(sha, size)
            shard = final.parent
            if not shard.is_dir():
                make_folder(shard, self.mode)
                fsync_dir(self._objects)
            os.chmod(tmp, self.mode.sealed)  # read-only: a blob never changes
            os.replace(tmp, final)
            fsync_dir(shard)
        return BlobInfo(sha, size)

    def writer(self, *, progress: Progress | None = None) -> PipelinedBlobWriter:
        return _LocalWriter(self, progress)

    @property
    def uploads(self) -> LocalUploads:
        from .local_uploads import LocalUploads

        return LocalUploads(self)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self._path(sha256), "rb")
        except FileNotFoundError:
            if not self.root.is_dir():
                raise missing_blob_folder(self.root) from None
            raise MissingBlobError(f"blob {sha256} is missing", digest=sha256) from None
        except OSError as exc:
            raise self.fault(exc) from exc

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        path = self._path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(path.parent)

    def list(self) -> Iterator[BlobInfo]:
        for shard in sorted(self._objects.iterdir()):
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in sorted(os.scandir(shard), key=lambda e: e.name):
                stat = entry.stat()
                yield BlobInfo(
                    shard.name + entry.name,
                    stat.st_size,
                    datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                )

    def partials(self) -> Iterator[BlobInfo]:
        for entry in sorted(os.scandir(self._tmp), key=lambda e: e.name):
            stat = entry.stat()
            yield BlobInfo(entry.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, tz=UTC))

    def delete_partial(self, handle: str) -> None:
        if "/" in handle or handle in ("", ".", ".."):
            raise ValueError(f"invalid upload handle {handle!r}")
        (self._tmp / handle).unlink(missing_ok=True)


class _LocalWriter(PipelinedBlobWriter):
    """Bytes go to a temporary file under `tmp/` (its writeback to disk started as it
    grows, so the fsync at the end has only the tail left); commit renames it."""

    def __init__(self, store: LocalBlobStore, progress: Progress | None) -> None:
        fd, name = store._temporary()
        self._store = store
        self._file = FileSink(fd)
        self._tmp = Path(name)
        self._open = True
        super().__init__(progress)

    def _sink(self, data: memoryview) -> None:
        with self._store.faults():
            self._file(data)

    def _staged(self, sha256: str, size: int) -> None:
        with self._store.faults():
            os.fsync(self._file.fd)
        self._close()

    def _publish(self, info: BlobInfo) -> None:
        self._store.adopt(self._tmp, info.sha256, info.size)

    def _discard(self) -> None:
        self._close()
        self._tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._file.fd)
