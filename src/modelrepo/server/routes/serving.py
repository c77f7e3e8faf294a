"""What really served, and replay: serving instances report in (start, heartbeat, stop), the
observed serving next to the history, and re-running a decision's exact version here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from ...domain.errors import Forbidden, decision_not_found
from ..auth import Caller, needs
from ..params import Env, Name
from ..schemas import ReplayIn, ReplayOut, ServingOut, ServingStartIn
from .common import ERRORS
from .decisions import DecisionId
from .deployments import Time

router = APIRouter(prefix="/api/v1", tags=["serving"], responses=ERRORS)

InstanceId = Annotated[str, PathParam(min_length=1, max_length=128)]
NO_CONTENT = {"status_code": 204, "response_class": Response}


@router.get("/models/{name}/environments/{env}/serving", response_model=ServingOut)
def serving(
    name: Name,
    env: Env,
    at: Time = None,
    ttl: Annotated[float, Query(gt=0, le=30 * 86400, description="Seconds.")] = 300.0,
    caller: Caller = needs("serving.read"),
) -> dict[str, Any]:
    """What was actually serving at `at` (default now) next to what the history says, and
    every period of drift; instances silent for `ttl` seconds have aged out."""
    return caller.registry.serving(name, env=env, at=at, ttl=ttl)


@router.post("/models/{name}/environments/{env}/serving", **NO_CONTENT)  # type: ignore[arg-type]
def serving_start(
    name: Name, env: Env, body: ServingStartIn, caller: Caller = needs("serving.report")
) -> Response:
    """A serving instance reports the version it now serves (its digest must match)."""
    caller.registry.serving_start(
        name,
        env=env,
        instance_id=body.instance_id,
        host=body.host,
        version=body.version,
        digest=body.digest,
    )
    return Response(status_code=204)


@router.post(
    "/models/{name}/environments/{env}/serving/{instance_id}/heartbeat",
    **NO_CONTENT,  # type: ignore[arg-type]
)
def serving_heartbeat(
    name: Name, env: Env, instance_id: InstanceId, caller: Caller = needs("serving.report")
) -> Response:
    """The instance still serves (404 if it never served this model and environment)."""
    caller.registry.serving_heartbeat(name, env=env, instance_id=instance_id)
    return Response(status_code=204)


@router.post(
    "/models/{name}/environments/{env}/serving/{instance_id}/stop",
    **NO_CONTENT,  # type: ignore[arg-type]
)
def serving_stop(
    name: Name, env: Env, instance_id: InstanceId, caller: Caller = needs("serving.report")
) -> Response:
    """The instance stopped serving (404 if it never served this model and environment)."""
    caller.registry.serving_stop(name, env=env, instance_id=instance_id)
    return Response(status_code=204)


@router.post("/decisions/{decision_id:path}/replay", response_model=ReplayOut)
def replay(
    request: Request,
    decision_id: DecisionId,
    body: ReplayIn | None = None,
    caller: Caller = needs("decision.replay"),
) -> dict[str, Any]:
    """Load the exact version that made the decision here, re-run it on the stored inputs
    and compare. A pickled version is loaded only if the caller asks (`trust_pickle`) and
    the server was started trusting pickles (`serve --trust-pickle`); the trust is recorded."""
    body = body or ReplayIn()
    model = caller.registry.decision(decision_id)["model"]
    caller.check(model, absent=decision_not_found(decision_id))
    if body.trust_pickle and not getattr(request.app.state, "trust_pickle", False):
        raise Forbidden(
            "this server does not load pickles (start it with --trust-pickle to allow it)"
        )
    return caller.registry.replay(
        decision_id, tolerance=body.tolerance, trust_pickle=body.trust_pickle
    )
