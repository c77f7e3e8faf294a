"""`modelrepo export --git DIR`: the registry as a text tree in a Git repository."""

from __future__ import annotations

from pathlib import Path

import click

from .base import Context, cli, command, emit, pass_ctx


@command(cli, "export")
@click.option(
    "--git",
    "dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The Git repository to write and commit to (created if absent).",
)
@click.option(
    "--author",
    default="modelrepo <modelrepo@localhost>",
    show_default=True,
    metavar="'NAME <EMAIL>'",
    help="Author and committer of the commit.",
)
@click.option("--message", help="First line of the commit message.")
@pass_ctx
def export(ctx: Context, dest: Path, author: str, message: str | None, as_json: bool) -> None:
    """Export models, versions and deployment history as sorted, stable JSON into a Git
    repository, and commit what changed.

    One folder per model (models/NAME/): model.json, versions/N.json, the coefficients of
    text-coefficients versions as text, deployments.json, environments.json, requests.json.
    Exporting an unchanged registry changes no file and makes no commit.

    \b
    Examples:
      modelrepo export --git ../registry-history
      modelrepo export --git ../registry-history --author 'Model Risk <mrm@bank.example>'
    """
    from ..gitexport import export_git

    with ctx.registry() as reg:
        result = export_git(reg, dest, author=author, message=message)

    def human() -> None:
        if result.commit is None:
            click.echo(f"Nothing changed in {result.path} ({result.files} files)")
            return
        click.echo(
            f"Committed {result.commit[:12]} in {result.path}: {len(result.changed)} of "
            f"{result.files} files changed"
        )
        for path in result.changed:
            click.echo(f"  {path}")

    emit(as_json, result.to_dict(), human)
