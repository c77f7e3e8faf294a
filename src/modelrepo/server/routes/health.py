"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ...registry import Registry
from ..auth import Caller, needs, public
from ..schemas import Error, Health, Ready, WhoAmI
from .common import ERRORS

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
@public("service.health")
def healthz() -> dict[str, str]:
    """The process answers (no store access, no token)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"model": Error, "description": "The store does not answer"}},
)
@public("service.health")
def readyz(request: Request) -> dict[str, object]:
    """The store answers a query (no token: load balancers probe it)."""
    registry: Registry = request.app.state.registry
    return {"status": "ready", "audit_size": registry.ready()}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **ERRORS},
)
def metrics(request: Request, _caller: Caller = needs("service.metrics")) -> Response:
    """Prometheus metrics (behind a token: request counts reveal how the registry is used)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/whoami", response_model=WhoAmI, responses=ERRORS)
def whoami(caller: Caller = needs("identity.read")) -> dict[str, Any]:
    """Who the request acts as (recorded on every change it makes), how it authenticated,
    and its grants (`role`, `model_pattern`: the first one's)."""
    principal = caller.principal
    first = principal.grants[0] if principal.grants else None
    return {
        **principal.to_dict(),
        "role": None if first is None else first.role,
        "model_pattern": None if first is None else first.model_pattern,
        "token_id": principal.auth.token_id,
    }
