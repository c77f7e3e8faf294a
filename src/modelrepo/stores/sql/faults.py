"""What a database failure means, in one line a user can act on: the one place where SQLite's
and PostgreSQL's own errors become `StorageError`s (every statement, connection, transaction
and migration of the SQL store passes its failures through here).

A full disk must say so, not "disk I/O error"; a database that is down must not be mistaken
for one without a store; and no message may carry a password."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...disk.faults import LOW_SPACE, free_space, full, read_only, why_read_only, writable
from ...domain.errors import StorageError, StoreDamaged, StoreFull, StoreReadOnly, StoreUnreachable

Fault = Callable[[BaseException, bool], StorageError]
"""(the driver's error, whether it arose while connecting) -> the error to raise."""


def sqlite_fault(folder: Path) -> Fault:
    """How the SQLite store in `folder` words the errors of APSW (and of SQLAlchemy over it,
    during migrations)."""
    import apsw

    def fault(exc: BaseException, connecting: bool) -> StorageError:
        cause = _apsw_cause(exc)
        text = str(cause).strip()
        if isinstance(cause, apsw.FullError):
            return full(folder)
        if isinstance(cause, apsw.IOError | apsw.ReadOnlyError | apsw.CantOpenError):
            free = free_space(folder)
            if free is not None and free < LOW_SPACE:
                return full(folder, free)
            if not folder.is_dir():
                return StoreDamaged(
                    f"the store folder {folder} is gone (deleted, moved or unmounted?)"
                )
            if not writable(folder) or isinstance(cause, apsw.ReadOnlyError):
                return read_only(folder, why_read_only(folder))
            if isinstance(cause, apsw.CantOpenError):
                return StoreDamaged(f"cannot open the store database in {folder}: {text}")
            return StoreDamaged(f"disk I/O error on the store {folder}; check the disk ({text})")
        if isinstance(cause, apsw.BusyError):
            return StorageError(
                f"the store {folder} stayed locked by another process for too long; retry "
                f"when it is done ({text})"
            )
        return StorageError(f"database error: {text}")

    return fault


def _apsw_cause(exc: BaseException) -> BaseException:
    """The APSW error behind SQLAlchemy's and the DB-API layer's wrappers."""
    import apsw

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, apsw.Error):
            return seen
        seen = getattr(seen, "orig", None) or seen.__cause__
    return exc


_UNREACHABLE = (
    ("connection refused", "connection refused"),
    ("timeout expired", "timed out"),
    ("could not translate host name", "unknown host"),
    ("name or service not known", "unknown host"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("no such file or directory", "no server listens on that socket"),
    ("server closed the connection unexpectedly", "the server closed the connection"),
)


def postgresql_fault(conninfo: str) -> Fault:
    """How the PostgreSQL store at `conninfo` words psycopg's (and SQLAlchemy's) errors: a
    failure to connect names the server and why, never the password."""
    where = _server(conninfo)

    def fault(exc: BaseException, connecting: bool) -> StorageError:
        cause = getattr(exc, "orig", None) or exc
        text = " ".join(str(cause).split())
        lowered = text.lower()
        if connecting or _connection_failure(cause):
            for needle, reason in _UNREACHABLE:
                if needle in lowered and connecting:
                    return StoreUnreachable(f"cannot reach PostgreSQL at {where}: {reason}")
                if needle in lowered:
                    return StoreUnreachable(
                        f"lost the connection to PostgreSQL at {where} ({reason}); retry"
                    )
            if connecting:
                detail = text.rpartition("failed:")[2].strip() or text
                detail = detail.removeprefix("FATAL:").strip()
                return StoreUnreachable(f"PostgreSQL at {where} refused the connection: {detail}")
        if "could not extend file" in lowered or "no space left on device" in lowered:
            return StoreFull(
                f"the disk of PostgreSQL at {where} is full; free space there and retry ({text})"
            )
        if "read-only transaction" in lowered:
            return StoreReadOnly(f"PostgreSQL at {where} accepts no writes ({text})")
        return StorageError(f"database error: {text}")

    return fault


def _connection_failure(exc: BaseException) -> bool:
    """Whether psycopg failed to reach the server (rather than the server refusing a query)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - an install without the extra
        return False
    return isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None


def _server(conninfo: str) -> str:
    """`HOST:PORT` of a libpq URI, as a message names it."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(conninfo)
    except Exception:  # a URI libpq cannot parse is refused when connecting anyway
        return "the configured address"
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    return f"{host}:{port}"
