"""The decisions API (record them, one or in bulk, and read them back), as both registries
offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from datetime import datetime

    from ..domain.decisions import Decision
    from ..domain.pages import Page


class DecisionsAPI(Protocol):
    """Recording decisions and reading them back."""

    def log_decisions(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Record many decisions in one transaction (all or none); returns how many.

        Each record: `model`, `inputs`, `output`, and `version` or `environment` (to resolve
        the version live there at `decided_at`); optional `decision_id`, `decided_at`
        (default now), `metadata`. Doubtful ones are flagged, never dropped."""
        ...

    def log_decision_columns(
        self,
        model: str,
        *,
        outputs: Sequence[Any],
        environment: str | None = None,
        version: int | None = None,
        decided_at: Sequence[datetime | str] | datetime | str | None = None,
        inputs: Sequence[Any] | None = None,
        inputs_digests: Sequence[str] | None = None,
        decision_ids: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | Mapping[str, Any] | None = None,
    ) -> int:
        """Record many decisions of one model, given column by column, in one transaction
        (all or none); returns how many. The bulk form of `log_decisions`, with the same
        checks and flags, for callers that already hold columns (a data frame, an Arrow
        table: pass each column as a list, or anything with `to_pylist()` or `tolist()`).

        `outputs` has one value per decision, and sets how many there are; `inputs` or (when
        the model keeps a digest only) `inputs_digests`, `decided_at` (default now),
        `decision_ids` (default generated) and `metadata` are columns of the same length, or
        one value for every decision (`decided_at`, `metadata`). The version is `version`,
        or the one live in `environment` at each decision's time."""
        ...

    def log_decision(
        self,
        model: str,
        *,
        inputs: Any,
        output: Any,
        environment: str | None = None,
        version: int | None = None,
        decision_id: str | None = None,
        decided_at: datetime | str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Record one decision and return it as stored."""
        ...

    def decision(self, decision_id: str) -> dict[str, Any]:
        """The whole story of a decision: record, version, lineage, deployment, approval."""
        ...

    def decision_inputs(self, decision_id: str) -> Any:
        """A decision's stored inputs (refused when only their digest was kept)."""
        ...

    def decisions(
        self,
        model: str,
        *,
        env: str | None = None,
        version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 1000,
    ) -> list[Decision]:
        """A model's decisions in decision-time order, optionally filtered: the first
        `limit` of them (`decisions_page` pages through all of them)."""
        ...

    def decisions_page(
        self,
        model: str,
        *,
        env: str | None = None,
        version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Decision]:
        """One page of `decisions` and the `next_cursor` to pass for the next page, None on
        the last: a long list never ends without saying so. A page holds up to 100,000
        decisions (1,000 through a server)."""
        ...

    def set_decision_inputs(
        self, model: str, mode: str, *, retention_days: int | None = None
    ) -> None:
        """How this model's decision inputs are kept (inline, blob, or digest only), and for
        how many days before `purge_decision_inputs` drops them (None: kept)."""
        ...

    def purge_decision_inputs(self, model: str | None = None) -> dict[str, int]:
        """Apply retention: drop stored inputs older than each model's retention period,
        keeping every record and digest; each purge is an audit entry. Blob-kept inputs
        become collectable by `gc`."""
        ...

    def import_decisions(
        self,
        path: str | os.PathLike[str],
        *,
        check: Callable[[Sequence[Any]], None] | None = None,
    ) -> int:
        """Record decisions from a JSON Lines or Parquet file (one transaction).

        `check` is given the model of every decision in the file before anything is
        recorded (a server refuses models outside its caller's scope there)."""
        ...
