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


def test_the_endpoint_tables_name_the_action_each_route_needs() -> None:
    """The hand-written endpoint tables of docs/server.md (native and MLflow) describe the
    routes; the action each row names must be the one its operation needs."""
    import re

    from modelrepo import Registry
    from modelrepo.domain.access import OPERATIONS
    from modelrepo.server import create_app
    from modelrepo.server.auth import route_operation

    actions: dict[tuple[str, str], str] = {}
    for route in create_app(Registry.in_memory(user="docs")).routes:
        name = route_operation(route)
        path = re.sub(r"\{[^}]*\}", "{}", str(getattr(route, "path", "")))
        for method in getattr(route, "methods", None) or ():
            if name is not None:
                actions[method, path] = OPERATIONS[name].action or "public"
    mlflow = "/api/2.0/mlflow/"
    checked = 0
    for line in (ROOT / "docs" / "server.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 2 or not cells[-1]:
            continue
        documented = cells[-1].split(" ")[0].rstrip(",")
        for method, path in re.findall(r"`([A-Z]+) (/[^`?]*)[^`]*`", cells[0]):
            path = re.sub(r"\{[^}]*\}", "{}", path)
            if (method, path) in actions:
                assert documented == actions[method, path], line
                checked += 1
        for path in re.findall(r"`((?:registered-models|model-versions)/[a-z-]+)`", cells[0]):
            found = {a for (_, p), a in actions.items() if p == mlflow + path}
            if len(found) == 1 and documented in ("read", "register", "tag", "deploy", "delete"):
                assert documented in found, line
                checked += 1
    assert checked >= 60
