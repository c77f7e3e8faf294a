"""Decisions: recording what a model decided, one or in bulk, and reading them back, over an
embedded store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.arguments import optional_time
from ..api.decisions import DecisionsAPI
from ..domain.errors import HistoryMoved, InvalidInput
from ..domain.names import check_version, validate_model_name
from .core import Core, changes

if TYPE_CHECKING:
    from ..domain.decisions import Decision, DecisionColumns
    from ..domain.pages import Page

DECISION_ATTEMPTS = 20
"""Tries to append a decision batch while deployments keep landing between check and write."""


class Decisions(Core, DecisionsAPI):
    @changes
    def log_decisions(self, records: Iterable[Mapping[str, Any]]) -> int:
        from ..decisioning import prepare

        rows = list(records)
        return len(self._append_decisions(lambda: prepare(self, rows)))

    def _append_decisions(self, make: Callable[[], DecisionColumns]) -> DecisionColumns:
        """Check a batch against the history and append it; if a deployment was recorded in
        between (so a version or flag may be out of date), check it again."""
        for attempt in range(1, DECISION_ATTEMPTS + 1):
            columns = make()
            try:
                self.backend.metadata.record_decision_columns(
                    columns, actor=self.user, clock=self.clock
                )
            except HistoryMoved:
                if attempt == DECISION_ATTEMPTS:
                    raise
                continue
            return columns
        raise AssertionError("unreachable")  # pragma: no cover

    @changes
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
        from ..decisioning import Given, as_column, prepare_columns

        out = as_column(outputs, "outputs")
        count = len(out)
        times: list[Any] | None
        if decided_at is None:
            times = None  # now, for all
        elif isinstance(decided_at, (str, datetime)):
            times = [decided_at] * count
        else:
            times = as_column(decided_at, "decided_at")
        if metadata is None or isinstance(metadata, Mapping):
            meta: list[Any] = [metadata] * count
        else:
            meta = as_column(metadata, "metadata")
        if inputs is not None and inputs_digests is not None:
            raise InvalidInput("send the decisions' inputs or their digests, not both")
        given = Given(
            models=[model] * count,
            environments=[environment] * count,
            versions=[version] * count,
            outputs=out,
            decided_at=times,
            metadata=meta,
        )
        if inputs is not None:
            given.inputs = as_column(inputs, "inputs")
        if inputs_digests is not None:
            given.inputs_digests = as_column(inputs_digests, "inputs_digests")
        if decision_ids is not None:
            given.decision_ids = as_column(decision_ids, "decision_ids")
        return len(self._append_decisions(lambda: prepare_columns(self, given)))

    @changes
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
        from ..decisioning import prepare

        record = {
            "model": model,
            "inputs": inputs,
            "output": output,
            "environment": environment,
            "version": version,
            "decision_id": decision_id,
            "decided_at": decided_at,
            "metadata": metadata,
        }
        columns = self._append_decisions(lambda: prepare(self, [record]))
        return self.backend.metadata.get_decision(columns.decision_ids[0])

    def decision(self, decision_id: str) -> dict[str, Any]:
        from ..decisioning import explain

        return explain(self, decision_id)

    def decision_inputs(self, decision_id: str) -> Any:
        from ..decisioning import stored_inputs

        return stored_inputs(self, decision_id)

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
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput(f"limit must be a positive number, not {limit!r}")
        return self.backend.metadata.list_decisions(
            validate_model_name(model),
            optional_time(since, "since"),
            optional_time(until, "until"),
            limit,
            env=env,
            version=None if version is None else check_version(version),
        )

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
        from ..domain.pages import read_page

        name = validate_model_name(model)
        first, last = optional_time(since, "since"), optional_time(until, "until")
        number = None if version is None else check_version(version)
        return read_page(
            lambda count, offset: self.backend.metadata.list_decisions(
                name, first, last, count, env=env, version=number, offset=offset
            ),
            limit,
            cursor,
            most=100_000,
        )

    @changes
    def set_decision_inputs(
        self, model: str, mode: str, *, retention_days: int | None = None
    ) -> None:
        from ..domain.decisions import check_input_mode

        if retention_days is not None and (
            isinstance(retention_days, bool) or not isinstance(retention_days, int)
            or retention_days < 1
        ):  # fmt: skip
            raise InvalidInput("retention must be a positive number of days")
        self.backend.metadata.set_input_mode(
            validate_model_name(model),
            check_input_mode(mode),
            actor=self.user,
            at=self.clock.now(),
            retention_days=retention_days,
        )

    @changes
    def purge_decision_inputs(self, model: str | None = None) -> dict[str, int]:
        from datetime import timedelta

        names = [validate_model_name(model)] if model else [m.name for m in self.models()]
        now = self.clock.now()
        purged: dict[str, int] = {}
        for name in names:
            _, days = self.backend.metadata.input_policy(name)
            if days is None:
                continue
            done = self.backend.metadata.purge_inputs(
                name, now - timedelta(days=days), actor=self.user, at=now
            )
            if done:
                purged[name] = len(done)
        return purged

    def import_decisions(
        self,
        path: str | os.PathLike[str],
        *,
        check: Callable[[Sequence[Any]], None] | None = None,
    ) -> int:
        from ..decisioning import Given, prepare_columns, read_records

        found = read_records(Path(path))
        if check is not None:
            check(found.models if isinstance(found, Given) else [r.get("model") for r in found])
        if not isinstance(found, Given):
            return self.log_decisions(found)
        return self._log_columns(lambda: prepare_columns(self, found))

    @changes
    def _log_columns(self, make: Callable[[], DecisionColumns]) -> int:
        return len(self._append_decisions(make))
