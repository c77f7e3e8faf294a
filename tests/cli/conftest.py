"""Run the real `modelrepo` command: in-process through Click, or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelrepo.cli import cli

MODELREPO = str(Path(sys.executable).with_name("modelrepo"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


Run = Callable[..., Result]


@pytest.fixture
def run(store_dir: Path) -> Run:
    """Invoke the CLI in-process against the test's store (user 'alice')."""

    def invoke(*args: str, user: str = "alice", ok: bool = True) -> Result:
        runner = CliRunner()
        result = runner.invoke(
            cli, ["--store", str(store_dir), "--user", user, *args], catch_exceptions=False
        )
        outcome = Result(result.exit_code, result.stdout, result.stderr)
        if ok:
            assert outcome.code == 0, outcome
        return outcome

    return invoke


@pytest.fixture
def sh(store_dir: Path, tmp_path: Path) -> Run:
    """Invoke the installed console script as a separate process."""

    def invoke(*args: str, ok: bool = True, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [MODELREPO, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "MODELREPO_STORE": str(store_dir), **(env or {})},
            timeout=120,
            check=False,
        )
        outcome = Result(done.returncode, done.stdout, done.stderr)
        if ok:
            assert outcome.code == 0, outcome
        return outcome

    return invoke
