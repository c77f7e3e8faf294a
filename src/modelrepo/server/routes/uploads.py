"""Resumable uploads: one large file sent in parts that survive a dropped connection.

The shape of S3's multipart upload: start a session, `PUT` each part as a raw body with
its SHA-256 in `Content-Digest` (RFC 9530), ask which parts are held after an interruption,
complete with the whole file's SHA-256, then name the session in a registration
(`metadata.uploads`). Every route is the `version.register` operation on the model, and a
session answers only to the caller that started it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from ..auth import Caller, needs
from ..params import Name
from ..schemas import UploadCompleteIn, UploadIn, UploadOut, UploadPartOut
from .common import ERRORS

router = APIRouter(prefix="/api/v1", tags=["uploads"], responses=ERRORS)

UPLOADS = "/models/{name}/uploads"
UploadId = Annotated[
    str, PathParam(pattern="^[0-9a-f]{32}$", description="The upload session's id.")
]
PartNumber = Annotated[int, PathParam(ge=1, le=10_000, description="The part's number, from 1.")]
_DIGEST = re.compile(r"\s*([A-Za-z0-9-]+)\s*=\s*:([A-Za-z0-9+/=]*):\s*")


@router.post(UPLOADS, response_model=UploadOut, status_code=201)
def start_upload(
    name: Name, body: UploadIn, caller: Caller = needs("version.register")
) -> dict[str, Any]:
    """Start sending one file in parts; the answer gives its id, part size and count.
    Nothing is visible to anyone until a registration names the complete session, and a
    session that receives no part for 24 hours lapses (`gc` reclaims it)."""
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
    responses={411: {"description": "No Content-Length"}},
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
        async for chunk in request.stream():
            rest = receiver.offer(chunk)
            while len(rest):
                await run_in_threadpool(receiver.wait)
                rest = receiver.offer(rest)
        record = await run_in_threadpool(receiver.finish)
    except BaseException:
        receiver.abort()
        raise
    return {"number": record.number, "size": record.size, "sha256": record.sha256}


@router.post(f"{UPLOADS}/{{upload_id}}/complete", response_model=UploadOut)
def complete_upload(
    name: Name,
    upload_id: UploadId,
    body: UploadCompleteIn,
    caller: Caller = needs("version.register"),
) -> dict[str, Any]:
    """Check the whole file: every part held, and together they hash to `sha256` (else 409
    naming the missing parts, or 422). Completing again answers the same."""
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
