"""What the MLflow routes share: request bodies, the model-scope check, pages, pending
approvals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ...domain.deployments import DeploymentOutcome
from ...domain.errors import InvalidInput
from ...domain.names import MAX_NUMBER, validate_model_name
from ..auth import Caller
from ..mlflow_errors import response

MaxResults = Annotated[int, Query(ge=1, le=200_000)]
PageToken = Annotated[str | None, Query(max_length=12, pattern="^[0-9]*$")]
VersionValue = Annotated[str, Field(max_length=20)] | Annotated[int, Field(le=MAX_NUMBER)]
"""A version in an MLflow body: a string of digits as MLflow sends it, or a number; both
checked again by `entities.number`."""


class _Body(BaseModel):
    """MLflow clients send fields this server has no use for (`run_link`, ...): ignored."""

    model_config = ConfigDict(extra="ignore")


class Named(_Body):
    name: str = Field(max_length=256)


def scoped(caller: Caller, name: str) -> str:
    """`name`, checked, and within the token's model scope (the name is in the body or the
    query, so the route's dependency could not check it): a model outside it answers as a
    missing one."""
    validate_model_name(name)
    caller.check(name)
    return name


def pending(outcome: DeploymentOutcome) -> JSONResponse | None:
    """A change to a protected environment is a request awaiting approval, not done: MLflow
    has no word for that, so the client gets an error saying so (HTTP 202: it was accepted)."""
    if outcome.status != "pending":
        return None
    assert outcome.request is not None
    message = (
        f"{outcome.request.model}@{outcome.request.environment} is protected: request "
        f"{outcome.request.request_id} awaits approval by another identity"
    )
    return response("INVALID_STATE", message, 202)


def page(
    docs: list[dict[str, Any]],
    key: str,
    order_by: list[str] | None,
    fields: tuple[str, ...],
    max_results: int,
    token: str | None,
    build: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One page of `docs` in MLflow's shape, ordered by `order_by` (`name DESC`, ...).
    With `build`, `docs` are rows holding only what is ordered by, and `build` makes the
    document of each row on the page (so the rest are never built)."""
    for clause in reversed(order_by or [fields[0]]):
        field, _, direction = clause.strip().partition(" ")
        field = {"version_number": "version"}.get(field, field)
        if field not in {*fields, "version"} or direction.upper() not in ("", "ASC", "DESC"):
            raise InvalidInput(f"invalid order_by {clause!r}: use one of {', '.join(fields)}")
        numeric = field == "version"
        docs.sort(
            key=lambda d: int(d[field]) if numeric else d[field],
            reverse=direction.upper() == "DESC",
        )
    start = int(token) if token else 0
    end = start + max_results
    chosen = docs[start:end]
    result: dict[str, Any] = {key: [build(d) for d in chosen] if build else chosen}
    if end < len(docs):
        result["next_page_token"] = str(end)
    return result


def orders_by(order_by: list[str] | None, field: str) -> bool:
    """Whether `order_by` names `field` (so rows must hold it before a page is chosen)."""
    return any(clause.strip().partition(" ")[0] == field for clause in order_by or [])
