"""The HTTP client for URLs that users name (webhook targets, `https://` artifact sources).

A user-named URL must not reach the server's own network: every TCP connection goes through
`CheckedBackend`, which resolves the host at connect time, checks every address it resolves
to (no loopback, private, link-local, multicast or unspecified addresses, IPv4 inside IPv6
included) unless private targets are allowed, and connects to the address it checked, so a
DNS answer cannot change between the check and the connection. The TLS handshake still names
the URL's host (SNI, certificate check). Redirects are never followed and proxy settings
from the environment are ignored.

httpx takes a network backend only through a transport of one's own (`httpx.BaseTransport`,
its documented extension point) over an `httpcore.ConnectionPool`; `PinnedTransport` is that
transport, doing what `httpx.HTTPTransport` does for a request and a response.

Needs httpx (the `server` extra); imported only when something is sent.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from .domain.errors import InvalidInput
from .domain.webhooks import check_address

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the addresses it resolves to (injected in tests)."""

USER_AGENT = "modelrepo-webhooks/1"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[str]:
    """The addresses of `host`, each checked; InvalidInput if any is refused."""
    try:
        addresses = resolver(host, port)
    except OSError as exc:
        raise InvalidInput(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise InvalidInput(f"{host} resolves to no address")
    for address in addresses:
        check_address(address, allow_private=allow_private)
    return addresses


class CheckedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to a checked address of the host."""

    def __init__(self, *, allow_private: bool, resolver: Resolver) -> None:
        self.allow_private = allow_private
        self.resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(
            host, port, allow_private=self.allow_private, resolver=self.resolver
        )
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


def _httpx_error(exc: Exception) -> httpx.TransportError:
    """httpcore's error as the httpx error of the same name (they mirror each other), so
    callers catch `httpx.HTTPError` as with any httpx client."""
    kind = getattr(httpx, type(exc).__name__, None)
    if isinstance(kind, type) and issubclass(kind, httpx.TransportError):
        return kind(str(exc))
    return httpx.TransportError(str(exc))


_HTTPCORE_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except _HTTPCORE_ERRORS as exc:
            raise _httpx_error(exc) from exc

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport whose connections are made by `CheckedBackend`."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 10,
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=max_connections,
            network_backend=CheckedBackend(allow_private=allow_private, resolver=resolver),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            reply = self._pool.handle_request(core)
        except _HTTPCORE_ERRORS as exc:
            raise _httpx_error(exc) from exc
        assert isinstance(reply.stream, Iterable)
        return httpx.Response(
            status_code=reply.status,
            headers=reply.headers,
            stream=_ResponseStream(reply.stream),
            extensions=reply.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def outbound_client(
    *,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """An httpx client for a user-named URL: checked addresses only, no redirects, no proxy
    from the environment (`ssl_context`: the certificate authorities to trust, default the
    usual ones)."""
    return httpx.Client(
        transport=PinnedTransport(
            allow_private=allow_private, resolver=resolver, ssl_context=ssl_context
        ),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )
