"""Generate docs/cli.md from the CLI's own --help; tests/test_docs.py keeps them equal.

Usage: python scripts/cli_reference.py > docs/cli.md
"""

from __future__ import annotations

import click

from modelrepo.cli import cli

HEADER = """# CLI reference

Generated from `modelrepo --help` by `scripts/cli_reference.py`; do not edit by hand.
Every command accepts `--json` and prints one JSON document on stdout. Errors are one line on
stderr (`error: ...`) with exit code 1; usage errors exit with 2. A command whose stdout is
closed early (`| head -1`) ends quietly with exit code 141.
"""


def help_text(command: click.Command, name: str, parent: click.Context | None) -> str:
    ctx = click.Context(
        command, info_name=name, parent=parent, terminal_width=100, **cli.context_settings
    )
    ctx.max_content_width = 100
    return command.get_help(ctx)


def render() -> str:
    root = click.Context(cli, info_name="modelrepo", terminal_width=100, **cli.context_settings)
    parts = [HEADER, "## modelrepo\n", "```\n" + help_text(cli, "modelrepo", None) + "\n```\n"]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        assert command is not None, name
        parts.append(f"## modelrepo {name}\n")
        parts.append("```\n" + help_text(command, name, root) + "\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
