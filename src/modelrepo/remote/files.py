"""Files moving between here and the server: downloads verified as they arrive, files read
over HTTP with byte ranges, uploads that report progress, and the local cache of loaded
versions."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..api.versions import VersionsAPI
from ..domain.errors import (
    Conflict,
    CorruptBlobError,
    IntegrityError,
    InvalidInput,
    NotFound,
    StorageError,
)
from ..domain.manifest import FileEntry, manifest_digest
from ..domain.model import ModelVersion
from .client import ServerClient, error_from_response

if TYPE_CHECKING:
    import httpx

    from ..api.types import ProgressFactory
    from ..ports import Progress

CACHE_ENV = "MODELREPO_CACHE_DIR"
CHUNK = 1 << 20

_VERIFIED_HERE = {"verify": "false"}
"""Downloads are hashed here, so the server need not hash them as it sends them."""


def default_cache_dir() -> Path:
    """Where a remote registry keeps the versions it loads: $MODELREPO_CACHE_DIR, else the
    user's cache folder ($XDG_CACHE_HOME or ~/.cache) /modelrepo."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "modelrepo"


def _cached_copy_matches(folder: Path, files: Sequence[FileEntry]) -> bool:
    """Whether `folder` holds exactly the manifest's files, byte for byte."""
    wanted = {f.path: f for f in files}
    found = {
        "/".join(p.relative_to(folder).parts)
        for p in folder.rglob("*")
        if p.is_file() or p.is_symlink()
    }
    if found != set(wanted):
        return False
    for rel, entry in wanted.items():
        path = folder.joinpath(*rel.split("/"))
        if path.is_symlink() or path.stat().st_size != entry.size:
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            while block := stream.read(CHUNK):
                digest.update(block)
        if digest.hexdigest() != entry.sha256:
            return False
    return True


class _RangeReader(io.RawIOBase):
    """A file of a version read over HTTP: sequential reads stream one response, a seek
    starts a new one at that offset (`Range: bytes=N-`)."""

    def __init__(self, remote: ServerClient, url: str, size: int) -> None:
        super().__init__()
        self._remote = remote
        self._url = url
        self._size = size
        self._pos = 0
        self._reply: httpx.Response | None = None
        self._blocks: Iterator[bytes] | None = None
        self._pending = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError("negative seek position")
        if target != self._pos:
            self._drop()
            self._pos = target
        return self._pos

    def _open(self) -> None:
        headers = dict(self._remote._headers)
        if self._pos:
            headers["Range"] = f"bytes={self._pos}-"
        client = self._remote._client
        reply = client.send(client.build_request("GET", self._url, headers=headers), stream=True)
        if reply.status_code >= 400:
            reply.read()
            reply.close()
            raise error_from_response(reply.status_code, reply.text)
        if self._pos and reply.status_code != 206:
            reply.close()
            raise StorageError(f"{self._url}: the server ignored the byte range")
        self._reply, self._blocks = reply, reply.iter_bytes(CHUNK)

    def _drop(self) -> None:
        if self._reply is not None:
            self._reply.close()
        self._reply, self._blocks, self._pending = None, None, b""

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size:
            return 0
        if not self._pending:
            if self._blocks is None:
                self._open()
            assert self._blocks is not None
            self._pending = next(self._blocks, b"")
            if not self._pending:
                raise StorageError(f"{self._url}: the server sent fewer bytes than the file has")
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._pos += count
        return count

    def close(self) -> None:
        self._drop()
        super().close()


def _check_resumed_at(reply: httpx.Response, offset: int, size: int) -> None:
    """A 206 must be the rest of the file from `offset`: other bytes would be spliced in."""
    wanted = f"bytes {offset}-{size - 1}/{size}"
    if reply.headers.get("content-range") != wanted:
        raise StorageError(
            f"{reply.request.url}: asked for {wanted}, the server sent "
            f"{reply.headers.get('content-range')!r}"
        )


