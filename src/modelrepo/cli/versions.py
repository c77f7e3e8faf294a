"""Commands about versions: register, list, show, download, diff, tag, delete, fsck, gc."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..domain.errors import NotFound
from ..domain.filters import missing_keys, parse_filter, parse_value
from ..domain.model import DataRef, same_content_before
from ..domain.names import ref_or_name
from ..domain.times import format_time
from ..domain.trust import trusted_of
from ..flavors import FLAVORS
from ..registry import Registry
from .base import (
    EXIT_ERROR,
    Context,
    byte_size,
    cli,
    command,
    emit,
    human_size,
    parse_metrics,
    parse_pairs,
    pass_ctx,
    progress_bars,
    resolve_ref,
)


@command(cli)
@click.option(
    "--group",
    is_flag=True,
    help="Share a new embedded store with its folder's group (2770, files 0660) instead of "
    "keeping it to its owner (0700, files 0600).",
)
@pass_ctx
def init(ctx: Context, group: bool, as_json: bool) -> None:
    """Create the store (SQLite + blob folder, or the schema in PostgreSQL) if it does not
    exist yet. An embedded store is private to its owner whatever the umask (it keeps
    decision inputs: personal data); --group shares it with the group of its folder.

    \b
    Examples:
      modelrepo --store /srv/models init
      modelrepo --store /srv/models init --group
      modelrepo --database-url postgresql://registry@db/models --blob-url s3://models/prod init
    """
    with ctx.registry(create=True, group_access=group) as reg:
        reg.create_store()
        location = reg.location
        database = reg.database_version()
    sqlite = (
        database.removeprefix("SQLite ") if database and database.startswith("SQLite ") else None
    )
    emit(
        as_json,
        {"store": location, "database": database, "sqlite_version": sqlite},
        lambda: click.echo(f"Store ready at {location} ({database})"),
    )


@command(cli)
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--param", "params", multiple=True, metavar="K=V", help="Training parameter.")
@click.option("--metric", "metrics", multiple=True, metavar="K=V", help="Numeric metric.")
@click.option("--tag", "tags", multiple=True, metavar="K=V", help="Tag (can change later).")
@click.option("--data", multiple=True, metavar="URI[#DIGEST]", help="Data the model was made from.")
@click.option(
    "--flavor",
    default="generic",
    show_default=True,
    help=f"How to load the files: {', '.join(sorted(FLAVORS))}; the files must hold what the "
    "flavor loads (one .skops file for sklearn, ...).",
)
@click.option("--description", default="", help="Free text.")
@click.option(
    "--signature",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with 'inputs' and 'outputs' field lists.",
)
@click.option("--no-code", is_flag=True, help="Do not record the Git commit.")
@click.option(
    "--dvc",
    is_flag=True,
    help="Add the data DVC recorded in this work tree (dvc.lock deps, *.dvc outs) to the lineage.",
)
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="A key for this registration: run again with it, the command returns the version "
    "the first run made instead of making another (1-128 printable ASCII characters, no spaces).",
)
@click.option(
    "--if-changed",
    is_flag=True,
    help="When the latest version holds exactly these files, print it and make no new version.",
)
@click.option(
    "--number",
    type=click.IntRange(min=1),
    metavar="N",
    help="Give the version number N instead of the next one (to keep another registry's "
    "numbers); N must be above every number the model ever had.",
)
@click.option(
    "--trust",
    "trusted",
    multiple=True,
    metavar="TYPE",
    help="A type the files need trusted to load (skops), recorded with the version; repeatable.",
)
@click.option(
    "--sign",
    is_flag=True,
    help="Sign the version with the store's key as it is registered (see `modelrepo sign`).",
)
@click.option(
    "--part-size",
    metavar="SIZE",
    callback=byte_size,
    help="To a server: send files larger than SIZE (64MiB, 1GiB) as resumable uploads in "
    "parts of SIZE (files of 64 MiB or more always are, in the server's part size).",
)
@pass_ctx
def register(
    ctx: Context,
    name: str,
    path: Path,
    params: tuple[str, ...],
    metrics: tuple[str, ...],
    tags: tuple[str, ...],
    data: tuple[str, ...],
    flavor: str,
    description: str,
    signature: Path | None,
    no_code: bool,
    dvc: bool,
    idempotency_key: str | None,
    if_changed: bool,
    number: int | None,
    trusted: tuple[str, ...],
    sign: bool,
    part_size: int | None,
    as_json: bool,
) -> None:
    """Register the file or folder PATH as the next version of model NAME.

    Parameter values are read as JSON where they parse (1, 0.5, true, "x"), else as text.
    A local --data path gets its SHA-256 computed; give URI#sha256:HEX for remote data.
    --dvc reads dvc.lock and the *.dvc files of the Git work tree around the working
    directory (DVC itself is not needed) and records each as dvc://PATH with DVC's MD5.
    --idempotency-key makes a retried command safe (give e.g. the CI job's run id): the same
    user with the same KEY gets back the version the first run made; other files are refused.
    A new version with the same files as an earlier one is made, with a note on stderr;
    --if-changed makes none when the latest version holds exactly these files.
    --number keeps a number given elsewhere; numbers are never reused, so it must be above
    every number the model ever had, kept or deleted.
    --trust records, with the version, a type its skops file holds that skops does not trust
    by default (see `modelrepo trust`): loads and replays then use it.
    --sign signs the new version with the store's key (as a signing policy may require
    anyway, see `modelrepo signing policy`); a store that cannot sign makes no version.
    To a server, large files go first in parts, each sent again alone if the connection
    drops; run the same command again after an interruption and it resumes.

    \b
    Examples:
      modelrepo register credit-risk ./out --param C=0.5 --metric auc=0.91 \\
          --data s3://bucket/train.parquet#sha256:9f86d0... --flavor sklearn \\
          --trust sklearn.tree._tree.Tree
      modelrepo register credit-risk ./out --number 7
    """
    sig = None
    if signature is not None:
        try:
            sig = json.loads(signature.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--signature") from None
    parsed_params = {k: parse_value(v) for k, v in parse_pairs(params, "param").items()}
    lineage: list[str | DataRef] = list(data)
    if dvc:
        from ..dvcfiles import work_tree_lineage
        from ..lineage import find_git_root

        lineage.extend(work_tree_lineage(find_git_root(Path.cwd()) or Path.cwd()))
    with ctx.registry(create=True) as reg, progress_bars(not as_json) as progress:
        latest = _latest_number(reg, name) if if_changed else 0
        sending: dict[str, int] = {}
        if part_size is not None:
            if not reg.location.startswith(("http://", "https://")):
                raise click.UsageError("--part-size is for registering to a server")
            sending["part_size"] = part_size
        version = reg.register(
            name,
            path,
            params=parsed_params,
            metrics=parse_metrics(metrics),
            tags=parse_pairs(tags, "tag"),
            data=lineage,
            flavor=flavor,
            description=description,
            signature=sig,
            code=not no_code,
            progress=progress,
            idempotency_key=idempotency_key,
            if_changed=if_changed,
            number=number,
            trusted_types=trusted,
            sign=sign,
            **sending,
        )
        unchanged = version.version <= latest  # numbers only grow: a new one is above
        same = None if unchanged else same_content_before(reg.versions(name), version)
    if unchanged:
        click.echo(
            f"note: {version.ref}, the latest version, holds exactly these files "
            f"({version.digest}); no new version was made",
            err=True,
        )
    elif same is not None:
        click.echo(
            f"note: {version.ref} has the same content as @{same.version} ({version.digest})",
            err=True,
        )
    emit(
        as_json,
        version.to_dict(),
        lambda: click.echo(
            f"{'Unchanged' if unchanged else 'Registered'} {version.ref} {version.digest} "
            f"({len(version.files)} file{'s' if len(version.files) != 1 else ''}, "
            f"{human_size(version.size)}){', signed' if sign and not unchanged else ''}"
        ),
    )


def _latest_number(reg: Registry, name: str) -> int:
    """The number of a model's latest version (0 before its first)."""
    try:
        return reg.model(name).latest_version
    except NotFound:
        return 0


