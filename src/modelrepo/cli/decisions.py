"""Commands about decisions: show one (the whole story), list, import, input policy."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..domain.deployments import Unknown
from ..domain.times import format_time
from .base import Context, cli, command, emit, more_notice, pass_ctx


@cli.group()
def decision() -> None:
    """One decision: why it was made, by which version, deployed and approved by whom."""


@command(decision, "show")
@click.argument("decision_id")
@pass_ctx
def decision_show(ctx: Context, decision_id: str, as_json: bool) -> None:
    """The whole story of a decision: record, version and digest, lineage, the deployment in
    force at the decision time and its approval, and whether they agree.

    \b
    Example:
      modelrepo decision show loan-2026-03-03-4711
    """
    with ctx.registry() as reg:
        story = reg.decision(decision_id)

    def human() -> None:
        click.echo(f"decision {story['decision_id']}  {story['decided_at']}")
        click.echo(f"  model       {story['model']}@{story['version']} ({story['version_source']})"
                   f"  {story['digest'] or '(unknown version)'}")  # fmt: skip
        click.echo(f"  environment {story['environment'] or '-'}")
        click.echo(f"  output      {json.dumps(story['output'])}")
        click.echo(f"  inputs      {story['inputs_digest']} ({story['inputs_mode']})")
        deployment = story["deployment"]
        if deployment:
            approval = story["approval"]
            by = f", approved by {approval['approved_by']}" if approval else ""
            click.echo(
                f"  deployed    event {deployment['event_id']} ({deployment['kind']}) effective "
                f"{deployment['effective_at']} by {deployment['actor']}{by}"
            )
        unknown = story.get("live_unknown")
        if unknown:
            click.echo(f"  deployed    {Unknown.from_dict(unknown).describe()}")
            click.echo("  matches the deployment history: unknown")
        else:
            agree = "yes" if story["matches_history"] else "NO"
            click.echo(f"  matches the deployment history: {agree}")
        for flag in story["flags"]:
            click.echo(f"  FLAG {flag}")
        lineage = story["lineage"] or {}
        for d in lineage.get("data") or []:
            click.echo(f"  data        {d['uri']}  {d['digest']}")
        if lineage.get("code"):
            code = lineage["code"]
            click.echo(f"  code        {code['remote'] or '(no remote)'} {code['commit']}")

    emit(as_json, story, human)


@cli.group()
def decisions() -> None:
    """Decisions of a model: list, import, input policy."""


@command(decisions, "list")
@click.argument("name")
@click.option("--env", help="Only this environment.")
@click.option("--version", type=int, help="Only this version.")
@click.option("--since", metavar="ISO", help="Decided at or after.")
@click.option("--until", metavar="ISO", help="Decided at or before.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Decisions per page.",
)
@click.option("--cursor", help="Start where a previous page ended (its next_cursor).")
@pass_ctx
def decisions_list(
    ctx: Context,
    name: str,
    env: str | None,
    version: int | None,
    since: str | None,
    until: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List a model's decisions in decision-time order, a page at a time.

    When more decisions follow, the table ends with a note on stderr giving the --cursor of
    the next page; --json gives it as "next_cursor" (null on the last page).

    \b
    Example:
      modelrepo decisions list credit-risk --env production --since 2026-03-01T00:00:00Z
    """
    with ctx.registry() as reg:
        page = reg.decisions_page(
            name, env=env, version=version, since=since, until=until, limit=limit, cursor=cursor
        )
    found, next_cursor = page.items, page.next_cursor

    def human() -> None:
        for d in found:
            flags = f"  [{', '.join(d.flags)}]" if d.flags else ""
            click.echo(
                f"{format_time(d.decided_at)}  {d.decision_id}  {d.environment or '-'}  "
                f"v{d.version}  {json.dumps(d.output)}{flags}"
            )

    document = {
        "model": name,
        "decisions": [d.to_dict() for d in found],
        "next_cursor": next_cursor,
    }
    emit(as_json, document, human)
    more_notice(len(found), next_cursor, in_document=as_json)


@command(decisions, "import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def decisions_import(ctx: Context, path: Path, as_json: bool) -> None:
    """Record decisions from a JSON Lines or Parquet file, all or none.

    Each record: {"model", "inputs", "output", "version" or "environment", and optionally
    "decision_id", "decided_at", "metadata"}. In Parquet, nested columns may be structs or
    JSON text in inputs_json / output_json / metadata_json.

    \b
    Example:
      modelrepo decisions import decisions-2026-03.jsonl
    """
    with ctx.registry() as reg:
        count = reg.import_decisions(path)
    emit(as_json, {"imported": count}, lambda: click.echo(f"Imported {count} decisions"))


@command(decisions, "policy")
@click.argument("name")
@click.option(
    "--inputs",
    "mode",
    type=click.Choice(["inline", "blob", "digest"]),
    required=True,
    help="Keep inputs in the record, in the blob store, or only their digest.",
)
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    help="Purge stored inputs of decisions older than this (digests and records stay).",
)
@pass_ctx
def decisions_policy(
    ctx: Context, name: str, mode: str, retention_days: int | None, as_json: bool
) -> None:
    """Set how a model's decision inputs are kept, and for how long (the change is audited).

    \b
    Example:
      modelrepo decisions policy credit-risk --inputs blob --retention-days 365
    """
    with ctx.registry() as reg:
        reg.set_decision_inputs(name, mode, retention_days=retention_days)
    kept = f", purged after {retention_days} days" if retention_days else ""
    emit(
        as_json,
        {"model": name, "inputs": mode, "retention_days": retention_days},
        lambda: click.echo(f"{name}: decision inputs kept as {mode}{kept}"),
    )


@command(decisions, "purge")
@click.argument("name", required=False)
@pass_ctx
def decisions_purge(ctx: Context, name: str | None, as_json: bool) -> None:
    """Apply retention: drop stored inputs past each model's retention period (each purge is
    recorded; records and digests stay). Run it on a schedule.

    \b
    Example:
      modelrepo decisions purge
    """
    with ctx.registry() as reg:
        purged = reg.purge_decision_inputs(name)
    emit(
        as_json,
        {"purged": purged},
        lambda: click.echo(
            ", ".join(f"{m}: {n} purged" for m, n in purged.items()) or "Nothing to purge"
        ),
    )
