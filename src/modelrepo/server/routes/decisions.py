"""Decisions: log one or a batch, show one's whole story, list a model's."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.types import ASGIApp, Receive, Scope, Send

from ...domain.errors import decision_not_found
from ...domain.names import MAX_ENVIRONMENT_LENGTH
from ..auth import Caller, needs
from ..params import Name
from ..schemas import DECISION_BATCH, BatchOut, DecisionBatchIn, DecisionIn, DecisionOut, Page
from .common import ERRORS, Cursor, Limit, json_body, read_json

router = APIRouter(prefix="/api/v1", tags=["decisions"], responses=ERRORS)

DecisionId = Annotated[str, PathParam(min_length=1, max_length=128)]
PREFIX = "/api/v1/decisions/"
WHOLE_ID = "modelrepo.decision_id"


class EscapedDecisionIds:
    """ASGI middleware: `GET /api/v1/decisions/ID` with every `/` of ID escaped (as the SDK
    sends it) always shows that decision.

    Routing matches the decoded path, so an id ending in `/report` (`a/report`, sent as
    `a%2Freport`) would otherwise be taken for the report of decision `a`. Such a request is
    routed on its escaped path (no `/report` suffix there) and the id, decoded once, is handed
    to `show_decision`; decision ids cannot contain `%`, so nothing else is affected."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            raw = scope.get("raw_path") or b""
            rest = raw[len(PREFIX) :] if raw.startswith(PREFIX.encode()) else b""
            if rest and b"/" not in rest and b"%2f" in rest.lower():
                escaped = rest.decode("latin-1")
                scope = {**scope, "path": PREFIX + escaped, WHOLE_ID: unquote(escaped)}
        await self.app(scope, receive, send)


Time = Annotated[str | None, Query(max_length=64, description="ISO-8601 with a zone.")]


@router.post("/decisions", response_model=DecisionOut, status_code=201)
def log_decision(body: DecisionIn, caller: Caller = needs("decision.log")) -> dict[str, Any]:
    """Record one decision, tied to the version given or live at its time."""
    caller.check(body.model)
    fields = body.model_dump()
    model = fields.pop("model")
    return caller.registry.log_decision(model, **fields).to_dict()


@router.post(
    "/decisions/batch",
    response_model=BatchOut,
    status_code=201,
    openapi_extra=json_body(DecisionBatchIn),
)
async def log_decisions(request: Request, caller: Caller = needs("decision.log")) -> dict[str, int]:
    """Record many decisions in one transaction (all or none) and one audit entry."""
    raw = await request.body()

    def record() -> int:
        # Parsed and validated in one pass, off the event loop: a model per decision cost
        # more than recording it.
        records = read_json(DECISION_BATCH, request, raw)["decisions"]
        for model in {d["model"] for d in records}:
            caller.check(model)
        return caller.registry.log_decisions(records)

    return {"recorded": await anyio.to_thread.run_sync(record)}


@router.get("/decisions/{decision_id:path}", response_model=DecisionOut)
def show_decision(
    request: Request, decision_id: DecisionId, caller: Caller = needs("decision.read")
) -> dict[str, Any]:
    """The whole story of a decision: record, version, lineage, deployment, approval."""
    decision_id = request.scope.get(WHOLE_ID, decision_id)
    story = caller.registry.decision(decision_id)
    caller.check(story["model"], absent=decision_not_found(decision_id))
    return story


@router.get("/models/{name}/decisions", response_model=Page[DecisionOut])
def list_decisions(
    name: Name,
    env: Annotated[str | None, Query(max_length=MAX_ENVIRONMENT_LENGTH)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    since: Time = None,
    until: Time = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    caller: Caller = needs("decision.list"),
) -> dict[str, Any]:
    """A model's decisions in decision-time order."""
    page = caller.registry.decisions_page(
        name, env=env, version=version, since=since, until=until, limit=limit, cursor=cursor
    )
    return page.document(lambda d: d.to_dict())
