"""Large files sent to the server in parts that survive a dropped connection.

A file from `RESUMABLE_FROM` bytes up is sent as a resumable upload (see docs/server.md,
Resumable uploads): each part goes with its SHA-256 and is resent alone if the connection
breaks; after an interruption the server says which parts it holds and only the others are
sent. The session's id is kept on this machine under the cache folder, keyed by server,
model and file (path, size, modification time), so a registration run again after the
process itself was stopped resumes too.

Parts are read and hashed on one thread while the previous part is being sent.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..api.uploads import UploadsAPI
from ..domain.errors import InvalidInput, NotFound, StorageError
from ..domain.manifest import validate_sha256
from ..domain.uploads import PartRecord, UploadSession, UploadState, check_upload_id
from .client import ServerClient, error_from_response

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..ports import Progress

RESUMABLE_FROM = 64 << 20
"""Files this large or larger are sent in parts; smaller ones go in the registration."""
READ_AHEAD = 2  # parts read and hashed ahead of the one being sent
SEND_PIECE = 1 << 20
IN_FLIGHT = 2  # parts sent at once


class PartUploads(ServerClient, UploadsAPI):
    """Resumable upload sessions of a model: driven one call at a time, or a whole file
    sent by `_send_in_parts` (what `register` does for a large file)."""

    cache_dir: Path

    def _uploads_path(self, name: str) -> str:
        return f"{self._model_path(name)}/uploads"

    def start_upload(self, name: str, size: int, *, part_size: int | None = None) -> UploadState:
        body: dict[str, Any] = {"size": size}
        if part_size is not None:
            body["part_size"] = part_size
        return UploadState.from_dict(self._post(self._uploads_path(name), body))

    def upload(self, name: str, upload_id: str) -> UploadState:
        return UploadState.from_dict(self._get(self._session_path(name, upload_id)))

    def put_part(
        self, name: str, upload_id: str, number: int, data: bytes, sha256: str
    ) -> PartRecord:
        url = f"{self.url}{self._session_path(name, upload_id)}/parts/{int(number)}"
        reply = self._send_part(url, memoryview(data), bytes.fromhex(validate_sha256(sha256)))
        return PartRecord.from_dict(reply)

    def complete_upload(self, name: str, upload_id: str, sha256: str | None = None) -> UploadState:
        body = {} if sha256 is None else {"sha256": validate_sha256(sha256)}
        return UploadState.from_dict(
            self._post(f"{self._session_path(name, upload_id)}/complete", body)
        )

    def abort_upload(self, name: str, upload_id: str) -> None:
        self._request("DELETE", self._session_path(name, upload_id))

    def _session_path(self, name: str, upload_id: str) -> str:
        return f"{self._uploads_path(name)}/{check_upload_id(upload_id)}"

    def _send_in_parts(
        self,
        name: str,
        source: Path,
        *,
        part_size: int | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Upload `source` for a version of `name`; the id of the complete session."""
        info = source.stat()
        memo = _Memo(self.cache_dir, self.url, name, source, info)
        state = self._resumed(name, memo.recall(), info.st_size, part_size)
        if state is None:
            state = self.start_upload(name, info.st_size, part_size=part_size)
            memo.keep(state.session.id)
        self._send_parts(name, source, state, progress)
        # No digest of the whole file is sent: the server checked each part against the
        # SHA-256 computed here, so the file it hashes is this one byte for byte.
        self.complete_upload(name, state.session.id)
        memo.forget()
        return state.session.id

    def _resumed(
        self, name: str, upload_id: str | None, size: int, part_size: int | None
    ) -> UploadState | None:
        """The session a previous run left, if the server still holds it for this file."""
        if upload_id is None:
            return None
        try:
            state = self.upload(name, upload_id)
        except (NotFound, InvalidInput):  # lapsed, or a kept id that is not one
            return None
        session = state.session
        if session.size != size or (part_size is not None and session.part_size != part_size):
            return None
        return state

    def _send_parts(
        self, name: str, source: Path, state: UploadState, progress: Progress | None
    ) -> None:
        """Send every part the server does not hold (a part held with other bytes, from a
        file since changed, is sent again), `IN_FLIGHT` at once: the next part is on its
        way while the server syncs the last one and answers."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        url = f"{self.url}{self._session_path(name, state.session.id)}/parts/"
        held = {p.number: p.sha256 for p in state.parts}
        parts = _Parts(source, state.session)
        flight: dict[Future[Any], memoryview] = {}

        def land(done: set[Future[Any]]) -> None:
            for future in done:
                data = flight.pop(future)
                future.result()  # a part that failed for good raises here
                if progress is not None:
                    progress(len(data))
                parts.release(data)

        with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="modelrepo-send") as senders:
            try:
                for number, data, sha in parts:
                    if held.get(number) == sha.hex():
                        flight[_done()] = data
                    else:
                        flight[senders.submit(self._send_part, url + str(number), data, sha)] = data
                    while len(flight) >= IN_FLIGHT:
                        done, _ = wait(flight, return_when=FIRST_COMPLETED)
                        land(done)
                while flight:
                    done, _ = wait(flight, return_when=FIRST_COMPLETED)
                    land(done)
            except BaseException:
                for future in flight:
                    future.cancel()
                raise

    def _send_part(self, url: str, data: memoryview, sha: bytes) -> dict[str, Any]:
        """PUT one part, again after a dropped connection or a digest refused (the bytes
        damaged on the way), up to `retries` times in a row."""
        import httpx

        headers = {
            "Content-Digest": f"sha-256=:{base64.b64encode(sha).decode()}:",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(data)),  # sent as it is, not chunked
        }
        for attempt in range(1, self.retries + 1):
            try:
                reply = self._client.put(
                    url, content=_pieces(data), headers={**self._headers, **headers}
                )
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise StorageError(f"sending a part to {self.url} failed: {exc}") from exc
                time.sleep(0.1 * 2**attempt)
                continue
            if reply.status_code < 300:
                held: dict[str, Any] = reply.json()
                return held
            retry = reply.status_code >= 500 or (
                reply.status_code == 422 and "digest_mismatch" in reply.text
            )
            if not retry or attempt == self.retries:
                raise error_from_response(reply.status_code, reply.text)
            time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover


def _done() -> Future[Any]:
    """A part the server holds already, as a send that has finished."""
    from concurrent.futures import Future

    future: Future[Any] = Future()
    future.set_result(None)
    return future


def _pieces(data: memoryview) -> Iterator[bytes]:
    """The part in pieces of `SEND_PIECE` bytes: the HTTP library copies what it sends
    (to frame it), and a small piece is copied while it is still in the CPU's cache."""
    for start in range(0, len(data), SEND_PIECE):
        yield cast(bytes, data[start : start + SEND_PIECE])  # bytes-like: sent as it is


