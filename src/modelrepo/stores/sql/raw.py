"""Statements by name, compiled once, run on a raw DB-API(-like) connection.

SQLAlchemy's per-execution overhead (building, caching and wrapping a statement: 50-100 us)
dominates a point-in-time lookup that SQLite answers in a few microseconds, and importing it
costs a command-line call ~100 ms. So the store's statements (`statements.py`, Core
expressions) are compiled once per dialect — for SQLite ahead of time into `sqlite_forms.py` —
and executed on a per-thread connection in autocommit mode, with explicit write transactions.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from ...domain.errors import StorageError

if TYPE_CHECKING:
    from .faults import Fault

T = TypeVar("T")


def plain_fault(exc: BaseException, connecting: bool) -> StorageError:
    """A driver's error as it is (for stores that give no `Fault` of their own)."""
    if connecting:
        return StorageError(f"cannot connect to the database: {exc}")
    return StorageError(f"database error: {exc}")


@dataclass(frozen=True)
class Form:
    """A statement compiled for one dialect."""

    sql: str
    names: tuple[str, ...] | None  # parameter order for positional paramstyles
    defaults: dict[str, Any]  # values of parameters the statement itself binds
    row: Any  # namedtuple type for result rows, or None


def compile_statement(
    name: str, dialect_name: str
) -> tuple[str, tuple[str, ...] | None, dict[str, Any], tuple[str, ...]]:
    """(sql, parameter order, bound defaults, result column keys) of a named statement."""
    import sqlalchemy as sa  # only when a form is not precompiled
    from sqlalchemy.dialects import postgresql, sqlite

    from . import statements

    statement = getattr(statements, name)
    dialect: sa.Dialect = {
        "sqlite": sqlite.dialect,
        "postgresql": postgresql.psycopg.dialect,
    }[dialect_name]()
    compiled: Any = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ()) if dialect.positional else None
    columns = getattr(statement, "selected_columns", None)
    if columns is None:
        columns = getattr(statement, "_returning", None) or ()
    keys = tuple(str(getattr(c, "key", None) or f"c{i}") for i, c in enumerate(columns))
    # Only values the statement binds itself; every named parameter must be given.
    defaults = {k: v for k, v in compiled.params.items() if not compiled.binds[k].required}
    return str(compiled), names, defaults, keys


def statement_names() -> list[str]:
    """Every named statement in `statements.py`."""
    from sqlalchemy.sql.base import Executable

    from . import statements

    return sorted(
        n
        for n in dir(statements)
        if n.isupper() and not n.startswith("_") and isinstance(getattr(statements, n), Executable)
    )


