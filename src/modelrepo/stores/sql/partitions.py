"""PostgreSQL's decision log at volume: monthly partitions, made on demand.

Layout (migration 0007; SQLite keeps its single `decisions` table):

- `decisions`: the records, partitioned by RANGE (decided_at), one partition a calendar month
  (UTC), `decisions_YYYY_MM`. Records are never deleted, so one level is enough.
- `decision_keys` (decision_id primary key, decided_at, id, model_id): the global uniqueness
  of decision ids (a unique index on a partitioned table must include the partition key), and
  where a decision lives, so a lookup by id is one probe here and one in a single partition.
- `decision_inputs`: the inputs still kept (inline text, or NULL when kept as a blob),
  partitioned by LIST (model) then by month: `decision_inputs_m<model id>_YYYY_MM`. Models
  with different retention never share a partition, so retention drops every month wholly
  past the cutoff and deletes rows only in the one month the cutoff falls in.
- `decision_purges` (model_id, decided_before, last_id, purged_at): each purge as a range.
  A decision's inputs were purged at the earliest purge of its model with `decided_at <
  decided_before` and `id <= last_id` (ids grow in commit order under the write lock, so a
  decision recorded after a purge is not covered by it).

TRUNCATE is refused on each of these tables and on every partition (migration 0009, and
`create` for partitions made later); retention drops or deletes, never truncates.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .raw import Tx

_INPUTS_PARTITION = re.compile(r"decision_inputs_m[0-9]+_[0-9]{4}_[0-9]{2}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX = 2**63 - 1

Month = tuple[int, int]


def month_of(micros: int) -> Month:
    """The calendar month (UTC) of an instant in microseconds since the epoch."""
    seconds, _ = divmod(micros, 1_000_000)
    at = _EPOCH + timedelta(seconds=seconds)
    return at.year, at.month


def _start(month: Month) -> int:
    delta = datetime(month[0], month[1], 1, tzinfo=UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000


def _following(month: Month) -> Month:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def bounds(month: Month) -> tuple[int, int]:
    """[start, end) of a month in microseconds."""
    return _start(month), _MAX if month == (9999, 12) else _start(_following(month))


def months(times: list[int]) -> list[Month]:
    """The months a batch's decision times fall in: every month from the first to the last
    when they span at most two years (cheap, and an empty partition costs nothing), else
    exactly those found."""
    first, last = month_of(min(times)), month_of(max(times))
    if (last[0] - first[0]) * 12 + last[1] - first[1] <= 24:
        found = [first]
        while found[-1] != last:
            found.append(_following(found[-1]))
        return found
    return sorted({month_of(t) for t in times})


def record_partition(month: Month) -> str:
    return f"decisions_{month[0]:04d}_{month[1]:02d}"


def model_partition(model_id: int) -> str:
    return f"decision_inputs_m{int(model_id)}"


def inputs_partition(model_id: int, month: Month) -> str:
    return f"{model_partition(model_id)}_{month[0]:04d}_{month[1]:02d}"


def _values(month: Month) -> str:
    low, high = bounds(month)
    return f"FOR VALUES FROM ({low}) TO ({high})"


def missing(
    tx: Tx, record_months: Iterable[Month], inputs: dict[int, list[Month]]
) -> list[tuple[str, str]]:
    """(name, CREATE statement) of each partition a batch needs that does not exist yet."""
    wanted: dict[str, str] = {}
    for month in record_months:
        wanted[record_partition(month)] = (
            f"CREATE TABLE {record_partition(month)} PARTITION OF decisions {_values(month)}"
        )
    for model_id, model_months in inputs.items():
        per_model = model_partition(model_id)
        wanted[per_model] = (
            f"CREATE TABLE {per_model} PARTITION OF decision_inputs "
            f"FOR VALUES IN ({int(model_id)}) PARTITION BY RANGE (decided_at)"
        )
        for month in model_months:
            wanted[inputs_partition(model_id, month)] = (
                f"CREATE TABLE {inputs_partition(model_id, month)} "
                f"PARTITION OF {per_model} {_values(month)}"
            )
    present = {
        str(r[0])
        for r in tx.sql(
            "SELECT relname FROM pg_class WHERE relname = ANY(%(names)s) "
            "AND relnamespace = current_schema()::regnamespace",
            {"names": list(wanted)},
        )
    }
    return [(name, create) for name, create in wanted.items() if name not in present]


def create(tx: Tx, needed: list[tuple[str, str]]) -> None:
    """Create partitions (in the order given: a model's parent before its months), each
    refusing TRUNCATE as its root table does."""
    for name, statement in needed:
        tx.sql(statement)
        tx.sql(refuse_truncate(name))


def refuse_truncate(partition: str) -> str:
    """The trigger that refuses TRUNCATE of a partition with its root table's function
    (migration 0009): PostgreSQL does not clone a statement-level trigger to partitions, nor
    fire the parent's when a partition is truncated directly."""
    root = "decisions" if partition.startswith("decisions_") else "decision_inputs"
    return (
        f"CREATE TRIGGER {root}_no_truncate BEFORE TRUNCATE ON {partition} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {root}_no_truncate()"
    )


def model_months(tx: Tx, model_id: int) -> list[tuple[str, Month]]:
    """The monthly inputs partitions of one model, oldest first."""
    rows = tx.sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%(parent)s)",
        {"parent": model_partition(model_id)},
    )
    found = []
    for (name,) in rows:
        if not _INPUTS_PARTITION.fullmatch(str(name)):
            continue  # not one this store made: left alone
        year, month = str(name).rsplit("_", 2)[-2:]
        found.append((str(name), (int(year), int(month))))
    return sorted(found, key=lambda f: f[1])


