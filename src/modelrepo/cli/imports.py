"""`modelrepo import ...`: bring versions and history in from other registries."""

from __future__ import annotations

from .base import cli, command
from .import_gto import gto


@cli.group("import")
def import_group() -> None:
    """Import versions and deployment history from other registries.

    \b
    Example:
      modelrepo import gto --repo ../model-registry
    """


command(import_group, "gto")(gto)
