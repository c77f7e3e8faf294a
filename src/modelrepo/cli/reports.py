"""Commands that write evidence reports."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..domain.names import file_name
from .base import Context, cli, command, emit, pass_ctx


@cli.group()
def report() -> None:
    """Evidence reports: self-contained HTML (and JSON) that open offline."""


@command(report, "model")
@click.argument("name")
@click.option(
    "--since", metavar="ISO", help="Start of the period (default: just before the first change)."
)
@click.option(
    "--until", metavar="ISO", help="End of the period (default: just after the last change)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: NAME-report.html); the JSON goes beside it.",
)
@pass_ctx
def report_model(
    ctx: Context,
    name: str,
    since: str | None,
    until: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """What was live when (a timeline chart), each version's lineage, who deployed and who
    approved, and the audit proof of every change, checked against a signed checkpoint.

    \b
    Example:
      modelrepo report model credit-risk --since 2026-01-01T00:00:00Z --out credit-risk.html
    """
    from ..reports import render_html

    with ctx.registry() as reg:
        document = reg.report_model(name, since=since, until=until)
    target = out or Path(f"{file_name(name)}-report.html")
    _write(target, render_html(document), document)
    emit(
        as_json,
        document,
        lambda: click.echo(
            f"Report on {name} written to {target} (and {target.with_suffix('.json').name}); "
            f"audit {'verified' if document['audit']['verified'] else 'FAILED'}"
        ),
    )


@command(report, "decision")
@click.argument("decision_id")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: decision-ID.html); the JSON goes beside it.",
)
@pass_ctx
def report_decision(ctx: Context, decision_id: str, out: Path | None, as_json: bool) -> None:
    """Why a decision was made: the version and its lineage, who deployed and approved it,
    what was live around it, and the audit proofs of the decision and the deployment.

    \b
    Example:
      modelrepo report decision loan-4711 --out loan-4711.html
    """
    from ..reports import render_decision_html

    with ctx.registry() as reg:
        document = reg.report_decision(decision_id)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in decision_id)
    target = out or Path(f"decision-{safe}.html")
    _write(target, render_decision_html(document), document)
    emit(
        as_json,
        document,
        lambda: click.echo(
            f"Report on decision {decision_id} written to {target}; audit "
            f"{'verified' if document['audit']['verified'] else 'FAILED'}"
        ),
    )


def _write(target: Path, page: str, document: dict[str, object]) -> None:
    for path, text in (
        (target, page),
        (target.with_suffix(".json"), json.dumps(document, indent=2, sort_keys=True) + "\n"),
    ):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
