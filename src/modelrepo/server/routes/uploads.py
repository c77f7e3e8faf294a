"""Resumable uploads: one large file sent in parts that survive a dropped connection.

The shape of S3's multipart upload: start a session, `PUT` each part as a raw body with
its SHA-256 in `Content-Digest` (RFC 9530), ask which parts are held after an interruption,
complete with the whole file's SHA-256, then name the session in a registration
(`metadata.uploads`). Every route is the `version.register` operation on the model, and a
session answers only to the caller that started it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from ..auth import Caller, needs
from ..params import Name
from ..schemas import UploadCompleteIn, UploadIn, UploadOut, UploadPartOut
from .common import ERRORS

if TYPE_CHECKING:
    from ...domain.uploads import PartRecord
    from ...registry.uploads import PartReceiver

router = APIRouter(prefix="/api/v1", tags=["uploads"], responses=ERRORS)

UPLOADS = "/models/{name}/uploads"
UploadId = Annotated[
    str, PathParam(pattern="^[0-9a-f]{32}$", description="The upload session's id.")
]
PartNumber = Annotated[int, PathParam(ge=1, le=10_000, description="The part's number, from 1.")]
BATCH = 4 << 20
PART_THREADS = 12  # three steps per batch: four parts at once at full speed
_DIGEST = re.compile(r"\s*([A-Za-z0-9-]+)\s*=\s*:([A-Za-z0-9+/=]*):\s*")


@router.post(
    UPLOADS,
    response_model=UploadOut,
    status_code=201,
    responses={413: {"description": "Larger than the upload limit"}},
)
def start_upload(
    request: Request, name: Name, body: UploadIn, caller: Caller = needs("version.register")
) -> dict[str, Any]:
    """Start sending one file in parts; the answer gives its id, part size and count.
    Nothing is visible to anyone until a registration names the complete session, and a
    session that receives no part for 24 hours lapses (`gc` reclaims it). A file over the
    server's upload limit is refused (413) before any part is sent."""
    limit: int = request.app.state.upload_limit
    if body.size > limit:
        raise HTTPException(413, f"the file is larger than the upload limit of {limit} bytes")
    return caller.registry.start_upload(name, body.size, part_size=body.part_size).to_dict()


@router.get(f"{UPLOADS}/{{upload_id}}", response_model=UploadOut)
def show_upload(
    name: Name, upload_id: UploadId, caller: Caller = needs("version.register")
) -> dict[str, Any]:
    """The parts held and those missing: after an interruption, send only the missing."""
    return caller.registry.upload(name, upload_id).to_dict()


@router.put(
    f"{UPLOADS}/{{upload_id}}/parts/{{number}}",
    response_model=UploadPartOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
    responses={
        411: {"description": "No Content-Length"},
        413: {"description": "Larger than the upload limit"},
    },
)
async def put_part(
    request: Request,
    name: Name,
    upload_id: UploadId,
    number: PartNumber,
    content_digest: Annotated[
        str,
        Header(
            description="The part's SHA-256 as RFC 9530 gives it: `sha-256=:BASE64:`.",
            max_length=1000,
        ),
    ],
    caller: Caller = needs("version.register"),
) -> dict[str, Any]:
    """Part `number`: exactly `part_size` bytes (the last part: the rest), as the raw body.
    It is hashed as it arrives and held only if it matches `Content-Digest` (else 422,
    `digest_mismatch`, and nothing of it is kept); a part sent again replaces the one held."""
    sha256 = _sha256_of(content_digest)
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "send the part with its Content-Length")
    receiver = await run_in_threadpool(
        caller.registry.receive_part, name, upload_id, number, sha256
    )
    try:
        record = await _receive(receiver, request.stream())
    except BaseException:
        receiver.abort()
        raise
    return record.to_dict()


async def _receive(receiver: PartReceiver, body: AsyncIterator[bytes]) -> PartRecord:
    """Feed the body to `receiver` in batches of `BATCH` bytes: a batch is hashed and
    written on worker threads (its steps side by side) while the next one is read, so the
    bytes are never copied and at most two batches are held. However the body ends, no
    step is still running when this returns (the part's file may be closed after)."""
    batch: list[bytes] = []
    held = 0
    pending: asyncio.Future[None] | None = None
    try:
        async for chunk in body:
            receiver.count(len(chunk))
            batch.append(chunk)
            held += len(chunk)
            if held >= BATCH:
                if pending is not None:
                    await pending
                pending = _run(receiver.steps(batch))
                batch, held = [], 0
        if batch:
            if pending is not None:
                await pending
            pending = _run(receiver.steps(batch))
        if pending is not None:
            await pending
    except BaseException:
        if pending is not None and not pending.done():
            with contextlib.suppress(BaseException):
                await asyncio.shield(pending)
        raise
    return await run_in_threadpool(receiver.finish)


def _run(steps: list[Callable[[], None]]) -> asyncio.Future[None]:
    """The steps on the shared threads; done once every one of them is (a failure is
    raised only then)."""
    futures = [asyncio.wrap_future(_pool().submit(step)) for step in steps]

    async def every() -> None:
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            raise failed

    return asyncio.ensure_future(every())


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Threads for the parts' hashing and writing, shared by every part in flight."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(PART_THREADS, thread_name_prefix="modelrepo-part")
    return _POOL


@router.post(f"{UPLOADS}/{{upload_id}}/complete", response_model=UploadOut)
def complete_upload(
    name: Name,
    upload_id: UploadId,
    body: UploadCompleteIn,
    caller: Caller = needs("version.register"),
) -> dict[str, Any]:
    """Check the whole file: every part held (else 409 naming the missing ones), hashed
    whole, and equal to `sha256` if given (else 422); the answer carries its SHA-256.
    Completing again answers the same."""
    return caller.registry.complete_upload(name, upload_id, body.sha256).to_dict()


@router.delete(f"{UPLOADS}/{{upload_id}}", status_code=204, response_class=Response)
def abort_upload(
    name: Name, upload_id: UploadId, caller: Caller = needs("version.register")
) -> Response:
    """Drop the session and every part it holds."""
    caller.registry.abort_upload(name, upload_id)
    return Response(status_code=204)


def _sha256_of(header: str) -> str:
    """The SHA-256 (hex) in an RFC 9530 `Content-Digest` (other algorithms ignored)."""
    for item in header.split(","):
        match = _DIGEST.fullmatch(item)
        if match is None or match[1].lower() != "sha-256":
            continue
        try:
            raw = base64.b64decode(match[2], validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) == 32:
            return raw.hex()
        raise HTTPException(400, "Content-Digest: sha-256 must be 32 bytes in base64")
    raise HTTPException(400, "send the part's SHA-256 as Content-Digest: sha-256=:BASE64:")
