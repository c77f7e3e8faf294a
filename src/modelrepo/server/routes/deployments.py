"""Deployments: deploy, undeploy, rollback, protection, requests and their approval; live,
history and timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from ...domain.deployments import DeploymentOutcome, DeploymentRequest
from ...domain.errors import InvalidInput, request_not_found
from ...domain.names import MAX_ENVIRONMENT_LENGTH, MAX_NAME_LENGTH
from ..auth import Caller, needs
from ..params import Env, Name
from ..schemas import (
    ChangeIn,
    DeployIn,
    EnvironmentOut,
    EventOut,
    IntervalOut,
    LiveOut,
    OutcomeOut,
    Page,
    ReasonIn,
    RequestOut,
)
from .common import ERRORS, Cursor, Limit, compact_json, large_json, paginate

router = APIRouter(prefix="/api/v1", tags=["deployments"], responses=ERRORS)

RequestId = Annotated[int, PathParam(ge=1, le=2**62)]
Time = Annotated[str | None, Query(max_length=64, description="ISO-8601 with a zone.")]
OUTCOME = {
    "response_model": OutcomeOut,
    "responses": {202: {"model": OutcomeOut, "description": "Pending approval"}},
}


def _outcome(outcome: DeploymentOutcome, response: Response) -> dict[str, Any]:
    if outcome.status == "pending":
        response.status_code = 202
    return outcome.to_dict()


@router.post("/models/{name}/environments/{env}/deploy", **OUTCOME)  # type: ignore[arg-type]
def deploy(
    name: Name,
    env: Env,
    body: DeployIn,
    response: Response,
    caller: Caller = needs("deployment.deploy"),
) -> dict[str, Any]:
    """Make a version live (`version`) or share traffic (`split`); 202 with a request when
    the environment is protected."""
    reg = caller.registry
    if (body.version is None) == (body.split is None):
        raise InvalidInput("give either version or split")
    if body.split is not None:
        try:
            split = {int(k): w for k, w in body.split.items()}
        except ValueError:
            raise InvalidInput("split keys are version numbers") from None
        outcome = reg.deploy_split(
            name, split, env=env, reason=body.reason, effective_at=body.effective_at
        )
    else:
        assert body.version is not None
        outcome = reg.deploy(
            name, body.version, env=env, reason=body.reason, effective_at=body.effective_at
        )
    return _outcome(outcome, response)


@router.post("/models/{name}/environments/{env}/undeploy", **OUTCOME)  # type: ignore[arg-type]
def undeploy(
    name: Name,
    env: Env,
    response: Response,
    body: ChangeIn | None = None,
    caller: Caller = needs("deployment.undeploy"),
) -> dict[str, Any]:
    body = body or ChangeIn()
    outcome = caller.registry.undeploy(
        name, env=env, reason=body.reason, effective_at=body.effective_at
    )
    return _outcome(outcome, response)


@router.post("/models/{name}/environments/{env}/rollback", **OUTCOME)  # type: ignore[arg-type]
def rollback(
    name: Name,
    env: Env,
    response: Response,
    body: ReasonIn | None = None,
    caller: Caller = needs("deployment.rollback"),
) -> dict[str, Any]:
    """Restore what served `env` before its current deployment."""
    body = body or ReasonIn()
    return _outcome(caller.registry.rollback(name, env=env, reason=body.reason), response)


@router.post("/models/{name}/environments/{env}/protect", response_model=EnvironmentOut)
def protect(
    name: Name,
    env: Env,
    require_sso: Annotated[
        bool, Query(description="Accept requests and approvals only from identity-provider users.")
    ] = False,
    caller: Caller = needs("environment.protect"),
) -> dict[str, Any]:
    """Require a second person's approval for every change to `env` (and, with
    `require_sso`, only from identity-provider users)."""
    return caller.registry.protect(name, env=env, require_sso=require_sso).to_dict()


@router.post(
    "/models/{name}/environments/{env}/unprotect", response_model=RequestOut, status_code=202
)
def unprotect(
    name: Name,
    env: Env,
    body: ReasonIn | None = None,
    caller: Caller = needs("environment.unprotect"),
) -> dict[str, Any]:
    """Ask to lift protection (a request another identity must approve)."""
    body = body or ReasonIn()
    return caller.registry.unprotect(name, env=env, reason=body.reason).to_dict()


@router.get("/models/{name}/environments", response_model=list[EnvironmentOut])
def environments(name: Name, caller: Caller = needs("deployment.read")) -> list[dict[str, Any]]:
    return [e.to_dict() for e in caller.registry.environments(name)]


@router.get("/models/{name}/environments/{env}/live", response_model=LiveOut)
async def live(
    name: Name,
    env: Env,
    at: Time = None,
    as_known_at: Time = None,
    caller: Caller = needs("deployment.read"),
) -> Response:
    """What served `env` at `at` (default now), as the registry knew it at `as_known_at`."""
    # The hottest route. A sync route would take two trips through the threadpool (the
    # endpoint, then validating its answer); this takes one for a store across a network,
    # and none for a local one, whose read costs less than the trip.
    reg = caller.registry
    if reg.local_reads:
        state = reg.live(name, env=env, at=at, as_known_at=as_known_at)
    else:
        state = await run_in_threadpool(reg.live, name, env=env, at=at, as_known_at=as_known_at)
    return compact_json(state.to_dict())


@router.get("/models/{name}/history", response_model=Page[EventOut])
def history(
    name: Name,
    env: Annotated[str | None, Query(max_length=MAX_ENVIRONMENT_LENGTH)] = None,
    since: Time = None,
    until: Time = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    caller: Caller = needs("deployment.read"),
) -> dict[str, Any]:
    """Deployment events in effective order."""
    events = caller.registry.history(name, env=env, since=since, until=until)
    return paginate([e.to_dict() for e in events], limit, cursor)


@router.get("/models/{name}/timeline", response_model=list[IntervalOut])
def timeline(
    name: Name,
    request: Request,
    env: Annotated[str | None, Query(max_length=MAX_ENVIRONMENT_LENGTH)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    as_known_at: Time = None,
    caller: Caller = needs("deployment.read"),
) -> Response:
    """Intervals of what served where (gzip-compressed when large and the client accepts it:
    the web UI draws whole histories)."""
    found = caller.registry.timeline(name, env=env, version=version, as_known_at=as_known_at)
    return large_json(request, [i.to_dict() for i in found])


@router.get("/requests", response_model=Page[RequestOut])
def list_requests(
    model: Annotated[str | None, Query(max_length=MAX_NAME_LENGTH)] = None,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    caller: Caller = needs("request.list"),
) -> dict[str, Any]:
    """Deployment requests the token may see, oldest first (a model outside its scope
    answers as a missing one)."""
    if model is not None:
        caller.check(model)
    found = [r for r in caller.registry.requests(model, status=status) if caller.sees(r.model)]
    return paginate([r.to_dict() for r in found], limit, cursor)


@router.get("/requests/{request_id}", response_model=RequestOut)
def show_request(request_id: RequestId, caller: Caller = needs("request.read")) -> dict[str, Any]:
    return _request(caller, request_id).to_dict()


def _request(caller: Caller, request_id: int) -> DeploymentRequest:
    """The request, answered as missing when its model is outside the token's scope."""
    found = caller.registry.request(request_id)
    caller.check(found.model, absent=request_not_found(request_id))
    return found


@router.post("/requests/{request_id}/approve", response_model=RequestOut)
def approve(
    request_id: RequestId, body: ReasonIn | None = None, caller: Caller = needs("request.approve")
) -> dict[str, Any]:
    """Approve and carry out a pending request; never by the identity that requested it."""
    body = body or ReasonIn()
    _request(caller, request_id)
    return caller.registry.approve(request_id, reason=body.reason).to_dict()


@router.post("/requests/{request_id}/reject", response_model=RequestOut)
def reject(
    request_id: RequestId, body: ReasonIn | None = None, caller: Caller = needs("request.reject")
) -> dict[str, Any]:
    body = body or ReasonIn()
    _request(caller, request_id)
    return caller.registry.reject(request_id, reason=body.reason).to_dict()
