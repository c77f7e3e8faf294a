"""The audit trail: verify, sign a checkpoint, inclusion proofs, the public key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam

from ...domain.errors import NotFound
from ...domain.names import MAX_NAME_LENGTH
from ..auth import Caller, needs
from ..schemas import CheckpointOut, ConsistencyOut, DenialOut, Page, ProofOut, VerifyOut
from .common import ERRORS, Cursor, Limit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERRORS)


@router.get("/verify", response_model=VerifyOut)
def verify(caller: Caller = needs("audit.read")) -> dict[str, Any]:
    """Recompute the whole log, check every stored checkpoint and the recorded changes."""
    return caller.registry.audit_verify().to_dict()


@router.post("/checkpoints", response_model=CheckpointOut, status_code=201)
def checkpoint(caller: Caller = needs("audit.checkpoint")) -> dict[str, Any]:
    """Sign the current tree head and keep it."""
    return caller.registry.audit_checkpoint()


@router.get("/checkpoints", response_model=list[CheckpointOut])
def checkpoints(caller: Caller = needs("audit.read")) -> list[dict[str, Any]]:
    return caller.registry.audit_checkpoints()


@router.get("/proofs/{seq}", response_model=ProofOut)
def prove(
    seq: Annotated[int, PathParam(ge=1, le=2**62)], caller: Caller = needs("audit.read")
) -> dict[str, Any]:
    """An inclusion proof of entry `seq` with its checkpoint, for offline checking."""
    if seq > caller.registry.ready():  # before a checkpoint would be signed for nothing
        raise NotFound(f"audit entry {seq} not found")
    return caller.registry.audit_prove(seq)


@router.get("/key", response_model=dict[str, str])
def key(caller: Caller = needs("audit.read")) -> dict[str, str]:
    """The public key (PEM) that verifies this store's checkpoints."""
    return {"key_id": caller.registry.audit_key_id(), "public_key": caller.registry.audit_key()}


# -- the log itself and consistency proofs -------------------------------------------------


@router.get("/log", response_model=Page[dict[str, Any]])
def log(
    subject: Annotated[
        str | None, Query(max_length=300, description="Only entries about this, e.g. model:x.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    caller: Caller = needs("audit.read"),
) -> dict[str, Any]:
    """Audit entries in sequence order: who changed what, when. `next_cursor` is the
    sequence number of the last entry of the page."""
    after = int(cursor) if cursor else 0
    found = caller.registry.audit_log(subject, after=after, limit=limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return {"items": page, "next_cursor": str(page[-1]["seq"]) if more else None}


@router.get("/consistency", response_model=ConsistencyOut)
def consistency(
    old_size: Annotated[int, Query(ge=0, le=2**62, description="The older log size.")],
    new_size: Annotated[
        int | None, Query(ge=0, le=2**62, description="The newer one (default: now).")
    ] = None,
    caller: Caller = needs("audit.read"),
) -> dict[str, Any]:
    """A proof that the log of `new_size` entries extends the one of `old_size` (RFC 9162)."""
    return caller.registry.audit_consistency(old_size, new_size)


# -- refused requests ----------------------------------------------------------------------


@router.get("/denied", response_model=Page[DenialOut])
def denied(
    request: Request,
    since: Annotated[
        str | None, Query(max_length=64, description="Last seen at or after this time.")
    ] = None,
    model: Annotated[
        str | None, Query(max_length=MAX_NAME_LENGTH, description="Only this model.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    caller: Caller = needs("audit.denied"),
) -> dict[str, Any]:
    """Refused requests, newest first (administrators only): each one refusal, or its
    repeats within a window with a count. Those this server holds are written first."""
    request.app.state.denials.flush()
    page = caller.registry.audit_denied_page(since=since, model=model, limit=limit, cursor=cursor)
    return page.document(lambda d: d.to_dict())
