"""What every route module shares: error responses in the schema, pagination."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query

from ...domain.errors import InvalidInput
from ..schemas import Error

T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Error, "description": description}
    for status, description in (
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


def paginate(items: Sequence[T], limit: int, cursor: str | None) -> dict[str, Any]:
    """`{"items": [...], "next_cursor": ...}` for one page of `items` (an opaque offset)."""
    offset = 0
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 12:
            raise InvalidInput(f"invalid cursor {cursor!r}")
        offset = int(cursor)
    end = offset + limit
    return {"items": list(items[offset:end]), "next_cursor": str(end) if end < len(items) else None}
