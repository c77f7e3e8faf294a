"""Models and versions: list, show, register by upload, download a file (with ranges), tag."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import AfterValidator

from ...domain.model import ModelVersion
from ...domain.names import MAX_NAME_LENGTH
from ..auth import Caller, needs
from ..files import send_file
from ..params import IdempotencyKey, Name, Number, model_name
from ..schemas import (
    DeprecateIn,
    DescriptionIn,
    DiffOut,
    ModelEventOut,
    ModelIn,
    ModelOut,
    Page,
    RegisterIn,
    RenameIn,
    TagIn,
    TrustIn,
    TrustOut,
    VersionEventOut,
    VersionOut,
)
from ..uploads import MAX_METADATA, BrokenBody, UnsupportedBody, VersionUpload
from .common import ERRORS, Cursor, Limit, paginate

router = APIRouter(prefix="/api/v1", tags=["models"], responses=ERRORS)


@router.get("/models", response_model=Page[ModelOut])
def list_models(
    limit: Limit = 100, cursor: Cursor = None, caller: Caller = needs("model.list")
) -> dict[str, Any]:
    """Models the token may see, by name."""
    found = [m.to_dict() for m in caller.registry.models() if caller.sees(m.name)]
    return paginate(found, limit, cursor)


@router.post("/models", response_model=ModelOut, status_code=201)
def create_model(body: ModelIn, caller: Caller = needs("model.create")) -> dict[str, Any]:
    """Create a model before its first version, with its description and tags (each kept
    as a change of the model, with who and when); 409 if a model of that name exists."""
    caller.check(body.name)
    created = caller.registry.create_model(body.name, description=body.description, tags=body.tags)
    return created.to_dict()


@router.get("/models/{name}", response_model=ModelOut)
def show_model(name: Name, caller: Caller = needs("model.read")) -> dict[str, Any]:
    return caller.registry.model(name).to_dict()


@router.delete("/models/{name}", response_model=ModelOut)
def delete_model(
    name: Name,
    reason: Annotated[str | None, Query(max_length=10_000)] = None,
    caller: Caller = needs("model.delete"),
) -> dict[str, Any]:
    """Delete a model: refused (409) if any version of it was ever deployed or a decision
    names it; else it and its versions answer 404 from then on, their records kept for the
    audit log. A non-empty `reason` is required (422 without)."""
    return caller.registry.delete_model(name, reason=reason or "").to_dict()


@router.post("/models/{name}/rename", response_model=ModelOut)
def rename_model(
    name: Name, body: RenameIn, caller: Caller = needs("model.rename")
) -> dict[str, Any]:
    """Rename a model: its whole history follows it; the old name answers 404 from then on
    and may be taken by a new model. 409 if a model, kept or deleted, has the new name."""
    caller.check(body.new_name)
    return caller.registry.rename_model(name, body.new_name, reason=body.reason).to_dict()


@router.get("/models/{name}/events", response_model=list[ModelEventOut])
def model_events(name: Name, caller: Caller = needs("model.read")) -> list[dict[str, Any]]:
    """Changes to the model's own tags and description, oldest first: who, when, what."""
    return [e.to_dict() for e in caller.registry.model_events(name)]


@router.put("/models/{name}/tags/{key}", response_model=ModelOut)
def tag_model(
    name: Name, key: str, body: TagIn, caller: Caller = needs("model.tag")
) -> dict[str, Any]:
    """Set a tag on the model itself (recorded with who and when)."""
    return caller.registry.tag_model(name, key, body.value).to_dict()


@router.delete("/models/{name}/tags/{key}", response_model=ModelOut)
def untag_model(name: Name, key: str, caller: Caller = needs("model.tag")) -> dict[str, Any]:
    return caller.registry.untag_model(name, key).to_dict()


@router.put("/models/{name}/description", response_model=ModelOut)
def describe_model(
    name: Name, body: DescriptionIn, caller: Caller = needs("model.describe")
) -> dict[str, Any]:
    """Replace the model's description (recorded with who and when)."""
    return caller.registry.describe_model(name, body.description).to_dict()


@router.get("/models/{name}/versions", response_model=Page[VersionOut])
def list_versions(
    name: Name,
    limit: Limit = 100,
    cursor: Cursor = None,
    where: Annotated[list[str] | None, Query(description="Filters: metrics.auc>=0.9")] = None,
    include_deleted: bool = False,
    caller: Caller = needs("version.list"),
) -> dict[str, Any]:
    """A model's versions, oldest first, optionally filtered (`where=metrics.auc>=0.9`)."""
    found = caller.registry.versions(name, where or (), include_deleted=include_deleted)
    return paginate([v.to_dict() for v in found], limit, cursor)


@router.get("/models/{name}/versions/{version}", response_model=VersionOut)
def show_version(
    name: Name, version: Number, caller: Caller = needs("version.read")
) -> dict[str, Any]:
    return caller.registry.get(name, version).to_dict()


@router.get("/models/{name}/versions/{version}/events", response_model=list[VersionEventOut])
def version_events(
    name: Name, version: Number, caller: Caller = needs("version.read")
) -> list[dict[str, Any]]:
    """Tag, deprecation and deletion changes of a version, oldest first: who, when, why."""
    return [e.to_dict() for e in caller.registry.events(name, version)]


