"""The decision log (append-only) and how each model's inputs are kept."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from .clock import Clock

if TYPE_CHECKING:
    from ..domain.audit import DecisionRow
    from ..domain.decisions import Decision, DecisionColumns, NewDecision


class DecisionStore(Protocol):
    """Decisions (append-only) and the keeping and purging of their inputs."""

    def record_decisions(
        self, items: Sequence[NewDecision], *, actor: str, clock: Clock
    ) -> datetime:
        """Append decisions atomically (one audit entry per batch); returns the recording
        time. A decision id already recorded refuses the whole batch (Conflict)."""
        ...

    def record_decision_columns(
        self, columns: DecisionColumns, *, actor: str, clock: Clock
    ) -> datetime:
        """`record_decisions` for a checked batch given column by column (the bulk path)."""
        ...

    def get_decision(self, decision_id: str) -> Decision: ...

    def decision_batch(self, first: str, last: str) -> list[Decision]:
        """The decisions recorded in one batch, from its first to its last, in order."""
        ...

    def decision_rows(
        self, first: str | None = None, last: str | None = None
    ) -> Iterator[list[DecisionRow]]:
        """The decisions from `first` to `last` (default: from the first recorded, to the
        last) in recording order, as verification reads them, in pages (a batch of millions
        is never held whole); nothing when `first` or `last` is gone."""
        ...

    def list_decisions(
        self,
        model: str,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        *,
        env: str | None = None,
        version: int | None = None,
        offset: int = 0,
    ) -> list[Decision]:
        """A model's decisions in decision-time order (ties in recording order), those of
        `env` and `version` only when given: `limit` of them after skipping `offset`. The
        store filters, so a page is never short for matches beyond what it read."""
        ...

    def input_mode(self, model: str) -> str: ...

    def input_policy(self, model: str) -> tuple[str, int | None]:
        """(how inputs are kept, retention in days or None)."""
        ...

    def set_input_mode(
        self,
        model: str,
        mode: str,
        *,
        actor: str,
        at: datetime,
        retention_days: int | None = None,
    ) -> None: ...

    def purge_inputs(
        self, model: str, cutoff: datetime, *, actor: str, at: datetime
    ) -> list[tuple[str, str, str]]:
        """Drop stored inputs of decisions made before `cutoff` (records and digests stay);
        the purge is itself an audit entry. Returns (decision id, mode, digest) of each."""
        ...

    def decision_input_blobs(self) -> set[str]:
        """Blob addresses of decision inputs still kept (gc must not collect them)."""
        ...
