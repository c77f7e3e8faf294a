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
from typing import TYPE_CHECKING, Any

from ..domain.errors import InvalidInput, NotFound, StorageError
from .client import ServerClient, error_from_response

if TYPE_CHECKING:
    from ..ports import Progress

RESUMABLE_FROM = 64 << 20
"""Files this large or larger are sent in parts; smaller ones go in the registration."""
READ_AHEAD = 2  # parts read and hashed ahead of the one being sent


class PartUploads(ServerClient):
    """Sending one file as a resumable upload session of a model."""

    cache_dir: Path

    def _uploads_path(self, name: str) -> str:
        return f"{self._model_path(name)}/uploads"

    def send_in_parts(
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
            body: dict[str, Any] = {"size": info.st_size}
            if part_size is not None:
                body["part_size"] = part_size
            state = self._post(self._uploads_path(name), body)
            memo.keep(state["id"])
        held = {p["number"]: p["sha256"] for p in state["parts"]}
        whole = self._send_parts(name, source, state, held, progress)
        try:
            self._post(f"{self._uploads_path(name)}/{state['id']}/complete", {"sha256": whole})
        except InvalidInput:
            memo.forget()  # the parts held do not make this file: start over next time
            raise
        memo.forget()
        return str(state["id"])

    def _resumed(
        self, name: str, upload_id: str | None, size: int, part_size: int | None
    ) -> dict[str, Any] | None:
        """The session a previous run left, if the server still holds it for this file."""
        if upload_id is None:
            return None
        try:
            state: dict[str, Any] = self._get(f"{self._uploads_path(name)}/{upload_id}")
        except NotFound:
            return None
        if state["size"] != size or (part_size is not None and state["part_size"] != part_size):
            return None
        return state

    def _send_parts(
        self,
        name: str,
        source: Path,
        state: dict[str, Any],
        held: dict[int, str],
        progress: Progress | None,
    ) -> str:
        """Send every part the server does not hold; the whole file's SHA-256."""
        url = f"{self.url}{self._uploads_path(name)}/{state['id']}/parts/"
        parts = _Parts(source, state["size"], state["part_size"])
        for number, data, sha in parts:
            if held.get(number) != sha.hex():
                self._send_part(url + str(number), data, sha)
            if progress is not None:
                progress(len(data))
        return parts.sha256

    def _send_part(self, url: str, data: bytes, sha: bytes) -> None:
        """PUT one part, again after a dropped connection or a digest refused (the bytes
        damaged on the way), up to `retries` times in a row."""
        import httpx

        headers = {
            "Content-Digest": f"sha-256=:{base64.b64encode(sha).decode()}:",
            "Content-Type": "application/octet-stream",
        }
        for attempt in range(1, self.retries + 1):
            try:
                reply = self._client.put(url, content=data, headers={**self._headers, **headers})
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise StorageError(f"sending a part to {self.url} failed: {exc}") from exc
                time.sleep(0.1 * 2**attempt)
                continue
            if reply.status_code < 300:
                return
            retry = reply.status_code >= 500 or (
                reply.status_code == 422 and "digest_mismatch" in reply.text
            )
            if not retry or attempt == self.retries:
                raise error_from_response(reply.status_code, reply.text)
            time.sleep(0.1 * 2**attempt)


class _Parts:
    """(number, bytes, SHA-256) of each part of a file, read and hashed on a thread of
    their own (`READ_AHEAD` parts ahead), which also hashes the whole file (`sha256`, once
    every part has been given)."""

    def __init__(self, source: Path, size: int, part_size: int) -> None:
        self.source = source
        self.size = size
        self.part_size = part_size
        self.sha256 = ""

    def _length(self, number: int) -> int:
        return min(self.part_size, self.size - (number - 1) * self.part_size)

    def __iter__(self) -> Iterator[tuple[int, bytes, bytes]]:
        ready: queue.Queue[tuple[int, bytes, bytes] | BaseException | None]
        ready = queue.Queue(READ_AHEAD)
        stop = threading.Event()
        whole = hashlib.sha256()

        def hand(item: tuple[int, bytes, bytes] | BaseException | None) -> None:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    ready.put(item, timeout=0.1)
                    return

        def read() -> None:
            from concurrent.futures import ThreadPoolExecutor

            try:
                with (
                    open(self.source, "rb", buffering=0) as stream,
                    ThreadPoolExecutor(1, thread_name_prefix="modelrepo-hash") as beside,
                ):
                    count = max(1, -(-self.size // self.part_size))
                    for number in range(1, count + 1):
                        data = stream.read(self._length(number))
                        if len(data) != self._length(number):
                            raise InvalidInput(f"{self.source} shrank while it was being sent")
                        whole_done = beside.submit(whole.update, data)  # both hashes at once
                        part = hashlib.sha256(data).digest()
                        whole_done.result()
                        hand((number, data, part))
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
            self.sha256 = whole.hexdigest()
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
