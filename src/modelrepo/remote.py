"""A registry on a modelrepo server: the embedded registry's methods, over the HTTP API.

`Registry("https://registry.example.com", token=...)` returns a `RemoteRegistry`. Answers
are parsed back into the same domain objects and errors into the same exception classes.
Nothing the server sends is taken on trust where it can be checked: every downloaded file
is hashed locally against the manifest, and the manifest against the version's digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import ipaddress
import json
import os
import stat
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

from . import auditing
from .api.arguments import check_signature as _check_signature
from .api.arguments import collect_files as _collect_files
from .api.arguments import files_digest as _files_digest
from .api.arguments import is_remote, parse_data_ref
from .api.arguments import optional_time as _optional_time
from .api.types import DataInput, FsckReport, GcReport, ProgressFactory
from .clock import SystemClock
from .domain.access import (
    ApiToken,
    check_pattern,
    check_role,
    check_token_id,
    check_user,
)
from .domain.decisions import Decision
from .domain.denials import Denial
from .domain.deployments import (
    DeploymentOutcome,
    DeploymentRequest,
    Environment,
    Interval,
    LiveState,
    check_environment_name,
    normalise_split,
    timeline,
)
from .domain.errors import (
    ApprovalRequired,
    Conflict,
    CorruptBlobError,
    Forbidden,
    HistoryMoved,
    IntegrityError,
    InvalidInput,
    ModelrepoError,
    NotFound,
    NotSupported,
    StorageError,
    StoreNotFound,
    Unauthenticated,
)
from .domain.manifest import FileEntry, manifest_digest
from .domain.model import (
    CodeRef,
    JSONValue,
    Model,
    ModelEvent,
    ModelVersion,
    VersionEvent,
    check_description,
    check_metrics,
    check_params,
    check_tags,
    unchanged_latest,
)
from .domain.names import check_version as _number
from .domain.names import (
    parse_ref,
    validate_flavor,
    validate_idempotency_key,
    validate_key,
    validate_model_name,
)
from .domain.times import format_time
from .domain.webhooks import Attempt, Delivery, Webhook
from .flavors import check_files
from .ports import Clock, Progress
from .registry import Registry

if TYPE_CHECKING:
    import httpx

    from .domain.deployments import DeploymentEvent
    from .domain.diff import VersionDiff
    from .domain.filters import Filter
    from .stores import Backend

API = "/api/v1"
CACHE_ENV = "MODELREPO_CACHE_DIR"
PAGE = 1000
CHUNK = 1 << 20
INSECURE_ENV = "MODELREPO_ALLOW_INSECURE_HTTP"

_BY_CODE: dict[str, type[ModelrepoError]] = {
    kind.code: kind
    for kind in (
        InvalidInput,
        NotSupported,
        NotFound,
        StoreNotFound,
        Conflict,
        ApprovalRequired,
        HistoryMoved,
        Unauthenticated,
        Forbidden,
        StorageError,
        IntegrityError,
    )
}
_BY_STATUS: dict[int, type[ModelrepoError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    416: InvalidInput,
    422: InvalidInput,
    503: StorageError,
}


_VERIFIED_HERE = {"verify": "false"}
"""Downloads are hashed here, so the server need not hash them as it sends them."""


def error_from_response(status: int, text: str) -> ModelrepoError:
    """The exception the server's `{code, message}` stands for (by code, else by status)."""
    code, message = "", text.strip()[:500]
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        code = str(document.get("code") or "")
        message = str(document.get("message") or message)
    kind = _BY_CODE.get(code) or _BY_STATUS.get(status) or ModelrepoError
    if kind is ModelrepoError:
        message = f"the server answered {status}: {message or 'no details'}"
    return kind(message)


def check_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """The server's base URL, without a trailing slash; plain http only to this machine
    (anything else would send the API token in clear) unless explicitly allowed."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"invalid server URL {url!r}: expected http(s)://host[:port]")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(
            f"invalid server URL {url!r}: no credentials, query or fragment (give the token "
            "with token= or $MODELREPO_TOKEN)"
        )
    allowed = allow_insecure_http or os.environ.get(INSECURE_ENV, "").lower() in ("1", "true")
    if parts.scheme.lower() == "http" and not allowed and not _loopback(parts.hostname):
        raise InvalidInput(
            f"refusing plain http to {parts.hostname}: the API token would travel in clear; "
            f"use https://, or allow it explicitly (allow_insecure_http=True or {INSECURE_ENV}=1)"
        )
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, "", "")).rstrip(
        "/"
    )


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _idempotency_key(given: str | None) -> str:
    """The key a registration is sent with: the caller's, checked, else a new random one
    (the same for every attempt of this call)."""
    import uuid

    return uuid.uuid4().hex if given is None else validate_idempotency_key(given)


_IMPORT_TYPES = {
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".json": "application/x-ndjson",
    ".parquet": "application/vnd.apache.parquet",
    ".pq": "application/vnd.apache.parquet",
}
"""How a decisions file is sent, by its suffix (as `Registry.import_decisions` reads it)."""


def _wire_time(value: Any) -> str | None:
    """A decision time as sent: ISO text as given, a datetime with a zone in UTC; refused
    as the store refuses it (no zone, not a time)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput(f"decision time {value.isoformat()} has no time zone")
        return format_time(value)
    raise InvalidInput(f"invalid decision time {value!r}")


