"""Moving a store: `migrate` copies an embedded store into a database store.

The source is an embedded store (SQLite + blob folder), the target a PostgreSQL database and a
blob store (S3 or a shared folder). Everything is copied as it is: ids, version numbers,
digests, times, events, the audit log and its tree nodes, checkpoints; the target therefore
verifies with the source's key and has the source's root hash.

How it goes:

- **Snapshot.** The source is read in one SQLite read transaction: the copy is the store as it
  was when the run started, whatever is written meanwhile (run `migrate` again to bring the
  target up to date). The source's store lock is held shared, so `gc` cannot remove a blob
  the snapshot needs while the run copies it (uploads go on).
- **Blobs first**, every blob the snapshot refers to (files of live versions not stored in the
  database, decision inputs kept as blobs): content-addressed, so a blob the target already
  holds is skipped. Then the rows, table by table in foreign-key order, in batches, each
  batch one transaction holding the target's write lock.
- **Resume and catch up.** Each batch is merged with what the target already holds under the
  same keys: a missing row is inserted, an identical one left alone. A row differing in a
  column the registry itself updates (a tag's value, a deprecation, a purge of decision
  inputs, ...) takes the source's value, and a tag or inline blob the source no longer has
  is removed from the target — both only after the target was found to be an earlier copy of
  this very source (same store id, its audit log a prefix of the source's). Any other
  difference, in a recorded field or history, refuses the run: a target is never rewritten.
- **Store id.** Creating the schema gives a database a random store id (`store_info`). In an
  empty database it is replaced by the source's id, in the transaction that finds the
  database empty and before any row is copied; a database holding any other data is refused.
- **Afterwards** each id sequence is moved past the copied ids, and the target is opened as a
  registry and checked: `audit verify` with the source's public key (same size, same root
  hash), `fsck`, and the row count of every table.

The audit signing key never moves silently: replicas of the target need the source's key
(`audit-signing-key.pem` in the store folder) in `$MODELREPO_AUDIT_KEY_FILE`; `key_file=`
writes a copy (mode 0600) where asked, and the report names the file to copy otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .domain.errors import Conflict, InvalidInput, StorageError

if TYPE_CHECKING:
    import apsw
    import sqlalchemy as sa

    from .ports import BlobStore
    from .registry import Registry
    from .stores.sql import SqlMetadataStore

BATCH_ROWS = 1000
"""Rows per target transaction."""

Row = tuple[Any, ...]
BatchHook = Callable[[str, int], None]
"""Called after each committed batch with the table's name and the rows the batch held."""


@dataclass(frozen=True)
class _Spec:
    """How one table is copied: its key, the columns the registry itself updates, and
    whether the registry removes its rows (tags, inline blobs)."""

    name: str
    keys: tuple[str, ...]
    mutable: frozenset[str] = frozenset()
    deletable: bool = False


SPECS = (
    _Spec("store_info", ("key",)),
    _Spec(
        "models",
        ("id",),
        frozenset(
            {"last_version", "description", "deleted_at", "deleted_by", "created_at", "created_by"}
        ),
    ),
    _Spec("model_tags", ("model_id", "key"), frozenset({"value"}), deletable=True),
    _Spec("model_events", ("id",)),
    _Spec("environment_snapshots", ("digest",)),
    _Spec("versions", ("id",), frozenset({"deprecated", "deleted_at", "deleted_by"})),
    _Spec("registration_keys", ("actor", "key")),
    _Spec("version_files", ("version_id", "path")),
    _Spec("version_tags", ("version_id", "key"), frozenset({"value"}), deletable=True),
    _Spec("version_events", ("id",)),
    _Spec("environments", ("id",), frozenset({"protected"})),
    _Spec("environment_events", ("id",)),
    _Spec("deployment_events", ("id",)),
    _Spec("deployment_requests", ("id",)),
    _Spec("request_decisions", ("request_id",)),
    _Spec("audit_entries", ("seq",)),
    _Spec("audit_nodes", ("pos",)),
    _Spec("audit_checkpoints", ("id",)),
    _Spec("inline_blobs", ("sha256",), deletable=True),
    _Spec("decisions", ("id",), frozenset({"inputs", "inputs_purged_at"})),
    _Spec(
        "decision_policies",
        ("model_id",),
        frozenset({"inputs_mode", "retention_days"}),
        deletable=True,  # a deleted model's goes with it
    ),
    _Spec("serving_periods", ("id",), frozenset({"last_seen", "ended_at"})),
    _Spec("access_denials", ("id",)),
    _Spec("signing_keys", ("key_id",), frozenset({"revoked_at", "revoked_by", "revoked_reason"})),
    _Spec(
        "signing_policies",
        ("scope", "name"),
        frozenset({"enabled", "set_at", "set_by", "set_auth", "key_ids"}),
        deletable=True,  # a rename moves a model's policy to its new name
    ),
)
"""Every table of the schema, parents before children."""

