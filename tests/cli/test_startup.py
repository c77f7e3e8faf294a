"""Start-up cost: each command imports what it uses, and `--help` lists commands without
importing them. Checked in fresh interpreters, since this process has imported everything."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from modelrepo.cli import cli
from modelrepo.cli.lazy import COMMANDS, load_all

NEVER_AT_START = (
    "alembic",
    "boto3",
    "cryptography",
    "fastapi",
    "httpx",
    "numpy",
    "psycopg",
    "rich",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "yaml",
    "modelrepo.auditing",
    "modelrepo.domain.evidence",
    "modelrepo.remote",
    "modelrepo.server",
    "modelrepo.signing",
    "modelrepo.webhooks",
)
"""Imported by no read of an embedded store, nor by `import modelrepo` or `--help`."""

NOT_FOR_HELP = (*NEVER_AT_START, "apsw", "modelrepo.api", "modelrepo.registry", "modelrepo.stores")
"""`import modelrepo` and `modelrepo --help` open no store."""

REPORT = """
import json, sys
sys.argv = ["modelrepo", *sys.argv[1:]]
try:
    from modelrepo.cli import main
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, without this process's store settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREPO_")}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, env=env
    )


def modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `modelrepo ARGS`."""
    done = python("-c", REPORT, *args)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


def test_import_modelrepo_is_light() -> None:
    done = python("-c", "import json, sys, modelrepo; print(json.dumps(list(sys.modules)))")
    modules = set(json.loads(done.stdout))
    assert loaded(modules, NOT_FOR_HELP) == []
    assert "click" not in modules


def test_help_imports_no_command_module() -> None:
    modules = modules_after("--help")
    assert loaded(modules, NOT_FOR_HELP) == []
    assert sorted(m for m in modules if m.startswith("modelrepo.cli.")) == [
        "modelrepo.cli.base",
        "modelrepo.cli.lazy",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("live", "credit-risk", "--env", "production", "--json"),
        ("show", "credit-risk@1"),
        ("versions", "credit-risk"),
    ],
)
def test_reads_import_no_heavy_module(store_dir: Path, args: tuple[str, ...]) -> None:
    from modelrepo import Registry

    source = store_dir.parent / "model"
    source.mkdir()
    (source / "weights.bin").write_bytes(b"0")
    with Registry(store_dir, user="alice") as reg:
        reg.register("credit-risk", source)
        reg.deploy("credit-risk", 1, env="production")
    modules = modules_after("--store", str(store_dir), *args)
    assert "modelrepo.stores.sql.store" in modules  # the store was read
    assert loaded(modules, NEVER_AT_START) == []
    # Only the module of the command run.
    commands = sorted(m for m in modules if m.startswith("modelrepo.cli."))
    assert len(commands) == 3, commands


def test_command_table_matches_the_commands() -> None:
    """`--help` lists commands from `COMMANDS`: each entry's module defines the command, and
    its text gives the command's own short help at every width."""
    load_all()
    assert set(COMMANDS) == set(cli.commands)
    for name, (modules, text) in COMMANDS.items():
        command = cli.commands[name]
        assert command.callback is not None
        assert command.callback.__module__ == f"modelrepo.cli.{modules[0]}", name
        stand_in = click.Command(name, help=text)
        for limit in (10, 30, 45, 60, 80, 120, 1000):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), name
        assert not command.hidden and not command.short_help, name


def tree(command: click.Command) -> list[str]:
    if not isinstance(command, click.Group):
        return []
    return sorted(
        f"{name} {sub}".strip()
        for name, child in command.commands.items()
        for sub in ["", *tree(child)]
    )


@pytest.mark.parametrize("others_first", [False, True])
def test_each_group_gets_all_of_its_subcommands(others_first: bool) -> None:
    """A group's subcommands, in a fresh interpreter, are all there whether it is the first
    command looked up or comes after every other (whose modules may define the group itself
    but not all of its subcommands: `decision` and `replay`)."""
    load_all()
    for name in sorted(n for n in COMMANDS if isinstance(cli.commands[n], click.Group)):
        others = [n for n in COMMANDS if n != name] if others_first else []
        script = (
            "import json, click\n"
            "from modelrepo.cli import cli\n"
            f"{inspect.getsource(tree)}\n"
            "ctx = click.Context(cli)\n"
            f"for other in {others!r}:\n"
            "    cli.get_command(ctx, other)\n"
            f"print(json.dumps(tree(cli.get_command(ctx, {name!r}))))\n"
        )
        done = python("-c", script)
        assert json.loads(done.stdout) == tree(cli.commands[name]), name


def test_a_mistyped_command_is_still_matched_against_every_command() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREPO_")}
    done = subprocess.run(
        [sys.executable, "-m", "modelrepo", "lvie"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: No such command 'lvie'. Did you mean 'live'? (see ")
