"""Hot paths on the raw DB-API connection, with SQL compiled once from Core expressions.

SQLAlchemy's per-execution overhead (building, caching and wrapping a statement: 50-100 us)
dominates a point-in-time lookup that SQLite answers in a few microseconds. The statements
here are still written as Core expressions, compiled once per dialect, then executed on a
per-thread DB-API connection in autocommit mode, with explicit transactions for writes.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ...domain.errors import StorageError


class Compiled:
    """A Core statement compiled once per dialect; rows come back as named tuples."""

    def __init__(self, statement: sa.ClauseElement) -> None:
        self.statement = statement
        self._forms: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any], Any]] = {}

    def form(self, dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any], Any]:
        found = self._forms.get(dialect.name)
        if found is None:
            compiled: Any = self.statement.compile(dialect=dialect)
            names = tuple(compiled.positiontup or ()) if dialect.positional else None
            columns = getattr(self.statement, "selected_columns", None)
            if columns is None:
                columns = getattr(self.statement, "_returning", None) or ()
            keys = [str(getattr(c, "key", None) or f"c{i}") for i, c in enumerate(columns)]
            row = namedtuple("Row", keys, rename=True) if keys else None
            found = (str(compiled), names, dict(compiled.params), row)
            self._forms[dialect.name] = found
        return found


class Tx:
    """Statements on one DB-API-like cursor (inside a transaction, or in autocommit)."""

    def __init__(
        self, cursor: Any, dialect: sa.Dialect, errors: tuple[type[BaseException], ...]
    ) -> None:
        self._cursor = cursor
        self._dialect = dialect
        self._errors = errors

    def _run(self, compiled: Compiled, params: dict[str, Any]) -> Any:
        sql, names, defaults, row = compiled.form(self._dialect)
        values = {**defaults, **params} if defaults else params
        bound: Any = tuple(values[n] for n in names) if names is not None else values
        try:
            self._cursor.execute(sql, bound)
        except self._errors as exc:
            raise StorageError(f"database error: {exc}") from exc
        return row

    def all(self, compiled: Compiled, **params: Any) -> list[Any]:
        row = self._run(compiled, params)
        rows = self._cursor.fetchall()
        return [row._make(r) for r in rows] if row is not None else rows

    def one(self, compiled: Compiled, **params: Any) -> Any | None:
        row = self._run(compiled, params)
        found = self._cursor.fetchone()
        if found is None:
            return None
        return row._make(found) if row is not None else found

    def scalar(self, compiled: Compiled, **params: Any) -> Any:
        self._run(compiled, params)
        found = self._cursor.fetchone()
        return None if found is None else found[0]

    def execute(self, compiled: Compiled, **params: Any) -> None:
        self._run(compiled, params)

    def executemany(self, compiled: Compiled, rows: Sequence[dict[str, Any]]) -> None:
        sql, names, defaults, _ = compiled.form(self._dialect)
        if names is not None:
            bound: Any = [tuple({**defaults, **r}[n] for n in names) for r in rows]
        else:
            bound = [{**defaults, **r} for r in rows]
        try:
            self._cursor.executemany(sql, bound)
        except self._errors as exc:
            raise StorageError(f"database error: {exc}") from exc


class RawConnections:
    """One autocommit DB-API connection per thread, for reads and explicit write transactions."""

    def __init__(
        self,
        connect: Callable[[], Any],
        dialect: sa.Dialect,
        *,
        begin_write: str = "BEGIN",
        errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._connect = connect
        self._dialect = dialect
        self._begin_write = begin_write
        self._errors = errors
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def reader(self) -> Tx:
        """Statements that each see the latest committed state (autocommit)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._connection().cursor()
            self._local.cursor = cursor
        return Tx(cursor, self._dialect, self._errors)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction: begun up front (SQLite: BEGIN IMMEDIATE), committed at the end."""
        cursor = self._connection().cursor()
        try:
            cursor.execute(self._begin_write)
        except self._errors as exc:
            raise StorageError(f"database error: {exc}") from exc
        try:
            yield Tx(cursor, self._dialect, self._errors)
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        try:
            cursor.execute("COMMIT")
        except self._errors as exc:
            cursor.execute("ROLLBACK")
            raise StorageError(f"database error: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
