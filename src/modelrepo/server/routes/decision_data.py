"""Decision data in bulk and its keeping: a batch given column by column, a file imported,
a decision's stored inputs, a model's inputs policy and the retention run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.exceptions import HTTPException

from ...domain.errors import InvalidInput, decision_not_found
from ..auth import Caller, needs
from ..params import Name
from ..schemas import (
    DECISION_COLUMNS,
    BatchOut,
    DecisionColumnsIn,
    DecisionInputsOut,
    ImportedOut,
    InputPolicyIn,
    InputPolicyOut,
    PurgedOut,
    PurgeIn,
)
from .common import ERRORS, json_body, read_json

router = APIRouter(prefix="/api/v1", tags=["decisions"], responses=ERRORS)

IMPORT_TYPES = {
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/vnd.apache.parquet": ".parquet",
}
"""What an import may carry, and the suffix that tells `Registry.import_decisions` how to
read it."""

FileName = Annotated[
    str,
    Query(
        pattern=r"^[A-Za-z0-9._-]{1,128}$",
        description="The client's name for the file, used in error messages only.",
    ),
]


@router.post(
    "/models/{name}/decisions/columns",
    response_model=BatchOut,
    status_code=201,
    openapi_extra=json_body(DecisionColumnsIn),
)
async def log_decision_columns(
    name: Name, request: Request, caller: Caller = needs("decision.log")
) -> dict[str, int]:
    """Record many decisions of one model, column by column, in one transaction (all or
    none) and one audit entry: the same checks and flags as `Registry.log_decision_columns`."""
    raw = await request.body()

    def record() -> int:  # parsed and validated in one pass, off the event loop
        fields = read_json(DECISION_COLUMNS, request, raw)
        return caller.registry.log_decision_columns(name, **fields)

    return {"recorded": await anyio.to_thread.run_sync(record)}


@router.post(
    "/decisions/import",
    response_model=ImportedOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself: JSON Lines (one decision a line) or Parquet.",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in IMPORT_TYPES
            },
        }
    },
    responses={
        413: {"description": "Larger than the server's import limit"},
        415: {"description": "Neither JSON Lines nor Parquet"},
    },
)
async def import_decisions(
    request: Request, filename: FileName = "upload", caller: Caller = needs("decision.log")
) -> dict[str, int]:
    """Record the decisions of a JSON Lines or Parquet file in one transaction (all or
    none), exactly as `modelrepo decisions import` does on the store. The body is spooled to
    a temporary file as it arrives; every model it names must be in the token's scope."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    suffix = IMPORT_TYPES.get(kind)
    if suffix is None:
        raise HTTPException(415, f"send the file as one of: {', '.join(IMPORT_TYPES)}")
    staging = Path(tempfile.mkdtemp(prefix="modelrepo-import-"))
    path = staging / f"decisions{suffix}"
    try:
        with open(path, "xb") as out:
            async for block in request.stream():
                await anyio.to_thread.run_sync(out.write, block)

        def check(models: Sequence[Any]) -> None:
            for model in {m for m in models if isinstance(m, str)}:
                caller.check(model)

        def run() -> int:
            return caller.registry.import_decisions(path, check=check)

        try:
            count = await anyio.to_thread.run_sync(run)
        except InvalidInput as exc:  # name the client's file, never a path on the server
            if str(path) not in str(exc):
                raise
            raise type(exc)(str(exc).replace(str(path), filename)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"imported": count}


@router.get("/decision-inputs/{decision_id:path}", response_model=DecisionInputsOut)
def decision_inputs(
    decision_id: Annotated[str, PathParam(min_length=1, max_length=128)],
    caller: Caller = needs("decision.inputs"),
) -> dict[str, Any]:
    """A decision's stored inputs (refused when only their digest was kept, or purged)."""
    model = caller.registry.decision(decision_id)["model"]
    caller.check(model, absent=decision_not_found(decision_id))
    return {"decision_id": decision_id, "inputs": caller.registry.decision_inputs(decision_id)}


@router.put("/models/{name}/decisions/policy", response_model=InputPolicyOut)
def set_input_policy(
    name: Name, body: InputPolicyIn, caller: Caller = needs("decision.policy")
) -> dict[str, Any]:
    """How this model's decision inputs are kept, and for how many days (audited)."""
    caller.registry.set_decision_inputs(name, body.inputs, retention_days=body.retention_days)
    return {"model": name, "inputs": body.inputs, "retention_days": body.retention_days}


@router.post("/decisions/purge", response_model=PurgedOut)
def purge_inputs(
    body: PurgeIn | None = None, caller: Caller = needs("decision.purge")
) -> dict[str, Any]:
    """Apply retention: drop stored inputs past each model's period (records and digests
    stay; each purge is audited). Without a model it concerns every model, so it needs a
    token without a model scope."""
    model = body.model if body else None
    if model is None:
        caller.whole_store()
    else:
        caller.check(model)
    return {"purged": caller.registry.purge_decision_inputs(model)}
