"""Resumable uploads over an embedded store: start a session, receive its parts (each
checked against its SHA-256 as it arrives), complete it (the whole file checked), and hand
it to a registration. A session is its owner's alone: anyone else is told it does not exist.

The whole file's digest is computed as the parts arrive, when they arrive in order on this
process (the usual case: one client sending parts one after the other); otherwise, or after
a restart, completing the session reads back what was not hashed yet.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound
from ..domain.manifest import validate_sha256
from ..domain.names import validate_model_name
from ..domain.times import format_time
from ..domain.uploads import (
    PartRecord,
    UploadSession,
    check_upload_id,
    check_upload_shape,
    expired,
    part_size_for,
)
from ..ports import BlobInfo
from .core import Core, may_create

if TYPE_CHECKING:
    from ..ports import PartSink, UploadStore

READ_BACK = 4 << 20


@dataclass(frozen=True)
class UploadState:
    """A session as its owner sees it: the parts held, what is missing, when it lapses."""

    session: UploadSession
    parts: list[PartRecord]
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        s = self.session
        return {
            "id": s.id,
            "model": s.model,
            "size": s.size,
            "part_size": s.part_size,
            "part_count": s.part_count,
            "parts": [{"number": p.number, "size": p.size, "sha256": p.sha256} for p in self.parts],
            "missing": s.missing(self.parts),
            "complete": s.complete,
            "sha256": s.sha256,
            "created_at": format_time(s.created_at),
            "expires_at": format_time(self.expires_at),
        }


class Uploads(Core):
    def _uploads(self) -> UploadStore:
        return self.backend.blobs.uploads

    @may_create
    def start_upload(self, name: str, size: int, *, part_size: int | None = None) -> UploadState:
        """A new session for one file of `size` bytes of a version of `name`, sent in parts
        of `part_size` (by default 32 MiB, larger if the file needs more than 10,000)."""
        validate_model_name(name)
        store = self._uploads()
        chosen = part_size_for(size, part_size, store.min_part_size)
        check_upload_shape(size, chosen, store.min_part_size)
        now = self.clock.now()
        session = UploadSession(secrets.token_hex(16), name, self.user, size, chosen, now)
        begun = store.begin(session)
        return UploadState(begun, [], begun.expires_at([]))

    def upload(self, name: str, upload_id: str) -> UploadState:
        """The session as it stands; NotFound if it is not the caller's, or lapsed."""
        session, parts = self._owned(name, upload_id)
        return UploadState(session, parts, session.expires_at(parts))

    def _owned(self, name: str, upload_id: str) -> tuple[UploadSession, list[PartRecord]]:
        check_upload_id(upload_id)
        store = self._uploads()
        session = store.session(upload_id)
        if session is None or session.model != name or session.owner != self.user:
            raise NotFound(f"no upload {upload_id} for model {name!r}")
        parts = store.parts(session)
        if expired(session, parts, self.clock.now()):
            raise NotFound(f"upload {upload_id} lapsed: it had no part for too long")
        return session, parts

    def receive_part(self, name: str, upload_id: str, number: int, sha256: str) -> PartReceiver:
        """A receiver for part `number`, which must hash to `sha256` (hex)."""
        validate_sha256(sha256)
        session, parts = self._owned(name, upload_id)
        if session.complete:
            raise Conflict(f"upload {upload_id} is complete: it takes no more parts")
        offset, length = session.part_span(number)
        before = next((p for p in parts if p.number == number), None)
        store = self._uploads()
        return PartReceiver(self, store, session, number, offset, length, sha256, before)

    def put_part(
        self, name: str, upload_id: str, number: int, data: bytes, sha256: str
    ) -> PartRecord:
        """Receive part `number` whole (the server streams it through `receive_part`)."""
        receiver = self.receive_part(name, upload_id, number, sha256)
        try:
            receiver.write(data)
        except BaseException:
            receiver.abort()
            raise
        return receiver.finish()

    def complete_upload(self, name: str, upload_id: str, sha256: str) -> UploadState:
        """Check that the parts held make the whole file, hashing to `sha256`; the session
        may then be named by a registration. Completing twice answers the same."""
        validate_sha256(sha256)
        session, parts = self._owned(name, upload_id)
        if session.complete:
            if session.sha256 != sha256:
                raise Conflict(f"upload {upload_id} completed as sha256 {session.sha256}")
            return UploadState(session, parts, session.expires_at(parts))
        missing = session.missing(parts)
        if missing:
            shown = ", ".join(str(n) for n in missing[:10]) + (", ..." if len(missing) > 10 else "")
            raise Conflict(f"upload {upload_id} lacks parts {shown}: send them first")
        store = self._uploads()
        store.assemble(session, parts)
        actual = _whole_digest(store, session)
        if actual != sha256:
            raise DigestMismatch(
                f"upload {upload_id}: the parts held hash to sha256 {actual}, not {sha256}; "
                "the file changed while it was sent, or the digest is wrong"
            )
        done = session.completed(sha256)
        store.seal(done)
        _RUNNING.forget(upload_id)
        return UploadState(done, parts, done.expires_at(parts))

    def abort_upload(self, name: str, upload_id: str) -> None:
        """Drop the session and whatever it holds."""
        session, _ = self._owned(name, upload_id)
        self._uploads().drop(session)
        _RUNNING.forget(upload_id)

    def staged_upload(self, name: str, upload_id: str) -> SessionBlob:
        """A complete session as a file of a registration (`StagedFile.content`)."""
        session, _ = self._owned(name, upload_id)
        if not session.complete:
            raise Conflict(f"upload {upload_id} is not complete: complete it before registering")
        return SessionBlob(self._uploads(), session)

    def lapsed_uploads(self, now: datetime) -> Iterable[tuple[UploadSession, int]]:
        """Sessions that lapsed, and the bytes each holds (for `gc`)."""
        store = self._uploads()
        for session in list(store.sessions()):
            if expired(session, store.parts(session), now):
                yield session, store.held(session)


