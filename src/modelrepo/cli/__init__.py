"""The `modelrepo` command: each command parses, makes one registry call, and formats.

Every command takes `--json` (one JSON document on stdout). Errors are one line on stderr
and a non-zero exit code; `--traceback` shows the Python traceback instead.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from .base import cli, end_on_closed_stdout

__all__ = [
    "audit",
    "cli",
    "decisions",
    "deployments",
    "export_git",
    "imports",
    "login",
    "main",
    "replay",
    "reports",
    "server",
    "signing",
    "transfer",
    "versions",
    "webhooks",
]


def __getattr__(name: str) -> ModuleType:
    """The command modules, imported on first use: each command loads only its own
    (`lazy.LazyGroup`), which keeps every CLI call fast."""
    if name in __all__ and name not in ("cli", "main"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console entry point. Output still buffered at exit is flushed here, so a reader that
    left early (`modelrepo ... | head -1`) ends the command quietly instead of as an error."""
    try:
        cli()
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        end_on_closed_stdout()
    sys.exit(code)
