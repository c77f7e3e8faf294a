"""The `modelrepo` command: each command parses, makes one registry call, and formats.

Every command takes `--json` (one JSON document on stdout). Errors are one line on stderr
and a non-zero exit code; `--traceback` shows the Python traceback instead.
"""

from __future__ import annotations

from . import (
    audit,
    decisions,
    deployments,
    export_git,
    imports,
    replay,
    reports,
    server,
    transfer,
    versions,
    webhooks,
)
from .base import cli

__all__ = [
    "audit",
    "cli",
    "decisions",
    "deployments",
    "export_git",
    "imports",
    "main",
    "replay",
    "reports",
    "server",
    "transfer",
    "versions",
    "webhooks",
]


def main() -> None:
    """Console entry point."""
    cli()