SEQUENCED = (
    "models", "model_events", "versions", "version_events", "environments", "environment_events",
    "deployment_events", "deployment_requests", "audit_checkpoints", "decisions",
    "serving_periods", "access_denials",
)  # fmt: skip
"""Tables whose `id` the database assigns from a sequence."""


@dataclass
class TableCopy:
    """What happened to one table."""

    rows: int = 0  # in the source snapshot
    copied: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "copied": self.copied,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
        }


@dataclass
class MigrationReport:
    """The outcome of `migrate`; `ok` when the target verified."""

    store_id: str
    source: str
    target: str
    tables: dict[str, TableCopy] = field(default_factory=dict)
    blobs_copied: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    audit_size: int = 0
    root_hash: str = ""
    source_key_file: str = ""
    key_file_written: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rows_copied(self) -> int:
        return sum(t.copied for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "store_id": self.store_id,
            "source": self.source,
            "target": self.target,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
            "rows_copied": self.rows_copied,
            "blobs_copied": self.blobs_copied,
            "blobs_skipped": self.blobs_skipped,
            "bytes_copied": self.bytes_copied,
            "audit_size": self.audit_size,
            "root_hash": self.root_hash,
            "source_key_file": self.source_key_file,
            "key_file_written": self.key_file_written,
            "problems": self.problems,
        }


