"""Decision records in SQL: appended in batches, one audit entry per batch."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.audit import DecisionRow, decisions_change, purge_change
from ...domain.decisions import (
    Decision,
    DecisionColumns,
    NewDecision,
    check_history_unmoved,
    check_new_decision,
    input_policy_change,
)
from ...domain.errors import NotFound, StorageError, decision_not_found
from ...domain.times import from_micros, to_micros
from . import partitions as pg
from .audit import SqlAudit
from .copytext import copy_text
from .deployments import known_env_id, model_id
from .raw import Q, RawConnections, Tx

if TYPE_CHECKING:
    from ...ports import Clock

ROWS_PAGE = 20_000  # decisions read at a time when a batch is checked against its entry
COPY_PART = 5_000  # decisions a part of a COPY to PostgreSQL: one is sent while the next is made

RECORD_COLUMNS = (
    "decision_id", "model_id", "environment", "version", "version_source", "decided_at",
    "recorded_at", "inputs_digest", "inputs_mode", "inputs", "output", "metadata", "flags",
)  # fmt: skip


class SqlDecisions(SqlAudit):
    """The decision half of `SqlMetadataStore` (mixed into it)."""

    _raw: RawConnections
    _env_ids: dict[tuple[str, str], int]

    def record_decisions(
        self, items: Sequence[NewDecision], *, actor: str, clock: Clock
    ) -> datetime:
        """Append decisions atomically; a repeated decision id refuses the whole batch."""
        return self.record_decision_columns(DecisionColumns.of(items), actor=actor, clock=clock)

    def record_decision_columns(
        self, columns: DecisionColumns, *, actor: str, clock: Clock
    ) -> datetime:
        """Append a checked batch in one statement run; a repeated id refuses all of it."""
        c = columns
        count = len(c)
        postgresql = self._raw.dialect_name == "postgresql"
        if postgresql and count:
            with self._raw.write() as tx:  # a short transaction: DDL locks the parent table
                pg.create(tx, self._partitions_needed(tx, c))
        # The only reference a decision holds is its model, read below inside the
        # transaction: SQLite need not check it row by row (see `RawConnections.write`).
        with self._raw.write(foreign_keys=False) as tx:
            recorded = to_micros(clock.now())
            if not count:
                return from_micros(recorded)

            def latest(model: str, env: str) -> int | None:
                env_id = known_env_id(tx, self._env_ids, model, env)
                return None if env_id is None else tx.scalar(Q.LAST_ENV_EVENT, env_id=env_id)

            check_history_unmoved(c.histories, latest)
            ids = {m: model_id(tx, m) for m in dict.fromkeys(c.models)}
            if len(ids) == 1:
                model_ids: list[int] = [next(iter(ids.values()))] * count
            else:
                model_ids = [ids[m] for m in c.models]
            tx.all_sql("SAVEPOINT decisions")
            change: dict[str, Any] | None = None
            try:
                if postgresql:
                    change = self._copy_postgresql(tx, c, model_ids, recorded)
                else:
                    values: list[list[Any]] = [
                        c.decision_ids, model_ids, c.environments, c.versions,
                        c.version_sources, c.decided_at, [recorded] * count, c.inputs_digests,
                        c.inputs_modes, c.inputs, c.outputs, c.metadata, c.flags,
                    ]  # fmt: skip
                    tx.insert_columns(Q.NEW_DECISION_RECORD, RECORD_COLUMNS, values)
            except StorageError:
                tx.all_sql("ROLLBACK TO decisions")  # back to before the batch, to name the id
                self._name_duplicate(tx, c.decision_ids)
                raise
            tx.all_sql("RELEASE decisions")
            if change is None:
                change = decisions_change(c)
            subject = "model:" + change["models"][0] if len(ids) == 1 else "models"
            self._audit(
                tx,
                "decisions.logged",
                subject,
                actor=actor,
                at=from_micros(recorded),
                change=change,
            )
        return from_micros(recorded)

    def _partitions_needed(self, tx: Tx, c: DecisionColumns) -> list[tuple[str, str]]:
        """PostgreSQL: the partitions a batch's records and kept inputs need, not yet made."""
        ids = {m: model_id(tx, m) for m in dict.fromkeys(c.models)}
        kept: dict[int, list[int]] = {}
        if len(ids) == 1 and _same(c.inputs_modes):
            if c.inputs_modes[0] != "digest":
                kept[next(iter(ids.values()))] = c.decided_at
        else:
            for model, mode, at in zip(c.models, c.inputs_modes, c.decided_at, strict=True):
                if mode != "digest":
                    kept.setdefault(ids[model], []).append(at)
        return pg.missing(
            tx, pg.months(c.decided_at), {mid: pg.months(times) for mid, times in kept.items()}
        )

    def _copy_postgresql(
        self, tx: Tx, c: DecisionColumns, model_ids: list[int], recorded: int
    ) -> dict[str, Any]:
        """PostgreSQL: ids taken up front, then COPY into the keys (refusing a repeated id
        before the bulk is sent), the monthly record partitions and the kept inputs. The
        batch's audit change is worked out while the database reads the records: returned."""
        pg.create(tx, self._partitions_needed(tx, c))  # if one was dropped meanwhile
        count = len(c)
        last = int(tx.sql(pg.RESERVE_IDS, {"count": count})[0][0])
        ids = list(range(last - count + 1, last + 1))

        def parts(columns: list[list[Any]]) -> Iterator[str]:
            for start in range(0, count, COPY_PART):
                yield copy_text([column[start : start + COPY_PART] for column in columns])

        keys: list[list[Any]] = [c.decision_ids, c.decided_at, ids, model_ids]
        records: list[list[Any]] = [
            ids, c.decision_ids, model_ids, c.environments, c.versions, c.version_sources,
            c.decided_at, [recorded] * count, c.inputs_digests, c.inputs_modes, c.outputs,
            c.metadata, c.flags,
        ]  # fmt: skip
        # The records' text is made while the database reads the keys, and the audit change
        # while it reads the records: the server's work and ours overlap.
        made = tx.copy_text("decision_keys", pg.KEY_COLUMNS, parts(keys),
                            lambda: list(parts(records)))  # fmt: skip
        change = tx.copy_text("decisions", pg.RECORD_COLUMNS, made, lambda: decisions_change(c))
        columns: list[list[Any]] = [
            model_ids, c.decided_at, ids, c.decision_ids, c.inputs_digests, c.inputs,
        ]  # fmt: skip
        if _same(c.inputs_modes):
            if c.inputs_modes[0] != "digest":
                tx.copy_text("decision_inputs", pg.INPUT_COLUMNS, parts(columns), lambda: None)
            return change
        kept = [n for n, mode in enumerate(c.inputs_modes) if mode != "digest"]
        chosen = [[column[n] for n in kept] for column in columns]
        tx.copy_text("decision_inputs", pg.INPUT_COLUMNS, [copy_text(chosen)], lambda: None)
        return change

    def _name_duplicate(self, tx: Tx, decision_ids: list[str]) -> None:
        seen: set[str] = set()
        postgresql = self._raw.dialect_name == "postgresql"
        for decision_id in decision_ids:
            check_new_decision(
                decision_id,
                decision_id in seen
                or bool(
                    tx.sql(pg.KEY, {"decision_id": decision_id})
                    if postgresql
                    else tx.scalar(Q.DECISION_EXISTS, decision_id=decision_id)
                ),
            )
            seen.add(decision_id)

    def get_decision(self, decision_id: str) -> Decision:
        if self._raw.dialect_name == "postgresql":
            row = self._postgresql_decision(decision_id)
        else:
            row = self._raw.reader().one(Q.DECISION_BY_ID, decision_id=decision_id)
        if row is None:
            raise NotFound(decision_not_found(decision_id))
        return _to_decision(row)

    def _postgresql_decision(self, decision_id: str) -> Any | None:
        """One probe of the keys, then one partition of records and one of inputs."""
        tx = self._raw.reader()
        key = tx.sql(pg.KEY, {"decision_id": decision_id})
        if not key:
            return None
        at, row_id, mid = key[0]
        found = tx.sql(pg.BY_KEY, {"at": at, "id": row_id, "model_id": mid})
        return pg.Row._make(found[0]) if found else None

    def decision_batch(self, first: str, last: str) -> list[Decision]:
        if self._raw.dialect_name == "postgresql":
            tx = self._raw.reader()
            ends = [tx.sql(pg.KEY, {"decision_id": d}) for d in (first, last)]
            if not all(ends):
                return []
            found = tx.sql(pg.BY_IDS, {"first": ends[0][0][1], "last": ends[1][0][1]})
            return [_to_decision(pg.Row._make(r)) for r in found]
        rows = self._raw.reader().all(Q.DECISION_BATCH, first=first, last=last)
        return [_to_decision(r) for r in rows]

    def decision_rows(
        self, first: str | None = None, last: str | None = None
    ) -> Iterator[list[DecisionRow]]:
        """Pages of the decisions from `first` to `last` (default: all of them) in row id
        order: each page is one statement read to its end, on an index range (one per month
        on PostgreSQL)."""
        tx = self._raw.reader()
        postgresql = self._raw.dialect_name == "postgresql"
        ends: list[int | None] = []
        for decision_id in (first, last):
            if decision_id is None:
                ends.append(None)
            elif postgresql:
                found = tx.sql(pg.KEY, {"decision_id": decision_id})
                ends.append(found[0][1] if found else -1)
            else:
                ends.append(tx.scalar(Q.DECISION_EXISTS, decision_id=decision_id) or -1)
        if -1 in ends:
            return
        after = -(2**62) if ends[0] is None else ends[0] - 1
        upto = 2**62 if ends[1] is None else ends[1]
        purges = [tuple(r) for r in tx.sql(pg.PURGES)] if postgresql else []
        while after < upto:
            bounds = {"after": after, "upto": upto, "limit": ROWS_PAGE}
            if not postgresql:
                rows = tx.tuples(Q.DECISION_ROWS, **bounds)
                if not rows:
                    return
                after = rows[-1][0]
                yield [row[1:] for row in rows]
                continue
            rows = tx.sql(pg.ROWS_PAGE, bounds)
            if not rows:
                return
            after = rows[-1][0]
            if not purges:
                yield [(*row[1:11], None) for row in rows]
                continue
            yield [
                (*row[1:11], pg.purged_at(purges, row[2], row[5], row[0]) if row[11] else None)
                for row in rows
            ]

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
        tx = self._raw.reader()
        bounds = {
            "model_id": model_id(tx, model),
            "since": to_micros(since) if since else -(2**62),
            "until": to_micros(until) if until else 2**62,
            "environment": env,
            "version": version,
            "limit": limit,
            "offset": offset,
        }
        if self._raw.dialect_name == "postgresql":
            return [_to_decision(pg.Row._make(r)) for r in tx.sql(pg.OF_MODEL, bounds)]
        rows = tx.all(Q.MODEL_DECISIONS, **bounds)
        return [_to_decision(r) for r in rows]

    def input_mode(self, model: str) -> str:
        return self.input_policy(model)[0]

    def input_policy(self, model: str) -> tuple[str, int | None]:
        """(inputs mode, retention in days or None)."""
        tx = self._raw.reader()
        row = tx.one(Q.INPUT_POLICY, model_id=model_id(tx, model))
        return ("inline", None) if row is None else (str(row[0]), row[1])

    def set_input_mode(
        self,
        model: str,
        mode: str,
        *,
        actor: str,
        at: datetime,
        retention_days: int | None = None,
    ) -> None:
        with self._raw.write() as tx:
            mid = model_id(tx, model)
            row = tx.one(Q.INPUT_POLICY, model_id=mid)
            current = None if row is None else (row[0], row[1])
            change = input_policy_change(model, mode, retention_days, current)
            if change is None:
                return
            statement = Q.NEW_INPUT_POLICY if row is None else Q.SET_INPUT_POLICY
            tx.execute(statement, model_id=mid, mode=mode, days=retention_days)
            self._audit(
                tx,
                "decisions.policy_set",
                f"model:{model}",
                actor=actor,
                at=at,
                change=change,
            )

    def purge_inputs(
        self, model: str, cutoff: datetime, *, actor: str, at: datetime
    ) -> list[tuple[str, str, str]]:
        """Drop stored inputs of decisions made before `cutoff`, keeping records and digests;
        returns (decision id, mode, digest) of each, and records the purge in the audit log."""
        if self._raw.dialect_name == "postgresql":
            return self._purge_postgresql(model, cutoff, actor=actor, at=at)
        with self._raw.write() as tx:
            rows = tx.tuples(
                Q.EXPIRED_INPUTS, model_id=model_id(tx, model), cutoff=to_micros(cutoff)
            )
            for row_id, _, _, _ in rows:
                tx.execute(Q.PURGE_INPUTS, id=row_id, at=to_micros(at))
            if rows:
                self._audit(
                    tx,
                    "decisions.inputs_purged",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change=purge_change(model, cutoff, [str(r[1]) for r in rows]),
                )
        return [(str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def _purge_postgresql(
        self, model: str, cutoff: datetime, *, actor: str, at: datetime
    ) -> list[tuple[str, str, str]]:
        """PostgreSQL: drop each monthly inputs partition of the model wholly before `cutoff`,
        delete rows only in the month `cutoff` falls in, and record the purge as one range."""
        with self._raw.write() as tx:
            mid = model_id(tx, model)
            before = to_micros(cutoff)
            rows = tx.sql(pg.EXPIRED, {"model_id": mid, "cutoff": before})
            if rows:
                for name, month in pg.model_months(tx, mid):
                    start, end = pg.bounds(month)
                    if end <= before:
                        tx.sql(f"DROP TABLE {name}")
                    elif start < before:
                        tx.sql(
                            f"DELETE FROM {name} WHERE decided_at < %(cutoff)s",  # noqa: S608 - our own name
                            {"cutoff": before},
                        )
                last_id = max(r[0] for r in rows)
                tx.sql(
                    pg.NEW_PURGE,
                    {"model_id": mid, "cutoff": before, "last_id": last_id, "at": to_micros(at)},
                )
                self._audit(
                    tx,
                    "decisions.inputs_purged",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change=purge_change(model, cutoff, [str(r[1]) for r in rows]),
                )
        return [(str(r[1]), "blob" if r[2] else "inline", str(r[3])) for r in rows]

    def decision_input_blobs(self) -> set[str]:
        """Blob addresses of inputs still kept in the blob store (for gc and fsck)."""
        tx = self._raw.reader()
        found = (
            tx.sql(pg.BLOBS_KEPT)
            if self._raw.dialect_name == "postgresql"
            else tx.tuples(Q.BLOB_INPUTS_IN_USE)
        )
        return {str(d).removeprefix("sha256:") for (d,) in found}


def _same(column: list[str]) -> bool:
    return not column or column.count(column[0]) == len(column)


def _to_decision(r: Any) -> Decision:
    return Decision(
        decision_id=r.decision_id,
        model=r.model_name,
        environment=r.environment,
        version=r.version,
        version_source=r.version_source,
        decided_at=from_micros(r.decided_at),
        recorded_at=from_micros(r.recorded_at),
        inputs_digest=r.inputs_digest,
        inputs_mode=r.inputs_mode,
        inputs=None if r.inputs is None else json.loads(r.inputs),
        output=json.loads(r.output),
        metadata=json.loads(r.metadata),
        flags=tuple(json.loads(r.flags)),
        inputs_purged_at=None if r.inputs_purged_at is None else from_micros(r.inputs_purged_at),
    )