@command(cli)
@pass_ctx
def models(ctx: Context, as_json: bool) -> None:
    """List models.

    \b
    Example:
      modelrepo models --json
    """
    with ctx.registry() as reg:
        found = reg.models()

    def human() -> None:
        if not found:
            click.echo("No models.")
            return
        width = max(len(m.name) for m in found)
        click.echo(f"{'MODEL':<{width}}  LATEST  VERSIONS  CREATED")
        for m in found:
            click.echo(
                f"{m.name:<{width}}  {m.latest_version:>6}  {m.version_count:>8}  "
                f"{format_time(m.created_at)}"
            )

    emit(as_json, {"models": [m.to_dict() for m in found]}, human)


@command(cli)
@click.argument("name")
@click.option(
    "--where",
    multiple=True,
    metavar="FILTER",
    help="e.g. 'metrics.auc>=0.9', 'params.C=0.5', 'tags.stage=candidate'.",
)
@click.option("--include-deleted", is_flag=True, help="Also list deleted versions.")
@pass_ctx
def versions(
    ctx: Context, name: str, where: tuple[str, ...], include_deleted: bool, as_json: bool
) -> None:
    """List the versions of model NAME, oldest first, optionally filtered.

    When the filters match nothing because no version has a key they name, a note on stderr
    lists the keys there are.

    \b
    Example:
      modelrepo versions credit-risk --where 'metrics.auc>=0.9' --where tags.team=risk
    """
    with ctx.registry() as reg:
        found = reg.versions(name, where, include_deleted=include_deleted)
        if not found and where:
            every = reg.versions(name, include_deleted=include_deleted)
            for note in missing_keys(every, [parse_filter(w) for w in where]):
                click.echo(f"note: {note}", err=True)

    def human() -> None:
        if not found:
            click.echo("No matching versions.")
            return
        by = max(2, *(len(v.created_by) for v in found))
        click.echo(f"VERSION  CREATED                      {'BY':<{by}}  DIGEST            METRICS")
        for v in found:
            flags = " (deprecated)" if v.deprecated else ""
            flags += " (deleted)" if v.deleted_at else ""
            metrics = " ".join(f"{k}={val:g}" for k, val in sorted(v.metrics.items()))
            click.echo(
                f"{v.version:>7}  {format_time(v.created_at)}  {v.created_by:<{by}}  "
                f"{v.digest[7:23]}  {metrics}{flags}"
            )

    emit(as_json, {"model": name, "versions": [v.to_dict() for v in found]}, human)


