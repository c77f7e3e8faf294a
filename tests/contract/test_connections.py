"""A thread that used the store leaves no connection behind when it ends."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

from modelrepo import Registry


def _open_connections(registry: Registry) -> int:
    location = registry.location
    if location.startswith("postgresql"):
        import psycopg

        from ..postgres import admin_url

        database = location.split(" + ")[0].split("?")[0].rsplit("/", 1)[-1]
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
            ).fetchone()
        assert row is not None
        return int(row[0])
    database = str(Path(location) / "modelrepo.db")
    fds = Path(f"/proc/{os.getpid()}/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == database)


def test_short_lived_threads_leave_no_connection_open(registry: Registry, artifact: Path) -> None:
    registry.register("credit-risk", artifact, code=False)

    def work() -> None:
        registry.register("credit-risk", artifact, code=False, params={"t": 1})
        assert registry.models()[0].name == "credit-risk"

    work()  # this thread's own connections, kept for the registry's life
    before = _open_connections(registry)
    for _ in range(12):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        del thread
    gc.collect()
    assert _open_connections(registry) <= before + 1
