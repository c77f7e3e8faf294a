"""Resumable uploads held in memory, for the memory blob store: the reference the upload
contract suite is written against."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO

from ..domain.errors import Conflict
from ..domain.uploads import PartRecord, UploadSession, check_upload_id
from ..ports import BlobInfo

if TYPE_CHECKING:
    from .memory import MemoryBlobStore


@dataclass
class _Held:
    session: UploadSession
    data: bytearray
    parts: dict[int, PartRecord] = field(default_factory=dict)


class MemoryUploads:
    """The sessions of one `MemoryBlobStore`."""

    min_part_size = 1

    def __init__(self, store: MemoryBlobStore) -> None:
        self._store = store
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def begin(self, session: UploadSession) -> UploadSession:
        with self._lock:
            if session.id in self._held:
                raise Conflict(f"upload {session.id} exists")
            self._held[session.id] = _Held(session, bytearray(session.size))
        return session

    def session(self, upload_id: str) -> UploadSession | None:
        with self._lock:
            held = self._held.get(check_upload_id(upload_id))
        return None if held is None else held.session

    def sessions(self) -> Iterator[UploadSession]:
        with self._lock:
            found = [h.session for _, h in sorted(self._held.items())]
        yield from found

    def parts(self, session: UploadSession) -> list[PartRecord]:
        with self._lock:
            held = self._held.get(session.id)
            return [] if held is None else sorted(held.parts.values(), key=lambda p: p.number)

    def part_sink(self, session: UploadSession, number: int) -> _PartSink:
        offset, _ = session.part_span(number)
        with self._lock:
            held = self._held.get(session.id)
            if held is None:
                raise Conflict(f"upload {session.id} is no longer kept")
            held.parts.pop(number, None)
        return _PartSink(self, held, offset, number)

    def assemble(self, session: UploadSession, parts: list[PartRecord]) -> None:
        return

    def read(self, session: UploadSession, offset: int) -> BinaryIO:
        with self._lock:
            held = self._held[session.id]
        stream = io.BytesIO(bytes(held.data))
        stream.seek(offset)
        return stream

    def seal(self, session: UploadSession) -> None:
        with self._lock:
            self._held[session.id].session = session

    def publish(self, session: UploadSession) -> BlobInfo:
        if session.sha256 is None:
            raise Conflict(f"upload {session.id} is not complete")
        with self._lock:
            held = self._held.get(session.id)
        if held is None:
            raise Conflict(f"upload {session.id}: its bytes are no longer kept")
        return self._store.put(io.BytesIO(bytes(held.data)))

    def held(self, session: UploadSession) -> int:
        with self._lock:
            held = self._held.get(session.id)
        return 0 if held is None else len(held.data)

    def drop(self, session: UploadSession) -> None:
        with self._lock:
            self._held.pop(session.id, None)


class _PartSink:
    def __init__(self, uploads: MemoryUploads, held: _Held, offset: int, number: int) -> None:
        self._uploads = uploads
        self._held = held
        self._at = offset
        self._number = number

    def __call__(self, data: memoryview) -> None:
        self._held.data[self._at : self._at + len(data)] = data
        self._at += len(data)

    def commit(self, sha256: str, size: int, at: datetime) -> PartRecord:
        record = PartRecord(self._number, size, sha256, at)
        with self._uploads._lock:
            self._held.parts[self._number] = record
        return record

    def abort(self) -> None:
        return
