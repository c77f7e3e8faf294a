"""Moving a store: `migrate` copies an embedded store into PostgreSQL + S3."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..domain.errors import InvalidInput
from .base import EXIT_ERROR, Context, cli, command, emit, human_size, pass_ctx


@command(cli)
@click.option(
    "--to-database-url", required=True, metavar="URL", help="The target PostgreSQL database."
)
@click.option(
    "--to-blob-url",
    required=True,
    metavar="URL",
    help="The target blob store: s3://... or a folder.",
)
@click.option(
    "--audit-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a copy of the source's audit signing key here (mode 0600), for the "
    "target's $MODELREPO_AUDIT_KEY_FILE.",
)
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows copied per transaction.",
)
@pass_ctx
def migrate(
    ctx: Context,
    to_database_url: str,
    to_blob_url: str,
    audit_key_file: Path | None,
    batch_size: int,
    as_json: bool,
) -> None:
    """Copy the embedded store (--store) into PostgreSQL + S3, keeping everything as it is.

    Version numbers, digests, times, events, the audit log and its checkpoints are copied
    unchanged; the target then verifies with the same root hash. The source is read as one
    snapshot and may stay in use. Run it again to resume an interrupted copy or to bring
    the target up to date; a target holding anything else is refused, never overwritten.

    The target signs audit checkpoints with the source's key: set $MODELREPO_AUDIT_KEY_FILE
    of its replicas to a copy of the store's audit-signing-key.pem (--audit-key-file writes
    one). Exits 1 if the target does not verify.

    \b
    Example:
      modelrepo --store /srv/models migrate --to-database-url postgresql://registry@db/models \\
        --to-blob-url s3://models/prod --audit-key-file /etc/modelrepo/audit-key.pem
    """
    from ..transfer import migrate as run

    if ctx.database_url:
        raise InvalidInput(
            "migrate copies an embedded store given with --store; --database-url (or "
            "$MODELREPO_DATABASE_URL) names a database store"
        )
    with ctx.registry() as source:
        report = run(
            source,
            to_database_url,
            to_blob_url,
            key_file=audit_key_file,
            batch_rows=batch_size,
        )

    def human() -> None:
        click.echo(f"Store {report.store_id}: {report.source} -> {report.target}")
        click.echo(f"  {'table':<24}{'rows':>10}{'copied':>10}{'updated':>10}{'removed':>10}")
        for name, t in report.tables.items():
            click.echo(f"  {name:<24}{t.rows:>10}{t.copied:>10}{t.updated:>10}{t.removed:>10}")
        click.echo(
            f"Blobs: {report.blobs_copied} copied ({human_size(report.bytes_copied)}), "
            f"{report.blobs_skipped} already there"
        )
        click.echo(f"Audit log: {report.audit_size} entries, root hash {report.root_hash}")
        if report.key_file_written:
            click.echo(
                f"Audit signing key copied to {report.key_file_written}: set "
                f"MODELREPO_AUDIT_KEY_FILE to it on every replica of the target"
            )
        else:
            click.echo(
                "The target signs with the source's audit key: give its replicas "
                f"MODELREPO_AUDIT_KEY_FILE pointing at a private copy (mode 0600) of "
                f"{report.source_key_file}"
            )
        for problem in report.problems:
            click.echo(f"  problem: {problem}")
        click.echo("OK: the target verifies" if report.ok else "FAILED")

    emit(as_json, report.to_dict(), human)
    if not report.ok:
        click.echo(f"error: the target does not verify: {report.problems[0]}", err=True)
        sys.exit(EXIT_ERROR)
