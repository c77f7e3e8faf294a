"""Git repositories for tests: commits and tags at chosen instants, with a fixed identity."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ann Analyst",
    "GIT_AUTHOR_EMAIL": "ann@bank.example",
    "GIT_COMMITTER_NAME": "Ann Analyst",
    "GIT_COMMITTER_EMAIL": "ann@bank.example",
}


def git(repo: Path, *args: str, at: str | None = None) -> str:
    env = {**os.environ, **IDENTITY}
    if at is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = at
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def init(repo: Path) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    return repo


def commit(repo: Path, files: dict[str, str | bytes], message: str, at: str) -> str:
    """Write `files` (path -> content), commit them all at `at`, and return the commit."""
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, at=at)
    return git(repo, "rev-parse", "HEAD")
