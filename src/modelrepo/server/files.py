"""Sending one file of a version: whole or a byte range, verified against its digest as it
is sent. The native download route and MLflow's artifact proxy both answer with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from ..api import RegistryAPI
from ..domain.errors import CorruptBlobError

CHUNK = 1 << 20
SEND_CHUNK = 4 << 20  # a whole-file download is read and sent in pieces this large


def send_file(
    request: Request, registry: RegistryAPI, name: str, version: int, path: str, *, verify: bool
) -> Response:
    """The file, or the part `Range: bytes=a-b` asks for (206). The ETag is the file's
    SHA-256; a whole download is verified against it as it is sent, unless `verify` is false
    (a client that checks the bytes itself). A range with `If-Range` is sent only if that is
    exactly the ETag, else the whole file: a client resuming a download never splices bytes
    of two different files."""
    entry, stream = registry.open_file(name, version, path)
    etag = f'"sha256:{entry.sha256}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(path.rsplit('/', 1)[-1])}",
    }
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        # RFC 9110 13.1.5: a strong comparison; a weak validator, a date (this server sends
        # no Last-Modified) or anything malformed never matches, so the whole file is sent.
        wanted = None
    try:
        chosen = _byte_range(wanted, entry.size)
    except _Unsatisfiable:
        stream.close()
        headers["Content-Range"] = f"bytes */{entry.size}"
        return Response(status_code=416, headers=headers)
    if chosen is None:
        headers["Content-Length"] = str(entry.size)
        return StreamingResponse(
            _chunks(stream, 0, entry.size, entry.sha256 if verify else None),
            media_type="application/octet-stream",
            headers=headers,
        )
    first, last = chosen
    headers["Content-Range"] = f"bytes {first}-{last}/{entry.size}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(
        _chunks(stream, first, last - first + 1, None),
        status_code=206,
        media_type="application/octet-stream",
        headers=headers,
    )


_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single `Range: bytes=...`; None to send the whole file.

    Several ranges are answered with the whole file, as RFC 9110 allows, and so is a range
    whose numbers are longer than any file's size could be (18 digits): no number of
    thousands of digits is ever converted."""
    if header is None or "," in header or len(header) > 64:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:  # the last N bytes
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            raise _Unsatisfiable()
        return max(0, size - suffix), size - 1
    first = int(match[1])
    last = int(match[2]) if match[2] else size - 1
    if first >= size or last < first:
        raise _Unsatisfiable()
    return first, min(last, size - 1)


class _Unsatisfiable(Exception):
    pass


def _chunks(stream: BinaryIO, first: int, length: int, expected: str | None) -> Iterator[bytes]:
    """`length` bytes of `stream` from `first`; with `expected`, the whole file is hashed and
    a mismatch ends the response early (the client sees a truncated body, never bad bytes
    reported as good)."""
    import hashlib

    digest = hashlib.sha256() if expected else None
    with stream:
        if first:
            if stream.seekable():
                stream.seek(first)
            else:
                skip = first
                while skip and (block := stream.read(min(CHUNK, skip))):
                    skip -= len(block)
        left = length
        while left > 0:
            block = stream.read(min(SEND_CHUNK, left))
            if not block:
                break
            left -= len(block)
            if digest is not None:
                digest.update(block)
                if left == 0 and digest.hexdigest() != expected:
                    raise CorruptBlobError("stored bytes do not match their digest")
            yield block
        if left:
            raise CorruptBlobError("stored file is shorter than its manifest says")


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
