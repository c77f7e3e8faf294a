"""Commands about a model itself: show it, create it before its first version, rename it,
delete it."""

from __future__ import annotations

import json
from typing import Any

import click

from ..domain.times import format_time
from .base import Context, cli, command, emit, parse_pairs, pass_ctx


class _ShowByDefault(click.Group):
    """`modelrepo model NAME` shows NAME (`model show NAME`); a subcommand's name is taken for
    the subcommand (`modelrepo model show create` shows a model named "create")."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_ShowByDefault)
def model() -> None:
    """Show model NAME: its versions, description, tags and the changes to them.

    `modelrepo model NAME` is `modelrepo model show NAME`; `modelrepo model create NAME`
    creates a model before its first version, `modelrepo model rename NAME NEW_NAME` renames
    one, `modelrepo model delete NAME` deletes one never deployed.
    """


@command(model, "show")
@click.argument("name")
@pass_ctx
def model_show(ctx: Context, name: str, as_json: bool) -> None:
    """Show model NAME: its versions, description, tags and the changes to them.

    \b
    Examples:
      modelrepo model credit-risk
      modelrepo model show credit-risk --json
    """
    with ctx.registry() as reg:
        found = reg.model(name)
        changes = reg.model_events(name)
    doc: dict[str, Any] = found.to_dict()
    doc["changes"] = [e.to_dict() for e in changes]

    def human() -> None:
        click.echo(f"{found.name}  latest {found.latest_version}, {found.version_count} live")
        click.echo(f"  created     {format_time(found.created_at)} by {found.created_by}")
        if found.description:
            click.echo(f"  description {found.description}")
        if found.tags:
            click.echo("  tags")
            for key in sorted(found.tags):
                click.echo(f"    {key} = {json.dumps(found.tags[key])}")
        for e in changes:
            what = f"{e.key}={e.value}" if e.kind == "tag_set" else (e.key or "")
            click.echo(f"  {format_time(e.at)} {e.actor}: {e.kind} {what}".rstrip())

    emit(as_json, doc, human)


@command(model, "create")
@click.argument("name")
@click.option("--description", default="", help="What the model is for (recorded).")
@click.option("--tag", "tags", multiple=True, metavar="K=V", help="Tag of the model (repeatable).")
@pass_ctx
def model_create(
    ctx: Context, name: str, description: str, tags: tuple[str, ...], as_json: bool
) -> None:
    """Create model NAME before its first version, with its description and tags (each kept
    as a change of the model, with who and when). Fails if NAME exists.

    \b
    Example:
      modelrepo model create credit-risk --description 'Scores loan applications.' \\
          --tag owner=risk-team
    """
    with ctx.registry(create=True) as reg:
        made = reg.create_model(name, description=description, tags=parse_pairs(tags, "tag"))
    emit(as_json, made.to_dict(), lambda: click.echo(f"Created model {made.name}"))


@command(model, "delete")
@click.argument("name")
@click.option("--reason", required=True, help="Why (required; recorded with the tombstone).")
@pass_ctx
def model_delete(ctx: Context, name: str, reason: str, as_json: bool) -> None:
    """Delete model NAME and its versions: refused if any version was ever deployed or a
    decision names it (they are kept as evidence). Otherwise the model and its versions
    answer as missing from then on, their records kept for the audit log; the name may be
    taken again, its numbers following the deleted model's.

    \b
    Example:
      modelrepo model delete credit-risk-test --reason "made by mistake"
    """
    with ctx.registry() as reg:
        gone = reg.delete_model(name, reason=reason)
    emit(as_json, gone.to_dict(), lambda: click.echo(f"Deleted model {gone.name}"))


@command(model, "rename")
@click.argument("name")
@click.argument("new_name")
@click.option("--reason", help="Why (recorded).")
@pass_ctx
def model_rename(ctx: Context, name: str, new_name: str, reason: str | None, as_json: bool) -> None:
    """Rename model NAME to NEW_NAME: its whole history follows it (versions, deployments,
    requests, decisions, its audit record); NAME answers as missing from then on and may be
    taken by a new model.

    \b
    Example:
      modelrepo model rename credit-risk credit-risk-retail --reason "split by segment"
    """
    with ctx.registry() as reg:
        renamed = reg.rename_model(name, new_name, reason=reason)
    emit(as_json, renamed.to_dict(), lambda: click.echo(f"Renamed model {name} to {renamed.name}"))
