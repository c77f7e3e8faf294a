"""`MetadataStore` on SQL: the one place rows become domain objects.

Statements live in `statements.py` and run through `raw.py`. SQLAlchemy itself (an engine,
Alembic) is loaded only to create or upgrade the schema.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import apsw

from ...domain.audit import (
    MANY_MODELS,
    MODEL_CREATED,
    MODEL_DELETED,
    MODEL_RENAMED,
    RECORDED_DELETED,
    model_event_change,
    recorded_deleted_change,
    registration_change,
    renamed_change,
)
from ...domain.canonical import canonical_text
from ...domain.errors import (
    InvalidInput,
    NotFound,
    StorageError,
    StoreNotFound,
    model_not_found,
    version_not_found,
)
from ...domain.manifest import FileEntry
from ...domain.model import (
    Lineage,
    Model,
    ModelEvent,
    ModelVersion,
    NewVersion,
    VersionEvent,
    check_model_deletable,
    check_not_deleted,
    check_rename,
    check_replay,
    deleted_record,
    model_exists,
    model_tag_change,
    next_number,
    version_tag_change,
)
from ...domain.times import from_micros, to_micros
from ...ports import FileReference
from . import apsw_dbapi, schema
from .attestations import SqlAttestations
from .decisions import SqlDecisions
from .denials import SqlDenials
from .deployments import Observed, SqlDeployments, any_model_id, model_id, named_allocations
from .faults import postgresql_fault, sqlite_fault
from .raw import Q, RawConnections, Tx
from .roles import SqlRoles
from .serving import SqlServing
from .sessions import SqlWebSessions
from .tokens import SqlTokens
from .webhooks import SqlWebhooks

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ...domain.deployments import DeploymentEvent

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)


dumps = canonical_text
"""Canonical JSON text, so equal values are equal bytes on every database."""


def sqlite_engine(path: str | os.PathLike[str]) -> sa.Engine:
    """An SQLAlchemy engine on the SQLite file through APSW (for Alembic migrations)."""
    import sqlalchemy as sa

    database = os.fspath(path)

    def creator() -> apsw_dbapi.Connection:
        return apsw_dbapi.connect(database, pragmas=SQLITE_PRAGMAS)

    return sa.create_engine(
        "sqlite:///" + database, module=apsw_dbapi, creator=creator, poolclass=sa.NullPool
    )


def _connect_sqlite(database: str) -> Callable[[], apsw.Connection]:
    def connect() -> apsw.Connection:
        # APSW itself, in autocommit; writes begin their own transaction.
        conn = apsw.Connection(database)
        conn.set_busy_timeout(60_000)
        for pragma in (*SQLITE_PRAGMAS, "PRAGMA mmap_size=268435456"):
            conn.execute(pragma).fetchall()
        return conn

    return connect


def _driver_error(exc: BaseException) -> bool:
    """Whether `exc` is a database driver's error (perhaps wrapped by SQLAlchemy), rather
    than a bug to show as one."""
    if isinstance(exc, apsw.Error | apsw_dbapi.Error):
        return True
    module = type(exc).__module__
    return module.startswith(("sqlalchemy.exc", "psycopg"))


WRITE_LOCK = 0x6D6F64656C726570  # "modelrep": the advisory lock every writer takes first
"""PostgreSQL: every write transaction takes this transaction-scoped advisory lock first, so
writes are serialised by the database as SQLite's `BEGIN IMMEDIATE` serialises them —
across connections, processes and server replicas alike. The audit log is one Merkle tree
and version numbers are gap-free, so writers must agree on one order anyway."""


def postgresql_conninfo(url: str) -> str:
    """The libpq URI of `postgresql[+psycopg]://...` (SQLAlchemy's driver suffix removed)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgresql+psycopg", "postgres"):
        raise InvalidInput(
            f"unsupported database URL {redact_url(url)!r}: "
            "expected postgresql://user@host:port/database"
        )
    return "postgresql://" + rest


def redact_url(url: str) -> str:
    """`url` with any password replaced, for messages and `location`."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


# Unless the URL says otherwise: a dead peer or a silent network partition is noticed in
# about a minute instead of blocking a client (and the write lock it holds) for hours.
CONNECTION_DEFAULTS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "60000",
    # A client that stops mid-transaction (crash, partition) must not hold the write lock
    # for long, and a writer waiting for it fails clearly rather than waiting forever.
    "options": "-c idle_in_transaction_session_timeout=20000 -c lock_timeout=120000",
}


def connection_options(conninfo: str) -> dict[str, Any]:
    """`CONNECTION_DEFAULTS` less what the URL itself sets."""
    query = conninfo.partition("?")[2]
    given = {part.partition("=")[0] for part in query.split("&") if part}
    return {k: v for k, v in CONNECTION_DEFAULTS.items() if k not in given}


def connect_postgresql(conninfo: str) -> Callable[[], Any]:
    options = connection_options(conninfo)

    def connect() -> Any:
        import psycopg

        # Autocommit: reads see the latest commit; writes begin their own transaction.
        return psycopg.connect(conninfo, autocommit=True, **options)

    return connect


def usable_postgresql(conn: Any) -> bool:
    return not (conn.closed or conn.broken)


class SqlMetadataStore(
    SqlDeployments,
    SqlDecisions,
    SqlServing,
    SqlTokens,
    SqlRoles,
    SqlAttestations,
    SqlWebSessions,
    SqlWebhooks,
    SqlDenials,
):
    """Models, versions, deployments and their history in SQLite or PostgreSQL."""

    def __init__(self, raw: RawConnections, engine_factory: Callable[[], sa.Engine]) -> None:
        self._raw = raw
        self._engine_factory = engine_factory
        self._engine: sa.Engine | None = None
        self._env_ids: dict[tuple[str, str], int] = {}
        self._event_cache: dict[int, DeploymentEvent] = {}
        self._observed = Observed()
        self._digests: dict[tuple[str, int], str] = {}
        self._environments: dict[str, str] = {}  # snapshot digest -> body (immutable)

    @classmethod
    def open_sqlite(cls, path: str | os.PathLike[str], *, create: bool = True) -> SqlMetadataStore:
        """The store in the SQLite file at `path` (with `create`, its schema is created in an
        empty file; an older schema is always upgraded)."""
        database = os.fspath(path)
        raw = RawConnections(
            _connect_sqlite(database),
            "sqlite",
            begin_write=("BEGIN IMMEDIATE",),
            errors=(apsw.Error,),
            fault=sqlite_fault(Path(database).parent),
        )
        store = cls(raw, lambda: sqlite_engine(database))
        try:
            if not create and store.schema_revision() is None:
                raise StoreNotFound(
                    f"no modelrepo store at {Path(database).parent} (its database holds none): "
                    "run 'modelrepo init' to create one there"
                )
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_postgresql(cls, url: str, *, create: bool = True) -> SqlMetadataStore:
        """The store in the PostgreSQL database at `url` (with `create`, its schema is created
        in an empty database; an older schema is always upgraded)."""
        conninfo = postgresql_conninfo(url)
        try:
            import psycopg
        except ImportError:  # pragma: no cover - an install without the extra
            raise InvalidInput(
                "PostgreSQL needs the 'postgresql' extra: pip install 'modelrepo[postgresql]'"
            ) from None

        def engine() -> sa.Engine:
            import sqlalchemy as sa

            return sa.create_engine(
                "postgresql+psycopg://" + conninfo.partition("://")[2], poolclass=sa.NullPool
            )

        raw = RawConnections(
            connect_postgresql(conninfo),
            "postgresql",
            begin_write=("BEGIN", f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"),
            errors=(psycopg.Error,),
            usable=usable_postgresql,
            fault=postgresql_fault(conninfo),
        )
        store = cls(raw, engine)
        if not create and store.schema_revision() is None:
            store.close()
            raise StoreNotFound(
                f"no modelrepo store in database {redact_url(url)} (run 'modelrepo init')"
            )
        store.migrate()
        return store

    @property
    def dialect(self) -> str:
        return self._raw.dialect_name

    @property
    def engine(self) -> sa.Engine:
        """An SQLAlchemy engine on the same database (created on first use)."""
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    # -- schema ---------------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The schema's Alembic revision, None in an empty database. A database that cannot
        be reached raises (it must not pass for an empty one, to be told 'run init')."""
        reader = self._raw.reader()
        if self.dialect == "sqlite":
            probe = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        else:
            probe = "SELECT 1 WHERE to_regclass('alembic_version') IS NOT NULL"
        if not reader.all_sql(probe):
            return None
        found = reader.all_sql("SELECT version_num FROM alembic_version")
        return str(found[0][0]) if found else None

    def migrate(self) -> None:
        """Create or upgrade the schema; concurrent openers wait for one another. Whatever
        fails is worded as every other failure of the store (a full disk says so)."""
        if self.schema_revision() == schema.HEAD_REVISION:
            return
        try:
            self._migrate()
        except StorageError:
            raise
        except Exception as exc:
            if not _driver_error(exc):
                raise
            raise self._raw.fault(exc, False) from exc

    def _migrate(self) -> None:
        with self.engine.connect() as conn:
            # The write lock, held for the migration.
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            try:
                if schema.current_revision(conn) != schema.HEAD_REVISION:
                    schema.upgrade(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def sqlite_version(self) -> str | None:
        if self.dialect != "sqlite":
            return None
        return str(self._raw.reader().scalar(Q.SQLITE_VERSION))

    def database_version(self) -> str:
        """The database engine and its version, e.g. `SQLite 3.51.3` or `PostgreSQL 15.2`."""
        if self.dialect == "sqlite":
            return f"SQLite {self.sqlite_version()}"
        return "PostgreSQL " + str(self._raw.reader().all_sql("SHOW server_version")[0][0])

    # -- writes ---------------------------------------------------------------------------

    def create_version(
        self,
        new: NewVersion,
        *,
        inline: Mapping[str, bytes] | None = None,
        key: str | None = None,
        number: int | None = None,
    ) -> ModelVersion:
        at = to_micros(new.created_at)
        with self._raw.write() as tx:
            row = tx.one(Q.MODEL_FOR_UPDATE, name=new.model)
            # Checked after the model's lock (and the write lock every writer takes first):
            # a request with the same key waits for this one, then finds its key.
            found = (
                None if key is None else tx.one(Q.REGISTRATION_KEY, actor=new.created_by, key=key)
            )
            if found is None:
                mid, created = self._insert_version(tx, new, row, at, inline, key, number)
                if key is not None:
                    tx.execute(
                        Q.NEW_REGISTRATION_KEY,
                        actor=new.created_by,
                        key=key,
                        model_id=mid,
                        number=created.version,
                        digest=new.digest,
                        at=at,
                    )
                return created
            assert key is not None
            number = check_replay(new, key, found.name, found.number, found.digest)
        return self.get_version(new.model, number)  # a retried request: nothing written

    def _insert_version(
        self,
        tx: Tx,
        new: NewVersion,
        row: Any,
        at: int,
        inline: Mapping[str, bytes] | None,
        key: str | None,
        wanted: int | None = None,
    ) -> tuple[int, ModelVersion]:
        """Version N+1 of the model, or `wanted` (`row`: its id and last number, None for a
        new model), its files, tags and audit entry; (model id, version)."""
        number = next_number(new.model, 0 if row is None else row[1], wanted)
        if inline:
            tx.executemany(
                Q.NEW_INLINE_BLOB,
                [{"sha256": k, "size": len(v), "data": v} for k, v in inline.items()],
            )
        mid = self._numbered(tx, new, row, at, number)
        version_id = self._version_row(tx, mid, number, new, at)
        tx.executemany(
            Q.NEW_FILE,
            [
                {
                    "version_id": version_id,
                    "path": f.path,
                    "size": f.size,
                    "sha256": f.sha256,
                    "executable": f.executable,
                }
                for f in new.files
            ],
        )
        tx.executemany(
            Q.NEW_TAG,
            [{"version_id": version_id, "key": k, "value": v} for k, v in new.tags.items()],
        )
        created = new.numbered(number, from_micros(at))
        self._audit(
            tx,
            "version.registered",
            f"model:{new.model}",
            actor=new.created_by,
            at=created.created_at,
            change=registration_change(created, key),
        )
        return mid, created

    def _numbered(self, tx: Tx, new: NewVersion, row: Any, at: int, number: int) -> int:
        """The model's id (made now for a new model, `row` None, or taken again after it
        was deleted), its last number set to `number`."""
        if row is None:
            mid = int(tx.scalar(Q.NEW_MODEL, name=new.model, at=at, actor=new.created_by))
        elif row.deleted_at is not None:
            mid = self._created(tx, new.model, row, new.created_by, at)
        else:
            mid = int(row[0])
        tx.execute(Q.SET_LAST_VERSION, model_id=mid, number=number)
        return mid

    def _version_row(self, tx: Tx, mid: int, number: int, new: NewVersion, at: int) -> int:
        """The version's own row; its id."""
        return int(
            tx.scalar(
                Q.NEW_VERSION,
                model_id=mid,
                number=number,
                digest=new.digest,
                created_at=at,
                created_by=new.created_by,
                description=new.description,
                flavor=new.flavor,
                params=dumps(dict(new.params)),
                metrics=dumps(dict(new.metrics)),
                signature=None if new.signature is None else dumps(new.signature),
                lineage=self._store_lineage(tx, new.lineage),
            )
        )

    def create_model(
        self,
        name: str,
        *,
        actor: str,
        at: datetime,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> Model:
        micros = to_micros(at)
        with self._raw.write() as tx:
            row = tx.one(Q.MODEL_FOR_UPDATE, name=name)
            if row is not None and row.deleted_at is None:
                raise model_exists(name)
            mid = self._created(tx, name, row, actor, micros)
            if description:
                tx.execute(Q.SET_MODEL_DESCRIPTION, model_id=mid, text=description)
                self._model_event(tx, mid, name, "described", actor=actor, at=at, value=description)
            for key in sorted(tags or {}):
                value = (tags or {})[key]
                tx.execute(Q.NEW_OWN_TAG, model_id=mid, key=key, value=value)
                self._model_event(
                    tx, mid, name, "tag_set", actor=actor, at=at, key=key, value=value
                )
        return self.get_model(name)

    def _created(self, tx: Tx, name: str, row: Any, actor: str, at: int) -> int:
        """Model `name` made now (`row` None), or taken again after it was deleted (`row`
        its tombstone: numbering goes on after its numbers), with its `created` change and
        audit entry; its id."""
        if row is None:
            mid = int(tx.scalar(Q.NEW_MODEL, name=name, at=at, actor=actor))
        else:
            mid = int(row.id)
            tx.execute(Q.SET_MODEL_CREATED_AGAIN, model_id=mid, at=at, actor=actor)
        tx.execute(
            Q.NEW_MODEL_EVENT, model_id=mid, kind="created", key=None, value=None, actor=actor,
            at=at,
        )  # fmt: skip
        self._audit(tx, MODEL_CREATED, f"model:{name}", actor=actor, at=from_micros(at),
                    change={"model": name})  # fmt: skip
        return mid

    def delete_model(self, name: str, *, actor: str, at: datetime, reason: str | None) -> Model:
        micros = to_micros(at)
        with self._raw.write() as tx:
            row = tx.one(Q.MODEL_FOR_UPDATE, name=name)
            if row is None or row.deleted_at is not None:
                raise NotFound(model_not_found(name))
            mid = int(row.id)
            used = tx.one(Q.MODEL_USED, model_id=mid)
            assert used is not None  # one row, of two EXISTS
            deployed = bool(used.deployed) or any(True for _ in named_allocations(tx, mid))
            check_model_deletable(name, deployed=deployed, decided=bool(used.decided))
            kept = tx.all(Q.KEPT_VERSIONS, model_id=mid)
            for version in kept:
                tx.execute(Q.SET_DELETED, version_id=version.id, at=micros, actor=actor)
                self._event(tx, version.id, "deleted", actor=actor, at=at, reason=reason)
            tx.execute(Q.SET_MODEL_DELETED, model_id=mid, at=micros, actor=actor)
            tx.execute(Q.DELETE_OWN_TAGS, model_id=mid)
            tx.execute(Q.DELETE_INPUT_POLICY, model_id=mid)
            tx.execute(
                Q.NEW_MODEL_EVENT, model_id=mid, kind="deleted", key=None, value=reason,
                actor=actor, at=micros,
            )  # fmt: skip
            change = {"model": name, "reason": reason, "versions": [v.number for v in kept]}
            self._audit(tx, MODEL_DELETED, f"model:{name}", actor=actor, at=at, change=change)
        return self.get_model(name)

    def rename_model(
        self, name: str, new_name: str, *, actor: str, at: datetime, reason: str | None
    ) -> Model:
        with self._raw.write() as tx:
            row = tx.one(Q.MODEL_FOR_UPDATE, name=name)
            if row is None or row.deleted_at is not None:
                raise NotFound(model_not_found(name))
            other = tx.one(Q.MODEL_FOR_UPDATE, name=new_name)
            check_rename(
                name,
                new_name,
                taken=other is not None,
                deleted=other is not None and other.deleted_at is not None,
            )
            # Every row refers to the model by its id: the name is in this one row only.
            tx.execute(Q.RENAME_MODEL, model_id=row.id, name=new_name)
            # A model's signing policy is the exception: it may be set before the model exists.
            tx.execute(Q.DROP_POLICY_SET_AHEAD, name=name, new_name=new_name)
            tx.execute(Q.RENAME_SIGNING_POLICY, name=name, new_name=new_name)
            tx.execute(
                Q.NEW_MODEL_EVENT, model_id=row.id, kind="renamed", key=name, value=new_name,
                actor=actor, at=to_micros(at),
            )  # fmt: skip
            self._audit(tx, MODEL_RENAMED, MANY_MODELS, actor=actor, at=at,
                        change=renamed_change(name, new_name, reason))  # fmt: skip
        # Caches naming the model: digests and environment ids by name, events with theirs.
        self._digests.clear()
        self._env_ids.clear()
        self._event_cache.clear()
        return self.get_model(new_name)

    def record_deleted_version(
        self, model: str, number: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        micros = to_micros(at)
        with self._raw.write() as tx:
            row = tx.one(Q.MODEL_FOR_UPDATE, name=model)
            number = next_number(model, 0 if row is None else row[1], number)
            new = deleted_record(model, actor, from_micros(micros))
            mid = self._numbered(tx, new, row, micros, number)
            version_id = self._version_row(tx, mid, number, new, micros)
            tx.execute(Q.SET_DELETED, version_id=version_id, at=micros, actor=actor)
            self._event(tx, version_id, "deleted", actor=actor, at=at, reason=reason)
            recorded = new.numbered(number, from_micros(micros))
            self._audit(
                tx,
                RECORDED_DELETED,
                f"model:{model}",
                actor=actor,
                at=recorded.created_at,
                change=recorded_deleted_change(recorded, reason),
            )
        return self.get_version(model, number)

    def _store_lineage(self, tx: Tx, lineage: Lineage) -> str:
        """Lineage JSON; the Python environment (hundreds of packages, the same for most
        versions) is stored once by digest and referenced."""
        doc = lineage.to_dict()
        if doc["environment"] is not None:
            body = dumps(doc["environment"])
            digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
            tx.execute(Q.NEW_ENVIRONMENT_SNAPSHOT, digest=digest, body=body)  # once per digest
            doc["environment"] = {"snapshot": digest}
        return dumps(doc)

    def _load_lineage(self, tx: Tx, text: str) -> Lineage:
        doc = json.loads(text)
        ref = doc.get("environment")
        if isinstance(ref, dict) and "snapshot" in ref:
            digest = ref["snapshot"]
            body = self._environments.get(digest)
            if body is None:
                body = tx.scalar(Q.ENVIRONMENT_SNAPSHOT, digest=digest)
                if body is None:
                    raise NotFound(f"environment snapshot {digest} is missing")
                self._environments[digest] = body
            doc["environment"] = json.loads(body)
        return Lineage.from_dict(doc)

    def _locate(self, tx: Tx, model: str, version: int) -> Any:
        """The version's (id, model_id, deleted_at, deprecated), or NotFound naming what."""
        row = tx.one(Q.LOCATE_VERSION, model=model, number=version)
        if row is None:
            model_id(tx, model)
            raise NotFound(version_not_found(model, version))
        return row

    def _live_version(self, tx: Tx, model: str, version: int) -> Any:
        row = self._locate(tx, model, version)
        check_not_deleted(model, version, row.deleted_at is not None)
        return row

    def _event(
        self,
        tx: Tx,
        version_id: int,
        kind: str,
        *,
        actor: str,
        at: datetime,
        key: str | None = None,
        value: str | None = None,
        reason: str | None = None,
    ) -> None:
        tx.execute(
            Q.NEW_VERSION_EVENT,
            version_id=version_id,
            kind=kind,
            key=key,
            value=value,
            actor=actor,
            at=to_micros(at),
            reason=reason,
        )

    def set_tag(
        self, model: str, version: int, key: str, value: str | None, *, actor: str, at: datetime
    ) -> ModelVersion:
        with self._raw.write() as tx:
            vid = self._live_version(tx, model, version).id
            current = tx.scalar(Q.TAG_VALUE, version_id=vid, key=key)
            kind = version_tag_change(model, version, key, current, value)
            if kind is None:
                return self.get_version(model, version)
            if value is None:
                tx.execute(Q.DELETE_TAG, version_id=vid, key=key)
            else:
                statement = Q.NEW_TAG if current is None else Q.UPDATE_TAG
                tx.execute(statement, version_id=vid, key=key, value=value)
            self._event(tx, vid, kind, actor=actor, at=at, key=key, value=value)
            self._audit(
                tx,
                f"version.{kind}",
                f"model:{model}",
                actor=actor,
                at=at,
                change={"model": model, "version": version, "key": key, "value": value},
            )
        return self.get_version(model, version)

    def set_model_tag(
        self, model: str, key: str, value: str | None, *, actor: str, at: datetime
    ) -> Model:
        with self._raw.write() as tx:
            mid = model_id(tx, model)
            current = tx.scalar(Q.OWN_TAG_VALUE, model_id=mid, key=key)
            kind = model_tag_change(model, key, current, value)
            if kind is None:
                return self.get_model(model)
            if value is None:
                tx.execute(Q.DELETE_OWN_TAG, model_id=mid, key=key)
            else:
                statement = Q.NEW_OWN_TAG if current is None else Q.UPDATE_OWN_TAG
                tx.execute(statement, model_id=mid, key=key, value=value)
            self._model_event(tx, mid, model, kind, actor=actor, at=at, key=key, value=value)
        return self.get_model(model)

    def set_model_description(self, model: str, text: str, *, actor: str, at: datetime) -> Model:
        with self._raw.write() as tx:
            mid = model_id(tx, model)
            if tx.scalar(Q.MODEL_DESCRIPTION, model_id=mid) != text:
                tx.execute(Q.SET_MODEL_DESCRIPTION, model_id=mid, text=text)
                self._model_event(tx, mid, model, "described", actor=actor, at=at, value=text)
        return self.get_model(model)

    def _model_event(
        self,
        tx: Tx,
        mid: int,
        model: str,
        kind: str,
        *,
        actor: str,
        at: datetime,
        key: str | None = None,
        value: str | None = None,
    ) -> None:
        """The change in the model's history and in the audit trail, in the same transaction."""
        tx.execute(
            Q.NEW_MODEL_EVENT,
            model_id=mid,
            kind=kind,
            key=key,
            value=value,
            actor=actor,
            at=to_micros(at),
        )
        change = model_event_change(model, kind, key, value)
        self._audit(tx, f"model.{kind}", f"model:{model}", actor=actor, at=at, change=change)

    def model_events(self, model: str) -> list[ModelEvent]:
        tx = self._raw.reader()
        mid = any_model_id(tx, model)
        return [
            ModelEvent(
                seq=r.id,
                model=model,
                kind=r.kind,
                key=r.key,
                value=r.value,
                actor=r.actor,
                at=from_micros(r.at),
            )
            for r in tx.all(Q.OWN_EVENTS, model_id=mid)
        ]

    def set_deprecated(
        self,
        model: str,
        version: int,
        deprecated: bool,
        *,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> ModelVersion:
        with self._raw.write() as tx:
            row = self._live_version(tx, model, version)
            if bool(row.deprecated) != deprecated:
                tx.execute(Q.SET_DEPRECATED, version_id=row.id, flag=deprecated)
                kind = "deprecated" if deprecated else "undeprecated"
                self._event(tx, row.id, kind, actor=actor, at=at, reason=reason)
                self._audit(
                    tx,
                    f"version.{kind}",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change={"model": model, "version": version, "reason": reason},
                )
        return self.get_version(model, version)

    def trust_types(
        self,
        model: str,
        version: int,
        types: Sequence[str],
        *,
        actor: str,
        at: datetime,
        reason: str,
    ) -> list[str]:
        from ...domain.trust import TRUSTED, new_trust, trust_change

        with self._raw.write() as tx:
            vid = self._live_version(tx, model, version).id
            trusted = [r.key for r in tx.all(Q.VERSION_EVENTS, version_id=vid) if r.kind == TRUSTED]
            new = new_trust(trusted, types)
            for name in new:
                self._event(tx, vid, TRUSTED, actor=actor, at=at, key=name, reason=reason)
            if new:
                self._audit(
                    tx,
                    "version.trusted",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change=trust_change(model, version, new, reason),
                )
        return new

    def sign_version(
        self,
        model: str,
        version: int,
        signatures: Sequence[tuple[str, str]],
        *,
        actor: str,
        at: datetime,
        reason: str | None,
    ) -> list[str]:
        from ...domain.attestations import SIGNED, new_signatures, signature_change

        with self._raw.write() as tx:
            vid = self._live_version(tx, model, version).id
            held = [r.key for r in tx.all(Q.VERSION_EVENTS, version_id=vid) if r.kind == SIGNED]
            new = new_signatures(held, signatures)
            for key, bundle in new:
                self._event(
                    tx, vid, SIGNED, actor=actor, at=at, key=key, value=bundle, reason=reason
                )
            if new:
                self._audit(
                    tx,
                    "version.signed",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change=signature_change(model, version, new, reason),
                )
        return [key for key, _ in new]

    def delete_version(
        self, model: str, version: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        from ...domain.deployment_rules import check_deletable

        with self._raw.write() as tx:
            row = self._locate(tx, model, version)
            check_deletable(
                model,
                version,
                deleted=row.deleted_at is not None,
                named=named_allocations(tx, row.model_id),
            )
            tx.execute(Q.SET_DELETED, version_id=row.id, at=to_micros(at), actor=actor)
            self._event(tx, row.id, "deleted", actor=actor, at=at, reason=reason)
            self._audit(
                tx,
                "version.deleted",
                f"model:{model}",
                actor=actor,
                at=at,
                change={"model": model, "version": version, "reason": reason},
            )
        return self.get_version(model, version)

    # -- reads ----------------------------------------------------------------------------

    def get_model(self, name: str) -> Model:
        tx = self._raw.reader()
        row = tx.one(Q.MODEL, name=name)
        if row is None:
            raise NotFound(model_not_found(name))
        return _to_model(row, {t.key: t.value for t in tx.all(Q.OWN_TAGS, name=name)})

    def list_models(self) -> list[Model]:
        tx = self._raw.reader()
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        for t in tx.all(Q.ALL_OWN_TAGS):
            tags[t.name][t.key] = t.value
        return [_to_model(r, tags[r.name]) for r in tx.all(Q.MODELS)]

    def get_version(self, model: str, version: int) -> ModelVersion:
        tx = self._raw.reader()
        row = tx.one(Q.VERSION, model=model, number=version)
        if row is None:
            model_id(tx, model)
            raise NotFound(version_not_found(model, version))
        files = [_to_file(f) for f in tx.all(Q.VERSION_FILES, version_id=row.id)]
        tags = {t.key: t.value for t in tx.all(Q.VERSION_TAGS, version_id=row.id)}
        return _to_version(row, files, tags, self._load_lineage(tx, row.lineage))

    def list_versions(self, model: str) -> list[ModelVersion]:
        tx = self._raw.reader()
        mid = any_model_id(tx, model)
        rows = tx.all(Q.MODEL_VERSIONS, model_id=mid)
        files: dict[int, list[FileEntry]] = defaultdict(list)
        for f in tx.all(Q.MODEL_FILES, model_id=mid):
            files[f.version_id].append(_to_file(f))
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for t in tx.all(Q.MODEL_TAGS, model_id=mid):
            tags[t.version_id][t.key] = t.value
        return [
            _to_version(r, files[r.id], tags[r.id], self._load_lineage(tx, r.lineage)) for r in rows
        ]

    def digest(self, model: str, version: int) -> str:
        key = (model, version)
        found = self._digests.get(key)
        if found is None:
            found = self._raw.reader().scalar(Q.VERSION_DIGEST, model=model, number=version)
            if found is None:
                raise NotFound(version_not_found(model, version))
            self._digests[key] = found  # digests never change
        return found

    def version_events(self, model: str, version: int) -> list[VersionEvent]:
        tx = self._raw.reader()
        vid = self._locate(tx, model, version).id
        return [
            VersionEvent(
                seq=r.id,
                model=model,
                version=version,
                kind=r.kind,
                key=r.key,
                value=r.value,
                actor=r.actor,
                at=from_micros(r.at),
                reason=r.reason,
            )
            for r in tx.all(Q.VERSION_EVENTS, version_id=vid)
        ]

    def registration_keys(self) -> list[tuple[str, str, str, int, str, int]]:
        return [
            (str(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), int(r[5]))
            for r in self._raw.reader().tuples(Q.REGISTRATION_KEYS)
        ]

    def file_references(self) -> Iterator[FileReference]:
        for r in self._raw.reader().all(Q.FILE_REFERENCES):
            yield FileReference(r[0], r[1], r[2], r[3], r[4])

    def inline_blob(self, sha256: str) -> bytes | None:
        found = self._raw.reader().scalar(Q.INLINE_BLOB, sha256=sha256)
        return None if found is None else bytes(found)

    def inline_blobs(self) -> Iterator[tuple[str, int]]:
        for sha, size in self._raw.reader().tuples(Q.INLINE_BLOBS):
            yield str(sha), int(size)

    def delete_inline_blob(self, sha256: str) -> None:
        with self._raw.write() as tx:
            tx.execute(Q.DELETE_INLINE_BLOB, sha256=sha256)

    def close(self) -> None:
        self._raw.close()
        if self._engine is not None:
            self._engine.dispose()


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _to_model(r: Any, tags: Mapping[str, str]) -> Model:
    return Model(
        name=r.name,
        created_at=from_micros(r.created_at),
        created_by=r.created_by,
        latest_version=r.last_version,
        version_count=r.live,
        tags=dict(tags),
        description=r.description,
        deleted_at=None if r.deleted_at is None else from_micros(r.deleted_at),
        deleted_by=r.deleted_by,
    )


def _to_file(f: Any) -> FileEntry:
    return FileEntry(f.path, f.size, f.sha256, bool(f.executable))


def _to_version(
    row: Any, files: list[FileEntry], tags: Mapping[str, str], lineage: Lineage
) -> ModelVersion:
    return ModelVersion(
        model=row.model_name,
        version=row.number,
        digest=row.digest,
        files=tuple(files),
        created_at=from_micros(row.created_at),
        created_by=row.created_by,
        params=json.loads(row.params),
        metrics=json.loads(row.metrics),
        tags=dict(tags),
        description=row.description,
        flavor=row.flavor,
        signature=_loads(row.signature),
        lineage=lineage,
        deprecated=bool(row.deprecated),
        deleted_at=None if row.deleted_at is None else from_micros(row.deleted_at),
        deleted_by=row.deleted_by,
    )
