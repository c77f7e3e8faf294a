"""Commands about the audit log: key, checkpoint, verify, prove, consistency, log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..domain.errors import InvalidInput
from ..domain.times import format_time
from .base import EXIT_ERROR, Context, cli, command, emit, more_notice, pass_ctx, write_or_print


@cli.group()
def audit() -> None:
    """The tamper-evident audit log: signed checkpoints, verification and proofs."""


def _write_or_print(document: Any, out: Path | None) -> None:
    write_or_print(json.dumps(document, indent=2, sort_keys=True) + "\n", out)


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc}") from None


@command(audit, "key")
@click.option(
    "--versions",
    "version_keys",
    is_flag=True,
    help="The public keys trusted to sign versions (not revoked) instead.",
)
@pass_ctx
def audit_key(ctx: Context, version_keys: bool, as_json: bool) -> None:
    """Print the public key that verifies this store's checkpoints (publish it).

    --versions prints instead the public keys (PEM) that verify the versions' signatures:
    those trusted and not revoked (`modelrepo signing keys` lists all, with their labels).

    \b
    Examples:
      modelrepo audit key > modelrepo-audit-key.pem
      modelrepo audit key --versions > modelrepo-version-keys.pem
    """
    if version_keys:
        with ctx.registry() as reg:
            keys = [k for k in reg.signing_keys() if k.active]
        if not keys:
            click.echo("note: no version signing key is trusted yet", err=True)
        emit(
            as_json,
            [{"key_id": k.key_id, "label": k.label, "public_key": k.public_pem} for k in keys],
            lambda: click.echo("".join(k.public_pem for k in keys), nl=False),
        )
        return
    with ctx.registry() as reg:
        pem, key_id = reg.audit_key(), reg.audit_key_id()
    emit(as_json, {"key_id": key_id, "public_key": pem}, lambda: click.echo(pem, nl=False))


@command(audit, "checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@pass_ctx
def audit_checkpoint(ctx: Context, out: Path | None, as_json: bool) -> None:
    """Sign the current tree head (size, root hash, time); keep a copy somewhere write-once.

    \b
    Example:
      modelrepo audit checkpoint --out /mnt/worm/checkpoint-$(date +%F).json
    """
    with ctx.registry() as reg:
        checkpoint = reg.audit_checkpoint()
    if out is not None:
        _write_or_print(checkpoint, out)
        emit(
            as_json,
            {**checkpoint, "path": str(out)},
            lambda: click.echo(f"Checkpoint of size {checkpoint['size']} written to {out}"),
        )
    else:
        _write_or_print(checkpoint, None)


@command(audit, "verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An older checkpoint the log must still extend (repeatable).",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The public key you trust (default: the store's own).",
)
@pass_ctx
def audit_verify(
    ctx: Context, checkpoint_files: tuple[Path, ...], key: Path | None, as_json: bool
) -> None:
    """Recompute the whole log and check it against every checkpoint; exit 1 on tampering.

    \b
    Example:
      modelrepo audit verify --checkpoint /mnt/worm/checkpoint-2026-03-01.json --key k.pem
    """
    given = [_load_json(path, "checkpoint") for path in checkpoint_files]
    with ctx.registry() as reg:
        report = reg.audit_verify(given, public_key_pem=key.read_bytes() if key else None)

    def human() -> None:
        click.echo(
            f"Audit log: {report.size} entries, root {report.root_hash}, "
            f"{report.checkpoints_checked} checkpoints checked"
        )
        for problem in report.problems:
            click.echo(f"  FAIL {problem}")
        click.echo("OK" if report.ok else "TAMPERED")

    emit(as_json, report.to_dict(), human)
    if not report.ok:
        first = f" (first bad entry: {report.first_bad_seq})" if report.first_bad_seq else ""
        click.echo(f"error: audit verification failed{first}: {report.problems[0]}", err=True)
        sys.exit(EXIT_ERROR)


@command(audit, "prove")
@click.argument("seq", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@pass_ctx
def audit_prove(ctx: Context, seq: int, out: Path | None, as_json: bool) -> None:
    """An inclusion proof for entry SEQ with its signed checkpoint, checkable offline with
    `python -m modelrepo.verifier inclusion BUNDLE --key KEY`.

    \b
    Example:
      modelrepo audit prove 42 --out entry-42.json
    """
    with ctx.registry() as reg:
        bundle = reg.audit_prove(seq)
    if out is not None:
        _write_or_print(bundle, out)
        emit(as_json, {"path": str(out), "seq": seq}, lambda: click.echo(f"Proof written to {out}"))
    else:
        _write_or_print(bundle, None)


@command(audit, "consistency")
@click.argument("old_size", type=int)
@click.argument("new_size", type=int, required=False)
@pass_ctx
def audit_consistency(ctx: Context, old_size: int, new_size: int | None, as_json: bool) -> None:
    """A proof that the log of NEW_SIZE (default: now) extends the one of OLD_SIZE.

    \b
    Example:
      modelrepo audit consistency 1000 > proof.json
    """
    with ctx.registry() as reg:
        proof = reg.audit_consistency(old_size, new_size)
    _write_or_print(proof, None)


@command(audit, "log")
@click.option("--model", help="Only entries about this model.")
@pass_ctx
def audit_log(ctx: Context, model: str | None, as_json: bool) -> None:
    """List audit entries: who changed what, when.

    \b
    Example:
      modelrepo audit log --model credit-risk
    """
    with ctx.registry() as reg:
        entries = reg.audit_log(f"model:{model}" if model else None)

    def human() -> None:
        for e in entries:
            click.echo(
                f"{e['seq']:>7}  {e['at']}  {e['actor']:<20}  {e['kind']:<22}  {e['subject']}"
            )

    emit(as_json, {"entries": entries}, human)


@command(audit, "denied")
@click.option("--since", help="Only refusals last seen at or after this time (ISO 8601).")
@click.option("--model", help="Only refusals about this model.")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
    help="Records per page, newest first.",
)  # fmt: skip
@click.option("--cursor", help="Start where a previous page ended (its next_cursor).")
@pass_ctx
def audit_denied(
    ctx: Context,
    since: str | None,
    model: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List refused requests to the server: who (token user or token id), from where, what,
    why. Repeats within a minute are one record with a count. Newest first, a page at a time.

    When more records follow, the list ends with a note on stderr giving the --cursor of the
    next page; --json gives it as "next_cursor" (null on the last page).

    \b
    Example:
      modelrepo audit denied --since 2026-03-01T00:00:00Z --model credit-risk
    """
    with ctx.registry() as reg:
        page = reg.audit_denied_page(since=since, model=model, limit=limit, cursor=cursor)
    found, next_cursor = page.items, page.next_cursor

    def human() -> None:
        for d in found:
            who = d.user or (f"token {d.token_id}" if d.token_id else "(no token)")
            about = f" [{d.model}]" if d.model else ""
            click.echo(
                f"{format_time(d.last_at)}  x{d.count:<5}  {d.status}  {who:<20}  "
                f"{d.client or '-':<15}  {d.method} {d.route}{about}  {d.reason}"
            )

    emit(as_json, {"denied": [d.to_dict() for d in found], "next_cursor": next_cursor}, human)
    more_notice(len(found), next_cursor, in_document=as_json)
