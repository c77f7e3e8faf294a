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
