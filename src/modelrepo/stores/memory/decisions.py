"""Logged decisions in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ...domain.audit import DecisionRow, decisions_change, purge_change
from ...domain.decisions import (
    Decision,
    DecisionColumns,
    NewDecision,
    canonical_json,
    check_history_unmoved,
    check_new_decision,
    encode_canonical_each,
    flags_json,
    input_policy_change,
)
from ...domain.errors import NotFound, decision_not_found
from ...domain.times import from_micros, to_micros
from .deployments import MemoryDeployments

if TYPE_CHECKING:
    from ...ports import Clock


class MemoryDecisions(MemoryDeployments):
    """Logged decisions and the input policy per model, in dicts."""

    def __init__(self) -> None:
        self._decisions: dict[str, Decision] = {}
        self._input_modes: dict[str, tuple[str, int | None]] = {}

    def record_decisions(
        self, items: Sequence[NewDecision], *, actor: str, clock: Clock
    ) -> datetime:
        return self.record_decision_columns(DecisionColumns.of(items), actor=actor, clock=clock)

    def record_decision_columns(
        self, columns: DecisionColumns, *, actor: str, clock: Clock
    ) -> datetime:
        c = columns
        with self._lock:
            recorded = clock.now()
            for model in dict.fromkeys(c.models):
                self._state(model)
            check_history_unmoved(c.histories, self._latest_event_id)
            batch: dict[str, Decision] = {}
            loads = json.loads
            for row in zip(c.decision_ids, c.models, c.environments, c.versions,
                           c.version_sources, c.decided_at, c.inputs_digests, c.inputs_modes,
                           c.inputs, c.outputs, c.metadata, c.flags, strict=True):  # fmt: skip
                decision_id, model, env, version, source, decided, digest, mode = row[:8]
                inputs, output, metadata, flags = row[8:]
                check_new_decision(
                    decision_id, decision_id in self._decisions or decision_id in batch
                )
                batch[decision_id] = Decision(
                    decision_id, model, env, version, source, from_micros(decided), recorded,
                    digest, mode, None if inputs is None else loads(inputs), loads(output),
                    loads(metadata), tuple(loads(flags)),
                )  # fmt: skip
            if batch:
                change = decisions_change(c)
                models = change["models"]
                self._audit(
                    "decisions.logged",
                    "model:" + models[0] if len(models) == 1 else "models",
                    actor=actor,
                    at=recorded,
                    change=change,
                )
            self._decisions.update(batch)
            return recorded

    def get_decision(self, decision_id: str) -> Decision:
        with self._lock:
            found = self._decisions.get(decision_id)
        if found is None:
            raise NotFound(decision_not_found(decision_id))
        return found

    def decision_batch(self, first: str, last: str) -> list[Decision]:
        with self._lock:
            ordered = list(self._decisions.values())
        ids = [d.decision_id for d in ordered]
        if first not in ids or last not in ids:
            return []
        return ordered[ids.index(first) : ids.index(last) + 1]

    def decision_rows(
        self, first: str | None = None, last: str | None = None
    ) -> Iterator[list[DecisionRow]]:
        with self._lock:
            if first is None and last is None:
                batch = list(self._decisions.values())
            else:
                everything = list(self._decisions)
                if (first is not None and first not in self._decisions) or (
                    last is not None and last not in self._decisions
                ):
                    return
                start = 0 if first is None else everything.index(first)
                end = len(everything) if last is None else everything.index(last) + 1
                batch = [self._decisions[d] for d in everything[start:end]]
        outputs = encode_canonical_each([d.output for d in batch])
        yield [
            (d.decision_id, d.model, d.environment, d.version, to_micros(d.decided_at),
             d.inputs_digest, output, canonical_json(dict(d.metadata)) if d.metadata else "{}",
             flags_json(tuple(d.flags)), to_micros(d.recorded_at),
             None if d.inputs_purged_at is None else to_micros(d.inputs_purged_at))
            for d, output in zip(batch, outputs, strict=True)
        ]  # fmt: skip

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
        with self._lock:
            self._state(model)
            found = [
                d
                for d in self._decisions.values()
                if d.model == model
                and (since is None or d.decided_at >= since)
                and (until is None or d.decided_at <= until)
                and (env is None or d.environment == env)
                and (version is None or d.version == version)
            ]
        return sorted(found, key=lambda d: d.decided_at)[offset : offset + limit]

    def input_mode(self, model: str) -> str:
        return self.input_policy(model)[0]

    def input_policy(self, model: str) -> tuple[str, int | None]:
        with self._lock:
            self._state(model)
            return self._input_modes.get(model, ("inline", None))

    def set_input_mode(
        self,
        model: str,
        mode: str,
        *,
        actor: str,
        at: datetime,
        retention_days: int | None = None,
    ) -> None:
        with self._lock:
            self._state(model)
            current = self._input_modes.get(model)
            change = input_policy_change(model, mode, retention_days, current)
            if change is None:
                return
            self._input_modes[model] = (mode, retention_days)
            self._audit("decisions.policy_set", f"model:{model}", actor=actor, at=at, change=change)

    def purge_inputs(
        self, model: str, cutoff: datetime, *, actor: str, at: datetime
    ) -> list[tuple[str, str, str]]:
        with self._lock:
            self._state(model)
            expired = [
                d
                for d in self._decisions.values()
                if d.model == model
                and d.decided_at < cutoff
                and d.inputs_purged_at is None
                and d.inputs_mode != "digest"
            ]
            for d in expired:
                self._decisions[d.decision_id] = replace(d, inputs=None, inputs_purged_at=at)
            if expired:
                self._audit(
                    "decisions.inputs_purged",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change=purge_change(model, cutoff, [d.decision_id for d in expired]),
                )
            return [(d.decision_id, d.inputs_mode, d.inputs_digest) for d in expired]

    def decision_input_blobs(self) -> set[str]:
        with self._lock:
            return {
                d.inputs_digest.removeprefix("sha256:")
                for d in self._decisions.values()
                if d.inputs_mode == "blob" and d.inputs_purged_at is None
            }