def migrate(
    source: Registry,
    database_url: str,
    blob_url: str,
    *,
    key_file: str | os.PathLike[str] | None = None,
    batch_rows: int = BATCH_ROWS,
    after_batch: BatchHook | None = None,
) -> MigrationReport:
    """Copy the embedded store `source` into the database at `database_url` and the blob
    store at `blob_url`; resumable, and a no-op on a target that is already up to date.

    `key_file`: also write a copy of the source's audit signing key there (mode 0600), the
    file the target's replicas name in `$MODELREPO_AUDIT_KEY_FILE`."""
    from sqlalchemy.exc import DBAPIError

    from .blobs import open_blob_store
    from .stores import AUDIT_KEY_FILE, DATABASE_FILE, open_server_backend
    from .stores.sql import SqlMetadataStore, redact_url

    if batch_rows < 1:
        raise InvalidInput("a batch needs at least one row")
    metadata = source.backend.metadata
    if getattr(metadata, "dialect", None) != "sqlite":
        raise InvalidInput("migrate copies an embedded store: give the source with --store PATH")
    root = Path(source.backend.location)
    source_key = root / AUDIT_KEY_FILE
    if not source_key.is_file():
        raise InvalidInput(f"the source has no audit signing key at {source_key}")
    signer = source.backend.signer  # the key at `source_key`
    written = _write_key_copy(source_key, Path(key_file)) if key_file is not None else None

    target_blobs = open_blob_store(blob_url)
    target = SqlMetadataStore.open_postgresql(database_url)  # creates the schema if absent
    report = MigrationReport(
        store_id=metadata.store_id(),
        source=str(root),
        target=f"{redact_url(database_url)} + {blob_url}",
        source_key_file=str(source_key),
        key_file_written=written,
    )
    try:
        with source.backend.lock.shared(), _snapshot(root / DATABASE_FILE) as snap:
            _check_revisions(snap, target)
            _claim(snap, target, report.store_id)
            _copy_blobs(snap, source.backend.blobs, target_blobs, report)
            for spec in SPECS:
                copy = _copy_decisions if spec.name == "decisions" else _copy_table
                report.tables[spec.name] = copy(snap, target.engine, spec, batch_rows, after_batch)
            _reset_sequences(target.engine)
            counts = {spec.name: snap.count(spec.name) for spec in SPECS}
    except DBAPIError as exc:  # what the target database refused, in one line
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise StorageError(f"the target database refused the copy: {first}") from exc
    finally:
        target.close()

    from .domain.audit import root_hash
    from .registry import Registry

    size = counts["audit_entries"]
    expected_root = root_hash(size, metadata.audit_node).hex()
    backend = open_server_backend(database_url, blob_url, audit_key_file=source_key, create=False)
    with Registry(backend, user=source.user, clock=source.clock) as migrated:
        verified = migrated.audit_verify(public_key_pem=signer.public_pem)
        report.audit_size, report.root_hash = verified.size, verified.root_hash
        report.problems += [f"audit verify on the target: {p}" for p in verified.problems]
        if (verified.size, verified.root_hash) != (size, expected_root):
            report.problems.append(
                f"the target's audit log (size {verified.size}, root {verified.root_hash}) is "
                f"not the source's (size {size}, root {expected_root})"
            )
        checked = migrated.fsck()
        for ref in [*checked.missing, *checked.corrupt]:
            report.problems.append(
                f"fsck on the target: {ref.model}@{ref.version} {ref.path} ({ref.sha256}) "
                "is missing or corrupt"
            )
        migrated_store = migrated.backend.metadata
        assert isinstance(migrated_store, SqlMetadataStore)
        with migrated_store.engine.connect() as conn:
            for spec in SPECS:
                have = conn.execute(_count(spec.name)).scalar_one()
                if have != counts[spec.name]:
                    report.problems.append(
                        f"{spec.name}: the target has {have} rows, the source {counts[spec.name]}"
                    )
    for name, table in report.tables.items():
        table.rows = counts[name]
    return report


def _write_key_copy(source_key: Path, path: Path) -> str:
    """A copy of the private key at `path` (0600, created exclusively); an existing file is
    accepted only if it already holds the same key."""
    data = source_key.read_bytes()
    path = path.expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.read_bytes() != data:
            raise Conflict(
                f"{path} exists and holds another key: the target must sign with the source's "
                f"key ({source_key}); give a new path"
            ) from None
        return str(path)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return str(path)


# -- the source: one read transaction ---------------------------------------------------


class _Snapshot:
    """The source database as of one instant: every read runs in the same transaction."""

    def __init__(self, conn: apsw.Connection) -> None:
        from sqlalchemy.dialects import sqlite

        self.conn = conn
        self.dialect = sqlite.dialect()

    def rows(self, statement: str | sa.ClauseElement, args: Sequence[Any] = ()) -> list[Row]:
        if not isinstance(statement, str):
            compiled: Any = statement.compile(dialect=self.dialect)
            statement = str(compiled)
            args = [compiled.params[name] for name in compiled.positiontup or ()]
        return [tuple(r) for r in self.conn.execute(statement, tuple(args))]

    def page(self, cols: _Columns, after: Row | None, limit: int) -> list[Row]:
        import sqlalchemy as sa

        query = sa.select(*cols.table.columns).order_by(*cols.keys).limit(limit)
        if after is not None:
            query = query.where(cols.after(cols.keys, after))
        return self.rows(query)

    def count(self, table: str) -> int:
        return int(self.rows(_count(table))[0][0])