class PartReceiver:
    """One part arriving: hashed on one thread while another writes it (and carries the
    whole file's digest forward when the part continues it); `finish` checks its length and
    SHA-256 before the store holds it."""

    def __init__(
        self,
        registry: Uploads,
        store: UploadStore,
        session: UploadSession,
        number: int,
        offset: int,
        length: int,
        sha256: str,
        before: PartRecord | None,
    ) -> None:
        from ..streams import PipelinedWriter

        self._registry = registry
        self._session = session
        self._number = number
        self._offset = offset
        self._length = length
        self._sha256 = sha256
        self._before = before
        self._sink: PartSink = store.part_sink(session, number)
        self._running = _RUNNING.continuing(session.id, offset)
        self._pipe = PipelinedWriter(self._take)
        self._taken = 0

    def _take(self, data: memoryview) -> None:
        self._sink(data)
        if self._running is not None:
            self._running.update(data)

    def offer(self, data: bytes | bytearray | memoryview) -> memoryview:
        self._count(len(data))
        rest = self._pipe.offer(data)
        self._taken -= len(rest)
        return rest

    def wait(self) -> None:
        self._pipe.wait()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._count(len(data))
        self._pipe.write(data)

    def _count(self, size: int) -> None:
        self._taken += size
        if self._taken > self._length:
            raise InvalidInput(
                f"part {self._number} of upload {self._session.id} is {self._length} bytes: "
                "more were sent"
            )

    def finish(self) -> PartRecord:
        try:
            sha, size = self._pipe.finish()
            if size != self._length:
                raise InvalidInput(
                    f"part {self._number} of upload {self._session.id} is {self._length} bytes, "
                    f"got {size}"
                )
            if sha != self._sha256:
                raise DigestMismatch(
                    f"part {self._number} of upload {self._session.id} hashes to sha256 {sha}, "
                    f"not {self._sha256}: it was damaged on the way; send it again"
                )
        except BaseException:
            self.abort()
            raise
        record = self._sink.commit(sha, size, self._registry.clock.now())
        if self._before is not None and self._before.sha256 != sha:
            _RUNNING.forget(self._session.id)  # bytes already hashed may have been replaced
        if self._running is not None:
            _RUNNING.advance(self._session.id, self._running, self._offset + size)
        return record

    def abort(self) -> None:
        self._pipe.abort()
        self._sink.abort()


class SessionBlob:
    """A complete session as a registration's blob writer: committing publishes its bytes
    under their digest (again after a first success: a retried registration); aborting
    leaves the session as it is, for another attempt."""

    def __init__(self, store: UploadStore, session: UploadSession) -> None:
        self._store = store
        self._session = session
        assert session.sha256 is not None
        self._info = BlobInfo(session.sha256, session.size)

    def offer(self, data: bytes | bytearray | memoryview) -> memoryview:
        raise Conflict("a complete upload takes no more bytes")

    def wait(self) -> None:
        return

    def write(self, data: bytes | bytearray | memoryview) -> None:
        raise Conflict("a complete upload takes no more bytes")

    def finish(self) -> BlobInfo:
        return self._info

    def commit(self) -> BlobInfo:
        return self._store.publish(self._session)

    def abort(self) -> None:
        return


def _whole_digest(store: UploadStore, session: UploadSession) -> str:
    """The assembled file's SHA-256, from the digest carried so far on this process (if
    any), reading back only what it has not seen."""
    running = _RUNNING.take(session.id)
    digest, offset = running if running is not None else (hashlib.sha256(), 0)
    if offset < session.size:
        with store.read(session, offset) as stream:
            while block := stream.read(READ_BACK):
                digest.update(block)
    return digest.hexdigest()


class _RunningDigests:
    """Per session, the whole file's digest over its first bytes, as far as parts have
    arrived in order on this process. Bounded: the least recently used is forgotten (its
    completion then reads the file back)."""

    LIMIT = 256

    def __init__(self) -> None:
        self._held: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def continuing(self, upload_id: str, offset: int) -> Any:
        """A copy of the digest to carry on with, if the one held ends at `offset`."""
        with self._lock:
            if offset == 0:
                return hashlib.sha256()
            held = self._held.get(upload_id)
            if held is None or held[1] != offset:
                return None
            return held[0].copy()

    def advance(self, upload_id: str, digest: Any, offset: int) -> None:
        with self._lock:
            current = self._held.get(upload_id)
            if current is not None and current[1] > offset:
                return  # a part sent again, behind what is held already
            self._held[upload_id] = (digest, offset)
            self._held.move_to_end(upload_id)
            while len(self._held) > self.LIMIT:
                self._held.popitem(last=False)

    def take(self, upload_id: str) -> tuple[Any, int] | None:
        with self._lock:
            held = self._held.get(upload_id)
            return None if held is None else (held[0].copy(), held[1])

    def forget(self, upload_id: str) -> None:
        with self._lock:
            self._held.pop(upload_id, None)


_RUNNING = _RunningDigests()