@router.get("/models/{name}/diff", response_model=DiffOut)
def diff_versions(
    name: Name,
    a: Annotated[int, Query(ge=1, le=2**62, description="The older version.")],
    b: Annotated[int, Query(ge=1, le=2**62, description="The newer version.")],
    b_model: Annotated[
        Annotated[str, AfterValidator(model_name)] | None,
        Query(max_length=MAX_NAME_LENGTH, description="Model of `b` (default: `name`)."),
    ] = None,
    caller: Caller = needs("version.diff"),
) -> dict[str, Any]:
    """Compare two versions of `name` (or `name`@a with `b_model`@b), as `modelrepo diff`:
    params, metrics (with deltas), tags, files, and unified diffs of small changed text
    files."""
    other = b_model or name
    caller.check(other)
    return caller.registry.diff((name, a), (other, b)).to_dict()


UPLOAD_FORM = {
    "type": "object",
    "required": ["files"],
    "properties": {
        "files": {
            "type": "array",
            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
            "description": "The version's files; each part's filename is its relative path.",
        },
        "metadata": {
            "type": "string",
            "maxLength": MAX_METADATA,
            "default": "{}",
            "description": "A JSON object (RegisterIn).",
        },
    },
}


@router.post(
    "/models/{name}/versions",
    response_model=VersionOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": UPLOAD_FORM}},
        }
    },
    responses={415: {"description": "Not a multipart/form-data body"}},
)
async def register(
    request: Request,
    name: Name,
    idempotency_key: IdempotencyKey = None,
    caller: Caller = needs("version.register"),
) -> dict[str, Any]:
    """Register the uploaded files as the next version of `name`.

    Files are streamed into the store as they arrive, hashed on the way (memory stays
    bounded), and the version exists only once the whole body has been received; paths
    must be relative, without `..`, and unique. Data references must be remote URIs: the
    server never reads its own files on a client's behalf. With an `Idempotency-Key`, a
    repeated request answers the version the first one made."""
    upload = VersionUpload(
        caller.registry, name, idempotency_key, check=lambda meta: check_trust(caller, name, meta)
    )
    try:
        created = await upload.receive(request.headers.get("content-type"), request.stream())
    except UnsupportedBody as exc:
        raise HTTPException(415, str(exc)) from None
    except BrokenBody as exc:
        raise HTTPException(400, str(exc)) from None
    return created.to_dict()


def check_trust(caller: Caller, name: str, meta: RegisterIn) -> None:
    """A registration that trusts types also needs the `version.trust` operation."""
    if meta.trusted_types:
        caller.may("version.trust", name)
    if meta.sign:
        caller.may("version.sign", name)


def register_folder(
    caller: Caller, name: str, root: Path, meta: RegisterIn, idempotency_key: str | None = None
) -> ModelVersion:
    """Register the staged folder `root` as the next version of `name`."""
    check_trust(caller, name, meta)
    return caller.registry.register(
        name,
        root,
        **meta.options(),
        environment=False,
        idempotency_key=idempotency_key,
    )


@router.get(
    "/models/{name}/versions/{version}/files/{path:path}",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "The whole file (also when `If-Range` does not match)",
        },
        206: {"content": {"application/octet-stream": {}}, "description": "A byte range"},
        416: {"description": "The range is outside the file"},
    },
)
def download_file(
    request: Request,
    name: Name,
    version: Number,
    path: str,
    verify: Annotated[
        bool,
        Query(
            description="Hash a whole download as it is sent and cut it short on a mismatch. "
            "A client that checks the bytes against the ETag itself may pass false."
        ),
    ] = True,
    caller: Caller = needs("version.download"),
) -> Response:
    """One file of a version; `Range: bytes=a-b` gives part of it (206). The ETag is the
    file's SHA-256; a whole download is verified against it as it is sent, unless the
    client says it verifies (`verify=false`).

    To resume a broken download, ask for `Range: bytes=<received>-` with `If-Range:
    "sha256:<hex>"` (the ETag of the first answer): the rest comes as 206 only if the file
    is still that one (a strong, exact comparison), else the whole file comes with 200, so
    the client starts over. A weak (`W/`) or malformed validator, or a date, never matches."""
    return send_file(request, caller.registry, name, version, path, verify=verify)


@router.put("/models/{name}/versions/{version}/tags/{key}", response_model=VersionOut)
def tag(
    name: Name, version: Number, key: str, body: TagIn, caller: Caller = needs("version.tag")
) -> dict[str, Any]:
    """Set a tag (recorded with who and when)."""
    return caller.registry.tag(name, version, key, body.value).to_dict()


@router.delete("/models/{name}/versions/{version}/tags/{key}", response_model=VersionOut)
def untag(
    name: Name, version: Number, key: str, caller: Caller = needs("version.tag")
) -> dict[str, Any]:
    return caller.registry.untag(name, version, key).to_dict()


@router.post("/models/{name}/versions/{version}/trust", response_model=TrustOut)
def trust(
    name: Name, version: Number, body: TrustIn, caller: Caller = needs("version.trust")
) -> dict[str, Any]:
    """Trust types the version's files need to load (skops), with a reason: recorded with
    the version (its events) and in the audit log, and used by every load and replay."""
    trusted = caller.registry.trust(name, version, body.types, reason=body.reason)
    return {"model": name, "version": version, "trusted_types": trusted}


@router.post("/models/{name}/versions/{version}/deprecation", response_model=VersionOut)
def deprecate(
    name: Name,
    version: Number,
    body: DeprecateIn | None = None,
    caller: Caller = needs("version.deprecate"),
) -> dict[str, Any]:
    """Flag a version as deprecated, or with `deprecated: false` lift the flag."""
    body = body or DeprecateIn()
    return caller.registry.deprecate(
        name, version, reason=body.reason, deprecated=body.deprecated
    ).to_dict()
