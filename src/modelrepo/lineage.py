"""Capturing lineage from the machine: the Git commit and the Python environment."""

from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .domain.model import CodeRef, PythonEnvironment


def find_git_root(start: Path) -> Path | None:
    """The nearest enclosing Git work tree, found without running git."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def redact_remote(url: str) -> str:
    """Drop credentials from a remote URL (https://user:token@host/x -> https://host/x)."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def capture_code(start: Path | None = None) -> CodeRef | None:
    """The commit of the Git work tree around `start` (default: the working directory).

    `dirty` is true when tracked files differ from the commit; untracked files (such as the
    artifacts being registered) do not count.
    """
    root = find_git_root(start or Path.cwd())
    if root is None:
        return None
    commit = _git(root, "rev-parse", "HEAD")
    if not commit or not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    remote = _git(root, "remote", "get-url", "origin")
    return CodeRef(
        commit=commit,
        dirty=bool(status),
        remote=redact_remote(remote) if remote else None,
        branch=branch if branch and branch != "HEAD" else None,
    )


@functools.cache
def capture_environment() -> PythonEnvironment:
    """The running interpreter and its installed distributions (computed once per process)."""
    packages = sorted(
        {
            f"{dist.metadata['Name']}=={dist.version}"
            for dist in metadata.distributions()
            if dist.metadata["Name"]
        },
        key=str.lower,
    )
    return PythonEnvironment(
        python=platform.python_version(),
        implementation=sys.implementation.name,
        platform=platform.platform(),
        packages=tuple(packages),
    )
