"""A store-wide reader/writer lock on a file, so `gc` never races an upload in flight."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ..disk.modes import open_new
from ..domain.errors import StorageError


class FileStoreLock:
    """Shared for writers, exclusive for gc; released by the kernel if a process dies."""

    def __init__(self, path: str | os.PathLike[str], mode: int = 0o600) -> None:
        self.path = Path(path)
        self.mode = mode  # of the lock file, if this creates it: the store's file mode

    @contextmanager
    def _hold(self, mode: int) -> Iterator[None]:
        fd = open_new(self.path, os.O_RDWR, self.mode)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    def shared(self) -> AbstractContextManager[None]:
        return self._hold(fcntl.LOCK_SH)

    def exclusive(self) -> AbstractContextManager[None]:
        return self._hold(fcntl.LOCK_EX)

    def close(self) -> None:
        """Nothing is held between uses."""


class ThreadStoreLock:
    """The in-process equivalent, for memory-backed registries."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and self._readers == 0)
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()

    def close(self) -> None:
        """Nothing to release."""


GC_LOCK = 0x6D6F64656C726567  # "modelreg": held shared by uploads, exclusively by gc


class PostgresStoreLock:
    """The same reader/writer lock as a PostgreSQL advisory lock, so it holds across every
    process and server replica on one database; the server releases it if a holder dies."""

    def __init__(self, conninfo: str) -> None:
        import psycopg

        from .sql.faults import postgresql_fault
        from .sql.raw import RawConnections
        from .sql.store import connect_postgresql, usable_postgresql

        # One session per thread, kept between holds (the lock is session-scoped).
        self._fault = postgresql_fault(conninfo)
        self._sessions = RawConnections(
            connect_postgresql(conninfo),
            "postgresql",
            errors=(psycopg.Error,),
            usable=usable_postgresql,
            fault=self._fault,
        )

    def _acquire(self, statement: str) -> Any:
        import psycopg

        conn: Any = None
        for attempt in (1, 2):  # a connection that broke since its last use: once more
            try:
                conn = self._sessions.connection()
                conn.execute(statement)
                return conn
            except (psycopg.Error, StorageError) as exc:
                if conn is not None:
                    self._sessions.discard(conn)
                if attempt == 2 and isinstance(exc, StorageError):
                    raise  # already in words: the server cannot be reached
                if attempt == 2:
                    raise StorageError(
                        f"cannot take the store lock: {self._fault(exc, False)}"
                    ) from exc
                conn = None
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _hold(self, kind: str) -> Iterator[None]:
        import psycopg

        conn = self._acquire(f"SELECT pg_advisory_lock{kind}({GC_LOCK})")
        try:
            yield
        finally:
            try:
                conn.execute(f"SELECT pg_advisory_unlock{kind}({GC_LOCK})")
            except psycopg.Error:  # the session is gone, and its locks with it
                self._sessions.discard(conn)

    def shared(self) -> AbstractContextManager[None]:
        return self._hold("_shared")

    def exclusive(self) -> AbstractContextManager[None]:
        return self._hold("")

    def close(self) -> None:
        self._sessions.close()
