"""The `modelrepo` command: each command parses, makes one registry call, and formats.

Every command takes `--json` (one JSON document on stdout). Errors are one line on stderr
and a non-zero exit code; `--traceback` shows the Python traceback instead.
"""

from __future__ import annotations

import sys

import click

from ..domain.errors import IntegrityError
from . import audit, deployments, reports, versions
from .base import EXIT_ERROR, cli

__all__ = ["audit", "cli", "deployments", "main", "reports", "versions"]


def main() -> None:
    """Console entry point."""
    try:
        cli(standalone_mode=True)
    except IntegrityError as exc:  # pragma: no cover - reached only with --traceback off
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
