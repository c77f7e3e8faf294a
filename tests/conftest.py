"""Shared fixtures: registries on real storage with a clock that only moves when told."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo import ManualClock, Registry

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

_POSTGRES = pytest.StashKey[tuple[ExitStack, str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Picks the PostgreSQL server once per run, in the xdist controller (or the only
    process): the configured one if it answers, else a throwaway one started here. The
    workers, spawned later, inherit its URL in MODELREPO_TEST_DATABASE_URL."""
    if hasattr(config, "workerinput") or config.option.help or config.option.collectonly:
        return
    from .postgres import choose_server

    stack = ExitStack()
    config.stash[_POSTGRES] = (stack, "")
    config.stash[_POSTGRES] = (stack, choose_server(stack))


def pytest_report_header(config: pytest.Config) -> str | None:
    return config.stash[_POSTGRES][1] if _POSTGRES in config.stash else None  # controller


def pytest_unconfigure(config: pytest.Config) -> None:
    if _POSTGRES in config.stash:
        config.stash[_POSTGRES][0].close()  # stops a throwaway server


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
    """Opens the registry under test: the store folder (SQLite + blob folder), or the
    scale-out store (a fresh PostgreSQL database + a new bucket on the S3 endpoint)."""
    opened: list[Registry] = []
    pg_url = blob_url = None
    if backend == "postgresql":
        import boto3

        from modelrepo.testing.s3server import aws_test_environment, new_bucket

        pg_url = request.getfixturevalue("pg_url")
        endpoint = request.getfixturevalue("s3_endpoint")
        monkeypatch = request.getfixturevalue("monkeypatch")
        for name, value in aws_test_environment(endpoint, store_dir.parent).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("MODELREPO_AUDIT_KEY_FILE", os.fspath(store_dir.parent / "audit.pem"))
        monkeypatch.setenv(
            "MODELREPO_SIGNING_KEY_FILE", os.fspath(store_dir.parent / "signing.pem")
        )
        bucket = new_bucket(boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1"))
        blob_url = f"s3://{bucket}/registry"

    def open_(**kwargs: Any) -> Registry:
        if pg_url is None:
            reg = Registry(store_dir, **kwargs)
        else:
            reg = Registry(database_url=pg_url, blob_url=blob_url, **kwargs)
        opened.append(reg)
        if kwargs.get("create", True):
            reg.create_store()  # a store that exists, as `modelrepo init` leaves it
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
    for name in ("MODELREPO_DATABASE_URL", "MODELREPO_BLOB_URL", "MODELREPO_AUDIT_KEY_FILE",
                 "MODELREPO_SIGNING_KEY_FILE", "MODELREPO_CONFIG_DIR"):  # fmt: skip
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


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in a child process on a free loopback port (one per test process)."""
    from modelrepo.testing.s3server import moto_server

    with moto_server(tmp_path_factory.mktemp("moto") / "server.log") as endpoint:
        yield endpoint


@pytest.fixture
def pg_env(
    pg_url: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment a scale-out replica is started with: a fresh database, a new bucket,
    the S3 endpoint and test credentials, the audit key file (also set in this process)."""
    import boto3

    from modelrepo.testing.s3server import aws_test_environment, new_bucket

    aws = {k: v for k, v in aws_test_environment(s3_endpoint, tmp_path).items() if v}
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    bucket = new_bucket(boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1"))
    monkeypatch.setenv("MODELREPO_AUDIT_KEY_FILE", str(tmp_path / "audit-key.pem"))
    return {
        **aws,
        "MODELREPO_DATABASE_URL": pg_url,
        "MODELREPO_BLOB_URL": f"s3://{bucket}/models",
        "MODELREPO_AUDIT_KEY_FILE": str(tmp_path / "audit-key.pem"),
    }


def scaleout_registry(env: dict[str, str], **kwargs: Any) -> Registry:
    """A registry on the scale-out store described by `pg_env` (whose audit key it sets)."""
    return Registry(
        database_url=env["MODELREPO_DATABASE_URL"], blob_url=env["MODELREPO_BLOB_URL"], **kwargs
    )
