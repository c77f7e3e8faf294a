"""URLs: splitting one a caller gave, and the server's public address.

Pure rules, standard library only."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from .errors import InvalidInput

MAX_PUBLIC_URL = 512


def split_url(url: str, what: str) -> SplitResult:
    """`urlsplit`, whose ValueError on a malformed address (`https://[::1`, `[v1.x]`) is the
    caller's mistake, not the server's."""
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"invalid {what}: {exc}") from None


def check_public_url(url: str) -> str:
    """The address clients reach the server at (`serve --public-url`), without a trailing
    '/': every absolute URL the server hands out starts with it, so none is ever built
    from a request's `Host` header, which the client writes."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_PUBLIC_URL:
        raise InvalidInput(f"invalid public URL: 1-{MAX_PUBLIC_URL} characters")
    if any(c.isspace() or not c.isprintable() for c in url) or "\\" in url:
        raise InvalidInput(f"invalid public URL {url!r}: no spaces or control characters")
    parts = split_url(url, "public URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"invalid public URL {url!r}: give http(s)://HOST[:PORT][/PATH]")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidInput(f"invalid public URL {url!r}: no credentials, query or fragment")
    try:
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as exc:
        raise InvalidInput(f"invalid public URL {url!r}: {exc}") from None
    return url.rstrip("/")


def bound_url(host: str, port: int) -> str:
    """`http://HOST:PORT` of the address a server binds (an IPv6 address in brackets)."""
    try:
        bracket = ipaddress.ip_address(host.strip("[]")).version == 6
    except ValueError:
        bracket = False
    return f"http://[{host.strip('[]')}]:{port}" if bracket else f"http://{host}:{port}"
