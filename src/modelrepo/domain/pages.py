"""Pages of a long list: an opaque cursor (an offset) and whether more follow.

The server's lists and the CLI's tables page the same way, so a cursor printed by one is
understood by the other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

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


class Page(Generic[T]):
    """One page of a long list, and the cursor of the next one (None: this is the last)."""

    __slots__ = ("items", "next_cursor")

    def __init__(self, items: list[T], next_cursor: str | None) -> None:
        self.items = items
        self.next_cursor = next_cursor

    def __repr__(self) -> str:
        return f"Page({len(self.items)} items, next_cursor={self.next_cursor!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Page):
            return NotImplemented
        return (self.items, self.next_cursor) == (other.items, other.next_cursor)

    __hash__ = None  # type: ignore[assignment]

    def document(self, item: Callable[[T], Any]) -> dict[str, Any]:
        """`{"items": [...], "next_cursor": ...}`, each item as `item` writes it."""
        return {"items": [item(i) for i in self.items], "next_cursor": self.next_cursor}


def read_page(
    read: Callable[[int, int], list[T]], limit: int, cursor: str | None, *, most: int
) -> Page[T]:
    """One page from a store: `read(count, offset)` is asked for one item more than the
    page holds, which tells whether another page follows."""
    size, offset = check_page_size(limit, most), cursor_offset(cursor)
    found = read(size + 1, offset)
    return Page(found[:size], str(offset + size) if len(found) > size else None)


def check_page_size(limit: int, most: int = 1000) -> int:
    """A page size the caller may ask for: 1 to `most` items."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidInput(f"a page holds 1 to {most} items, not {limit!r}")
    return limit
