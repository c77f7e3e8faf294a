"""Shared fixtures: registries on real storage with a clock that only moves when told."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelrepo import ManualClock, Registry

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, step=timedelta(seconds=1))


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def registry(store_dir: Path, clock: ManualClock) -> Iterator[Registry]:
    with Registry(store_dir, user="alice", clock=clock) as reg:
        yield reg


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
    monkeypatch.setenv("HOME", os.fspath(tmp_path / "home"))


from .cli.conftest import run, sh  # noqa: E402, F401  (CLI runners for every test package)