@command(cli)
@click.argument("ref", metavar="NAME@N")
@pass_ctx
def show(ctx: Context, ref: str, as_json: bool) -> None:
    """Show everything recorded about one version.

    NAME@ENV shows the one ENV serves now. A name with spaces is quoted; the reference
    splits at its last '@'.

    \b
    Examples:
      modelrepo show credit-risk@3
      modelrepo show "Credit Risk@production"
    """
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        version = reg.get(parsed.model, parsed.version)
        changes = reg.events(parsed.model, parsed.version)
    doc = version.to_dict()
    doc["changes"] = [e.to_dict() for e in changes]
    doc["trusted_types"] = list(trusted_of(changes))

    def human() -> None:
        click.echo(f"{version.ref}  {version.digest}")
        click.echo(f"  created     {format_time(version.created_at)} by {version.created_by}")
        click.echo(f"  flavor      {version.flavor}")
        if doc["trusted_types"]:
            click.echo(f"  trusts      {', '.join(doc['trusted_types'])}")
        if version.description:
            click.echo(f"  description {version.description}")
        if version.deprecated:
            click.echo("  deprecated  yes")
        if version.deleted_at:
            click.echo(f"  deleted     {format_time(version.deleted_at)} by {version.deleted_by}")
        for title, values in (
            ("params", version.params),
            ("metrics", version.metrics),
            ("tags", version.tags),
        ):
            if values:
                click.echo(f"  {title}")
                for key in sorted(values):
                    click.echo(f"    {key} = {json.dumps(values[key])}")
        lineage = version.lineage
        click.echo("  lineage")
        for d in lineage.data:
            click.echo(f"    data    {d.uri}  {d.digest or '(no digest)'}")
        if lineage.code:
            dirty = " (dirty)" if lineage.code.dirty else ""
            click.echo(
                f"    code    {lineage.code.remote or '(no remote)'} {lineage.code.commit}{dirty}"
            )
        if lineage.environment:
            env = lineage.environment
            click.echo(
                f"    python  {env.python} ({env.implementation}) on {env.platform}, "
                f"{len(env.packages)} packages"
            )
        click.echo(f"  files ({len(version.files)}, {human_size(version.size)})")
        for f in version.files:
            mode = "x" if f.executable else "-"
            click.echo(f"    {mode} {f.sha256[:16]}  {human_size(f.size):>10}  {f.path}")
        for e in changes:
            what = f"{e.key}={e.value}" if e.kind == "tag_set" else (e.key or "")
            why = f" ({e.reason})" if e.reason else ""
            click.echo(f"  {format_time(e.at)} {e.actor}: {e.kind} {what}".rstrip() + why)

    emit(as_json, doc, human)


