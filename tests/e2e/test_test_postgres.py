"""The tests' own PostgreSQL: a throwaway server from the wheel when none answers, and one
clear line when neither works."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest

from ..postgres import URL_VARIABLE, answers, choose_server, throwaway_server


def _silent_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/test"


def test_a_throwaway_server_starts_from_the_wheel_and_is_gone_after() -> None:
    with throwaway_server() as url, psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None and int(row[0]) >= 180000
        conn.execute("CREATE DATABASE scratch")
        folder = conn.execute("SHOW data_directory").fetchone()
    assert not answers(url)
    assert folder is not None and not Path(folder[0]).parent.exists()


def test_the_configured_server_is_used_when_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from ..postgres import admin_url

    url = admin_url()
    monkeypatch.setenv(URL_VARIABLE, "")

    def never() -> AbstractContextManager[str]:
        raise AssertionError("started a server although one answers")

    with ExitStack() as stack:
        assert choose_server(stack, url, start=never) == f"postgresql: {url}"


def test_no_server_and_no_wheel_fail_the_run_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(URL_VARIABLE, "")  # restored after the test

    @contextmanager
    def broken() -> Iterator[str]:
        raise RuntimeError("initdb failed:\n  could not find the binaries")
        yield ""  # pragma: no cover

    url = _silent_url()
    with ExitStack() as stack, pytest.raises(pytest.UsageError) as failure:
        choose_server(stack, url, start=broken)
    said = str(failure.value)
    assert "\n" not in said
    assert said.startswith(f"no PostgreSQL answers at {url} and no throwaway server")
    assert "(initdb failed: could not find the binaries)" in said
    assert f"set {URL_VARIABLE} to a server" in said
