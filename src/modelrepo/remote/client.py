"""The HTTP client every part of the remote registry shares: the server's URL, the API
token, requests with retries, and answers turned back into the registry's exceptions."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Self, TypeVar

from ..api import RegistryAPI
from ..api.arguments import optional_time
from ..domain.deployments import check_environment_name
from ..domain.errors import (
    AlreadyExists,
    ApprovalRequired,
    Conflict,
    DigestMismatch,
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
from ..domain.names import check_version, validate_idempotency_key, validate_model_name
from ..domain.pages import Page, check_page_size
from ..domain.times import format_time
from .credentials import CredentialStore

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

API = "/api/v1"
PAGE = 1000
INSECURE_ENV = "MODELREPO_ALLOW_INSECURE_HTTP"

_BY_CODE: dict[str, type[ModelrepoError]] = {
    kind.code: kind
    for kind in (
        InvalidInput,
        DigestMismatch,
        NotSupported,
        NotFound,
        StoreNotFound,
        Conflict,
        AlreadyExists,
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
    checked = optional_time(value, what)
    return format_time(checked) if checked else None


class ServerClient(RegistryAPI):
    """What every part of a `RemoteRegistry` works through: one connection to the server,
    made as the API token's user (who the server says it is). Typed as the whole
    `RegistryAPI`, as the embedded registry's `Core` is, so each part may call the others."""

    url: str
    user: str
    role: str
    model_pattern: str | None
    retries: int

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        allow_insecure_http: bool,
        timeout: float,
        retries: int,
        client: httpx.Client | None,
    ) -> None:
        import httpx

        self.url = check_url(url, allow_insecure_http=allow_insecure_http)
        self.retries = max(1, retries)
        # An API token (or any JWT) given or in the environment, else this machine's
        # sign-in to the server (`modelrepo login`), renewed as it nears its expiry.
        secret = token or os.environ.get("MODELREPO_TOKEN")
        self._token = secret
        self._signed_in: CredentialStore | None = None
        if not secret:
            stored = CredentialStore()
            secret = stored.bearer_for(self.url)
            if secret:
                self._signed_in = stored
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
                f"the server at {self.url} needs a sign-in: `modelrepo login --server "
                f"{self.url}`, or an API token in $MODELREPO_TOKEN (an admin makes one with "
                "`modelrepo token create`), or pass token="
            ) from exc
        except BaseException:
            self.close()
            raise
        self.user = str(me["user"])
        self.role = me["role"]
        self.model_pattern = me.get("model_pattern")

    @property
    def _headers(self) -> dict[str, str]:
        """The `Authorization` header: the API token, or the sign-in's current ID token
        (read anew each time, so it is renewed before it expires and a later `modelrepo
        login` is picked up)."""
        secret = self._signed_in.bearer_for(self.url) if self._signed_in else self._token
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _no_store(self) -> NotSupported:
        return NotSupported(
            f"this needs direct access to the store; it is not available through the "
            f"server at {self.url} yet"
        )

    def _unsupported(self, name: str) -> NoReturn:
        raise NotSupported(f"{name} is not available through the server at {self.url} yet")

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        send: Callable[[contextlib.ExitStack[Any]], dict[str, Any]] | None = None,
        idempotency_key: str | None = None,
        renewed: bool = False,
    ) -> httpx.Response:
        """One call, errors mapped to the registry's exceptions. A GET is retried on any
        connection error, and so is a change sent with an `idempotency_key` (the server
        answers a repeat with what the first attempt did); any other change only if the
        connection was never made. `send` gives each attempt its body anew; a 401 with a
        stored sign-in is tried once more with a renewed ID token (`renewed`)."""
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
            if reply.status_code == 401 and self._signed_in is not None and not renewed:
                # The provider may have ended the ID token early, or the clocks disagree:
                # renew it once and try again.
                self._signed_in.bearer_for(self.url, force_refresh=True)
                return self._request(
                    method, path, params=params, body=body, send=send,
                    idempotency_key=idempotency_key, renewed=True,
                )  # fmt: skip
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

    def _page(
        self,
        path: str,
        item: Callable[[Any], T],
        limit: int,
        cursor: str | None,
        **params: Any,
    ) -> Page[T]:
        """One page of a server's list (1 to 1,000 items) and its `next_cursor`."""
        found = self._get(path, **params, limit=check_page_size(limit), cursor=cursor)
        return Page([item(i) for i in found["items"]], found.get("next_cursor"))

    @staticmethod
    def _model_path(name: str) -> str:
        return f"{API}/models/{_quote(validate_model_name(name))}"

    def _version_path(self, name: str, version: int) -> str:
        return f"{self._model_path(name)}/versions/{check_version(version)}"

    def _env_path(self, name: str, env: str) -> str:
        return f"{self._model_path(name)}/environments/{_quote(check_environment_name(env))}"
