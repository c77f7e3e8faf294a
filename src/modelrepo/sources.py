"""Artifact sources the server fetches for a client: parsed, allow-listed, fetched safely.

A client may ask the server to register what lies at an `https://` or `s3://` URI instead of
uploading it. The URI is parsed (never used as a string), must fall under one of the prefixes
the operator allowed (`modelrepo serve --allow-source PREFIX`; none by default, so the feature
is off), and may not hide a path step (`..`, `.`, encoded slashes or dots). An https source is
fetched like a webhook is sent: the host is resolved at connect time and every address it
resolves to is checked (no loopback, private, link-local... unless the policy allows private
targets), redirects are not followed, proxy settings are ignored, the size is bounded.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .domain.errors import Forbidden, InvalidInput, StorageError
from .domain.manifest import check_file_name
from .domain.urls import split_url
from .domain.webhooks import check_url as check_https_url

if TYPE_CHECKING:
    from .outbound import Resolver

CHUNK = 1 << 20
MAX_URI = 2048
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_HIDDEN_STEP = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """A parsed source URI: only these parts are used to fetch it."""

    scheme: str  # "https" or "s3"
    host: str  # the https host, or the bucket
    port: int | None
    path: str  # starts with "/", no empty, "." or ".." steps
    uri: str  # normalised

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def parse_source(uri: str) -> Source:
    """Parse `uri` (https://host[:port]/path or s3://bucket/key): no credentials, query,
    fragment, control characters, backslashes, or hidden path steps."""
    if not isinstance(uri, str) or not 0 < len(uri) <= MAX_URI:
        raise InvalidInput(f"invalid source: 1-{MAX_URI} characters")
    if any(c.isspace() or not c.isprintable() for c in uri) or "\\" in uri:
        raise InvalidInput("invalid source: no spaces, control characters or backslashes")
    if _HIDDEN_STEP.search(uri):
        raise InvalidInput("invalid source: no encoded dots, slashes, backslashes or NULs")
    parts = split_url(uri, "source")
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment or "?" in uri or "#" in uri:
        raise InvalidInput("invalid source: no query or fragment")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput("invalid source: no credentials in the URI")
    steps = parts.path.split("/")
    if not parts.path.startswith("/") or any(s in ("", ".", "..") for s in steps[1:]):
        raise InvalidInput(f"invalid source path {parts.path!r}: no empty, '.' or '..' steps")
    check_file_name(steps[-1], "source file name")  # it names the fetched file
    if scheme == "https":
        target = check_https_url(uri)  # the webhook rules for hosts (no IPv4 in disguise...)
        port = None if target.port == 443 else target.port
        host = target.host
    elif scheme == "s3":
        host = parts.netloc  # bucket names are lowercase: another case is another name
        if not _BUCKET.fullmatch(host) or ".." in host:
            raise InvalidInput(f"invalid S3 bucket {parts.netloc!r}")
        port = None
    else:
        raise InvalidInput(f"a source must be https:// or s3://, not {parts.scheme or 'nothing'!r}")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return Source(scheme, host, port, parts.path, f"{scheme}://{netloc}{parts.path}")


def _under(source: Source, prefix: Source) -> bool:
    """Same scheme, host and port, and the path at or below the prefix's (by whole steps)."""
    if (source.scheme, source.host, source.port) != (prefix.scheme, prefix.host, prefix.port):
        return False
    if prefix.path.endswith("/"):
        return source.path.startswith(prefix.path)
    return source.path == prefix.path or source.path.startswith(prefix.path + "/")


def _parse_prefix(prefix: str) -> Source:
    """A prefix is a source URI; ending in "/" it covers everything below that folder."""
    if not prefix.endswith("/"):
        return parse_source(prefix)
    base = parse_source(prefix + "x")
    path = base.path[:-1]
    return Source(base.scheme, base.host, base.port, path, base.uri[:-1])


@dataclass(frozen=True)
class SourcePolicy:
    """Which sources the server fetches (none by default) and how much it takes.

    `allow_private`: also connect to loopback and private addresses (a registry inside a
    private network that fetches from an internal host); `s3_client`: a configured boto3
    client, else one built from the server's S3 settings; `ssl_context`: the certificate
    authorities https sources are checked against, else the usual ones."""

    prefixes: tuple[str, ...] = ()
    max_bytes: int = 64 * (1 << 30)
    allow_private: bool = False
    resolver: Resolver | None = None
    timeout: float = 60.0
    s3_client: Any = None
    ssl_context: Any = None
    _parsed: tuple[Source, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = []
        for prefix in self.prefixes:
            try:
                parsed.append(_parse_prefix(prefix))
            except InvalidInput as exc:
                raise InvalidInput(f"--allow-source {prefix!r}: {exc}") from None
        object.__setattr__(self, "_parsed", tuple(parsed))

    def check(self, uri: str) -> Source:
        """The parsed source, if allowed; Forbidden otherwise."""
        source = parse_source(uri)
        if not self._parsed:
            raise Forbidden(
                "this server fetches no artifact sources (start it with --allow-source PREFIX)"
            )
        if not any(_under(source, prefix) for prefix in self._parsed):
            raise Forbidden(f"source {source.uri} is not under a prefix this server allows")
        return source

    def fetch(self, source: Source, dest: Path) -> None:
        """Copy the source's bytes into the new file `dest`, at most `max_bytes`."""
        with open(dest, "xb") as out:
            if source.scheme == "https":
                self._fetch_https(source, out)
            else:
                self._fetch_s3(source, out)

    def _fetch_https(self, source: Source, out: Any) -> None:
        import httpx

        from .outbound import outbound_client, system_resolver

        client = outbound_client(
            allow_private=self.allow_private,
            resolver=self.resolver or system_resolver,
            timeout=self.timeout,
            ssl_context=self.ssl_context,
        )
        try:
            with client, client.stream("GET", source.uri) as reply:
                if reply.status_code != 200:
                    raise InvalidInput(
                        f"source {source.uri} answered {reply.status_code} (redirects are not "
                        "followed)"
                    )
                _copy_bounded(reply.iter_bytes(CHUNK), out, self.max_bytes, source.uri)
        except httpx.HTTPError as exc:
            raise StorageError(f"cannot fetch {source.uri}: {exc}") from None
        except InvalidInput as exc:  # the address check at connect time
            problem = str(exc).removeprefix("webhook target refused: ")
            raise InvalidInput(f"source {source.uri} refused: {problem}") from None

    def _fetch_s3(self, source: Source, out: Any) -> None:
        client = self.s3_client
        if client is None:
            import os

            import boto3

            from .blobs.s3_client import ENDPOINT_ENV

            client = boto3.client("s3", endpoint_url=os.environ.get(ENDPOINT_ENV) or None)
        try:
            reply = client.get_object(Bucket=source.host, Key=source.path[1:])
        except Exception as exc:  # botocore's errors, which name the bucket and key
            raise StorageError(f"cannot fetch {source.uri}: {exc}") from None
        if int(reply.get("ContentLength", 0)) > self.max_bytes:
            reply["Body"].close()
            raise InvalidInput(f"source {source.uri} is larger than {self.max_bytes} bytes")
        with reply["Body"] as body:
            _copy_bounded(iter(lambda: body.read(CHUNK), b""), out, self.max_bytes, source.uri)


def _copy_bounded(blocks: Any, out: Any, limit: int, uri: str) -> None:
    seen = 0
    for block in blocks:
        seen += len(block)
        if seen > limit:
            raise InvalidInput(f"source {uri} is larger than {limit} bytes")
        out.write(block)


def stage_source(policy: SourcePolicy, uri: str, staging: Path, limits: Any = None) -> Path:
    """Fetch an allowed source into `staging` and lay it out as a version's folder: an
    archive is unpacked (with the archive checks), anything else is one file."""
    from .archives import extract_to_staging, is_archive

    source = policy.check(uri)
    fetched = staging / "fetched"
    policy.fetch(source, fetched)
    if is_archive(fetched):
        return extract_to_staging(fetched, staging, limits)
    root = staging / "version"
    root.mkdir()
    name = source.filename
    if not name or name in (".", ".."):
        raise InvalidInput(f"source {source.uri} names no file")
    shutil.move(str(fetched), root / name)
    return root


def allowed_prefixes(values: Sequence[str]) -> tuple[str, ...]:
    """The `--allow-source` values, each checked now (a bad one stops the server starting)."""
    SourcePolicy(tuple(values))
    return tuple(values)
