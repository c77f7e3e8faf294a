"""`modelrepo import gto`: versions and stage history from a GTO registry in a Git repository.

`gto` is a plain function with its Click parameters, so any group can make it a command with
`command(group, "gto")(gto)` (see `imports.py`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .base import Context, emit, parse_pairs, pass_ctx


@click.option(
    "--repo",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The Git repository GTO manages (its tags, artifacts.yaml or dvc.yaml).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="ARTIFACT=MODEL",
    help="Import a GTO artifact (FOLDER:NAME for one in a dvc.yaml below the root) under "
    "another model name.",
)
@pass_ctx
def gto(ctx: Context, repo: Path, models: tuple[str, ...], as_json: bool) -> None:
    """Import versions and stage assignments from a Git repository managed with GTO.

    Each registration tag (NAME@vX.Y.Z) becomes a version with the artifact's files from the
    tagged commit; each stage assignment (NAME#STAGE#N), unassignment, deregistration and
    deprecation becomes a backfilled deployment event in the environment named by the stage,
    effective at the tag's time, its reason naming the repository and the tag. Running it
    again imports nothing twice. What could not be mapped is listed.

    \b
    Examples:
      modelrepo import gto --repo ../model-registry
      modelrepo import gto --repo ../model-registry --model models:churn=churn-risk --json
    """
    from ..importers.gto import import_gto

    with ctx.registry(create=True) as reg:
        report = import_gto(reg, repo, models=parse_pairs(models, "model"))

    def human() -> None:
        for row in report.registered:
            click.echo(f"Registered {row['model']}@{row['version']} from {row['tag']}")
        for row in report.deprecated:
            click.echo(f"Deprecated {row['model']}@{row['version']} ({row['tag']})")
        for row in report.events:
            what = f"v{row['version']}" if row["version"] else "nothing"
            click.echo(
                f"{row['model']}@{row['environment']}: {row['kind']} {what} at "
                f"{row['effective_at']} ({row['tag']})"
            )
        click.echo(
            f"{len(report.registered)} versions and {len(report.events)} deployment events "
            f"imported; {len(report.existing)} versions and {report.events_existing} events "
            "were already there"
        )
        for line in report.unmapped:
            click.echo(f"not mapped: {line}")

    emit(as_json, report.to_dict(), human)
