"""Evidence reports as JSON: a model over a period, one decision."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..auth import Caller, needs
from ..params import Name
from ..schemas import ReportOut
from .common import ERRORS, large_json
from .decisions import DecisionId
from .deployments import Time

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERRORS)


@router.get("/models/{name}/report", response_model=ReportOut)
def report_model(
    request: Request,
    name: Name,
    since: Time = None,
    until: Time = None,
    caller: Caller = needs("report.model"),
) -> Response:
    """What was live when, each version's lineage, who deployed and approved, and the audit
    proof of every change (a whole-store token: the report verifies the whole audit log and
    signs a first checkpoint if there is none)."""
    return large_json(request, caller.registry.report_model(name, since=since, until=until))


@router.get("/decisions/{decision_id:path}/report", response_model=ReportOut)
def report_decision(
    request: Request, decision_id: DecisionId, caller: Caller = needs("report.decision")
) -> Response:
    """Why a decision was made: its version and lineage, who deployed and approved it, what
    was live around it, and the audit proofs of the decision and the deployment."""
    document: dict[str, Any] = caller.registry.report_decision(decision_id)
    return large_json(request, document)
