"""Refused requests: append-only, each batch bound by one audit entry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.denials import Denial


class DenialStore(Protocol):
    """Refused requests (append-only, each batch bound by one audit entry)."""

    def record_denials(self, batch: Sequence[Denial], *, actor: str, at: datetime) -> list[Denial]:
        """Append refused requests (ids given here, in order) with one `access.denied` audit
        entry carrying their digest, atomically; returns them with their ids."""
        ...

    def denials(
        self,
        *,
        since: datetime | None = None,
        model: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Denial]:
        """Refused requests last seen at or after `since` (of `model`), newest first: at most
        `limit` of them after skipping the first `offset`."""
        ...

    def denials_between(self, first: int, last: int) -> list[Denial]:
        """The records with ids `first` to `last`, in id order (what one batch added)."""
        ...
