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
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..api.uploads import UploadsAPI
from ..domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound
from ..domain.manifest import validate_sha256
from ..domain.names import validate_model_name
from ..domain.uploads import (
    PartRecord,
    UploadSession,
    UploadState,
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


class Uploads(Core, UploadsAPI):
    def _uploads(self) -> UploadStore:
        return self.backend.blobs.uploads

    @may_create
    def start_upload(self, name: str, size: int, *, part_size: int | None = None) -> UploadState:
        validate_model_name(name)
        store = self._uploads()
        chosen = part_size_for(size, part_size, store.min_part_size)
        check_upload_shape(size, chosen, store.min_part_size)
        now = self.clock.now()
        session = UploadSession(secrets.token_hex(16), name, self.user, size, chosen, now)
        begun = store.begin(session)
        return UploadState(begun, [], begun.expires_at([]))

    def upload(self, name: str, upload_id: str) -> UploadState:
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
        # Given whole, in this process; the server streams a part through `receive_part`.
        receiver = self.receive_part(name, upload_id, number, sha256)
        try:
            receiver.write(data)
        except BaseException:
            receiver.abort()
            raise
        return receiver.finish()

    def complete_upload(self, name: str, upload_id: str, sha256: str | None = None) -> UploadState:
        # Without `sha256` the file is still checked end to end: each part was held only
        # once it matched the SHA-256 its sender computed, and parts sit at fixed offsets,
        # so the file hashed here is byte for byte the sender's.
        if sha256 is not None:
            validate_sha256(sha256)
        session, parts = self._owned(name, upload_id)
        if session.complete:
            if sha256 is not None and session.sha256 != sha256:
                raise DigestMismatch(f"upload {upload_id} completed as sha256 {session.sha256}")
            return UploadState(session, parts, session.expires_at(parts))
        missing = session.missing(parts)
        if missing:
            shown = ", ".join(str(n) for n in missing[:10]) + (", ..." if len(missing) > 10 else "")
            raise Conflict(f"upload {upload_id} lacks parts {shown}: send them first")
        store = self._uploads()
        store.assemble(session, parts)
        actual = _whole_digest(store, session)
        if sha256 is not None and actual != sha256:
            raise DigestMismatch(
                f"upload {upload_id}: the parts held hash to sha256 {actual}, not {sha256}; "
                "the file changed while it was sent, or the digest is wrong"
            )
        done = session.completed(actual)
        store.seal(done)
        _RUNNING.forget(upload_id)
        return UploadState(done, parts, done.expires_at(parts))

    def abort_upload(self, name: str, upload_id: str) -> None:
        session, _ = self._owned(name, upload_id)
        self._uploads().drop(session)
        _RUNNING.forget(upload_id)

    def staged_upload(self, name: str, upload_id: str) -> SessionBlob:
        """A complete session as a file of a registration (`StagedFile.content`)."""
        session, _ = self._owned(name, upload_id)
        if not session.complete:
            raise Conflict(f"upload {upload_id} is not complete: complete it before registering")
        return SessionBlob(self._uploads(), session)

    def _lapsed_uploads(self, now: datetime) -> Iterable[tuple[UploadSession, int]]:
        """Sessions that lapsed, and the bytes each holds (for `gc`)."""
        store = self._uploads()
        for session in list(store.sessions()):
            if expired(session, store.parts(session), now):
                yield session, store.held(session)


class PartReceiver:
    """One part arriving, in batches of the pieces the connection gave: each batch is
    hashed (the part's digest, and the whole file's when the part continues what this
    process has hashed) and written by `steps`, which may run on threads of their own, side
    by side; `finish` checks the part's length and SHA-256 before the store holds it."""

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
        self._registry = registry
        self._session = session
        self._number = number
        self._offset = offset
        self._length = length
        self._sha256 = sha256
        self._before = before
        self._sink: PartSink = store.part_sink(session, number)
        self._running = _RUNNING.continuing(session.id, offset, offset + length)
        self._digest = hashlib.sha256()
        self._size = 0

    def count(self, size: int) -> None:
        """Note `size` more bytes arriving; refused once the part is longer than its span."""
        self._size += size
        if self._size > self._length:
            raise InvalidInput(
                f"part {self._number} of upload {self._session.id} is {self._length} bytes: "
                "more were sent"
            )

    def steps(self, batch: Sequence[bytes | memoryview]) -> list[Callable[[], None]]:
        """The work on one batch, in independent steps (the caller may run them at once,
        but every step of a batch before any of the next)."""
        digest, running, sink = self._digest, self._running, self._sink

        def hash_part() -> None:
            for piece in batch:
                digest.update(piece)

        def write() -> None:
            for piece in batch:
                sink(memoryview(piece))

        work = [hash_part, write]
        if running is not None:

            def hash_whole() -> None:
                for piece in batch:
                    running.update(piece)

            work.append(hash_whole)
        return work

    def write(self, data: bytes | memoryview) -> None:
        """Take `data` here and now (a part given whole, in process)."""
        self.count(len(data))
        for step in self.steps([data]):
            step()

    def finish(self) -> PartRecord:
        try:
            if self._size != self._length:
                raise InvalidInput(
                    f"part {self._number} of upload {self._session.id} is {self._length} bytes, "
                    f"got {self._size}"
                )
            sha = self._digest.hexdigest()
            if sha != self._sha256:
                raise DigestMismatch(
                    f"part {self._number} of upload {self._session.id} hashes to sha256 {sha}, "
                    f"not {self._sha256}: it was damaged on the way; send it again"
                )
            record = self._sink.commit(sha, self._size, self._registry.clock.now())
        except BaseException:
            self.abort()
            raise
        if self._before is not None and self._before.sha256 != sha:
            _RUNNING.forget(self._session.id)  # bytes already hashed may have been replaced
        if self._running is not None:
            _RUNNING.advance(self._session.id, self._running, self._offset + self._size)
        return record

    def abort(self) -> None:
        self._sink.abort()
        if self._running is not None:
            _RUNNING.stopped(self._session.id)


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
    completion then reads the file back).

    A part that carries the digest forward is noted while it arrives (`_arriving`: where
    it ends), so that the next part, sent at once beside it (a client keeps two in flight
    to hide each part's turnaround), waits for it to be held and carries on from there,
    instead of leaving the file to be read back."""

    LIMIT = 256
    WAIT_S = 30.0  # a part slower than this to arrive: the next one leaves the file to be read back

    def __init__(self) -> None:
        self._held: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._arriving: dict[str, int] = {}
        self._changed = threading.Condition()

    def continuing(self, upload_id: str, offset: int, end: int) -> Any:
        """A copy of the digest to carry on with from `offset`, for a part arriving up to
        `end`: at once if the one held ends there, after waiting for the part that arrives
        now and ends there, else None."""
        deadline = time.monotonic() + self.WAIT_S
        with self._changed:
            while True:
                held = self._held.get(upload_id)
                if offset == 0:
                    digest: Any = hashlib.sha256()
                    break
                if held is not None and held[1] == offset:
                    digest = held[0].copy()
                    break
                left = deadline - time.monotonic()
                if self._arriving.get(upload_id) != offset or left <= 0:
                    return None
                self._changed.wait(left)
            self._arriving[upload_id] = end  # the next part may wait for this one
            return digest

    def advance(self, upload_id: str, digest: Any, offset: int) -> None:
        with self._changed:
            self._arriving.pop(upload_id, None)
            current = self._held.get(upload_id)
            if current is None or current[1] <= offset:  # not a part sent again, behind
                self._held[upload_id] = (digest, offset)
                self._held.move_to_end(upload_id)
                while len(self._held) > self.LIMIT:
                    self._held.popitem(last=False)
            self._changed.notify_all()

    def take(self, upload_id: str) -> tuple[Any, int] | None:
        with self._changed:
            held = self._held.get(upload_id)
            return None if held is None else (held[0].copy(), held[1])

    def stopped(self, upload_id: str) -> None:
        """The part arriving did not make it: whoever waits for it stops waiting."""
        with self._changed:
            self._arriving.pop(upload_id, None)
            self._changed.notify_all()

    def forget(self, upload_id: str) -> None:
        with self._changed:
            self._held.pop(upload_id, None)
            self._arriving.pop(upload_id, None)
            self._changed.notify_all()


_RUNNING = _RunningDigests()