class _Furthest:
    """Reports only bytes beyond the furthest point reported before: a file fetched again
    from its start does not count its first part twice."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._furthest = 0
        self.at = 0

    def __call__(self, count: int) -> None:
        self.at += count
        if self.at > self._furthest:
            self._progress(self.at - self._furthest)
            self._furthest = self.at


class _Counting:
    """A file opened for upload that reports bytes read to a progress callback."""

    def __init__(self, stream: BinaryIO, progress: Progress) -> None:
        self._stream = stream
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        block = self._stream.read(size)
        if block:
            self._progress(len(block))
        return block

    def fileno(self) -> int:
        return self._stream.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


class VersionFiles(ServerClient, VersionsAPI):
    """A version's files read from the server, every byte checked here against the
    manifest, and the manifest against the version's digest."""

    cache_dir: Path

    def _readable(self, name: str, version: int) -> ModelVersion:
        found = ModelVersion.from_dict(self._get(self._version_path(name, version)))
        if found.deleted_at is not None:
            raise Conflict(f"version {found.ref} was deleted; its files are no longer kept")
        if manifest_digest(found.files) != found.digest:
            raise IntegrityError(
                f"{found.ref}: the manifest {self.url} sent does not hash to the version's "
                f"digest {found.digest}"
            )
        return found

    def _file_stream(
        self, found: ModelVersion, entry: FileEntry, offset: int
    ) -> contextlib.AbstractContextManager[httpx.Response]:
        """The file from byte `offset`: the rest only if it is still the manifest's file
        (`If-Range`), else the server sends it whole."""
        url = f"{self.url}{self._version_path(found.model, found.version)}/files/"
        url += urllib.parse.quote(entry.path, safe="/")
        headers = dict(self._headers)
        if offset:
            headers["Range"] = f"bytes={offset}-"
            headers["If-Range"] = f'"sha256:{entry.sha256}"'
        return self._client.stream("GET", url, params=_VERIFIED_HERE, headers=headers)

    def _fetch(
        self,
        found: ModelVersion,
        entry: FileEntry,
        start: Callable[[], Callable[[memoryview], object]],
        progress: Progress | None,
    ) -> None:
        """Stream one file into the sink `start()` gives, hashing it on one thread while the
        sink takes it on another (SHA-256 is the slowest step); the bytes must match the
        manifest. A broken connection resumes where it stopped (a range of the same file);
        only if the server sends the file whole instead is `start()` called again, to start
        over. `retries` bounds the attempts in a row that get no further than before, so a
        transfer that keeps moving is never given up."""
        import httpx

        from ..streams import PipelinedWriter

        counted = _Furthest(progress) if progress is not None else None
        pipe = PipelinedWriter(start(), progress=counted)
        furthest = stalled = 0
        try:
            while True:
                offset = pipe.taken
                try:
                    with self._file_stream(found, entry, offset) as reply:
                        if reply.status_code >= 400:
                            reply.read()
                            raise error_from_response(reply.status_code, reply.text)
                        if offset and reply.status_code != 206:  # changed, or no ranges
                            pipe.abort()
                            if counted is not None:
                                counted.at = 0
                            pipe = PipelinedWriter(start(), progress=counted)
                        elif offset:
                            _check_resumed_at(reply, offset, entry.size)
                        for block in reply.iter_bytes():
                            pipe.write(block)
                    if pipe.taken < entry.size:
                        raise httpx.RemoteProtocolError("the body ended short of the file")
                    break
                except httpx.TransportError as exc:
                    if pipe.taken >= entry.size and pipe.taken > offset:
                        break  # every byte is here; the connection broke at its close
                    stalled = 1 if pipe.taken > furthest else stalled + 1
                    furthest = max(furthest, pipe.taken)
                    if stalled >= self.retries:
                        raise StorageError(
                            f"{found.ref}: downloading {entry.path!r} from {self.url} failed "
                            f"at byte {pipe.taken} of {entry.size}: {exc}"
                        ) from exc
                    time.sleep(0.1 * 2**stalled)
            sha, size = pipe.finish()
        except BaseException:
            pipe.abort()
            raise
        self._check_fetched(found, entry, sha, size)

    def _check_fetched(self, found: ModelVersion, entry: FileEntry, sha: str, size: int) -> None:
        if sha != entry.sha256 or size != entry.size:
            raise CorruptBlobError(
                f"{found.ref}: file {entry.path!r} from {self.url} does not match its manifest "
                f"(expected sha256 {entry.sha256}, got {sha})",
                path=entry.path,
                digest=entry.sha256,
            )

    def read_file(self, name: str, version: int, path: str) -> bytes:
        # Fetched whole and verified here, against the manifest the server sent.
        found = self._readable(name, version)
        entry = next((f for f in found.files if f.path == path), None)
        if entry is None:
            raise InvalidInput(f"version {found.ref} has no file {path!r}")
        chunks: list[bytes] = []

        def start() -> Callable[[memoryview], object]:
            chunks.clear()
            return lambda piece: chunks.append(bytes(piece))  # the pipeline reuses its buffers

        self._fetch(found, entry, start, None)
        return b"".join(chunks)

    def download(
        self,
        name: str,
        version: int,
        dest: str | os.PathLike[str],
        *,
        progress: ProgressFactory | None = None,
        verify_signature: bool = False,
    ) -> Path:
        # Every byte is verified here, as it arrives, against the manifest the server sent;
        # the signature here too, against the keys the server trusts.
        from ..loading import signature_files
        from ..streams import DirectFileSink, write_folder

        found = self._readable(name, version)
        beside = signature_files(self, found, required=verify_signature)

        def write(entry: FileEntry, path: Path, callback: Progress | None) -> None:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            sinks: list[DirectFileSink] = []  # the last one holds the file

            def start() -> Callable[[memoryview], object]:
                for sink in sinks:
                    sink.close()
                sinks.clear()
                os.truncate(path, 0)
                sinks.append(DirectFileSink(path))
                return sinks[-1]

            try:
                self._fetch(found, entry, start, callback)
                sinks[-1].sync()
            finally:
                for sink in sinks:
                    sink.close()

        return write_folder(found.files, dest, write, progress, beside)

    def open_file(self, name: str, version: int, path: str) -> tuple[FileEntry, BinaryIO]:
        # Read over HTTP as the caller reads; a seek starts a new request at that byte range.
        found = self._readable(name, version)
        entry = next((f for f in found.files if f.path == path), None)
        if entry is None:
            raise NotFound(f"version {found.ref} has no file {path!r}")
        url = f"{self.url}{self._version_path(found.model, found.version)}/files/"
        url += urllib.parse.quote(entry.path, safe="/")
        return entry, io.BufferedReader(_RangeReader(self, url, entry.size), CHUNK)

    def _materialise(self, version: ModelVersion) -> Path:
        """A verified copy of the version's files in the local cache, by digest; a copy
        found there is checked against the manifest again before it is used."""
        import shutil

        cache = self.cache_dir.absolute() / version.digest.replace(":", "-")
        if cache.exists():
            if _cached_copy_matches(cache, version.files):
                return cache
            shutil.rmtree(cache)  # damaged or changed since: fetch it again
        try:
            self.download(version.model, version.version, cache)
        except Conflict:
            if not cache.exists():  # a concurrent loader won the race; anything else is real
                raise
        return cache