class Compiled:
    """A named statement, compiled on first use per dialect."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._forms: dict[str, Form] = {}

    def form(self, dialect_name: str) -> Form:
        found = self._forms.get(dialect_name)
        if found is None:
            raw = None
            if dialect_name == "sqlite":
                raw = importlib.import_module(".sqlite_forms", __package__).FORMS.get(self.name)
            if raw is None:
                raw = compile_statement(self.name, dialect_name)
            sql, names, defaults, keys = raw
            row = namedtuple("Row", keys, rename=True) if keys else None
            found = Form(sql, names, dict(defaults), row)
            self._forms[dialect_name] = found
        return found


class Statements:
    """`Q.LIVE` -> the `Compiled` statement named LIVE (created once)."""

    def __getattr__(self, name: str) -> Compiled:
        compiled = Compiled(name)
        setattr(self, name, compiled)
        return compiled


Q = Statements()


class Tx:
    """Statements on one cursor (inside a transaction, or in autocommit)."""

    def __init__(
        self,
        cursor: Any,
        dialect_name: str,
        errors: tuple[type[BaseException], ...],
        reconnect: Callable[[], Any] | None = None,
        fault: Fault = plain_fault,
    ) -> None:
        self._cursor = cursor
        self._dialect = dialect_name
        self._errors = errors
        self._fault = fault
        self._reconnect = reconnect  # autocommit reads only: a new cursor if the old one broke

    def _run(self, compiled: Compiled, params: dict[str, Any]) -> Any:
        form = compiled.form(self._dialect)
        values = {**form.defaults, **params} if form.defaults else params
        bound: Any = tuple([values[n] for n in form.names]) if form.names is not None else values
        try:
            self._cursor.execute(form.sql, bound)
        except self._errors as exc:
            fresh = self._reconnect() if self._reconnect is not None else None
            if fresh is None:
                raise self._fault(exc, False) from exc
            # The connection broke (server restart, failover, network): a read in
            # autocommit changes nothing, so it is safe to run it once more on a new one.
            self._cursor = fresh
            try:
                self._cursor.execute(form.sql, bound)
            except self._errors as again:
                raise self._fault(again, False) from again
        return form.row

    def all(self, compiled: Compiled, **params: Any) -> list[Any]:
        row = self._run(compiled, params)
        rows = self._cursor.fetchall()
        return [row._make(r) for r in rows] if row is not None else list(rows)

    def tuples(self, compiled: Compiled, **params: Any) -> list[tuple[Any, ...]]:
        """Rows as plain tuples (for scans where named access is not worth its cost)."""
        self._run(compiled, params)
        return list(self._cursor.fetchall())

    # Every result is read to its end: a statement left open would keep its read snapshot,
    # and a write begun on the same connection would then fail with "database is locked".

    def one(self, compiled: Compiled, **params: Any) -> Any | None:
        row = self._run(compiled, params)
        found = self._cursor.fetchall()
        if not found:
            return None
        return row._make(found[0]) if row is not None else found[0]

    def scalar(self, compiled: Compiled, **params: Any) -> Any:
        self._run(compiled, params)
        found = self._cursor.fetchall()
        return found[0][0] if found else None

    def execute(self, compiled: Compiled, **params: Any) -> None:
        self._run(compiled, params)
        if self._dialect == "sqlite":  # step APSW's statement to its end (see above)
            self._cursor.fetchall()

    def all_sql(self, sql: str) -> list[Any]:
        """A literal statement (for probes such as the schema revision, and savepoints)."""
        try:
            cursor = self._cursor.execute(sql)
            if self._dialect != "sqlite" and cursor.description is None:
                return []  # a statement without a result (DB-API drivers refuse to fetch)
            return list(cursor.fetchall())
        except self._errors as exc:
            raise self._fault(exc, False) from exc

    def sql(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """A literal statement with named (`%(name)s`) parameters: PostgreSQL's own SQL, such
        as its partition maintenance, that no dialect-neutral statement expresses. Never
        prepared: each run is planned with its values, so partitions are pruned when planning
        (a generic plan would lock every partition at each run)."""
        try:
            cursor = self._cursor.execute(sql, params, prepare=False)
        except self._errors as exc:
            fresh = self._reconnect() if self._reconnect is not None else None
            if fresh is None:
                raise self._fault(exc, False) from exc
            self._cursor = fresh  # a read in autocommit on a broken connection: once more
            try:
                cursor = self._cursor.execute(sql, params, prepare=False)
            except self._errors as again:
                raise self._fault(again, False) from again
        try:
            return [] if cursor.description is None else list(cursor.fetchall())
        except self._errors as exc:
            raise self._fault(exc, False) from exc

    def insert_columns(
        self, compiled: Compiled, names: tuple[str, ...], columns: Sequence[list[Any]]
    ) -> None:
        """SQLite bulk insert of one list per column (in the order `names`, all of one length)
        by a one-row `INSERT ... VALUES` statement made multi-row. A column whose values are
        all equal (a batch's model, environment, version, flags...) is bound once per
        statement and named in every row by its number, so SQLite binds only the values that
        differ from row to row. Equal means `==`: give a column values of one type (text,
        integers or None), as a table column holds.

        A row that breaks a constraint fails its statement and leaves the rows before it in
        place (`INSERT OR FAIL`): roll back to a savepoint taken before. A statement that may
        undo part of itself copies every page it changes to a statement journal (a temporary
        file) first: about 8,800 writes of it a batch of 50,000 decisions, none without (if
        foreign keys are not checked either: see `RawConnections.write`)."""
        form = compiled.form(self._dialect)
        head, values, _ = form.sql.rpartition(" VALUES ")
        if self._dialect != "sqlite" or not values or form.names != names:
            raise AssertionError(f"{compiled.name}: not a one-row SQLite INSERT of {names}")
        head = head.replace("INSERT INTO ", "INSERT OR FAIL INTO ", 1)
        count = len(columns[0]) if columns else 0
        if not count:
            return
        if any(len(column) != count for column in columns):
            raise AssertionError("every column needs one value per row")
        # Row after row of the first column at least: rows are told apart by what varies.
        shared = (False, *(_same(column) for column in columns[1:]))
        constants = [column[0] for column, one in zip(columns, shared, strict=True) if one]
        varying = [column for column, one in zip(columns, shared, strict=True) if not one]
        width = len(varying)
        flat: list[Any] = [None] * (width * count)
        for position, column in enumerate(varying):
            flat[position::width] = column  # row-major: one row's values side by side
        per = _ROWS_PER_INSERT
        step = width * per
        whole = count // per
        try:
            if whole:
                self._cursor.executemany(
                    multirow_insert(head, shared, per),
                    (constants + flat[at : at + step] for at in range(0, whole * step, step)),
                )
            if count % per:
                sql = multirow_insert(head, shared, count % per)
                self._cursor.execute(sql, constants + flat[whole * step :]).fetchall()
        except self._errors as exc:
            raise self._fault(exc, False) from exc

    def copy_rows(
        self, table: str, names: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        """Bulk insert through PostgreSQL's COPY (binary-free text protocol): several times the
        rate of a batched INSERT for large batches. Other dialects take the INSERT path."""
        if self._dialect != "postgresql":
            raise AssertionError("COPY is PostgreSQL's")
        columns = ", ".join(names)
        try:
            with self._cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except self._errors as exc:
            raise self._fault(exc, False) from exc

    def copy_text(
        self, table: str, names: tuple[str, ...], parts: Iterable[str], then: Callable[[], T]
    ) -> T:
        """Bulk insert through PostgreSQL's COPY of rows in its text format (see `copytext`),
        a part at a time: a thread sends each part while the next is made, and `then` runs
        once the last is handed over, while the database is still reading them (its result
        is returned, the rows all read)."""
        from psycopg.copy import QueuedLibpqWriter

        if self._dialect != "postgresql":
            raise AssertionError("COPY is PostgreSQL's")
        statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
        try:
            writer = QueuedLibpqWriter(self._cursor)
            with self._cursor.copy(statement, writer=writer) as copy:
                for part in parts:
                    copy.write(part.encode())
                done = then()
        except self._errors as exc:
            raise self._fault(exc, False) from exc
        return done

    def executemany(self, compiled: Compiled, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        form = compiled.form(self._dialect)
        names, defaults = form.names, form.defaults
        if names is not None and not defaults and len(names) > 1:
            get = itemgetter(*names)
            bound: Any = [get(r) for r in rows]
        elif names is not None:
            bound = [tuple({**defaults, **r}[n] for n in names) for r in rows]
        else:
            bound = [{**defaults, **r} for r in rows]
        try:
            self._cursor.executemany(form.sql, bound)
        except self._errors as exc:
            raise self._fault(exc, False) from exc


_ROWS_PER_INSERT = 256
"""Rows per multi-row INSERT: past a few hundred, a bigger statement saves nothing more (and
13 columns x 256 rows stay well under SQLite's 32,766 parameters)."""


def _same(column: list[Any]) -> bool:
    """Whether every value equals the first (the last checked first: one comparison when they
    differ, as ids and times do; else one pass in C)."""
    return column[-1] == column[0] and column.count(column[0]) == len(column)


@functools.lru_cache(maxsize=32)
def multirow_insert(head: str, shared: tuple[bool, ...], rows: int) -> str:
    """`head` (`INSERT INTO table (columns)`) with `VALUES` for `rows` rows. Parameters are
    numbered: first the shared columns' (`shared[i]` true: one value for every row), then each
    row's values of the other columns, row after row."""
    constants = sum(shared)
    width = len(shared) - constants
    values = []
    for row in range(rows):
        numbers = iter(range(constants + row * width + 1, constants + (row + 1) * width + 1))
        ones = iter(range(1, constants + 1))
        values.append("(" + ", ".join(f"?{next(ones if one else numbers)}" for one in shared) + ")")
    return f"{head} VALUES " + ", ".join(values)


class _ThreadMarker:
    """Lives in a thread's local storage only, so it dies when the thread ends."""


class RawConnections:
    """One autocommit connection per thread, for reads and explicit write transactions;
    a thread's connection is closed when the thread ends."""

    def __init__(
        self,
        connect: Callable[[], Any],
        dialect_name: str,
        *,
        begin_write: Sequence[str] = ("BEGIN",),
        errors: tuple[type[BaseException], ...] = (),
        usable: Callable[[Any], bool] = lambda conn: True,
        fault: Fault = plain_fault,
    ) -> None:
        self._connect = connect
        self._fault = fault
        self.dialect_name = dialect_name
        self._begin_write = tuple(begin_write)
        self._errors = errors
        self._usable = usable
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    @property
    def fault(self) -> Fault:
        """How this store words its driver's errors (its migrations use it too)."""
        return self._fault

    def discard(self, conn: Any) -> None:
        """Forget a connection (this thread's next use opens another) and release it."""
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = self._local.reader = None
        with contextlib.suppress(Exception):
            conn.close()
        pgconn = getattr(conn, "pgconn", None)  # psycopg skips close() once libpq marked
        if pgconn is not None:  # the connection bad: release the socket explicitly
            with contextlib.suppress(Exception):
                pgconn.finish()

    def connection(self) -> Any:
        """This thread's connection, opened (or replaced, if it broke) as needed."""
        return self._connection()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not self._usable(conn):
            # A server connection that broke (restart, network): drop it and open another.
            self.discard(conn)
            conn = None
        if conn is None:
            try:
                conn = self._connect()
            except self._errors as exc:
                raise self._fault(exc, True) from exc
            self._local.conn = conn
            # A thread's storage is cleared when the thread ends: so is this marker, and the
            # connection is closed with it. Otherwise every short-lived thread that used the
            # store would leave a connection (and a database session) open until `close`.
            self._local.owner = owner = _ThreadMarker()
            weakref.finalize(owner, self._release, conn)
            with self._lock:
                self._all.append(conn)
        return conn

    def _release(self, conn: Any) -> None:
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def data_version(self) -> int | None:
        """SQLite's data version of this thread's connection: it changes whenever the database
        changed (by any connection) between two snapshots this connection read, and read after
        a statement it names that statement's snapshot. None where the driver has none."""
        conn = getattr(self._local, "conn", None)
        version = getattr(getattr(conn, "apsw", conn), "data_version", None)  # APSW's
        return None if version is None else int(version())

    def reader(self) -> Tx:
        """Statements that each see the latest committed state (autocommit)."""
        tx: Tx | None = getattr(self._local, "reader", None)
        if tx is None or not self._usable(self._local.conn):
            tx = Tx(
                self._connection().cursor(),
                self.dialect_name,
                self._errors,
                self._renew,
                self._fault,
            )
            self._local.reader = tx
        return tx

    def _renew(self) -> Any | None:
        """A cursor on a new connection if this thread's connection broke, else None."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._usable(conn):
            return None
        return self._connection().cursor()

    @contextmanager
    def write(self, *, foreign_keys: bool = True) -> Iterator[Tx]:
        """A write transaction: begun up front (SQLite: BEGIN IMMEDIATE), committed at the end.

        `foreign_keys=False`: SQLite does not check the references of the rows written, for a
        caller that read every row they reference inside the transaction (under the write
        lock, so they stay). A statement that checks them may have to undo part of itself,
        and so copies the pages it changes to a statement journal first."""
        cursor = self._connection().cursor()
        unchecked = not foreign_keys and self.dialect_name == "sqlite"
        if unchecked:
            try:
                cursor.execute("PRAGMA foreign_keys=OFF")  # a no-op in a transaction: before
            except self._errors:  # a connection that broke: checked, as `_transaction` renews
                unchecked = False
        if not unchecked:
            with self._transaction(cursor) as tx:
                yield tx
            return
        try:
            with self._transaction(cursor) as tx:
                yield tx
        finally:
            with contextlib.suppress(*self._errors):
                cursor.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def _transaction(self, cursor: Any) -> Iterator[Tx]:
        try:
            self._begin(cursor)
        except self._errors as exc:
            renewed = self._renew()  # nothing was written yet: begin once more if it broke
            if renewed is None:
                self._rollback(cursor)
                raise self._fault(exc, False) from exc
            cursor = renewed
            try:
                self._begin(cursor)
            except self._errors as again:
                self._rollback(cursor)
                raise self._fault(again, False) from again
        try:
            yield Tx(cursor, self.dialect_name, self._errors, fault=self._fault)
        except BaseException:
            self._rollback(cursor)
            raise
        try:
            cursor.execute("COMMIT")
        except self._errors as exc:
            self._rollback(cursor)
            raise self._fault(exc, False) from exc

    def _begin(self, cursor: Any) -> None:
        for statement in self._begin_write:
            cursor.execute(statement)

    def _rollback(self, cursor: Any) -> None:
        """Roll back; on a connection that broke there is nothing left to roll back."""
        with contextlib.suppress(*self._errors):
            cursor.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
