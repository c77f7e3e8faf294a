"""A version upload (multipart/form-data), streamed into the store's blobs as it arrives.

The event loop only parses: `python-multipart` splits the body into parts, and each piece of
a part goes, uncopied, to the upload's thread (one of `UPLOAD_THREADS`, reused, as each keeps
its database sessions). That thread does everything that blocks:
it holds the store lock shared (so `gc` never removes an upload in flight), keeps small files
in memory, pushes the others into blob writers (which hash on a thread of their own, beside
the write), and finally registers the version. Nothing is visible until then: a body that
fails, is cut off, or passes the size limit leaves no version, no blob and no staged file.

The backlog between the two is bounded: the loop stops reading the body while more than
`HIGH_WATER` bytes wait for the thread, so a slow disk slows the client, never fills memory.
"""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from ..api.types import StagedFile
from ..domain.errors import InvalidInput
from ..domain.manifest import PathTree, validate_relative_path
from ..domain.model import ModelVersion
from ..ports import BlobWriter
from ..registry import Registry
from ..registry.core import INLINE_MAX, INLINE_TOTAL_MAX
from .schemas import RegisterIn

UPLOAD_THREADS = 16
HIGH_WATER = 16 << 20
LOW_WATER = 8 << 20
MAX_FILES = 10_000
MAX_METADATA = 1_000_000
FILES_FIELD = "files"
METADATA_FIELD = "metadata"


class UnsupportedBody(Exception):
    """The body is not multipart/form-data with a boundary (HTTP 415)."""


class BrokenBody(Exception):
    """The body claims to be multipart/form-data but cannot be parsed as such (HTTP 400)."""


@dataclass
class _Part:
    filename: str | None
    data: bytearray = field(default_factory=bytearray)
    writer: BlobWriter | None = None


_Event = tuple[str, Any]  # ("begin", (field, filename)) | ("data", bytes) | ("end", None) ...


