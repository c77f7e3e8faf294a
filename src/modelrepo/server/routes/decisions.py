"""Decisions: log one or a batch, show one's whole story, list a model's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from ...domain.access import LOG_DECISION, READ
from ..auth import Caller, needs
from ..schemas import BatchOut, DecisionBatchIn, DecisionIn, DecisionOut, Page
from .common import ERRORS, Cursor, Limit, paginate
from .models import Name

router = APIRouter(prefix="/api/v1", tags=["decisions"], responses=ERRORS)

DecisionId = Annotated[str, PathParam(min_length=1, max_length=128)]
Time = Annotated[str | None, Query(max_length=64, description="ISO-8601 with a zone.")]


@router.post("/decisions", response_model=DecisionOut, status_code=201)
def log_decision(body: DecisionIn, caller: Caller = needs(LOG_DECISION)) -> dict[str, Any]:
    """Record one decision, tied to the version given or live at its time."""
    caller.check(body.model)
    fields = body.model_dump()
    model = fields.pop("model")
    return caller.registry.log_decision(model, **fields).to_dict()


@router.post("/decisions/batch", response_model=BatchOut, status_code=201)
def log_decisions(body: DecisionBatchIn, caller: Caller = needs(LOG_DECISION)) -> dict[str, int]:
    """Record many decisions in one transaction (all or none) and one audit entry."""
    for model in {d.model for d in body.decisions}:
        caller.check(model)
    records = body.model_dump()["decisions"]  # one call for the batch, not one per decision
    return {"recorded": caller.registry.log_decisions(records)}


@router.get("/decisions/{decision_id}", response_model=DecisionOut)
def show_decision(decision_id: DecisionId, caller: Caller = needs(READ)) -> dict[str, Any]:
    """The whole story of a decision: record, version, lineage, deployment, approval."""
    story = caller.registry.decision(decision_id)
    caller.check(story["model"])
    return story


@router.get("/models/{name}/decisions", response_model=Page[DecisionOut])
def list_decisions(
    name: Name,
    env: Annotated[str | None, Query(max_length=128)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    since: Time = None,
    until: Time = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    caller: Caller = needs(READ),
) -> dict[str, Any]:
    """A model's decisions in decision-time order."""
    offset = int(cursor) if cursor and cursor.isdigit() and len(cursor) <= 9 else 0
    found = caller.registry.decisions(
        name, env=env, version=version, since=since, until=until, limit=offset + limit + 1
    )
    return paginate([d.to_dict() for d in found], limit, cursor)
