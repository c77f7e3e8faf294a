"""A DB-API 2.0 face on APSW, so SQLAlchemy and Alembic can drive a current SQLite.

The interpreter's `sqlite3` module links the system SQLite, which on many machines still has
the WAL-reset corruption bug (fixed in SQLite 3.51.3). APSW ships its own, current SQLite.
Only what SQLAlchemy's pysqlite dialect uses is provided. Transactions follow DB-API rules:
the first statement outside a transaction opens one (`BEGIN`, or the caller's own
`BEGIN IMMEDIATE`), and `commit()`/`rollback()` end it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import apsw

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"
sqlite_version = apsw.sqlite_lib_version()
sqlite_version_info = tuple(int(part) for part in sqlite_version.split("."))
version = apsw.apsw_version()
version_info = tuple(int(part) for part in version.split(".")[:3])

# Statements that manage transactions or cannot run inside one; never auto-wrapped.
_NO_AUTOBEGIN = ("BEGIN", "COMMIT", "END", "ROLLBACK", "PRAGMA", "VACUUM", "SAVEPOINT", "RELEASE")


class Warning(Exception):
    pass


class Error(Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


_ERRORS: dict[type[BaseException], type[Error]] = {
    apsw.ConstraintError: IntegrityError,
    apsw.BusyError: OperationalError,
    apsw.LockedError: OperationalError,
    apsw.SQLError: OperationalError,
    apsw.IOError: OperationalError,
    apsw.FullError: OperationalError,
    apsw.CantOpenError: OperationalError,
    apsw.ReadOnlyError: OperationalError,
    apsw.AbortError: OperationalError,
    apsw.InterruptError: OperationalError,
    apsw.ProtocolError: OperationalError,
    apsw.TooBigError: DataError,
    apsw.MismatchError: DataError,
    apsw.RangeError: ProgrammingError,
    apsw.BindingsError: ProgrammingError,
    apsw.ExecutionCompleteError: ProgrammingError,
    apsw.ConnectionClosedError: ProgrammingError,
    apsw.CursorClosedError: ProgrammingError,
    apsw.CorruptError: DatabaseError,
    apsw.NotADBError: DatabaseError,
}


def _translate(exc: BaseException) -> Error:
    for kind in type(exc).__mro__:
        mapped = _ERRORS.get(kind)
        if mapped is not None:
            return mapped(str(exc))
    return DatabaseError(str(exc))


def _autobegins(sql: str) -> bool:
    head = sql.lstrip()[:10].upper()
    return not head.startswith(_NO_AUTOBEGIN)


class Cursor:
    """A buffered cursor: rows are fetched eagerly, which suits the registry's small results."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._cursor = connection._db.cursor()
        self._cursor.exec_trace = self._trace
        self._described: tuple[tuple[Any, ...], ...] | None = None
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[tuple[Any, ...]] = []
        self._pos = 0

    def _trace(self, cursor: apsw.Cursor, sql: str, bindings: Any) -> bool:
        # The description is readable only while a statement is prepared, not after it ran.
        self._described = cursor.description or None
        return True

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        conn = self.connection
        conn._begin_for(sql)
        db = conn._db
        before = db.total_changes()
        self._described = None
        try:
            rows = self._cursor.execute(sql, parameters).fetchall()
        except apsw.Error as exc:
            raise _translate(exc) from exc
        self._finish(rows, db.total_changes() - before)
        return self

    def executemany(
        self, sql: str, seq_of_parameters: Iterable[Sequence[Any] | dict[str, Any]]
    ) -> Cursor:
        conn = self.connection
        conn._begin_for(sql)
        db = conn._db
        before = db.total_changes()
        self._described = None
        try:
            rows = self._cursor.executemany(sql, seq_of_parameters).fetchall()
        except apsw.Error as exc:
            raise _translate(exc) from exc
        self._finish(rows, db.total_changes() - before)
        return self

    def _finish(self, rows: list[tuple[Any, ...]], changed: int) -> None:
        self.description = self._described
        self._rows = rows
        self._pos = 0
        self.rowcount = changed if self.description is None else -1
        self.lastrowid = self.connection._db.last_insert_rowid()

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        count = self.arraysize if size is None else size
        rows = self._rows[self._pos : self._pos + count]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._pos :]
        self._pos = len(self._rows)
        return rows

    def close(self) -> None:
        self._rows = []
        self._cursor.close()

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass


class Connection:
    """A DB-API connection over one `apsw.Connection`."""

    def __init__(self, db: apsw.Connection) -> None:
        self._db = db
        # None means autocommit (SQLAlchemy's AUTOCOMMIT isolation level); "" means DB-API.
        self.isolation_level: str | None = ""

    def _begin_for(self, sql: str) -> None:
        if self.isolation_level is None or self._db.in_transaction:
            return
        if _autobegins(sql):
            try:
                self._db.execute("BEGIN")
            except apsw.Error as exc:
                raise _translate(exc) from exc

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    @property
    def apsw(self) -> apsw.Connection:
        """The underlying APSW connection, for SQLite-specific calls."""
        return self._db

    def cursor(self) -> Cursor:
        return Cursor(self)

    def commit(self) -> None:
        if self._db.in_transaction:
            try:
                self._db.execute("COMMIT")
            except apsw.Error as exc:
                raise _translate(exc) from exc

    def rollback(self) -> None:
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except apsw.Error as exc:
                raise _translate(exc) from exc

    def close(self) -> None:
        self._db.close()

    def create_function(
        self, name: str, narg: int, func: Callable[..., Any], *, deterministic: bool = False
    ) -> None:
        self._db.create_scalar_function(name, func, narg, deterministic=deterministic)


def connect(
    database: str,
    *,
    busy_timeout_ms: int = 60_000,
    pragmas: Sequence[str] = (),
    **_ignored: Any,
) -> Connection:
    """Open `database` with APSW, wait up to `busy_timeout_ms` for locks, run `pragmas`."""
    try:
        db = apsw.Connection(database)
        db.set_busy_timeout(busy_timeout_ms)
        for pragma in pragmas:
            db.execute(pragma).fetchall()
    except apsw.Error as exc:
        raise _translate(exc) from exc
    return Connection(db)
