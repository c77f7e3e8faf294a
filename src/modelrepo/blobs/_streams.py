"""Streaming helpers shared by the blob stores: bounded memory, hash while copying."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import BinaryIO

from ..ports import Progress

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