@command(cli)
@click.argument("ref", metavar="NAME@N")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--verify-signature",
    is_flag=True,
    help="Refuse a version without a valid model signature by a trusted, unrevoked key.",
)
@pass_ctx
def download(ctx: Context, ref: str, dest: Path, verify_signature: bool, as_json: bool) -> None:
    """Write the files of version NAME@N into DEST, verifying every byte.

    DEST must not exist or must be an empty folder; it appears only once complete. A version
    signed by a trusted key gets its model signature beside its files (model.sig), which the
    stock `model_signing verify key` checks with the key of `modelrepo audit key --versions`.

    \b
    Examples:
      modelrepo download credit-risk@3 ./credit-risk-v3
      modelrepo download credit-risk@3 ./credit-risk-v3 --verify-signature
    """
    from ..domain.attestations import signature_file_name

    with ctx.registry() as reg, progress_bars(not as_json) as progress:
        parsed = resolve_ref(reg, ref)
        version = reg.get(parsed.model, parsed.version)
        target = reg.download(
            parsed.model,
            parsed.version,
            dest,
            progress=progress,
            verify_signature=verify_signature,
        )
    signature = target / signature_file_name(version.files)
    written = str(signature) if signature.is_file() else None

    def human() -> None:
        click.echo(f"Downloaded {version.ref} to {target} ({human_size(version.size)})")
        if written is not None:
            click.echo(f"Model signature written to {written}")

    emit(
        as_json,
        {
            "model": version.model,
            "version": version.version,
            "digest": version.digest,
            "path": str(target),
            "files": len(version.files),
            "size": version.size,
            "signature": written,
        },
        human,
    )


@command(cli)
@click.argument("a", metavar="NAME@A")
@click.argument("b", metavar="NAME@B")
@pass_ctx
def diff(ctx: Context, a: str, b: str, as_json: bool) -> None:
    """Compare two versions: metadata, params, metrics, files, and text diffs.

    \b
    Example:
      modelrepo diff credit-risk@2 credit-risk@3
    """
    with ctx.registry() as reg:
        ra, rb = resolve_ref(reg, a), resolve_ref(reg, b)
        result = reg.diff((ra.model, ra.version), (rb.model, rb.version))

    def human() -> None:
        click.echo(
            f"{result.a} -> {result.b}" + ("  (same content)" if result.same_content else "")
        )
        for title, changes in (
            ("metadata", result.metadata),
            ("params", result.params),
            ("metrics", result.metrics),
            ("tags", result.tags),
        ):
            for key, change in changes.items():
                old = "-" if change.old is None else json.dumps(change.old)
                new = "-" if change.new is None else json.dumps(change.new)
                click.echo(f"  {title}.{key}: {old} -> {new}")
        for path in result.files_added:
            click.echo(f"  + {path}")
        for path in result.files_removed:
            click.echo(f"  - {path}")
        for path in result.files_modified:
            click.echo(f"  ~ {path}")
        for text in result.text_diffs.values():
            click.echo(text, nl=False)

    emit(as_json, result.to_dict(), human)


