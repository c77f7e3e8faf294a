"""The contract every blob store's resumable uploads (`BlobStore.uploads`) pass; part of
`BlobStoreContract`, so every backend runs it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ..domain.errors import Conflict
from ..domain.uploads import UploadSession
from ..ports import BlobStore, UploadStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _session(uploads: UploadStore, size: int, upload_id: str = "a" * 32) -> UploadSession:
    part = max(uploads.min_part_size, 1 << 10)
    return UploadSession(upload_id, "credit-risk", "carl", size, part, T0)


def _send(uploads: UploadStore, session: UploadSession, number: int, data: bytes) -> None:
    sink = uploads.part_sink(session, number)
    half = len(data) // 2
    sink(memoryview(data)[:half])
    sink(memoryview(data)[half:])
    record = sink.commit(
        hashlib.sha256(data).hexdigest(), len(data), T0 + timedelta(seconds=number)
    )
    assert (record.number, record.size) == (number, len(data))


def _pieces(session: UploadSession, data: bytes) -> dict[int, bytes]:
    return {
        n: data[(n - 1) * session.part_size : n * session.part_size]
        for n in range(1, session.part_count + 1)
    }


class UploadStoreContract:
    """Sessions, parts in any order, completion and publication, and dropping."""

    @pytest.fixture
    def blobs(self, *args: Any) -> BlobStore:
        raise NotImplementedError

    def test_a_session_is_kept_until_dropped(self, blobs: BlobStore) -> None:
        uploads = blobs.uploads
        assert uploads.min_part_size >= 1
        begun = uploads.begin(_session(uploads, 10))
        found = uploads.session(begun.id)
        assert found == begun and [s.id for s in uploads.sessions()] == [begun.id]
        assert uploads.session("b" * 32) is None
        assert uploads.parts(begun) == []
        uploads.drop(begun)
        uploads.drop(begun)  # twice: no error
        assert uploads.session(begun.id) is None and list(uploads.sessions()) == []

    def test_parts_in_any_order_publish_as_one_blob(self, blobs: BlobStore) -> None:
        uploads = blobs.uploads
        probe = _session(uploads, 0)
        data = bytes(range(256)) * (-(-(2 * probe.part_size + 77) // 256))
        data = data[: 2 * probe.part_size + 77]
        session = uploads.begin(_session(uploads, len(data)))
        pieces = _pieces(session, data)
        for number in (3, 1, 2):
            _send(uploads, session, number, pieces[number])
        held = uploads.parts(session)
        assert [(p.number, p.size, p.sha256) for p in held] == [
            (n, len(b), hashlib.sha256(b).hexdigest()) for n, b in sorted(pieces.items())
        ]
        assert uploads.held(session) >= 0
        uploads.assemble(session, held)
        uploads.assemble(session, held)  # again: the same file
        with uploads.read(session, 0) as stream:
            assert stream.read() == data
        with uploads.read(session, session.part_size) as stream:
            assert stream.read() == data[session.part_size :]
        sha = hashlib.sha256(data).hexdigest()
        assert not blobs.exists(sha)  # nothing is a blob before publication
        done = session.completed(sha)
        uploads.seal(done)
        assert uploads.session(session.id) == done
        info = uploads.publish(done)
        assert (info.sha256, info.size) == (sha, len(data))
        with blobs.open(sha) as stream:
            assert stream.read() == data
        assert uploads.publish(done) == info  # a retried registration
        uploads.drop(done)
        assert blobs.exists(sha)

    def test_a_part_sent_again_is_held_only_once_committed(self, blobs: BlobStore) -> None:
        uploads = blobs.uploads
        session = uploads.begin(_session(uploads, 100))
        _send(uploads, session, 1, b"x" * 100)
        sink = uploads.part_sink(session, 1)
        sink(memoryview(b"y" * 50))
        assert uploads.parts(session) == []  # being replaced: not held meanwhile
        sink.abort()
        assert uploads.parts(session) == []
        _send(uploads, session, 1, b"z" * 100)
        assert [p.sha256 for p in uploads.parts(session)] == [
            hashlib.sha256(b"z" * 100).hexdigest()
        ]
        uploads.drop(session)

    def test_an_incomplete_session_does_not_publish(self, blobs: BlobStore) -> None:
        uploads = blobs.uploads
        session = uploads.begin(_session(uploads, 5))
        with pytest.raises(Conflict):
            uploads.publish(session)
        uploads.drop(session)
