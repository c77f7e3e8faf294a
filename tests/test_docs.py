"""The docs stay true: the CLI reference and the role tables are generated, the README names
every command."""

from __future__ import annotations

import runpy
from pathlib import Path

from modelrepo.cli import cli

from .cli.test_commands import all_commands

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_up_to_date() -> None:
    render = runpy.run_path(str(ROOT / "scripts" / "cli_reference.py"))["render"]
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == render(), "run: python scripts/cli_reference.py > docs/cli.md"


def test_the_role_tables_are_generated_from_the_access_table() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "access_table.py"))
    current = (ROOT / "docs" / "server.md").read_text()
    assert script["generated"](current) == script["render"](), (
        "run: python scripts/access_table.py --write"
    )


def test_readme_shows_the_two_commands_and_every_cli_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    for name in all_commands(cli):
        assert f"modelrepo {name}" in readme, name


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
