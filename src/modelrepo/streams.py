"""Copying bytes with bounded memory, hashing while copying: shared by the blob stores, the
embedded registry and the remote client, wherever model files stream."""

from __future__ import annotations

import functools
import hashlib
import os
import queue
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from .domain.errors import Conflict
from .ports import BlobInfo, Progress

if TYPE_CHECKING:
    import mmap

    from .domain.manifest import FileEntry

CHUNK = 1 << 20


def copy_hashing(
    source: BinaryIO,
    write: Callable[[memoryview], object],
    progress: Progress | None = None,
) -> tuple[str, int]:
    """Copy `source` to `write` in 1 MiB chunks; return (sha256 hex, size)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    readinto = getattr(source, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            chunk = view[:n]
        else:
            data = source.read(CHUNK)
            if not data:
                break
            n = len(data)
            chunk = memoryview(data)
        digest.update(chunk)
        write(chunk)
        size += n
        if progress is not None:
            progress(n)
    return digest.hexdigest(), size


def _kernel_copy(src_fd: int, dst_fd: int, progress: Progress | None) -> int:
    """Copy a whole file inside the kernel (no user-space buffer); returns bytes copied."""
    import os

    total = 0
    while True:
        try:
            n = os.copy_file_range(src_fd, dst_fd, 64 << 20)
        except OSError:
            if total:
                raise
            return -1  # not supported here: the caller streams instead
        if n == 0:
            return total
        total += n
        if progress is not None:
            progress(n)


def copy_file_hashing(
    source: BinaryIO, dst_fd: int, progress: Progress | None = None
) -> tuple[str, int]:
    """Copy `source` (a real file) to `dst_fd`, then hash *what was written* while it is
    fsynced: the address is the digest of the bytes on disk, even if the source changes.

    Falls back to the streaming copy where the kernel copy is unavailable. Returns (sha256
    hex, size); `dst_fd` is durable on return.
    """
    import os
    import threading

    copied = _kernel_copy(source.fileno(), dst_fd, progress)
    if copied < 0:
        sha, size = copy_hashing(source, lambda chunk: os.write(dst_fd, chunk), progress)
        os.fsync(dst_fd)
        return sha, size
    errors: list[BaseException] = []

    def sync() -> None:
        try:
            os.fsync(dst_fd)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    syncing = threading.Thread(target=sync)
    syncing.start()
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    offset = 0
    while True:
        n = os.preadv(dst_fd, [buffer], offset)
        if not n:
            break
        digest.update(view[:n])
        offset += n
    syncing.join()
    if errors:
        raise errors[0]
    return digest.hexdigest(), offset


# -- pushing bytes in: hashing beside the write -----------------------------------------------

PIPE_CHUNK = 4 << 20
PIPE_DEPTH = 4
WRITEBACK_STEP = 64 << 20
DIRECT_BLOCK = 4096  # direct I/O's alignment: offsets, lengths and memory
DIRECT_CHUNK = 4 << 20
SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _find_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Looked up on the first large write, not on import: ctypes is no cost of opening a
    store (or of any CLI call that only reads)."""
    import ctypes
    import sys

    if sys.platform != "linux":
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return cast("Callable[[int, int, int, int], int]", function)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing `length` bytes at `offset` to disk, without waiting
    (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`, as PostgreSQL does for its own files),
    so that the fsync at the end of a large file has little left to do. A hint: a no-op
    where the call does not exist, and failures are ignored (the fsync still runs)."""
    sync_file_range = _find_sync_file_range()
    if sync_file_range is not None:
        sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)


class FileSink:
    """Writes to a file descriptor, all of each piece, starting the writeback to disk every
    `WRITEBACK_STEP` bytes so that a final fsync has only the tail left."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.written = 0
        self._started = 0

    def __call__(self, data: memoryview) -> None:
        import os

        size = len(data)
        while data:
            data = data[os.write(self.fd, data) :]
        self.written += size
        if self.written - self._started >= WRITEBACK_STEP:
            start_writeback(self.fd, self._started, self.written - self._started)
            self._started = self.written


class DirectFileSink:
    """Writes a file from `offset` on, around the page cache where the file system allows
    it (Linux `O_DIRECT`, the offset on a block boundary): pieces gather in a page-aligned
    buffer and each full buffer goes straight to the disk.

    Writing a large file through the page cache costs a page allocation and a copy per
    4 KiB, and on a virtual machine a fault in the host for each page it took back: writing
    1 GiB this way took a tenth of the CPU time here (docs/benchmarks.md). A tail shorter
    than a block, an offset off a block boundary, and a file system that refuses direct I/O
    (tmpfs) take the page cache. `sync` makes everything written durable."""

    def __init__(self, path: str | os.PathLike[str], offset: int = 0) -> None:
        self._fd = os.open(path, os.O_WRONLY)
        self._at = self._flushed = offset
        self._direct = -1
        self._buffer: mmap.mmap | None = None
        self._fill = 0
        if offset % DIRECT_BLOCK == 0 and hasattr(os, "O_DIRECT"):
            try:
                self._direct = os.open(path, os.O_WRONLY | os.O_DIRECT)
            except OSError:  # a file system without direct I/O: the page cache
                self._direct = -1
            else:
                self._buffer = _direct_buffer()

    def __call__(self, data: memoryview) -> None:
        if self._buffer is None:
            self._write(data)
            return
        while data:
            count = min(len(data), DIRECT_CHUNK - self._fill)
            self._buffer[self._fill : self._fill + count] = data[:count]
            self._fill += count
            data = data[count:]
            if self._fill == DIRECT_CHUNK:
                self._drain()

    def _write(self, data: memoryview) -> None:
        """Through the page cache, its writeback started as the file grows."""
        while data:
            written = os.pwrite(self._fd, data, self._at)
            self._at += written
            data = data[written:]
        if self._at - self._flushed >= WRITEBACK_STEP:
            start_writeback(self._fd, self._flushed, self._at - self._flushed)
            self._flushed = self._at

    def _drain(self) -> None:
        """The buffer's whole blocks straight to the disk; a shorter tail through the
        page cache."""
        import errno

        assert self._buffer is not None
        whole = self._fill - self._fill % DIRECT_BLOCK
        view = memoryview(self._buffer)
        try:
            if whole:
                try:
                    written = os.pwrite(self._direct, view[:whole], self._at)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    written = 0  # refused for this file after all: the page cache
                    self._stop_direct()
                self._at += written
                if written < whole:
                    self._write(view[written:whole])
            if self._fill > whole:
                self._write(view[whole : self._fill])
        finally:
            view.release()
        self._fill = 0
        if self._direct < 0 and self._buffer is not None:
            _DIRECT_BUFFERS.put(self._buffer)
            self._buffer = None

    def sync(self) -> None:
        """Write what is gathered, then make the file's data durable."""
        if self._buffer is not None and self._fill:
            self._drain()
        os.fdatasync(self._fd)  # the file's data, through either descriptor

    def _stop_direct(self) -> None:
        if self._direct >= 0:
            os.close(self._direct)
            self._direct = -1

    def close(self) -> None:
        """Release the descriptors and the buffer (what was not `sync`ed may be lost)."""
        self._stop_direct()
        if self._buffer is not None:
            _DIRECT_BUFFERS.put(self._buffer)
            self._buffer = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


_DIRECT_BUFFERS: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()


def _direct_buffer() -> mmap.mmap:
    """A page-aligned buffer for direct writes, reused from file to file (a new one would
    fault its pages in again)."""
    import mmap

    try:
        return _DIRECT_BUFFERS.get_nowait()
    except queue.Empty:
        return mmap.mmap(-1, DIRECT_CHUNK)


class Aborted(Exception):
    """The writer was abandoned; nothing it took is stored."""


class PipelinedWriter:
    """Bytes pushed in are hashed on one thread while `sink` stores them on another.

    SHA-256 is the slowest step of storing a file (about 1.8 GB/s on one core), so it runs
    beside the write instead of before it. `offer` only copies into one of `depth` buffers
    of `chunk` bytes and never waits; a full buffer goes to both threads at once and comes
    back when both are done with it. Memory is bounded by depth x chunk. The threads start
    with the first full buffer: a file smaller than one buffer is hashed and sunk by `finish`
    on the caller's thread."""

    def __init__(
        self,
        sink: Callable[[memoryview], object],
        *,
        chunk: int = PIPE_CHUNK,
        depth: int = PIPE_DEPTH,
        progress: Progress | None = None,
    ) -> None:
        import threading

        self._sink = sink
        self._chunk = chunk
        self._depth = max(1, depth)
        self._progress = progress
        self._digest = hashlib.sha256()
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._allocated = 0
        self._current: bytearray | None = None
        self._fill = 0
        self._size = 0
        self._holders: dict[int, int] = {}
        self._lock = threading.Lock()
        self._to_hash: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._to_sink: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self._closed = False

    # -- the caller's side ---------------------------------------------------------------

    @property
    def taken(self) -> int:
        """Bytes taken so far (hashed and sunk by `finish`): where a broken download
        resumes."""
        return self._size

    def offer(self, data: bytes | bytearray | memoryview) -> memoryview:
        """Take as much of `data` as fits in the free buffers; return the rest (empty when
        all was taken). Never waits."""
        self._check()
        view = memoryview(data).cast("B")
        taken = 0
        while taken < len(view) and self._take_buffer(block=False):
            assert self._current is not None
            n = min(len(view) - taken, self._chunk - self._fill)
            self._current[self._fill : self._fill + n] = view[taken : taken + n]
            self._fill += n
            taken += n
            if self._fill == self._chunk:
                self._dispatch()
        self._size += taken
        if taken and self._progress is not None:
            self._progress(taken)
        return view[taken:]

    def wait(self) -> None:
        """Block until a buffer is free (at once if one is); raises a failure of the sink."""
        self._check()
        self._take_buffer(block=True)
        self._check()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take all of `data`, waiting for buffers as needed."""
        rest = self.offer(data)
        while len(rest):
            self.wait()
            rest = self.offer(rest)

    def finish(self) -> tuple[str, int]:
        """Hash and sink what is left, wait for both threads; (sha256 hex, size)."""
        if self._closed and self._error is None:
            raise ValueError("this writer is finished")
        self._closed = True
        try:
            if self._error is None and self._current is not None and self._fill:
                if self._threads:
                    self._dispatch()
                else:  # smaller than one buffer: no thread was ever needed
                    view = memoryview(self._current)[: self._fill]
                    self._digest.update(view)
                    self._sink(view)
            self._current = None
        finally:
            self._stop()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest(), self._size

    def abort(self) -> None:
        """Stop; buffers still queued are dropped unsunk. Safe to call more than once."""
        if self._error is None:
            self._error = Aborted("the writer was abandoned")
        self._closed = True
        self._current = None
        self._stop()

    # -- inside --------------------------------------------------------------------------

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ValueError("this writer is finished")

    def _take_buffer(self, *, block: bool) -> bool:
        if self._current is not None:
            return True
        try:
            buffer = self._free.get_nowait()
        except queue.Empty:
            if self._allocated < self._depth:
                self._allocated += 1
                buffer = bytearray(self._chunk)
            elif block:
                buffer = self._free.get()
            else:
                return False
        self._current, self._fill = buffer, 0
        return True

    def _dispatch(self) -> None:
        import threading

        buffer, filled = self._current, self._fill
        assert buffer is not None
        self._current, self._fill = None, 0
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._drain, args=(q, f), daemon=True, name=name)
                for q, f, name in (
                    (self._to_hash, self._digest.update, "modelrepo-hash"),
                    (self._to_sink, self._sink, "modelrepo-write"),
                )
            ]
            for thread in self._threads:
                thread.start()
        with self._lock:
            self._holders[id(buffer)] = 2
        self._to_hash.put((buffer, filled))
        self._to_sink.put((buffer, filled))

    def _drain(
        self,
        todo: queue.SimpleQueue[tuple[bytearray, int] | None],
        work: Callable[[memoryview], object],
    ) -> None:
        while (item := todo.get()) is not None:
            buffer, filled = item
            try:
                if self._error is None:
                    work(memoryview(buffer)[:filled])
            except BaseException as exc:  # reported to the caller by its next call
                if self._error is None:
                    self._error = exc
            finally:
                with self._lock:
                    left = self._holders[id(buffer)] - 1
                    if left:
                        self._holders[id(buffer)] = left
                    else:
                        del self._holders[id(buffer)]
                if not left:
                    self._free.put(buffer)

    def _stop(self) -> None:
        if not self._threads:
            return
        self._to_hash.put(None)
        self._to_sink.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []


class PipelinedBlobWriter:
    """A blob being pushed into a store (`BlobStore.writer`), on a `PipelinedWriter`.

    `finish` returns the blob's address once every byte is durably staged; `commit` makes it
    a blob of the store (and finishes first if needed); `abort` removes whatever was staged.
    A store subclasses this with where the bytes go (`_sink`), how staging is made durable
    (`_staged`), published (`_publish`) and removed (`_discard`)."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._pipe = PipelinedWriter(self._sink, progress=progress)
        self._info: BlobInfo | None = None
        self._ended = False

    def offer(self, data: bytes | bytearray | memoryview) -> memoryview:
        return self._pipe.offer(data)

    def wait(self) -> None:
        self._pipe.wait()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._pipe.write(data)

    def finish(self) -> BlobInfo:
        if self._info is None:
            try:
                sha, size = self._pipe.finish()
                self._staged(sha, size)
            except BaseException:
                self.abort()
                raise
            self._info = BlobInfo(sha, size)
        return self._info

    def commit(self) -> BlobInfo:
        info = self.finish()
        if not self._ended:
            try:
                self._publish(info)
            except BaseException:
                self.abort()
                raise
            self._ended = True
        return info

    def abort(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._pipe.abort()
        self._discard()

    # -- what a store provides ------------------------------------------------------------

    def _sink(self, data: memoryview) -> None:
        raise NotImplementedError

    def _staged(self, sha256: str, size: int) -> None:
        """Every byte has been sunk: make the staged copy durable."""

    def _publish(self, info: BlobInfo) -> None:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError


def write_folder(
    files: Sequence[FileEntry],
    dest: str | os.PathLike[str],
    write: Callable[[FileEntry, Path, Progress | None], None],
    progress: Callable[[str, int], Progress] | None = None,
    beside: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a version's files into `dest` (absent, or an empty folder) all or nothing:
    `write(entry, path, progress)` writes and verifies each into a staging folder beside
    `dest`, which is renamed into place once every file is there, and removed if anything
    fails, so no half-written copy is ever seen at `dest`. `beside`: top-level files that are
    not the version's (its signature), written with them."""
    import shutil
    import tempfile

    target = Path(dest).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Conflict(f"destination {target} already exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        for entry in files:
            out_path = staging.joinpath(*entry.path.split("/"))
            out_path.parent.mkdir(parents=True, exist_ok=True)
            write(entry, out_path, progress(entry.path, entry.size) if progress else None)
            if entry.executable:
                out_path.chmod(out_path.stat().st_mode | 0o111)
        for name, content in (beside or {}).items():
            fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
