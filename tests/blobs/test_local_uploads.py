"""A folder store's upload parts: written around the page cache where the file system allows
it, through it otherwise (a part that does not start on a block boundary, a tail shorter
than a block, a file system without direct I/O), the file the same byte for byte."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelrepo.blobs.local import LocalBlobStore
from modelrepo.domain.uploads import UploadSession
from modelrepo.streams import DIRECT_CHUNK

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _upload(blobs: LocalBlobStore, data: bytes, part_size: int, pieces: int) -> bytes:
    uploads = blobs.uploads
    session = uploads.begin(UploadSession("c" * 32, "m", "carl", len(data), part_size, T0))
    for number in reversed(range(1, session.part_count + 1)):
        offset, length = session.part_span(number)
        part = data[offset : offset + length]
        sink = uploads.part_sink(session, number)
        step = max(1, len(part) // pieces)
        for start in range(0, len(part), step):
            sink(memoryview(part)[start : start + step])
        sink.commit(hashlib.sha256(part).hexdigest(), len(part), T0)
    uploads.assemble(session, uploads.parts(session))
    with uploads.read(session, 0) as stream:
        return stream.read()


@pytest.mark.parametrize(
    ("part_size", "size"),
    [
        (1 << 20, 5 * (1 << 20) + 12345),  # aligned parts, a last one ending mid-block
        (70_001, 300_000),  # parts off the block boundary: the page cache
        (DIRECT_CHUNK + 4096, 2 * DIRECT_CHUNK + 3),
    ],
)
def test_parts_land_byte_for_byte(tmp_path: Path, part_size: int, size: int) -> None:
    data = os.urandom(size)
    assert _upload(LocalBlobStore(tmp_path / "blobs"), data, part_size, 7) == data


def test_without_direct_io_the_page_cache_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refuse_direct(path: object, flags: int, *args: object) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(22, "Invalid argument")  # as tmpfs answers
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse_direct)
    data = os.urandom(3 * (1 << 20) + 5)
    assert _upload(LocalBlobStore(tmp_path / "blobs"), data, 1 << 20, 3) == data
