"""A store-wide reader/writer lock on a file, so `gc` never races an upload in flight."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any


class FileStoreLock:
    """Shared for writers, exclusive for gc; released by the kernel if a process dies."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @contextmanager
    def _hold(self, mode: int) -> Iterator[None]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
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
        self._conninfo = conninfo
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            import psycopg

            from .sql.store import connection_options

            conn = self._local.conn = psycopg.connect(
                self._conninfo, autocommit=True, **connection_options(self._conninfo)
            )
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _hold(self, kind: str) -> Iterator[None]:
        import psycopg

        statement = f"SELECT pg_advisory_lock{kind}({GC_LOCK})"
        conn = self._connection()
        try:
            conn.execute(statement)
        except psycopg.OperationalError:  # the connection broke since last use: once more
            conn = self._connection()
            conn.execute(statement)
        try:
            yield
        finally:
            if not (conn.closed or conn.broken):
                conn.execute(f"SELECT pg_advisory_unlock{kind}({GC_LOCK})")

    def shared(self) -> AbstractContextManager[None]:
        return self._hold("_shared")

    def exclusive(self) -> AbstractContextManager[None]:
        return self._hold("")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
