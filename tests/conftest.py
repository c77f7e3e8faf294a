"""Shared fixtures: registries on real storage with a clock that only moves when told."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo import ManualClock, Registry

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, step=timedelta(seconds=1))


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests on `registry` (or `open_registry`) run on the embedded store and on PostgreSQL,
    unless marked `sqlite_only` (they reach into the SQLite file itself)."""
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        metafunc.parametrize("backend", ["sqlite"] if only else ["sqlite", "postgresql"])


OpenRegistry = Callable[..., Registry]


@pytest.fixture
def open_registry(
    backend: str, store_dir: Path, request: pytest.FixtureRequest
) -> Iterator[OpenRegistry]:
    """Opens the registry under test: the store folder (SQLite), or a fresh PostgreSQL
    database whose blobs live in the same folder's `blobs/` (so file checks are the same)."""
    opened: list[Registry] = []
    pg_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None

    def open_(**kwargs: Any) -> Registry:
        if pg_url is None:
            reg = Registry(store_dir, **kwargs)
        else:
            os.environ["MODELREPO_AUDIT_KEY_FILE"] = os.fspath(store_dir / "audit-key.pem")
            reg = Registry(database_url=pg_url, blob_url=os.fspath(store_dir / "blobs"), **kwargs)
        opened.append(reg)
        return reg

    yield open_
    for reg in opened:
        reg.close()


@pytest.fixture
def registry(open_registry: OpenRegistry, clock: ManualClock) -> Registry:
    return open_registry(user="alice", clock=clock)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    """A small model folder: coefficients as JSON, a CSV and an executable script."""
    root = tmp_path / "artifact"
    (root / "model").mkdir(parents=True)
    (root / "model" / "coefficients.json").write_text('{\n  "income": 0.25\n}\n')
    (root / "features.csv").write_text("name,type\nincome,double\n")
    script = root / "score.sh"
    script.write_text("#!/bin/sh\necho scoring\n")
    script.chmod(0o755)
    return root


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own store or identity."""
    monkeypatch.delenv("MODELREPO_STORE", raising=False)
    monkeypatch.delenv("MODELREPO_USER", raising=False)
    for name in ("MODELREPO_DATABASE_URL", "MODELREPO_BLOB_URL", "MODELREPO_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", os.fspath(tmp_path / "home"))


from .cli.conftest import run, sh  # noqa: E402, F401  (CLI runners for every test package)


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    """A migrated PostgreSQL template database for this test process."""
    from .postgres import template_database

    with template_database(worker_id) as name:
        yield name


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """The URL of a new, migrated PostgreSQL database, dropped after the test."""
    from .postgres import fresh_database

    with fresh_database(pg_template) as url:
        yield url
