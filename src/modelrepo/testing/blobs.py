"""The contract every `BlobStore` passes. Subclass and provide a `blobs` fixture."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest

from ..domain.errors import InvalidInput, MissingBlobError
from ..ports import BlobStore
from .uploads import UploadStoreContract


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStoreContract(UploadStoreContract):
    """Behaviour shared by every blob store, its resumable uploads included."""

    @pytest.fixture
    def blobs(self, *args: Any) -> BlobStore:
        raise NotImplementedError

    def test_put_returns_address_and_size(self, blobs: BlobStore) -> None:
        info = blobs.put(io.BytesIO(b"hello"))
        assert info.sha256 == _sha(b"hello")
        assert info.size == 5

    def test_open_returns_the_same_bytes(self, blobs: BlobStore) -> None:
        data = bytes(range(256)) * 9000  # more than one 1 MiB chunk
        info = blobs.put(io.BytesIO(data))
        with blobs.open(info.sha256) as stream:
            assert stream.read() == data

    def test_empty_blob(self, blobs: BlobStore) -> None:
        info = blobs.put(io.BytesIO(b""))
        assert info.size == 0
        with blobs.open(info.sha256) as stream:
            assert stream.read() == b""

    def test_put_is_idempotent(self, blobs: BlobStore) -> None:
        first = blobs.put(io.BytesIO(b"same"))
        second = blobs.put(io.BytesIO(b"same"))
        assert first.sha256 == second.sha256
        assert [b.sha256 for b in blobs.list()].count(first.sha256) == 1

    def test_exists_and_delete(self, blobs: BlobStore) -> None:
        info = blobs.put(io.BytesIO(b"x"))
        assert blobs.exists(info.sha256)
        blobs.delete(info.sha256)
        assert not blobs.exists(info.sha256)
        blobs.delete(info.sha256)  # deleting again is not an error

    def test_open_missing_raises(self, blobs: BlobStore) -> None:
        with pytest.raises(MissingBlobError):
            blobs.open(_sha(b"never stored"))

    def test_list_reports_every_blob(self, blobs: BlobStore) -> None:
        stored = {blobs.put(io.BytesIO(bytes([i]) * i)).sha256 for i in range(1, 6)}
        listed = {b.sha256: b.size for b in blobs.list()}
        assert stored <= set(listed)
        for i in range(1, 6):
            assert listed[_sha(bytes([i]) * i)] == i

    def test_invalid_address_is_refused(self, blobs: BlobStore) -> None:
        for bad in ("../../etc/passwd", "ABC", "a" * 63, "g" * 64, "/" + "a" * 63):
            with pytest.raises(InvalidInput):
                blobs.open(bad)
            with pytest.raises(InvalidInput):
                blobs.exists(bad)

    def test_progress_sees_every_byte(self, blobs: BlobStore) -> None:
        seen: list[int] = []
        data = b"z" * (3 * 1024 * 1024 + 7)
        blobs.put(io.BytesIO(data), progress=seen.append)
        assert sum(seen) == len(data)

    def test_no_partials_after_success(self, blobs: BlobStore) -> None:
        blobs.put(io.BytesIO(b"complete"))
        assert list(blobs.partials()) == []

    # -- pushing bytes in -------------------------------------------------------------------

    def test_a_written_blob_has_the_address_put_gives(self, blobs: BlobStore) -> None:
        data = bytes(range(256)) * 40_000 + b"tail"  # over two pipeline buffers
        writer = blobs.writer()
        for start in range(0, len(data), 300_007):  # pieces that straddle buffers
            writer.write(data[start : start + 300_007])
        info = writer.commit()
        assert (info.sha256, info.size) == (_sha(data), len(data))
        with blobs.open(info.sha256) as stream:
            assert stream.read() == data
        assert blobs.put(io.BytesIO(data)).sha256 == info.sha256
        assert list(blobs.partials()) == []

    def test_a_small_and_an_empty_written_blob(self, blobs: BlobStore) -> None:
        for data in (b"", b"small"):
            writer = blobs.writer()
            writer.write(data)
            assert writer.commit().sha256 == _sha(data)
            assert writer.commit().sha256 == _sha(data)  # committing again changes nothing
            with blobs.open(_sha(data)) as stream:
                assert stream.read() == data

    def test_offer_takes_what_fits_and_wait_makes_room(self, blobs: BlobStore) -> None:
        data = b"o" * (40 << 20)
        writer = blobs.writer()
        rest = writer.offer(data)
        assert 0 < len(data) - len(rest) < len(data)  # bounded: not all of it at once
        while len(rest):
            writer.wait()
            rest = writer.offer(rest)
        assert writer.commit().sha256 == _sha(data)

    def test_nothing_is_visible_before_commit_and_abort_leaves_nothing(
        self, blobs: BlobStore
    ) -> None:
        data = b"a" * (9 << 20)
        writer = blobs.writer()
        writer.write(data)
        info = writer.finish()
        assert info.sha256 == _sha(data)
        assert not blobs.exists(info.sha256)
        writer.abort()
        writer.abort()
        assert not blobs.exists(info.sha256)
        assert list(blobs.partials()) == []
        unfinished = blobs.writer()
        unfinished.write(data[: 5 << 20])
        unfinished.abort()
        assert list(blobs.partials()) == []
        with pytest.raises(Exception, match="abandoned"):
            unfinished.write(b"more")

    def test_writer_progress_sees_every_byte(self, blobs: BlobStore) -> None:
        seen: list[int] = []
        data = b"p" * (5 * 1024 * 1024 + 3)
        writer = blobs.writer(progress=seen.append)
        writer.write(data)
        writer.commit()
        assert sum(seen) == len(data)

    def test_an_upload_never_committed_is_a_partial_until_removed(self, blobs: BlobStore) -> None:
        data = b"u" * (6 << 20)
        writer = blobs.writer()
        writer.write(data)
        info = writer.finish()  # the uploading process dies here: no commit, no abort
        partials = list(blobs.partials())
        assert partials and sum(p.size for p in partials) <= len(data)
        assert not blobs.exists(info.sha256)
        assert info.sha256 not in {b.sha256 for b in blobs.list()}
        for partial in partials:
            blobs.delete_partial(partial.sha256)
        assert list(blobs.partials()) == []
        blobs.delete_partial(partials[0].sha256)  # already gone: not an error
        assert not blobs.exists(info.sha256)