class VersionUpload:
    """One upload of `name` by `registry`'s user; `receive` drives it from the event loop.
    With `idempotency_key`, an upload repeated with that key answers the version the first
    made (see `Registry.register`)."""

    def __init__(
        self,
        registry: Registry,
        name: str,
        idempotency_key: str | None = None,
        *,
        check: Callable[[RegisterIn], None] | None = None,
    ) -> None:
        self.registry = registry
        self.name = name
        self.idempotency_key = idempotency_key
        self.check = check  # what the caller may not ask for, refused before registering
        self._events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._backlog = 0
        self._room: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chunk: bytes = b""
        self._ended = False
        self._abandoned = False
        self._paths = PathTree()

    # -- the event loop's side -------------------------------------------------------------

    async def receive(self, content_type: str | None, body: AsyncIterator[bytes]) -> ModelVersion:
        """Parse `body` into parts for the upload thread; the registered version."""
        boundary, charset = _boundary(content_type)
        self._loop = asyncio.get_running_loop()
        job = _pool().submit(self._run)
        done = asyncio.wrap_future(job)
        parser = MultipartParser(boundary, cast("Any", self._callbacks(charset)))
        try:
            async for chunk in body:
                if done.done():  # the thread stopped early: its error is the answer
                    break
                self._chunk = chunk
                parser.write(chunk)
                room = self._reserve(0)
                if room is not None:
                    await room.wait()
            else:
                parser.finalize()
                if not self._ended:  # the parser accepts a body cut off mid-part
                    raise FormParserError("the body ends before its closing boundary")
                self._send(("complete", None))
        except FormParserError as exc:
            await self._abandon(job, done)
            raise BrokenBody(f"the body is not valid multipart/form-data: {exc}") from None
        except BaseException:
            await self._abandon(job, done)
            raise
        return await done

    def _callbacks(self, charset: str) -> dict[str, Callable[..., None]]:
        headers: dict[bytes, bytes] = {}
        pending = {"name": b"", "value": b""}

        def on_header_field(data: bytes, start: int, end: int) -> None:
            pending["name"] += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            pending["value"] += data[start:end]

        def on_header_end() -> None:
            headers[pending["name"].lower()] = pending["value"]
            pending["name"] = pending["value"] = b""

        def on_headers_finished() -> None:
            _, options = parse_options_header(headers.get(b"content-disposition", b""))
            headers.clear()
            if b"name" not in options:
                raise InvalidInput('a part has no Content-Disposition "name"')
            name = _decode(options[b"name"], charset)
            filename = _decode(options[b"filename"], charset) if b"filename" in options else None
            self._send(("begin", (name, filename)))

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if end <= start:
                return
            # A piece of the chunk just read is passed on as it is; the parser's own buffer
            # (a boundary look-alike it held back) is reused, so that is copied.
            piece = memoryview(data)[start:end] if data is self._chunk else bytes(data[start:end])
            self._send(("data", piece), len(piece))

        def on_part_end() -> None:
            self._send(("end", None))

        def on_end() -> None:
            self._ended = True

        return {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        }

    async def _abandon(
        self, job: concurrent.futures.Future[ModelVersion], done: asyncio.Future[ModelVersion]
    ) -> None:
        """Stop the upload thread and wait until it has removed what it staged."""
        self._abandoned = True
        self._events.put(("abort", None))
        if job.cancel():  # it never started: nothing was staged
            return
        with contextlib.suppress(BaseException):
            await done

    def _send(self, event: _Event, size: int = 0) -> None:
        if size:
            self._reserve(size)
        self._events.put(event)

    def _reserve(self, size: int) -> asyncio.Event | None:
        """Count `size` more bytes waiting; an event to await if the backlog is too high."""
        with self._lock:
            self._backlog += size
            if self._backlog > HIGH_WATER:
                if self._room is None:
                    self._room = asyncio.Event()
                return self._room
        return None

    # -- the upload thread -----------------------------------------------------------------

    def _release(self, size: int, *, everything: bool = False) -> None:
        with self._lock:
            self._backlog = 0 if everything else self._backlog - size
            room = self._room if self._backlog <= LOW_WATER else None
            if room is not None:
                self._room = None
        if room is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(room.set)

    def _run(self) -> ModelVersion:
        try:
            return self._ingest()
        except BaseException:
            self._release(0, everything=True)  # the loop must not wait for room any more
            raise

    def _ingest(self) -> ModelVersion:
        parts: list[_Part] = []
        metadata = bytearray()
        inline_total = 0
        current: _Part | None = None
        with contextlib.ExitStack() as stack:
            stack.callback(_abort_all, parts)
            writer: Callable[[], BlobWriter] | None = None  # opened on the first large file
            while True:
                kind, value = self._events.get()
                if self._abandoned:
                    raise _Abandoned()
                if kind == "data":
                    assert current is not None
                    if current.filename is None:
                        metadata += value
                        if len(metadata) > MAX_METADATA:
                            raise InvalidInput(f"metadata is longer than {MAX_METADATA} bytes")
                    elif current.writer is not None:
                        current.writer.write(value)
                    else:
                        current.data += value
                        if len(current.data) > INLINE_MAX or (
                            inline_total + len(current.data) > INLINE_TOTAL_MAX
                        ):
                            if writer is None:  # gc removes staged uploads: not while this runs
                                writer = stack.enter_context(self.registry.staging())
                            current.writer = writer()
                            current.writer.write(current.data)
                            current.data = bytearray()
                    self._release(len(value))
                elif kind == "begin":
                    current = self._begin(value, parts)
                elif kind == "end":
                    if current is not None and current.filename is not None:
                        if current.writer is not None:
                            current.writer.finish()
                        else:
                            inline_total += len(current.data)
                    current = None
                elif kind == "complete":
                    meta = parse_metadata(_decode(bytes(metadata), "utf-8") if metadata else "{}")
                    if self.check is not None:
                        self.check(meta)
                    return self._register(parts, meta)
                else:  # abort: the body failed on the loop's side
                    raise _Abandoned()

    def _begin(self, value: tuple[str, str | None], parts: list[_Part]) -> _Part:
        name, filename = value
        if filename is None:
            if name != METADATA_FIELD:
                raise InvalidInput(f"unexpected form field {name!r}: only {METADATA_FIELD!r}")
            return _Part(None)
        if name != FILES_FIELD:
            raise InvalidInput(f"unexpected file field {name!r}: files go in {FILES_FIELD!r}")
        if len(parts) >= MAX_FILES:
            raise InvalidInput(f"too many files: at most {MAX_FILES} in one version")
        rel = validate_relative_path(filename)
        if not self._paths.add(rel):
            raise InvalidInput(f"file {rel!r} is given twice or is also a folder")
        part = _Part(rel)
        parts.append(part)
        return part

    def _register(self, parts: list[_Part], meta: RegisterIn) -> ModelVersion:
        if not parts and not meta.uploads:
            raise InvalidInput(f"no files: send at least one {FILES_FIELD!r} part")
        sent = {validate_relative_path(rel): upload for rel, upload in meta.uploads.items()}
        for rel in sent:
            if not self._paths.add(rel):
                raise InvalidInput(f"file {rel!r} is given twice or is also a folder")
        paths = {p.filename for p in parts} | set(sent)
        for rel in meta.executable:
            if rel not in paths:
                raise InvalidInput(f"executable {rel!r} is not one of the uploaded files")
        executable = set(meta.executable)
        files = [
            StagedFile(
                p.filename or "",
                p.writer if p.writer is not None else bytes(p.data),
                p.filename in executable,
            )
            for p in parts
        ]
        files += [
            StagedFile(rel, self.registry.staged_upload(self.name, upload), rel in executable)
            for rel, upload in sent.items()
        ]
        version = self.registry.register_stored(
            self.name,
            files,
            **meta.options(),
            idempotency_key=self.idempotency_key,
        )
        parts.clear()  # committed: nothing left to abort
        return version


class _Abandoned(Exception):
    """The body ended badly; the loop raises its own error."""


def _abort_all(parts: list[_Part]) -> None:
    for part in parts:
        if part.writer is not None:
            part.writer.abort()


_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """The threads uploads run on, reused: each keeps its own database sessions (for the
    store lock and the metadata), so a thread per upload would open new ones every time.
    An upload beyond `UPLOAD_THREADS` at once waits for a thread, its body unread."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = concurrent.futures.ThreadPoolExecutor(
                UPLOAD_THREADS, thread_name_prefix="modelrepo-upload"
            )
        return _POOL


def _boundary(content_type: str | None) -> tuple[bytes, str]:
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise UnsupportedBody("send the files as multipart/form-data (with a boundary)")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        return params[b"boundary"], codecs.lookup(charset).name
    except LookupError:
        return params[b"boundary"], "latin-1"


def _decode(value: bytes, charset: str) -> str:
    try:
        return value.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return value.decode("latin-1")


def parse_metadata(metadata: str) -> RegisterIn:
    """The `metadata` form part of an upload; data references must be remote URIs."""
    try:
        meta = RegisterIn.model_validate_json(metadata)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"metadata {where}: {first['msg']}".rstrip(": ")) from None
    check_data_refs(meta)
    return meta


def check_data_refs(meta: RegisterIn) -> None:
    for ref in meta.data:
        uri = ref.partition("#")[0]
        if "://" not in uri or uri.lower().startswith("file://"):
            raise InvalidInput(f"data reference {uri!r}: give a remote URI (s3://, https://, ...)")
