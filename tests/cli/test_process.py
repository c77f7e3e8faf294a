"""The installed console script as a user runs it: exit codes, stderr, environment, tty."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from .conftest import MODELREPO, Run


def test_console_script_round_trip(sh: Run, artifact: Path) -> None:
    created = sh("register", "credit-risk", str(artifact), "--json").json
    assert created["version"] == 1
    shown = sh("show", "credit-risk@1", "--json", env={"MODELREPO_USER": "ignored"}).json
    assert shown["digest"] == created["digest"]
    assert shown["created_by"] != "ignored"


def test_user_from_environment(sh: Run, artifact: Path) -> None:
    doc = sh("register", "m", str(artifact), "--json", env={"MODELREPO_USER": "carol"}).json
    assert doc["created_by"] == "carol"


def test_error_is_one_line_and_exit_code_is_nonzero(sh: Run) -> None:
    result = sh("show", "credit-risk@1", ok=False)
    assert result.code == 1
    assert result.out == ""
    assert result.err.strip().count("\n") == 0
    assert result.err.startswith("error: no modelrepo store at")


def test_usage_errors_exit_2(sh: Run) -> None:
    result = sh("register", ok=False)
    assert result.code == 2
    assert "Missing argument" in result.err


def test_traceback_flag_shows_the_traceback(sh: Run) -> None:
    result = sh("--traceback", "show", "x@1", ok=False)
    assert result.code == 1
    assert "Traceback" in result.err


def test_help_lists_every_command(sh: Run) -> None:
    out = sh("--help").out
    for name in ("register", "models", "versions", "show", "download", "diff", "fsck", "gc"):
        assert name in out


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What `modelrepo *args` writes to stderr when it is a terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([MODELREPO, *args], stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal(tmp_path: Path, store_dir: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(1 << 20) * 48)
    env = {**os.environ, "MODELREPO_STORE": str(store_dir), "COLUMNS": "100", "TERM": "xterm"}
    for tty_err in (
        _on_a_terminal(["register", "big", str(big)], env),
        _on_a_terminal(["download", "big@1", str(tmp_path / "copy")], env),
    ):
        assert "big.bin" in tty_err
        assert "MiB" in tty_err and "MB" not in tty_err.replace("MiB", "")  # as the summary says
        assert re.search(r"(-|\d+):(--|\d\d):(--|\d\d)", tty_err)  # time left
    with open(big, "ab") as f:
        f.write(b"more")  # other content: no note on stderr either
    piped = subprocess.run(
        [MODELREPO, "register", "big", str(big)], capture_output=True, text=True, env=env
    )
    assert piped.returncode == 0
    assert piped.stderr == ""


def test_module_entry_point(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelrepo", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith("modelrepo, version")