@contextmanager
def _snapshot(database: Path) -> Iterator[_Snapshot]:
    import apsw

    conn = apsw.Connection(os.fspath(database), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        conn.set_busy_timeout(60_000)
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM store_info").fetchall()  # the snapshot starts here
        yield _Snapshot(conn)
    finally:
        conn.close()


def _count(name: str) -> sa.Select[Any]:
    import sqlalchemy as sa

    from .stores.sql import SCHEMA

    return sa.select(sa.func.count()).select_from(SCHEMA.tables[name])


# -- the target: checks before anything is written --------------------------------------


@contextmanager
def _write(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction on the target holding its write lock (as every registry write does)."""
    from .stores.sql import write_transaction

    with write_transaction(engine) as conn:
        yield conn


def _check_revisions(snap: _Snapshot, target: SqlMetadataStore) -> None:
    mine = snap.rows("SELECT version_num FROM alembic_version")
    theirs = target.schema_revision()
    if not mine or str(mine[0][0]) != theirs:
        raise Conflict(
            f"the source's schema ({mine[0][0] if mine else 'none'}) is not the target's "
            f"({theirs}): upgrade both to the same modelrepo release first"
        )


def _claim(snap: _Snapshot, target: SqlMetadataStore, store_id: str) -> None:
    """Make sure the target is empty or an earlier copy of this source; give an empty one
    the source's store id."""
    with _write(target.engine) as conn:
        theirs = conn.exec_driver_sql(
            "SELECT value FROM store_info WHERE key = 'store_id'"
        ).scalar_one_or_none()
        if theirs != store_id:
            used = [
                spec.name
                for spec in SPECS
                if spec.name != "store_info" and conn.execute(_count(spec.name)).scalar_one()
            ]
            if used:
                raise Conflict(
                    f"the target database holds another store (store id {theirs}; rows in "
                    f"{', '.join(used)}): migrate into an empty database"
                )
            # A fresh schema's random id, replaced before any row is copied.
            conn.exec_driver_sql(
                "UPDATE store_info SET value = %(id)s WHERE key = 'store_id'", {"id": store_id}
            )
            return
        _check_audit_prefix(snap, conn)


def _check_audit_prefix(snap: _Snapshot, conn: sa.Connection) -> None:
    """The target's audit log must be the source's first entries, byte for byte."""
    size = conn.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM audit_entries").scalar_one()
    mine = int(snap.rows("SELECT coalesce(max(seq), 0) FROM audit_entries")[0][0])
    if size > mine:
        raise Conflict(
            f"the target's audit log has {size} entries, the source's {mine}: the target was "
            "written to after it was copied and is no longer a copy of this store"
        )
    start = 1
    while start <= size:
        end = min(size, start + 10_000 - 1)
        theirs = conn.exec_driver_sql(
            "SELECT seq, leaf FROM audit_entries WHERE seq BETWEEN %(a)s AND %(b)s ORDER BY seq",
            {"a": start, "b": end},
        ).all()
        ours = snap.rows(
            "SELECT seq, leaf FROM audit_entries WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (start, end),
        )
        for (seq, leaf), (_, their_leaf) in zip(ours, theirs, strict=False):
            if bytes(leaf) != bytes(their_leaf):
                raise Conflict(
                    f"the target's audit log differs from the source's at entry {seq}: "
                    "it is not a copy of this store; refusing to touch it"
                )
        start = end + 1


# -- blobs ---------------------------------------------------------------------------------


def _copy_blobs(
    snap: _Snapshot, source: BlobStore, target: BlobStore, report: MigrationReport
) -> None:
    needed = snap.rows(
        "SELECT DISTINCT version_files.sha256 FROM version_files "
        "JOIN versions ON versions.id = version_files.version_id "
        "WHERE versions.deleted_at IS NULL AND version_files.sha256 NOT IN "
        "(SELECT sha256 FROM inline_blobs)"
    )
    inputs = snap.rows(
        "SELECT DISTINCT inputs_digest FROM decisions "
        "WHERE inputs_mode = 'blob' AND inputs_purged_at IS NULL"
    )
    wanted = sorted(
        {str(r[0]) for r in needed} | {str(r[0]).removeprefix("sha256:") for r in inputs}
    )
    todo = [sha for sha in wanted if not target.exists(sha)]
    report.blobs_skipped = len(wanted) - len(todo)
    missing = [sha for sha in todo if not source.exists(sha)]
    if missing:
        raise StorageError(
            f"the source is missing {len(missing)} blobs it refers to (first: {missing[0]}): "
            "run 'modelrepo fsck' on it and repair it before migrating"
        )
    for sha in todo:
        with source.open(sha) as stream:
            info = target.put(stream)
        if info.sha256 != sha:
            target.delete(info.sha256)
            raise StorageError(f"the source's blob {sha} is corrupt: run 'modelrepo fsck' on it")
        report.blobs_copied += 1
        report.bytes_copied += info.size


# -- rows ----------------------------------------------------------------------------------


class _Columns:
    """A table's columns and how to compare its values on both databases."""

    def __init__(self, table: sa.Table, spec: _Spec) -> None:
        import sqlalchemy as sa

        self.table = table
        self.names = tuple(c.name for c in table.columns)
        self.key_at = tuple(self.names.index(k) for k in spec.keys)
        self._bools = {i for i, c in enumerate(table.columns) if isinstance(c.type, sa.Boolean)}
        self._bytes = {i for i, c in enumerate(table.columns) if isinstance(c.type, sa.LargeBinary)}
        self.keys: list[sa.ColumnElement[Any]] = [table.c[k] for k in spec.keys]
        # Text keys ordered by their bytes, as SQLite's BINARY collation orders them.
        self.ordered: list[sa.ColumnElement[Any]] = [
            c.collate("C") if isinstance(c.type, sa.String) else c for c in self.keys
        ]

    def normal(self, row: Sequence[Any]) -> Row:
        return tuple(
            v if v is None else bool(v) if i in self._bools else bytes(v) if i in self._bytes else v
            for i, v in enumerate(row)
        )

    def key(self, row: Row) -> Row:
        return tuple(row[i] for i in self.key_at)

    def _bound(self, key: Row) -> list[sa.ColumnElement[Any]]:
        import sqlalchemy as sa

        return [sa.literal(v, c.type) for v, c in zip(key, self.keys, strict=True)]

    def after(self, order: list[sa.ColumnElement[Any]], key: Row) -> sa.ColumnElement[bool]:
        import sqlalchemy as sa

        return sa.tuple_(*order) > sa.tuple_(*self._bound(key))

    def upto(self, order: list[sa.ColumnElement[Any]], key: Row) -> sa.ColumnElement[bool]:
        import sqlalchemy as sa

        return sa.tuple_(*order) <= sa.tuple_(*self._bound(key))

    def match(self, key: Row) -> sa.ColumnElement[bool]:
        import sqlalchemy as sa

        return sa.and_(*(c == v for c, v in zip(self.keys, key, strict=True)))


def _copy_table(
    snap: _Snapshot,
    engine: sa.Engine,
    spec: _Spec,
    batch_rows: int,
    after_batch: BatchHook | None,
) -> TableCopy:
    import sqlalchemy as sa

    from .stores.sql import SCHEMA

    cols = _Columns(SCHEMA.tables[spec.name], spec)
    table = cols.table
    done = TableCopy()
    last: Row | None = None
    while True:
        batch = [cols.normal(r) for r in snap.page(cols, last, batch_rows)]
        with _write(engine) as conn:
            query = sa.select(*table.columns)
            if last is not None:
                query = query.where(cols.after(cols.ordered, last))
            if batch and len(batch) == batch_rows:
                query = query.where(cols.upto(cols.ordered, cols.key(batch[-1])))
            present = {cols.key(r): r for r in (cols.normal(t) for t in conn.execute(query))}
            inserts: list[dict[str, Any]] = []
            for row in batch:
                key = cols.key(row)
                theirs = present.pop(key, None)
                if theirs is None:
                    inserts.append(dict(zip(cols.names, row, strict=True)))
                elif theirs == row:
                    done.unchanged += 1
                else:
                    changed = {
                        n: v for n, v, t in zip(cols.names, row, theirs, strict=True) if v != t
                    }
                    fixed = sorted(set(changed) - spec.mutable)
                    if fixed:
                        raise Conflict(
                            f"the target's {spec.name} row {_show(key)} differs from the "
                            f"source's in {', '.join(fixed)}: the target diverged; "
                            "refusing to overwrite it"
                        )
                    conn.execute(sa.update(table).where(cols.match(key)).values(**changed))
                    done.updated += 1
            for key in present:
                if not spec.deletable:
                    raise Conflict(
                        f"the target's {spec.name} row {_show(key)} is not in the source: "
                        "the target diverged; refusing to overwrite it"
                    )
                conn.execute(sa.delete(table).where(cols.match(key)))
                done.removed += 1
            if inserts:
                conn.execute(sa.insert(table), inserts)
                done.copied += len(inserts)
        if after_batch is not None and batch:
            after_batch(spec.name, len(batch))
        if len(batch) < batch_rows:
            return done
        last = cols.key(batch[-1])


def _copy_decisions(
    snap: _Snapshot,
    engine: sa.Engine,
    spec: _Spec,
    batch_rows: int,
    after_batch: BatchHook | None,
) -> TableCopy:
    """`_copy_table` for the decision log, which PostgreSQL keeps in monthly partitions with
    its ids in `decision_keys`, kept inputs apart and purges as ranges (see
    `stores/sql/partitions.py`): each batch is compared with the target's decisions as the
    single table shows them, then written in that layout."""
    from .stores.sql import SCHEMA, DecisionLog

    cols = _Columns(SCHEMA.tables[spec.name], spec)
    at = {name: i for i, name in enumerate(cols.names)}
    done = TableCopy()
    last: Row | None = None
    while True:
        batch = [cols.normal(r) for r in snap.page(cols, last, batch_rows)]
        with _write(engine) as conn:
            log = DecisionLog(conn, cols.names)
            upto = batch[-1][0] if batch and len(batch) == batch_rows else 2**63 - 1
            present = log.rows(last[0] if last else -(2**63), upto)
            inserts: list[Row] = []
            purged: list[Row] = []  # purged in the source since an earlier copy
            for row in batch:
                theirs = present.pop(row[0], None)
                if theirs is None:
                    inserts.append(row)
                elif theirs == row:
                    done.unchanged += 1
                else:
                    changed = [n for n, v, t in zip(cols.names, row, theirs, strict=True) if v != t]
                    fixed = set(changed) - spec.mutable
                    if fixed or theirs[at["inputs_purged_at"]] is not None:
                        raise Conflict(
                            f"the target's {spec.name} row {row[0]} differs from the "
                            f"source's in {', '.join(sorted(changed))}: the target diverged; "
                            "refusing to overwrite it"
                        )
                    purged.append(row)
            if present:
                raise Conflict(
                    f"the target's {spec.name} row {_show((min(present),))} is not in the "
                    "source: the target diverged; refusing to overwrite it"
                )
            log.insert(inserts)
            log.forget_inputs(purged)
            log.record_purges([*purged, *(r for r in inserts if r[at["inputs_purged_at"]])])
            done.copied += len(inserts)
            done.updated += len(purged)
        if after_batch is not None and batch:
            after_batch(spec.name, len(batch))
        if len(batch) < batch_rows:
            return done
        last = cols.key(batch[-1])


def _show(key: Row) -> str:
    return ", ".join(str(k) for k in key)


def _reset_sequences(engine: sa.Engine) -> None:
    """Move each id sequence past the copied ids, so the target's next insert does not
    collide with a copied row."""
    import sqlalchemy as sa

    from .stores.sql import SCHEMA

    with _write(engine) as conn:
        for name in SEQUENCED:
            table = SCHEMA.tables[name]
            top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
            if top is not None:
                sequence = sa.func.pg_get_serial_sequence(name, "id")
                conn.execute(sa.select(sa.func.setval(sequence, top)))
