"""Store maintenance for administrators: check every stored file, collect unused blobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..auth import Caller, needs
from ..schemas import FsckOut, GcIn, GcOut
from .common import ERRORS

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ERRORS)


@router.post("/fsck", response_model=FsckOut)
def fsck(caller: Caller = needs("store.maintain")) -> dict[str, Any]:
    """Re-hash every referenced blob; report missing, corrupt and orphaned blobs (`ok` is
    false if a version's file is missing or corrupt). Reads the whole store: may take long."""
    return caller.registry.fsck().to_dict()


@router.post("/gc", response_model=GcOut)
def gc(body: GcIn | None = None, caller: Caller = needs("store.maintain")) -> dict[str, Any]:
    """Remove blobs no version needs and abandoned uploads (`dry_run`: only count them)."""
    body = body or GcIn()
    return caller.registry.gc(dry_run=body.dry_run).to_dict()
