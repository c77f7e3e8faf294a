"""A version's life beyond upload: register from one archive or an allowed source URI,
delete (tombstone), resolve a reference, import past deployments."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam

from ...archives import ArchiveLimits, extract_to_staging
from ...domain.errors import InvalidInput
from ...domain.names import parse_ref
from ...sources import SourcePolicy, stage_source
from ..auth import Caller, needs
from ..files import CHUNK
from ..params import IdempotencyKey, Name, Number
from ..schemas import (
    DeletedVersionIn,
    ImportDeploymentsIn,
    ImportedOut,
    ResolveOut,
    SourceIn,
    VersionOut,
)
from ..uploads import MAX_METADATA, check_data_refs, parse_metadata
from .common import ERRORS
from .models import register_folder

router = APIRouter(prefix="/api/v1", tags=["models"], responses=ERRORS)


def _limits(request: Request) -> ArchiveLimits:
    limits: ArchiveLimits = getattr(request.app.state, "archive_limits", ArchiveLimits())
    return limits


@router.post("/models/{name}/versions/archive", response_model=VersionOut, status_code=201)
def register_archive(
    request: Request,
    name: Name,
    archive: Annotated[UploadFile, File(description="A tar (gzip, bz2, xz) or zip archive.")],
    metadata: Annotated[
        str, Form(max_length=MAX_METADATA, description="A JSON object (RegisterIn).")
    ] = "{}",
    idempotency_key: IdempotencyKey = None,
    caller: Caller = needs("version.register"),
) -> dict[str, Any]:
    """Register a version sent as one archive, unpacked here into a staging folder.

    Refused, with nothing written, if any member is absolute, has a `..`, `.` or empty step,
    a NUL or backslash, is a link or a special file, is named twice, or if the archive has
    more members or unpacks to more bytes than the server allows. Executable bits are kept.
    With an `Idempotency-Key`, a repeated request answers the version the first one made."""
    meta = parse_metadata(metadata)
    if meta.executable:
        raise InvalidInput("in an archive, executable files are those with the x bit set")
    staging = Path(tempfile.mkdtemp(prefix="modelrepo-archive-"))
    try:
        received = staging / "archive"
        with open(received, "xb") as out:
            shutil.copyfileobj(archive.file, out, CHUNK)
        root = extract_to_staging(received, staging, _limits(request))
        created = register_folder(caller, name, root, meta, idempotency_key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return created.to_dict()


@router.post("/models/{name}/versions/source", response_model=VersionOut, status_code=201)
def register_source(
    request: Request,
    name: Name,
    body: SourceIn,
    idempotency_key: IdempotencyKey = None,
    caller: Caller = needs("version.register"),
) -> dict[str, Any]:
    """Register what the server fetches from `source` (https:// or s3://), which must be
    under a prefix the server was started with (`--allow-source`; none by default). An
    archive is unpacked with the same checks as an uploaded one. With an
    `Idempotency-Key`, a repeated request answers the version the first one made (if the
    source still holds the same files)."""
    policy: SourcePolicy = getattr(request.app.state, "sources", SourcePolicy())
    check_data_refs(body.metadata)
    staging = Path(tempfile.mkdtemp(prefix="modelrepo-source-"))
    try:
        root = stage_source(policy, body.source, staging, _limits(request))
        created = register_folder(caller, name, root, body.metadata, idempotency_key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return created.to_dict()


@router.delete("/models/{name}/versions/{version}", response_model=VersionOut)
def delete_version(
    name: Name,
    version: Number,
    reason: Annotated[str | None, Query(max_length=10_000)] = None,
    caller: Caller = needs("version.delete"),
) -> dict[str, Any]:
    """Tombstone a version: its record stays as evidence (who, when, why), its files are no
    longer served and become collectable by `gc`. `reason` is required (422 without)."""
    return caller.registry.delete(name, version, reason=reason).to_dict()


@router.post("/models/{name}/deleted-versions", response_model=VersionOut, status_code=201)
def record_deleted_version(
    name: Name, body: DeletedVersionIn, caller: Caller = needs("version.record_deleted")
) -> dict[str, Any]:
    """Record version `number` as deleted, with no files and the `reason`: a tombstone for a
    version another registry deleted before its history came here, so its number stays
    taken. The number must be above every number the model ever had (409 otherwise)."""
    return caller.registry.record_deleted_version(name, body.number, reason=body.reason).to_dict()


@router.get("/resolve/{ref}", response_model=ResolveOut)
def resolve(
    ref: Annotated[str, PathParam(min_length=3, max_length=520, description="NAME@N|NAME@ENV")],
    caller: Caller = needs("version.resolve"),
) -> dict[str, Any]:
    """`NAME@N`, or `NAME@ENV`: the one version live in ENV now (409 when it is split)."""
    caller.check(parse_ref(ref).model)
    model, version = caller.registry.resolve(ref)
    return {"model": model, "version": version}


@router.post("/models/{name}/deployments/import", response_model=ImportedOut, status_code=201)
def import_deployments(
    name: Name, body: ImportDeploymentsIn, caller: Caller = needs("deployment.import")
) -> dict[str, int]:
    """Record past deployments in one transaction (all or none), marked as backfills from
    `source`; refused for a protected environment."""
    records = [r.model_dump() for r in body.records]
    for record in records:
        if not all(k.isdigit() and len(k) < 19 for k in record["versions"]):
            raise InvalidInput("versions are {version number: weight}")
    return {"imported": caller.registry.import_deployments(name, records, source=body.source)}