@command(cli)
@click.argument("ref", metavar="NAME[@N]")
@click.argument("assignment", metavar="KEY=VALUE")
@pass_ctx
def tag(ctx: Context, ref: str, assignment: str, as_json: bool) -> None:
    """Set a tag on a version, or with a bare NAME on the model itself (recorded with who
    and when).

    \b
    Examples:
      modelrepo tag credit-risk@3 validated=yes
      modelrepo tag credit-risk owner=risk-team
    """
    key, value = next(iter(parse_pairs((assignment,), "tag").items()))
    if ref_or_name(ref) is None:
        with ctx.registry() as reg:
            model = reg.tag_model(ref, key, value)
        emit(as_json, model.to_dict(), lambda: click.echo(f"Tagged {model.name} {key}={value}"))
        return
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        version = reg.tag(parsed.model, parsed.version, key, value)
    emit(as_json, version.to_dict(), lambda: click.echo(f"Tagged {version.ref} {key}={value}"))


@command(cli)
@click.argument("ref", metavar="NAME[@N]")
@click.argument("key")
@pass_ctx
def untag(ctx: Context, ref: str, key: str, as_json: bool) -> None:
    """Remove a tag from a version, or with a bare NAME from the model itself (the removal
    is recorded).

    \b
    Examples:
      modelrepo untag credit-risk@3 validated
      modelrepo untag credit-risk owner
    """
    if ref_or_name(ref) is None:
        with ctx.registry() as reg:
            model = reg.untag_model(ref, key)
        emit(as_json, model.to_dict(), lambda: click.echo(f"Removed tag {key} from {model.name}"))
        return
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        version = reg.untag(parsed.model, parsed.version, key)
    emit(as_json, version.to_dict(), lambda: click.echo(f"Removed tag {key} from {version.ref}"))


@command(cli)
@click.argument("name")
@click.argument("text")
@pass_ctx
def describe(ctx: Context, name: str, text: str, as_json: bool) -> None:
    """Replace the description of model NAME (recorded with who and when; '' clears it).

    \b
    Example:
      modelrepo describe credit-risk 'Scores consumer loan applications.'
    """
    with ctx.registry() as reg:
        model = reg.describe_model(name, text)
    emit(as_json, model.to_dict(), lambda: click.echo(f"Described {model.name}"))


@command(cli)
@click.argument("ref", metavar="NAME@N")
@click.option("--reason", help="Why (recorded).")
@click.option("--undo", is_flag=True, help="Lift the deprecation instead.")
@pass_ctx
def deprecate(ctx: Context, ref: str, reason: str | None, undo: bool, as_json: bool) -> None:
    """Flag a version as deprecated, or lift the flag with --undo.

    \b
    Example:
      modelrepo deprecate credit-risk@1 --reason "trained on pre-2024 data"
    """
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        version = reg.deprecate(parsed.model, parsed.version, reason=reason, deprecated=not undo)
    state = "deprecated" if version.deprecated else "not deprecated"
    emit(as_json, version.to_dict(), lambda: click.echo(f"{version.ref} is {state}"))


@command(cli)
@click.argument("ref", metavar="NAME@N")
@click.argument("types", nargs=-1, required=True, metavar="TYPE...")
@click.option("--reason", required=True, help="Why they are trusted (required; recorded).")
@pass_ctx
def trust(ctx: Context, ref: str, types: tuple[str, ...], reason: str, as_json: bool) -> None:
    """Trust types a version's files need to load, recorded with the version.

    A skops file names every type it holds; those skops does not know to be safe (a random
    forest's sklearn.tree._tree.Tree) load only when trusted. The grant is recorded as
    evidence (who, when, why; the audit log), and `load`, `load_live` and `decision replay`
    use it: no one retypes it. Trust is never taken back. Over a server, admin only.

    \b
    Example:
      modelrepo trust credit-risk@3 sklearn.tree._tree.Tree --reason "our own forest"
    """
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        trusted = reg.trust(parsed.model, parsed.version, list(types), reason=reason)
    ref_text = f"{parsed.model}@{parsed.version}"
    emit(
        as_json,
        {"model": parsed.model, "version": parsed.version, "trusted_types": trusted},
        lambda: click.echo(f"{ref_text} trusts {', '.join(trusted)}"),
    )