class _Parts:
    """(number, bytes, SHA-256) of each part of a session's file, read and hashed on a
    thread of their own, `READ_AHEAD` parts ahead of the one being sent. The bytes are a
    view of one of a few buffers used over and over (a new one per part would cost a page
    fault per page): each is read into again once `release` gives it back."""

    def __init__(self, source: Path, session: UploadSession) -> None:
        self.source = source
        self.session = session
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._made = 0

    def release(self, view: memoryview) -> None:
        """The part's bytes are sent: its buffer may be read into again."""
        buffer = view.obj
        view.release()
        assert isinstance(buffer, bytearray)
        self._free.put(buffer)

    def _buffer(self, stop: threading.Event) -> bytearray | None:
        if self._made < READ_AHEAD + 2:
            self._made += 1
            return bytearray(max(1, min(self.session.part_size, self.session.size)))
        while not stop.is_set():
            with contextlib.suppress(queue.Empty):
                return self._free.get(timeout=0.1)
        return None

    def __iter__(self) -> Iterator[tuple[int, memoryview, bytes]]:
        ready: queue.Queue[tuple[int, memoryview, bytes] | BaseException | None]
        ready = queue.Queue(READ_AHEAD)
        stop = threading.Event()

        def hand(item: tuple[int, memoryview, bytes] | BaseException | None) -> None:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    ready.put(item, timeout=0.1)
                    return

        def read() -> None:
            try:
                with open(self.source, "rb", buffering=0) as stream:
                    for number in range(1, self.session.part_count + 1):
                        buffer = self._buffer(stop)
                        if buffer is None:
                            return
                        view = memoryview(buffer)[: self.session.part_span(number)[1]]
                        got = 0
                        while got < len(view) and (n := stream.readinto(view[got:])):
                            got += n
                        if got != len(view):
                            raise InvalidInput(f"{self.source} shrank while it was being sent")
                        hand((number, view, hashlib.sha256(view).digest()))
                    if stream.read(1):
                        raise InvalidInput(f"{self.source} grew while it was being sent")
                hand(None)
            except BaseException as exc:  # handed to the sender, which raises it
                hand(exc)

        reader = threading.Thread(target=read, name="modelrepo-read-parts", daemon=True)
        reader.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            reader.join()


class _Memo:
    """Which session a file's upload to a server's model is, kept between runs."""

    def __init__(
        self, cache: Path, server: str, model: str, source: Path, info: os.stat_result
    ) -> None:
        key = json.dumps(
            [server, model, str(source.absolute()), info.st_size, info.st_mtime_ns]
        ).encode()
        self._path = cache / "uploads" / f"{hashlib.sha256(key).hexdigest()}.json"

    def recall(self) -> str | None:
        try:
            found = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return None
        upload_id = found.get("id") if isinstance(found, dict) else None
        return upload_id if isinstance(upload_id, str) else None

    def keep(self, upload_id: str) -> None:
        with contextlib.suppress(OSError):
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"id": upload_id}))
            os.replace(tmp, self._path)

    def forget(self) -> None:
        with contextlib.suppress(OSError):
            self._path.unlink(missing_ok=True)