def _time_param(value: datetime | str | None, what: str) -> str | None:
    checked = _optional_time(value, what)
    return format_time(checked) if checked else None


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

    def __init__(self, remote: RemoteRegistry, url: str, size: int) -> None:
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


class RemoteRegistry(Registry):
    """A registry served by `modelrepo serve`, used through its HTTP API.

    The identity is the API token's user (`token=`, else $MODELREPO_TOKEN); every change is
    recorded under it by the server. GETs are retried on connection errors; changes are
    retried only when the connection could not be made at all (nothing was sent), except
    registrations: each carries an idempotency key (`Idempotency-Key`), so one whose answer
    was lost is sent again with the same key, and the server answers the version the first
    attempt made rather than making a second.
    Loading (`load`, `load_live`) downloads the version's files, verified, into `cache_dir`
    (default $MODELREPO_CACHE_DIR, else ~/.cache/modelrepo) and loads them here.
    Operations the server does not offer raise `NotSupported`."""

    def __init__(
        self,
        store: str | os.PathLike[str] | Backend | None = None,
        *,
        database_url: str | None = None,
        blob_url: str | None = None,
        user: str | None = None,
        clock: Clock | None = None,
        create: bool = True,
        checkpoint_every: int = 1000,
        checkpoint_interval: float = 3600.0,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        token: str | None = None,
        allow_insecure_http: bool = False,
        timeout: float = 60.0,
        retries: int = 3,
        client: httpx.Client | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        import httpx

        if store is None:
            store = os.environ.get("MODELREPO_STORE")
        if not is_remote(store):
            raise InvalidInput(f"not a server URL: {store!r}")
        if database_url or blob_url or checkpoint_dir:
            raise InvalidInput(
                "a remote registry keeps its own store: no database, blob or checkpoint settings"
            )
        assert isinstance(store, str)
        self.url = check_url(store, allow_insecure_http=allow_insecure_http)
        self.clock = clock or SystemClock()
        self.retries = max(1, retries)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        secret = token or os.environ.get("MODELREPO_TOKEN")
        self._headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0))
        )
        try:
            me = self._get(f"{API}/whoami")
        except Unauthenticated as exc:
            self.close()
            if secret:
                raise
            # The server speaks of HTTP headers; here the token comes from the environment.
            raise Unauthenticated(
                f"the server at {self.url} needs an API token: set $MODELREPO_TOKEN (an admin "
                "makes one with `modelrepo token create`), or pass token="
            ) from exc
        except BaseException:
            self.close()
            raise
        self.user = str(me["user"])
        self.role: str = me["role"]
        self.model_pattern: str | None = me.get("model_pattern")
        if user is not None and user != self.user:
            self.close()
            raise InvalidInput(
                f"the identity on a remote registry is its API token's user ({self.user}), "
                f"not {user!r}: use a token of {user}"
            )

    # -- plumbing -------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        raise NotSupported(
            f"this needs direct access to the store; it is not available through the "
            f"server at {self.url} yet"
        )

    @backend.setter
    def backend(self, value: Backend) -> None:
        raise NotSupported("a remote registry has no backend")

    @property
    def location(self) -> str:
        return self.url

    @property
    def created_store(self) -> bool:
        return False

    def create_store(self) -> bool:
        """A server's store is made where it runs (`modelrepo init` there): nothing to do."""
        return False

    def as_user(self, user: str) -> Registry:
        raise NotSupported("a remote registry acts as its token's user: open it with that token")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        send: Callable[[contextlib.ExitStack[Any]], dict[str, Any]] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """One call, errors mapped to the registry's exceptions. A GET is retried on any
        connection error, and so is a change sent with an `idempotency_key` (the server
        answers a repeat with what the first attempt did); any other change only if the
        connection was never made. `send` gives each attempt its body anew."""
        import httpx

        query = {k: v for k, v in (params or {}).items() if v is not None}
        repeatable = method == "GET" or idempotency_key is not None
        for attempt in range(1, self.retries + 1):
            with contextlib.ExitStack() as stack:
                extra = send(stack) if send else ({"json": body} if body is not None else {})
                headers = {**self._headers, **extra.pop("headers", {})}
                if idempotency_key is not None:
                    headers["Idempotency-Key"] = idempotency_key
                try:
                    reply = self._client.request(
                        method, self.url + path, params=query, headers=headers, **extra
                    )
                except httpx.TransportError as exc:
                    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                    if (repeatable or never_sent) and attempt < self.retries:
                        time.sleep(0.1 * 2**attempt)
                        continue
                    raise StorageError(f"cannot reach the server at {self.url}: {exc}") from exc
            if reply.status_code >= 400:
                raise error_from_response(reply.status_code, reply.text)
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params).json()

    def _post(self, path: str, body: Any = None) -> Any:
        return self._request("POST", path, body=body).json()

    def _pages(self, path: str, limit: int | None = None, **params: Any) -> list[Any]:
        """Every item of a paginated list (or the first `limit`)."""
        items: list[Any] = []
        cursor = None
        while limit is None or len(items) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(items))
            page = self._get(path, **params, limit=size, cursor=cursor)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items

    @staticmethod
    def _model_path(name: str) -> str:
        return f"{API}/models/{_quote(validate_model_name(name))}"

    def _version_path(self, name: str, version: int) -> str:
        return f"{self._model_path(name)}/versions/{_number(version)}"

    def _env_path(self, name: str, env: str) -> str:
        return f"{self._model_path(name)}/environments/{_quote(check_environment_name(env))}"

    # -- registering ----------------------------------------------------------------------

    def register(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        params: Mapping[str, JSONValue] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        data: Iterable[DataInput] = (),
        description: str = "",
        flavor: str = "generic",
        signature: Mapping[str, JSONValue] | None = None,
        code: CodeRef | bool = True,
        environment: bool = True,
        progress: ProgressFactory | None = None,
        idempotency_key: str | None = None,
        if_changed: bool = False,
    ) -> ModelVersion:
        """Upload the file or folder at `path` as the next version of `name` (streamed from
        disk). The server records the Git commit found here; it does not record this
        machine's Python environment. Data references must be remote URIs. The upload
        carries `idempotency_key` (a new random one if none is given) and is sent again,
        files re-read from disk, if the connection fails before the answer arrives.
        `if_changed` as for the store's `register`: the files are hashed here first, and
        nothing is uploaded when the latest version holds exactly them."""
        key = _idempotency_key(idempotency_key)
        validate_model_name(name)
        validate_flavor(flavor)
        if not isinstance(description, str):
            raise InvalidInput("description must be a string")
        refs = [parse_data_ref(d) for d in data]
        for ref in refs:
            if ref.uri.startswith("file:"):
                raise InvalidInput(
                    f"data reference {ref.uri!r}: a remote registry records remote URIs only "
                    "(s3://, https://, ...)"
                )
        files = _collect_files(Path(path))
        check_files(flavor, [rel for rel, _ in files])  # as the server will, before the upload
        if if_changed:
            try:
                same = unchanged_latest(self.versions(name), _files_digest(files))
            except NotFound:  # the model's first version
                same = None
            if same is not None:
                return same
        from .lineage import capture_code

        code_ref = capture_code() if code is True else (code or None)
        metadata = {
            "params": dict(check_params(params)),
            "metrics": dict(check_metrics(metrics)),
            "tags": dict(check_tags(tags)),
            "data": [f"{r.uri}#{r.digest}" if r.digest else r.uri for r in refs],
            "description": description,
            "flavor": flavor,
            "signature": _check_signature(signature),
            "code": code_ref.to_dict() if code_ref else None,
            "executable": [rel for rel, p in files if p.stat().st_mode & stat.S_IXUSR],
        }

        def parts(stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            uploads: list[tuple[str, tuple[str, Any, str]]] = []
            for rel, source in files:
                stream: Any = stack.enter_context(open(source, "rb"))  # noqa: SIM115
                if progress is not None:
                    stream = _Counting(stream, progress(rel, os.fstat(stream.fileno()).st_size))
                uploads.append(("files", (rel, stream, "application/octet-stream")))
            return {"files": uploads, "data": {"metadata": json.dumps(metadata)}}

        reply = self._request(
            "POST", f"{self._model_path(name)}/versions", send=parts, idempotency_key=key
        )
        return ModelVersion.from_dict(reply.json())

    # -- reading --------------------------------------------------------------------------

    def models(self) -> list[Model]:
        return [Model.from_dict(m) for m in self._pages(f"{API}/models")]

    def model(self, name: str) -> Model:
        return Model.from_dict(self._get(self._model_path(name)))

    def get(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.from_dict(self._get(self._version_path(name, version)))

    def versions(
        self,
        name: str,
        where: Sequence[str | Filter] = (),
        *,
        include_deleted: bool = False,
    ) -> list[ModelVersion]:
        """A model's versions, oldest first, filtered here exactly as the embedded store does."""
        from .domain.filters import Filter, parse_filter, select

        filters = [w if isinstance(w, Filter) else parse_filter(w) for w in where]
        found = self._pages(
            f"{self._model_path(name)}/versions", include_deleted=include_deleted or None
        )
        return select([ModelVersion.from_dict(v) for v in found], filters)

    def events(self, name: str, version: int) -> list[VersionEvent]:
        found = self._get(f"{self._version_path(name, version)}/events")
        return [VersionEvent.from_dict(e) for e in found]

    def _readable(self, name: str, version: int) -> ModelVersion:
        found = self.get(name, version)
        if found.deleted_at is not None:
            raise Conflict(f"version {found.ref} was deleted; its files are no longer kept")
        if manifest_digest(found.files) != found.digest:
            raise IntegrityError(
                f"{found.ref}: the manifest {self.url} sent does not hash to the version's "
                f"digest {found.digest}"
            )
        return found

    def _file_stream(
        self, found: ModelVersion, entry: FileEntry
    ) -> contextlib.AbstractContextManager[httpx.Response]:
        url = f"{self.url}{self._version_path(found.model, found.version)}/files/"
        url += urllib.parse.quote(entry.path, safe="/")
        return self._client.stream("GET", url, params=_VERIFIED_HERE, headers=self._headers)

    def _fetch(
        self,
        found: ModelVersion,
        entry: FileEntry,
        start: Callable[[], Callable[[memoryview], object]],
        progress: Progress | None,
    ) -> None:
        """Stream one file into the sink `start()` gives (called again, to start over, if the
        connection breaks), hashing it on one thread while the sink takes it on another
        (SHA-256 is the slowest step); the bytes must match the manifest."""
        import httpx

        from .blobs._streams import PipelinedWriter

        for attempt in range(1, self.retries + 1):
            pipe = PipelinedWriter(start(), progress=progress)
            try:
                with self._file_stream(found, entry) as reply:
                    if reply.status_code >= 400:
                        reply.read()
                        raise error_from_response(reply.status_code, reply.text)
                    for block in reply.iter_bytes():
                        pipe.write(block)
                sha, size = pipe.finish()
            except httpx.TransportError as exc:
                pipe.abort()
                if attempt == self.retries:
                    raise StorageError(
                        f"{found.ref}: downloading {entry.path!r} from {self.url} failed: {exc}"
                    ) from exc
                time.sleep(0.1 * 2**attempt)
                continue
            except BaseException:
                pipe.abort()
                raise
            self._check_fetched(found, entry, sha, size)
            return

    def _check_fetched(self, found: ModelVersion, entry: FileEntry, sha: str, size: int) -> None:
        if sha != entry.sha256 or size != entry.size:
            raise CorruptBlobError(
                f"{found.ref}: file {entry.path!r} from {self.url} does not match its manifest "
                f"(expected sha256 {entry.sha256}, got {sha})",
                path=entry.path,
                digest=entry.sha256,
            )

    def read_file(self, name: str, version: int, path: str) -> bytes:
        """One file of a version, verified here against its digest (for small files)."""
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
    ) -> Path:
        """Materialise a version's files under `dest`, every byte verified here, atomically."""
        import shutil
        import tempfile

        from .blobs._streams import FileSink

        found = self._readable(name, version)
        target = Path(dest).absolute()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise Conflict(f"destination {target} already exists and is not an empty folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            for entry in found.files:
                out_path = staging.joinpath(*entry.path.split("/"))
                out_path.parent.mkdir(parents=True, exist_ok=True)
                callback = progress(entry.path, entry.size) if progress else None
                fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:

                    def start(fd: int = fd) -> Callable[[memoryview], object]:
                        os.ftruncate(fd, 0)
                        os.lseek(fd, 0, os.SEEK_SET)
                        return FileSink(fd)

                    self._fetch(found, entry, start, callback)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if entry.executable:
                    out_path.chmod(out_path.stat().st_mode | 0o111)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    # -- the few things that may change ---------------------------------------------------

    def tag(self, name: str, version: int, key: str, value: str) -> ModelVersion:
        validate_key(key, "tag name")
        check_tags({key: value})
        path = f"{self._version_path(name, version)}/tags/{_quote(key)}"
        return ModelVersion.from_dict(self._request("PUT", path, body={"value": value}).json())

    def untag(self, name: str, version: int, key: str) -> ModelVersion:
        path = f"{self._version_path(name, version)}/tags/{_quote(validate_key(key, 'tag name'))}"
        return ModelVersion.from_dict(self._request("DELETE", path).json())

    def tag_model(self, name: str, key: str, value: str) -> Model:
        validate_key(key, "tag name")
        check_tags({key: value})
        path = f"{self._model_path(name)}/tags/{_quote(key)}"
        return Model.from_dict(self._request("PUT", path, body={"value": value}).json())

    def untag_model(self, name: str, key: str) -> Model:
        path = f"{self._model_path(name)}/tags/{_quote(validate_key(key, 'tag name'))}"
        return Model.from_dict(self._request("DELETE", path).json())

    def describe_model(self, name: str, text: str) -> Model:
        body = {"description": check_description(text)}
        path = f"{self._model_path(name)}/description"
        return Model.from_dict(self._request("PUT", path, body=body).json())

    def model_events(self, name: str) -> list[ModelEvent]:
        return [ModelEvent.from_dict(e) for e in self._get(f"{self._model_path(name)}/events")]

    def deprecate(
        self, name: str, version: int, *, reason: str | None = None, deprecated: bool = True
    ) -> ModelVersion:
        body = {"deprecated": deprecated, "reason": reason}
        return ModelVersion.from_dict(
            self._post(f"{self._version_path(name, version)}/deprecation", body)
        )

    # -- deployments ----------------------------------------------------------------------

    def deploy(
        self,
        name: str,
        version: int,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        body = {
            "version": _number(version),
            "reason": reason,
            "effective_at": _time_param(effective_at, "effective time"),
        }
        return DeploymentOutcome.from_dict(self._post(f"{self._env_path(name, env)}/deploy", body))

    def deploy_split(
        self,
        name: str,
        split: Mapping[int, float],
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        body = {
            "split": {str(a.version): a.weight for a in normalise_split(split)},
            "reason": reason,
            "effective_at": _time_param(effective_at, "effective time"),
        }
        return DeploymentOutcome.from_dict(self._post(f"{self._env_path(name, env)}/deploy", body))

    def undeploy(
        self,
        name: str,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        body = {"reason": reason, "effective_at": _time_param(effective_at, "effective time")}
        return DeploymentOutcome.from_dict(
            self._post(f"{self._env_path(name, env)}/undeploy", body)
        )

    def rollback(self, name: str, *, env: str, reason: str | None = None) -> DeploymentOutcome:
        return DeploymentOutcome.from_dict(
            self._post(f"{self._env_path(name, env)}/rollback", {"reason": reason})
        )

    def approve(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        path = f"{API}/requests/{_number(request_id)}/approve"
        return DeploymentRequest.from_dict(self._post(path, {"reason": reason}))

    def reject(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        path = f"{API}/requests/{_number(request_id)}/reject"
        return DeploymentRequest.from_dict(self._post(path, {"reason": reason}))

    def requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[DeploymentRequest]:
        if status not in (None, "pending", "approved", "rejected"):
            raise InvalidInput(f"invalid status {status!r}: use pending, approved or rejected")
        if name is not None:
            validate_model_name(name)
        found = self._pages(f"{API}/requests", model=name, status=status)
        return [DeploymentRequest.from_dict(r) for r in found]

    def request(self, request_id: int) -> DeploymentRequest:
        return DeploymentRequest.from_dict(self._get(f"{API}/requests/{_number(request_id)}"))

    def protect(self, name: str, *, env: str) -> Environment:
        return Environment.from_dict(self._post(f"{self._env_path(name, env)}/protect"))

    def unprotect(self, name: str, *, env: str, reason: str | None = None) -> DeploymentRequest:
        path = f"{self._env_path(name, env)}/unprotect"
        return DeploymentRequest.from_dict(self._post(path, {"reason": reason}))

    def environments(self, name: str) -> list[Environment]:
        found = self._get(f"{self._model_path(name)}/environments")
        return [Environment.from_dict(e) for e in found]

    def live(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        as_known_at: datetime | str | None = None,
    ) -> LiveState:
        found = self._get(
            f"{self._env_path(name, env)}/live",
            at=_time_param(at, "time"),
            as_known_at=_time_param(as_known_at, "as-known-at time"),
        )
        return LiveState.from_dict(found)

    def history(
        self,
        name: str,
        *,
        env: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> list[DeploymentEvent]:
        from .domain.deployments import DeploymentEvent

        if env is not None:
            check_environment_name(env)
        found = self._pages(
            f"{self._model_path(name)}/history",
            env=env,
            since=_time_param(since, "since"),
            until=_time_param(until, "until"),
        )
        return [DeploymentEvent.from_dict(e) for e in found]

    def timeline(
        self,
        name: str,
        *,
        env: str | None = None,
        version: int | None = None,
        as_known_at: datetime | str | None = None,
    ) -> list[Interval]:
        """Computed here from the whole history, by the same rules as the embedded store."""
        known = _optional_time(as_known_at, "as-known-at time")
        intervals = timeline(self.history(name, env=env), known)
        if version is not None:
            intervals = [i for i in intervals if any(a.version == version for a in i.versions)]
        return intervals

    # -- versions: delete, resolve, diff, streamed files, archives ------------------------

    def delete(self, name: str, version: int, *, reason: str) -> ModelVersion:
        reply = self._request(
            "DELETE", self._version_path(name, version), params={"reason": reason}
        )
        return ModelVersion.from_dict(reply.json())

    def resolve(self, ref: str) -> tuple[str, int]:
        parse_ref(ref)  # a malformed reference is refused here, in the same words
        found = self._get(f"{API}/resolve/{_quote(ref)}")
        return str(found["model"]), int(found["version"])

    def diff(self, a: tuple[str, int], b: tuple[str, int]) -> VersionDiff:
        from .domain.diff import VersionDiff

        other = validate_model_name(b[0])
        found = self._get(
            f"{self._model_path(a[0])}/diff",
            a=_number(a[1]),
            b=_number(b[1]),
            b_model=other if other != a[0] else None,
        )
        return VersionDiff.from_dict(found)

    def open_file(self, name: str, version: int, path: str) -> tuple[FileEntry, BinaryIO]:
        """One file as a stream read over HTTP (seeking uses byte ranges). As with the
        embedded store, whoever reads it whole compares the bytes with `entry.sha256`."""
        found = self._readable(name, version)
        entry = next((f for f in found.files if f.path == path), None)
        if entry is None:
            raise NotFound(f"version {found.ref} has no file {path!r}")
        url = f"{self.url}{self._version_path(found.model, found.version)}/files/"
        url += urllib.parse.quote(entry.path, safe="/")
        return entry, io.BufferedReader(_RangeReader(self, url, entry.size), CHUNK)

    def register_archive(
        self, name: str, archive: str | os.PathLike[str], **options: Any
    ) -> ModelVersion:
        """Upload a tar or zip archive; the server unpacks it (refusing links, `..` and
        bombs) and registers its files. `options` as for `register` (`idempotency_key`
        included, and retried as `register` is)."""
        key = _idempotency_key(options.pop("idempotency_key", None))
        validate_model_name(name)
        source = Path(archive)
        if not source.is_file():
            raise InvalidInput(f"no archive file at {source}")
        metadata = self._metadata(options, executable=[])

        def parts(stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            stream = stack.enter_context(open(source, "rb"))  # noqa: SIM115
            return {
                "files": [("archive", (source.name, stream, "application/octet-stream"))],
                "data": {"metadata": json.dumps(metadata)},
            }

        reply = self._request(
            "POST",
            f"{self._model_path(name)}/versions/archive",
            send=parts,
            idempotency_key=key,
        )
        return ModelVersion.from_dict(reply.json())

    def register_source(self, name: str, source: str, **options: Any) -> ModelVersion:
        """Have the server fetch `source` (https:// or s3://, under a prefix it allows) and
        register it: an archive is unpacked, anything else is one file. `idempotency_key`
        as for `register`."""
        key = _idempotency_key(options.pop("idempotency_key", None))
        body = {"source": source, "metadata": self._metadata(options, executable=[])}
        reply = self._request(
            "POST", f"{self._model_path(name)}/versions/source", body=body, idempotency_key=key
        )
        return ModelVersion.from_dict(reply.json())

    @staticmethod
    def _metadata(options: Mapping[str, Any], *, executable: list[str]) -> dict[str, Any]:
        known = {"params", "metrics", "tags", "data", "description", "flavor", "signature", "code"}
        unknown = set(options) - known
        if unknown:
            raise InvalidInput(f"unknown options {sorted(unknown)}")
        refs = [parse_data_ref(d) for d in options.get("data", ())]
        code = options.get("code", True)
        if code is True:
            from .lineage import capture_code

            code = capture_code()
        return {
            "params": dict(check_params(options.get("params"))),
            "metrics": dict(check_metrics(options.get("metrics"))),
            "tags": dict(check_tags(options.get("tags"))),
            "data": [f"{r.uri}#{r.digest}" if r.digest else r.uri for r in refs],
            "description": options.get("description", ""),
            "flavor": validate_flavor(options.get("flavor", "generic")),
            "signature": _check_signature(options.get("signature")),
            "code": code.to_dict() if code else None,
            "executable": executable,
        }

    # -- loading, serving, replay ---------------------------------------------------------

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

    def _record_pickle_trust(self, found: ModelVersion) -> None:
        raise NotSupported(
            "loading a pickled version through a server is refused: the trust could not be "
            "recorded in its audit trail; replay it on the server (serve --trust-pickle)"
        )

    def serving_start(
        self, name: str, *, env: str, instance_id: str, host: str, version: int, digest: str
    ) -> None:
        body = {
            "instance_id": instance_id,
            "host": host,
            "version": _number(version),
            "digest": digest,
        }
        self._request("POST", f"{self._env_path(name, env)}/serving", body=body)

    def serving_heartbeat(self, name: str, *, env: str, instance_id: str) -> None:
        self._request(
            "POST", f"{self._env_path(name, env)}/serving/{_quote(instance_id)}/heartbeat"
        )

    def serving_stop(self, name: str, *, env: str, instance_id: str) -> None:
        self._request("POST", f"{self._env_path(name, env)}/serving/{_quote(instance_id)}/stop")

    def serving(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        ttl: float = 300.0,
    ) -> dict[str, Any]:
        return dict(
            self._get(f"{self._env_path(name, env)}/serving", at=_time_param(at, "time"), ttl=ttl)
        )

    def replay(
        self,
        decision_id: str,
        *,
        tolerance: float = 1e-9,
        trust_pickle: bool = False,
        module: Any = None,
    ) -> dict[str, Any]:
        """Replayed on the server, which holds the stored inputs and loads the exact version
        itself; a pickled version only if asked and the server was started trusting."""
        if module is not None:
            raise NotSupported(
                "a replay through a server runs there and builds the version's recorded "
                "module; a module object cannot be sent"
            )
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        body = {"tolerance": tolerance, "trust_pickle": trust_pickle}
        return dict(self._post(f"{API}/decisions/{_quote(decision_id)}/replay", body))

    # -- evidence and maintenance ---------------------------------------------------------

    def report_model(
        self, name: str, *, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        return dict(
            self._get(
                f"{self._model_path(name)}/report",
                since=_time_param(since, "since"),
                until=_time_param(until, "until"),
            )
        )

    def report_decision(self, decision_id: str) -> dict[str, Any]:
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        return dict(self._get(f"{API}/decisions/{_quote(decision_id)}/report"))

    def fsck(self, *, progress: ProgressFactory | None = None) -> FsckReport:
        """Run on the server (admin tokens only); no progress is reported meanwhile."""
        return FsckReport.from_dict(self._post(f"{API}/admin/fsck"))

    def gc(self, *, dry_run: bool = False) -> GcReport:
        return GcReport.from_dict(self._post(f"{API}/admin/gc", {"dry_run": bool(dry_run)}))

    def import_deployments(
        self, name: str, records: Iterable[Mapping[str, Any]], *, source: str
    ) -> int:
        body: list[dict[str, Any]] = []
        for record in records:
            effective = _time_param(record.get("effective_at"), "effective time")
            if effective is None:
                raise InvalidInput("every imported deployment needs an effective_at")
            try:
                split = {str(int(k)): float(v) for k, v in (record.get("versions") or {}).items()}
            except (TypeError, ValueError):
                raise InvalidInput("versions are {version number: weight}") from None
            body.append(
                {
                    "environment": str(record.get("environment")),
                    "effective_at": effective,
                    "versions": split,
                    "reason": record.get("reason"),
                }
            )
        found = self._post(
            f"{self._model_path(name)}/deployments/import", {"source": source, "records": body}
        )
        return int(found["imported"])

    # -- audit ----------------------------------------------------------------------------

    def audit_key(self) -> str:
        return str(self._get(f"{API}/audit/key")["public_key"])

    def audit_key_id(self) -> str:
        return str(self._get(f"{API}/audit/key")["key_id"])

    def audit_checkpoint(self) -> dict[str, Any]:
        return dict(self._post(f"{API}/audit/checkpoints"))

    def audit_checkpoints(self) -> list[dict[str, Any]]:
        return list(self._get(f"{API}/audit/checkpoints"))

    def audit_verify(
        self,
        checkpoints: Sequence[Mapping[str, Any]] = (),
        *,
        public_key_pem: bytes | None = None,
        records: bool = True,
    ) -> auditing.VerifyReport:
        """The server's own check of its log; for an independent check, verify an export
        with `modelrepo-verifier` against the key you trust."""
        if checkpoints or public_key_pem is not None or not records:
            raise NotSupported(
                "checking a remote store against your own checkpoints or key is not available "
                "yet: verify an export with modelrepo-verifier"
            )
        return auditing.VerifyReport.from_dict(self._get(f"{API}/audit/verify"))

    def audit_prove(
        self, seq: int, *, checkpoint: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if checkpoint is not None:
            raise NotSupported("a proof against a given checkpoint is not available remotely yet")
        return dict(self._get(f"{API}/audit/proofs/{_number(seq)}"))

    def ready(self) -> int:
        return int(self._get("/readyz")["audit_size"])

    # -- decisions ------------------------------------------------------------------------

    @staticmethod
    def _decision_body(record: Mapping[str, Any]) -> dict[str, Any]:
        body = dict(record)
        body["decided_at"] = _time_param(body.get("decided_at"), "decision time")
        return {k: v for k, v in body.items() if v is not None or k in ("inputs", "output")}

    def log_decision(
        self,
        model: str,
        *,
        inputs: Any,
        output: Any,
        environment: str | None = None,
        version: int | None = None,
        decision_id: str | None = None,
        decided_at: datetime | str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Decision:
        body = self._decision_body(
            {
                "model": model,
                "inputs": inputs,
                "output": output,
                "environment": environment,
                "version": version,
                "decision_id": decision_id,
                "decided_at": decided_at,
                "metadata": dict(metadata) if metadata is not None else None,
            }
        )
        return Decision.from_dict(self._post(f"{API}/decisions", body))

    def log_decisions(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Record many decisions in one request and one transaction (all or none; the
        server takes up to 10 000 at a time)."""
        batch = [self._decision_body(r) for r in records]
        if not batch:
            return 0
        return int(self._post(f"{API}/decisions/batch", {"decisions": batch})["recorded"])

    def decision(self, decision_id: str) -> dict[str, Any]:
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        return dict(self._get(f"{API}/decisions/{_quote(decision_id)}"))

    def decisions(
        self,
        model: str,
        *,
        env: str | None = None,
        version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 1000,
    ) -> list[Decision]:
        found = self._pages(
            f"{self._model_path(model)}/decisions",
            limit,
            env=env,
            version=version,
            since=_time_param(since, "since"),
            until=_time_param(until, "until"),
        )
        return [Decision.from_dict(d) for d in found]

    # -- decision data: columns, imports, stored inputs, policy ---------------------------

    def log_decision_columns(
        self,
        model: str,
        *,
        outputs: Sequence[Any],
        environment: str | None = None,
        version: int | None = None,
        decided_at: Sequence[datetime | str] | datetime | str | None = None,
        inputs: Sequence[Any] | None = None,
        inputs_digests: Sequence[str] | None = None,
        decision_ids: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | Mapping[str, Any] | None = None,
    ) -> int:
        """The columns travel as one JSON document (no key repeated per decision) in one
        request: one transaction on the server, all or none, checked and flagged there
        exactly as on the store. The server's JSON body limit (64 MiB by default) bounds a
        batch."""
        from .decisioning import as_column

        validate_model_name(model)
        if inputs is not None and inputs_digests is not None:
            raise InvalidInput("send the decisions' inputs or their digests, not both")
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
        body: dict[str, Any] = {"outputs": as_column(outputs, "outputs")}
        if environment is not None:
            body["environment"] = check_environment_name(environment)
        if version is not None:
            body["version"] = int(version)
        if isinstance(decided_at, (str, datetime)):
            body["decided_at"] = _wire_time(decided_at)
        elif decided_at is not None:
            body["decided_at"] = [_wire_time(t) for t in as_column(decided_at, "decided_at")]
        for name, column in (
            ("inputs", inputs),
            ("inputs_digests", inputs_digests),
            ("decision_ids", decision_ids),
        ):
            if column is not None:
                body[name] = as_column(column, name)
        if isinstance(metadata, Mapping):
            body["metadata"] = dict(metadata)
        elif metadata is not None:
            body["metadata"] = [
                dict(m) if isinstance(m, Mapping) else m for m in as_column(metadata, "metadata")
            ]
        try:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInput(f"decision record is not JSON: {exc}") from None

        def send(_stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            return {"content": content, "headers": {"Content-Type": "application/json"}}

        path = f"{self._model_path(model)}/decisions/columns"
        return int(self._request("POST", path, send=send).json()["recorded"])

    def import_decisions(
        self,
        path: str | os.PathLike[str],
        *,
        check: Callable[[Sequence[Any]], None] | None = None,
    ) -> int:
        """Upload the file, streamed from disk (never held whole here); the server reads it
        and records every decision in one transaction, all or none, as the store would."""
        if check is not None:
            raise InvalidInput("check= is for a server's own use; the server checks the scope")
        source = Path(path)
        kind = _IMPORT_TYPES.get(source.suffix.lower())
        if kind is None:
            raise InvalidInput(f"{source}: expected a .jsonl or .parquet file")
        with open(source, "rb"):  # a missing file is an OSError here, as on the store
            pass
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in source.name)[:128]

        def send(stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            stream = stack.enter_context(open(source, "rb"))  # noqa: SIM115
            return {"content": stream, "headers": {"Content-Type": kind}}

        reply = self._request(
            "POST", f"{API}/decisions/import", params={"filename": name or "upload"}, send=send
        )
        return int(reply.json()["imported"])

    def decision_inputs(self, decision_id: str) -> Any:
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        return self._get(f"{API}/decision-inputs/{_quote(decision_id)}")["inputs"]

    def set_decision_inputs(
        self, model: str, mode: str, *, retention_days: int | None = None
    ) -> None:
        from .domain.decisions import check_input_mode

        validate_model_name(model)
        check_input_mode(mode)
        if retention_days is not None and (
            isinstance(retention_days, bool) or not isinstance(retention_days, int)
            or retention_days < 1
        ):  # fmt: skip
            raise InvalidInput("retention must be a positive number of days")
        body = {"inputs": mode, "retention_days": retention_days}
        self._request("PUT", f"{self._model_path(model)}/decisions/policy", body=body)

    def purge_decision_inputs(self, model: str | None = None) -> dict[str, int]:
        if model:
            validate_model_name(model)
        found = self._post(f"{API}/decisions/purge", {"model": model or None})["purged"]
        return {str(k): int(v) for k, v in found.items()}

    # -- API tokens (admins; never beyond the calling token's own rights) -----------------

    def create_token(
        self, user: str, role: str, *, model_pattern: str | None = None
    ) -> tuple[ApiToken, str]:
        """A token made by the server, with no more rights than this registry's own token
        (its role and model scope); the token itself is in this answer only."""
        body = {
            "user": check_user(user),
            "role": check_role(role),
            "model_pattern": check_pattern(model_pattern),
        }
        found = self._post(f"{API}/tokens", body)
        return ApiToken.from_dict(found), str(found["token"])

    def tokens(self, *, include_revoked: bool = True) -> list[ApiToken]:
        found = self._get(f"{API}/tokens", include_revoked=include_revoked)
        return [ApiToken.from_dict(t) for t in found]

    def revoke_token(self, token_id: str) -> ApiToken:
        path = f"{API}/tokens/{check_token_id(token_id)}/revoke"
        return ApiToken.from_dict(self._post(path))

    # -- webhooks (admins with a token for every model) ------------------------------------

    def add_webhook(
        self,
        url: str,
        *,
        model_pattern: str = "*",
        events: Iterable[str],
        allow_private: bool = False,
    ) -> tuple[Webhook, str]:
        from .domain.webhooks import check_events, check_model_pattern
        from .domain.webhooks import check_url as check_target

        body = {
            "url": check_target(url, allow_http=allow_private).url,
            "model_pattern": check_model_pattern(model_pattern),
            "events": list(check_events(events)),
            "allow_private": bool(allow_private),
        }
        found = self._post(f"{API}/webhooks", body)
        return Webhook.from_dict(found), str(found["secret"])

    def webhooks(self, *, include_disabled: bool = True) -> list[Webhook]:
        found = self._get(f"{API}/webhooks", include_disabled=include_disabled)
        return [Webhook.from_dict(h) for h in found]

    def disable_webhook(self, webhook_id: str) -> Webhook:
        from .domain.webhooks import check_webhook_id

        path = f"{API}/webhooks/{check_webhook_id(webhook_id)}/disable"
        return Webhook.from_dict(self._post(path))

    def webhook_deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> list[Delivery]:
        from .domain.webhooks import check_webhook_id

        if webhook_id is not None:
            check_webhook_id(webhook_id)
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be between 1 and 10000")
        found = self._get(
            f"{API}/webhooks/deliveries", webhook_id=webhook_id, limit=limit, attempts=False
        )
        return [Delivery.from_dict(d) for d in found]

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        path = f"{API}/webhooks/deliveries/{_number(delivery_id)}/attempts"
        return [Attempt.from_dict(a) for a in self._get(path)]

    # -- audit log and consistency proofs -------------------------------------------------

    def audit_log(
        self, subject: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Read page by page (a page of up to 1000 entries a request)."""
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput("after must be an entry number (0 or more)")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):  # fmt: skip
            raise InvalidInput("limit must be a positive number of entries")
        entries: list[dict[str, Any]] = []
        cursor: str | None = str(after)
        while cursor is not None and (limit is None or len(entries) < limit):
            size = PAGE if limit is None else min(PAGE, limit - len(entries))
            page = self._get(f"{API}/audit/log", subject=subject, limit=size, cursor=cursor)
            entries.extend(page["items"])
            cursor = page.get("next_cursor")
        return entries

    def audit_consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        found = self._get(f"{API}/audit/consistency", old_size=old_size, new_size=new_size)
        return dict(found)

    def audit_denied(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[Denial]:
        from .domain.denials import check_limit

        found = self._get(
            f"{API}/audit/denied",
            since=_time_param(since, "since"),
            model=None if model is None else validate_model_name(model),
            limit=check_limit(limit),
        )
        return [Denial.from_dict(d) for d in found]


def _unsupported(name: str) -> Callable[..., NoReturn]:
    def method(self: RemoteRegistry, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotSupported(f"{name} is not available through the server at {self.url} yet")

    method.__name__ = name
    method.__doc__ = f"Not available on a remote registry yet (`Registry.{name}`)."
    return method


EMBEDDED_ONLY = ("authenticate", "register_stored", "record_denials")
"""Registry methods a remote registry does not offer yet: each raises `NotSupported`."""

for _name in EMBEDDED_ONLY:
    setattr(RemoteRegistry, _name, _unsupported(_name))
