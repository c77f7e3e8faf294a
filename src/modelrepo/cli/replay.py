"""`decision replay`: re-run the exact version behind a decision."""

from __future__ import annotations

import json
import sys

import click

from .base import EXIT_ERROR, Context, command, emit, pass_ctx
from .decisions import decision


@command(decision, "replay")
@click.argument("decision_id")
@click.option("--tolerance", type=float, default=1e-9, show_default=True, help="For floats.")
@click.option("--trust-pickle", is_flag=True, help="Allow a pickled version (recorded).")
@pass_ctx
def decision_replay(
    ctx: Context, decision_id: str, tolerance: float, trust_pickle: bool, as_json: bool
) -> None:
    """Load the version that made a decision, re-run it on the stored inputs, compare.

    Exits 1 on a mismatch; refused when only a digest of the inputs was kept. The types a
    skops file needs trusted come from the version's record (`modelrepo trust`), and the
    re-run output is put in the canonical JSON form its decision was recorded in before the
    comparison (integer keys as text, NumPy values as numbers and lists).

    \b
    Example:
      modelrepo decision replay loan-2026-02-18-0037
    """
    with ctx.registry() as reg:
        result = reg.replay(decision_id, tolerance=tolerance, trust_pickle=trust_pickle)

    def human() -> None:
        verdict = "MATCH" if result["match"] else "MISMATCH"
        click.echo(
            f"{verdict}: {result['model']}@{result['version']} recorded "
            f"{json.dumps(result['recorded'])}, replayed {json.dumps(result['replayed'])} "
            f"(max difference {result['max_abs_diff']:.3g})"
        )

    emit(as_json, result, human)
    if not result["match"]:
        click.echo(f"error: replay of {decision_id} does not match the recorded output", err=True)
        sys.exit(EXIT_ERROR)
