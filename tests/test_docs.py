"""The docs stay true: the CLI reference and the role tables are generated, the README names
every command."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import subprocess
import sys
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


# -- the examples run as written ------------------------------------------------------------

NOT_RUN = "<!-- not run -->"
RUN = "<!-- run -->"


def example_blocks(text: str, *, every: bool) -> list[tuple[int, str, str]]:
    """(line, language, body) of the ```python and ```console blocks of a Markdown text: all
    but those marked `<!-- not run -->` (`every`, the README), else only those marked
    `<!-- run -->` (docs/*.md, whose blocks are mostly illustrations)."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence.startswith("```") and len(fence) > 3:
            language = fence[3:].strip()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            wanted = before != NOT_RUN if every else before == RUN
            if language in ("python", "console") and wanted:
                found.append((i + 1, language, "\n".join(lines[i + 1 : end])))
            i = end
        i += 1
    return found


_LOOSE = (
    (re.compile(r"sha256:[0-9a-f]{4,}(\.\.\.)?"), "sha256:<digest>"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "<digest>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r"\s+"), " "),
)


def loose(line: str) -> str:
    """A line of output with what changes from run to run (digests, times) made alike."""
    for pattern, replacement in _LOOSE:
        line = pattern.sub(replacement, line)
    return line.strip()


def same_output(expected: str, actual: str) -> bool:
    """`actual` says what `expected` shows, but for digests and times; an expected line
    ending in `...` stands for any line that begins the same way."""
    want = [loose(line) for line in expected.splitlines() if line.strip()]
    got = [loose(line) for line in actual.splitlines() if line.strip()]
    if len(want) != len(got):
        return False
    for w, g in zip(want, got, strict=True):
        if w.endswith("...") and g.startswith(w[:-3].rstrip()):
            continue
        if w != g:
            return False
    return True


def run_console(body: str, folder: Path, env: dict[str, str], where: str) -> None:
    """Each `$ command` of a console block, in `folder`, its output compared with the lines
    shown under it; `export NAME=VALUE` sets a variable for the commands that follow."""
    commands: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands and commands[-1][0].endswith("\\"):
            commands[-1] = (commands[-1][0][:-1] + line.strip(), commands[-1][1])
        elif commands:
            commands[-1][1].append(line)
    for command, shown in commands:
        if command.startswith("export "):
            name, _, value = command[len("export ") :].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
            continue
        done = subprocess.run(
            ["bash", "-c", command + " 2>&1"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        expected = "\n".join(shown)
        failing = any(line.startswith("error: ") for line in shown)
        assert (done.returncode != 0) == failing, f"{where}: $ {command}\n{done.stdout}"
        assert same_output(expected, done.stdout), (
            f"{where}: $ {command}\nshown:\n{expected}\ngot:\n{done.stdout}"
        )


def run_examples(path: Path, folder: Path, *, every: bool) -> int:
    """Run a Markdown file's examples in order, in `folder` (empty at first)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREPO_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    blocks = example_blocks(path.read_text(), every=every)
    for line, language, body in blocks:
        where = f"{path.name}:{line}"
        if language == "console":
            run_console(body, folder, env, where)
            continue
        done = subprocess.run(
            [sys.executable, "-c", body],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{where}:\n{done.stderr}"
    return len(blocks)


def test_the_readme_examples_run_as_written_from_an_empty_folder(tmp_path: Path) -> None:
    assert run_examples(ROOT / "README.md", tmp_path, every=True) >= 3


def test_the_docs_examples_marked_runnable_run_as_written(tmp_path: Path) -> None:
    for path in sorted((ROOT / "docs").glob("*.md")):
        folder = tmp_path / path.stem
        folder.mkdir()
        run_examples(path, folder, every=False)


def test_the_mlflow_compatibility_table_is_generated_from_the_last_results() -> None:
    """docs/interop.md's table is the one scripts/mlflow_compat_table.py writes from the
    committed results and differences (tests/interop/test_mlflow_compat.py makes the results
    and checks them against both servers), and those results break no rule of the list."""
    script = runpy.run_path(str(ROOT / "scripts" / "mlflow_compat_table.py"))
    results, differences = script["load_results"](), script["load_differences"]()
    current = (ROOT / "docs" / "interop.md").read_text()
    assert script["generated"](current) == script["render"](results, differences), (
        "run: python scripts/mlflow_compat_table.py --write"
    )
    assert script["compare"](results, differences, False) == []
