"""Pages of a long list: an opaque cursor (an offset) and whether more follow.

The server's lists and the CLI's tables page the same way, so a cursor printed by one is
understood by the other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from .errors import InvalidInput

T = TypeVar("T")


def cursor_offset(cursor: str | None) -> int:
    """The offset a cursor stands for (0 for the first page)."""
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 12:
        raise InvalidInput(f"invalid cursor {cursor!r}: pass the next_cursor of a previous page")
    return int(cursor)


def paginate(items: Sequence[T], limit: int, cursor: str | None) -> dict[str, Any]:
    """`{"items": [...], "next_cursor": ...}` for one page of `items` (an opaque offset)."""
    offset = cursor_offset(cursor)
    end = offset + limit
    return {"items": list(items[offset:end]), "next_cursor": str(end) if end < len(items) else None}
