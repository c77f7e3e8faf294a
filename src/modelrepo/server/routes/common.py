"""What every route module shares: error responses in the schema, pagination."""

from __future__ import annotations

import gzip
import json
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError

from ...domain.pages import paginate as paginate
from ..schemas import Error

T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Error, "description": description}
    for status, description in (
        (400, "A body that cannot be parsed at all (not UTF-8, a broken multipart form)"),
        (401, "No valid API token"),
        (403, "The token's role or model scope does not permit this"),
        (404, "Not found"),
        (409, "Conflicts with the store's state"),
        (422, "Invalid input"),
    )
}

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(pattern="^[0-9]{1,12}$", description="`next_cursor` of the previous page."),
]


GZIP_ABOVE = 64 * 1024


def compact_json(content: Any) -> Response:
    """`content` (already in its response model's shape) as compact JSON, not validated
    again: for hot read routes, whose answers the schema tests check against the model."""
    body = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, media_type="application/json")


def large_json(request: Request, content: Any) -> Response:
    """`content` (already in its response model's shape) as compact JSON, gzip-compressed
    when the client accepts it and it is large: for big read-only answers (a 10,000-event
    timeline is 2 MB of JSON, 0.1 MB compressed), without validating each item again."""
    body = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Vary": "Accept-Encoding"}
    accepted = request.headers.get("accept-encoding", "")
    if len(body) > GZIP_ABOVE and "gzip" in accepted.lower():
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


BODY_MODELS: list[type[BaseModel]] = []
"""Models of bodies that routes read themselves (`json_body`): added to the schema's
components, since no route parameter names them."""


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` of a route that validates its JSON body itself (`read_json`): the
    documented body is still `model`."""
    BODY_MODELS.append(model)
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def read_json(adapter: TypeAdapter[T], request: Request, raw: bytes) -> T:
    """A large JSON body parsed and validated in one pass by pydantic-core, into plain
    dicts and lists: several times faster than `json.loads` and a model per item, then a
    dump. Errors are those FastAPI reports for a body (a 422 with `body.` locations)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and not (kind == "application/json" or kind.endswith("+json")):
        raise RequestValidationError(
            [{"type": "json_type", "loc": ("body",), "msg": "the body must be JSON", "input": None}]
        )
    try:
        return adapter.validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