@command(cli)
@click.argument("ref", metavar="NAME@N")
@click.option("--reason", required=True, help="Why (required; recorded with the tombstone).")
@pass_ctx
def delete(ctx: Context, ref: str, reason: str, as_json: bool) -> None:
    """Delete a version: its record stays as evidence, `gc` reclaims its files.

    The number is never reused, and the files cannot come back: --reason says why.

    \b
    Example:
      modelrepo delete credit-risk@2 --reason "registered by mistake"
    """
    with ctx.registry() as reg:
        parsed = resolve_ref(reg, ref)
        version = reg.delete(parsed.model, parsed.version, reason=reason)
    emit(as_json, version.to_dict(), lambda: click.echo(f"Deleted {version.ref}"))


@command(cli, name="record-deleted")
@click.argument("ref", metavar="NAME@N")
@click.option("--reason", required=True, help="Why (required; recorded with the tombstone).")
@pass_ctx
def record_deleted(ctx: Context, ref: str, reason: str, as_json: bool) -> None:
    """Record version N of NAME as deleted, with no files: a tombstone for a version another
    registry deleted before its history came here, so the number stays taken.

    N must be above every number the model ever had; the model is created if it has no
    version yet.

    \b
    Example:
      modelrepo record-deleted credit-risk@5 --reason "deleted in MLflow on 2026-03-02"
    """
    from ..domain.names import parse_version_ref

    parsed = parse_version_ref(ref)
    with ctx.registry(create=True) as reg:
        version = reg.record_deleted_version(parsed.model, parsed.version, reason=reason)
    emit(as_json, version.to_dict(), lambda: click.echo(f"Recorded {version.ref} as deleted"))


@command(cli)
@pass_ctx
def fsck(ctx: Context, as_json: bool) -> None:
    """Check every stored file against its digest; report missing, corrupt and orphaned blobs,
    and files or folders of the store folder more open than the store allows.

    Exits 1 if any file a version needs is missing or corrupt, or anything is too open.

    \b
    Example:
      modelrepo fsck --json
    """
    with ctx.registry() as reg, progress_bars(not as_json) as progress:
        report = reg.fsck(progress=progress)

    def human() -> None:
        click.echo(f"Checked {report.blobs_checked} blobs ({human_size(report.bytes_checked)}).")
        for r in report.missing:
            click.echo(f"  missing  {r.model}@{r.version} {r.path} ({r.sha256})")
        for r in report.corrupt:
            click.echo(f"  corrupt  {r.model}@{r.version} {r.path} ({r.sha256})")
        if report.orphaned:
            size = sum(b.size for b in report.orphaned)
            click.echo(
                f"  {len(report.orphaned)} orphaned blobs ({human_size(size)}): run 'modelrepo gc'"
            )
        if report.partials:
            click.echo(f"  {len(report.partials)} abandoned uploads: run 'modelrepo gc'")
        for path, mode in report.too_open:
            click.echo(f"  too open {mode:04o} {path}")
        click.echo("OK" if report.ok else "DAMAGED")

    emit(as_json, report.to_dict(), human)
    if not report.ok:
        click.echo(
            f"error: store is damaged: {len(report.missing)} missing and "
            f"{len(report.corrupt)} corrupt files",
            err=True,
        )
    if report.too_open:
        click.echo(
            f"error: {len(report.too_open)} files or folders of the store may be read or "
            "written by users beyond its owner (and group): remove those permissions "
            "(chmod go-rwx, or o-rwx for a group store)",
            err=True,
        )
    if not report.ok or report.too_open:
        sys.exit(EXIT_ERROR)


@command(cli)
@click.option("--dry-run", is_flag=True, help="Only report what would be removed.")
@pass_ctx
def gc(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Remove blobs no version needs and abandoned uploads.

    Waits for uploads in progress to finish; never removes a file a live version uses.

    \b
    Example:
      modelrepo gc --dry-run
    """
    with ctx.registry() as reg:
        report = reg.gc(dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    emit(
        as_json,
        report.to_dict(),
        lambda: click.echo(
            f"{verb} {report.blobs_removed} blobs, {report.partials_removed} abandoned "
            f"uploads and {report.uploads_removed} lapsed upload sessions "
            f"({human_size(report.bytes_freed)})"
        ),
    )