# -- statements ----------------------------------------------------------------------------

RECORD_COLUMNS = (
    "id", "decision_id", "model_id", "environment", "version", "version_source", "decided_at",
    "recorded_at", "inputs_digest", "inputs_mode", "output", "metadata", "flags",
)  # fmt: skip
KEY_COLUMNS = ("decision_id", "decided_at", "id", "model_id")
INPUT_COLUMNS = ("model_id", "decided_at", "id", "decision_id", "inputs_digest", "inputs")

RESERVE_IDS = "SELECT setval('decisions_id_seq', nextval('decisions_id_seq') + %(count)s - 1)"
"""The last of `count` fresh ids (the writer holds the write lock: no other takes ids)."""

Row = namedtuple(
    "Row",
    "id decision_id model_id environment version version_source decided_at recorded_at "
    "inputs_digest inputs_mode inputs output metadata flags inputs_purged_at model_name",
)

_ROWS = (
    "SELECT d.id, d.decision_id, d.model_id, d.environment, d.version, d.version_source, "
    "d.decided_at, d.recorded_at, d.inputs_digest, d.inputs_mode, "
    "CASE WHEN p.at IS NULL THEN i.inputs END, d.output, d.metadata, d.flags, "
    "CASE WHEN d.inputs_mode <> 'digest' THEN p.at END, m.name "
    "FROM decisions d JOIN models m ON m.id = d.model_id "
    "LEFT JOIN decision_inputs i "
    "ON i.model_id = d.model_id AND i.decided_at = d.decided_at AND i.id = d.id "
    "LEFT JOIN LATERAL (SELECT min(q.purged_at) AS at FROM decision_purges q "
    "WHERE q.model_id = d.model_id AND q.decided_before > d.decided_at AND q.last_id >= d.id"
    ") p ON true "
)
"""Decisions as the single-table layout shows them (the SQLite columns, in their order),
then the model's name. A purge recorded for a decision wins over any row left in inputs."""

KEY = "SELECT decided_at, id, model_id FROM decision_keys WHERE decision_id = %(decision_id)s"
BY_KEY = _ROWS + ("WHERE d.decided_at = %(at)s AND d.id = %(id)s AND d.model_id = %(model_id)s")
"""One decision, with its partition's key given: one partition of each table is read."""
BY_IDS = _ROWS + "WHERE d.id >= %(first)s AND d.id <= %(last)s ORDER BY d.id"
ROWS_PAGE = (
    "SELECT d.id, d.decision_id, m.name, d.environment, d.version, d.decided_at, "
    "d.inputs_digest, d.output, d.metadata, d.flags, d.recorded_at, d.inputs_mode <> 'digest' "
    "FROM decisions d JOIN models m ON m.id = d.model_id "
    "WHERE d.id > %(after)s AND d.id <= %(upto)s ORDER BY d.id LIMIT %(limit)s"
)
"""A page of decisions as verification reads them (the `DECISION_ROWS` of SQLite), with
whether inputs were kept instead of when they were purged: see `PURGES`."""
PURGES = (
    "SELECT m.name, q.decided_before, q.last_id, q.purged_at FROM decision_purges q "
    "JOIN models m ON m.id = q.model_id ORDER BY q.purged_at"
)
"""Every purge (a handful): a page's purge instants are worked out from them, as `_ROWS`
works them out row by row, instead of a lookup per decision."""
AFTER_ID = _ROWS + "WHERE d.id > %(after)s AND d.id <= %(upto)s ORDER BY d.id"


def purged_at(
    purges: list[tuple[str, int, int, int]], model: str, decided_at: int, row_id: int
) -> int | None:
    """When a decision's kept inputs were purged (`_ROWS`'s rule): the earliest purge of its
    model made after it was recorded (`row_id <= last_id`) with `decided_at` before its cutoff;
    `purges` in purge order."""
    for name, before, last_id, at in purges:
        if name == model and decided_at < before and row_id <= last_id:
            return at
    return None


OF_MODEL = _ROWS + (
    "WHERE d.model_id = %(model_id)s AND d.decided_at >= %(since)s "
    "AND d.decided_at <= %(until)s "
    "AND (%(environment)s::text IS NULL OR d.environment = %(environment)s::text) "
    "AND (%(version)s::bigint IS NULL OR d.version = %(version)s::bigint) "
    "ORDER BY d.decided_at, d.id LIMIT %(limit)s OFFSET %(offset)s"
)
EXPIRED = (
    "SELECT id, decision_id, inputs IS NULL, inputs_digest FROM decision_inputs "
    "WHERE model_id = %(model_id)s AND decided_at < %(cutoff)s ORDER BY id"
)
NEW_PURGE = (
    "INSERT INTO decision_purges (model_id, decided_before, last_id, purged_at) "
    "VALUES (%(model_id)s, %(cutoff)s, %(last_id)s, %(at)s)"
)
BLOBS_KEPT = "SELECT DISTINCT inputs_digest FROM decision_inputs WHERE inputs IS NULL"
