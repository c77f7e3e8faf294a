"""What copying rows into a PostgreSQL store needs (`modelrepo migrate`): its write lock, and
its decision log in the single-table form SQLite keeps, written in PostgreSQL's layout.

Copying goes table by table in the tables' own columns (`SCHEMA`), so it can compare a row
with the target's before writing it; only the decision log differs between the databases
(monthly partitions, ids in `decision_keys`, kept inputs apart, purges as ranges: see
`partitions.py`), and `DecisionLog` hides that difference.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import partitions as pg
from .raw import Tx
from .store import WRITE_LOCK
from .tables import metadata

if TYPE_CHECKING:
    import sqlalchemy as sa

SCHEMA = metadata
"""The SQLAlchemy tables of a store's database, as the migrations make them."""

Row = tuple[Any, ...]


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction on a PostgreSQL store holding its write lock, the advisory lock every
    registry write takes first: a copy never interleaves with a registry's writes."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        yield conn


class DecisionLog:
    """A PostgreSQL store's decision log read and written as rows of the `decisions` table's
    columns (`columns`: their names, in the order rows give them), inside one transaction."""

    def __init__(self, conn: sa.Connection, columns: Sequence[str]) -> None:
        import psycopg

        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self._tx = Tx(cursor, "postgresql", (psycopg.Error,))
        self._at = {name: i for i, name in enumerate(columns)}
        self._width = len(columns)

    def rows(self, after: int, upto: int) -> dict[int, Row]:
        """The decisions with `after < id <= upto`, by id."""
        found = self._tx.sql(pg.AFTER_ID, {"after": after, "upto": upto})
        return {r[0]: tuple(r[: self._width]) for r in found}

    def insert(self, rows: list[Row]) -> None:
        """New decisions: their keys, records, and the inputs still kept (partitions made as
        needed)."""
        if not rows:
            return
        at, tx = self._at, self._tx
        mode, purged_at = at["inputs_mode"], at["inputs_purged_at"]
        kept = [r for r in rows if r[mode] != "digest" and not r[purged_at]]
        times: dict[int, list[int]] = {}
        for r in kept:
            times.setdefault(r[at["model_id"]], []).append(r[at["decided_at"]])
        months = pg.months([r[at["decided_at"]] for r in rows])
        pg.create(tx, pg.missing(tx, months, {m: pg.months(t) for m, t in times.items()}))

        def columns(names: tuple[str, ...], chosen: list[Row]) -> Iterator[Row]:
            places = [at[n] for n in names]
            return (tuple([r[i] for i in places]) for r in chosen)

        tx.copy_rows("decision_keys", pg.KEY_COLUMNS, columns(pg.KEY_COLUMNS, rows))
        tx.copy_rows("decisions", pg.RECORD_COLUMNS, columns(pg.RECORD_COLUMNS, rows))
        tx.copy_rows("decision_inputs", pg.INPUT_COLUMNS, columns(pg.INPUT_COLUMNS, kept))

    def forget_inputs(self, rows: list[Row]) -> None:
        """Remove the kept inputs of these decisions (purged in the source since)."""
        at = self._at
        for row in rows:
            self._tx.sql(
                "DELETE FROM decision_inputs WHERE model_id = %(m)s AND decided_at = %(t)s "
                "AND id = %(id)s",
                {"m": row[at["model_id"]], "t": row[at["decided_at"]], "id": row[0]},
            )

    def record_purges(self, purged: list[Row]) -> None:
        """The purges that removed these decisions' inputs, as PostgreSQL records them: each
        purge removed every older kept input of its model already recorded, so (made before
        the newest it removed, up to the highest id it removed) covers exactly what it
        removed."""
        at = self._at
        runs: dict[tuple[int, int], tuple[int, int]] = {}
        for r in purged:
            key = (r[at["model_id"]], r[at["inputs_purged_at"]])
            newest, top = runs.get(key, (r[at["decided_at"]], r[0]))
            runs[key] = (max(newest, r[at["decided_at"]]), max(top, r[0]))
        for (model, when), (newest, top) in sorted(runs.items(), key=lambda kv: kv[0][1]):
            self._tx.sql(
                pg.NEW_PURGE, {"model_id": model, "cutoff": newest + 1, "last_id": top, "at": when}
            )
