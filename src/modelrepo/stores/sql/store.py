"""`MetadataStore` over SQLAlchemy Core: the one place rows become domain objects."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import apsw
import sqlalchemy as sa

from ...domain.deployments import DeploymentEvent
from ...domain.errors import Conflict, NotFound
from ...domain.manifest import FileEntry
from ...domain.model import Lineage, Model, ModelVersion, NewVersion, VersionEvent
from ...domain.times import from_micros, to_micros
from ...ports import FileReference
from . import apsw_dbapi, schema
from .deployments import SqlDeployments, ever_deployed
from .raw import RawConnections
from .tables import models, store_info, version_events, version_files, version_tags, versions

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)


def dumps(value: Any) -> str:
    """Canonical JSON text, so equal values are equal bytes on every database."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sqlite_engine(path: str | os.PathLike[str]) -> sa.Engine:
    """An engine on a SQLite file through APSW, durable commits (WAL, synchronous=FULL)."""
    database = os.fspath(path)

    def creator() -> apsw_dbapi.Connection:
        return apsw_dbapi.connect(database, pragmas=SQLITE_PRAGMAS)

    return sa.create_engine(
        "sqlite:///" + database,
        module=apsw_dbapi,
        creator=creator,
        pool_size=8,
        max_overflow=16,
    )


def _version_select() -> sa.Select[Any]:
    return sa.select(versions, models.c.name.label("model_name")).join(
        models, models.c.id == versions.c.model_id
    )


class SqlMetadataStore(SqlDeployments):
    """Models, versions, deployments and their history in SQLite or PostgreSQL."""

    def __init__(self, engine: sa.Engine, raw: RawConnections) -> None:
        self.engine = engine
        self._raw = raw
        self._sqlite = engine.dialect.name == "sqlite"
        self._env_ids: dict[tuple[str, str], int] = {}
        self._event_cache: dict[int, DeploymentEvent] = {}

    @classmethod
    def open_sqlite(cls, path: str | os.PathLike[str]) -> SqlMetadataStore:
        engine = sqlite_engine(path)
        database = os.fspath(path)

        def connect() -> apsw.Connection:
            # APSW itself, in autocommit; writes begin their own transaction.
            conn = apsw.Connection(database)
            conn.set_busy_timeout(60_000)
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma).fetchall()
            return conn

        raw = RawConnections(
            connect, engine.dialect, begin_write="BEGIN IMMEDIATE", errors=(apsw.Error,)
        )
        store = cls(engine, raw)
        store.migrate()
        return store

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema; concurrent openers wait for one another."""
        with self.engine.connect() as conn:
            if schema.current_revision(conn) == schema.HEAD_REVISION:
                return
            conn.rollback()
            with self._write(conn):
                if schema.current_revision(conn) != schema.HEAD_REVISION:
                    schema.upgrade(conn)

    def store_id(self) -> str:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(store_info.c.value).where(store_info.c.key == "store_id")
            ).scalar_one()
            return str(value)

    def sqlite_version(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT sqlite_version()").scalar_one())

    @contextmanager
    def _write(self, conn: sa.Connection) -> Iterator[sa.Connection]:
        """A write transaction; on SQLite it takes the write lock up front (no upgrade races)."""
        if self._sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, self._write(conn):
            yield conn

    # -- writes ---------------------------------------------------------------------------

    def create_version(self, new: NewVersion) -> ModelVersion:
        at = to_micros(new.created_at)
        with self._writing() as conn:
            row = conn.execute(
                sa.select(models.c.id, models.c.last_version)
                .where(models.c.name == new.model)
                .with_for_update()
            ).first()
            if row is None:
                model_id = conn.execute(
                    sa.insert(models)
                    .values(
                        name=new.model, created_at=at, created_by=new.created_by, last_version=0
                    )
                    .returning(models.c.id)
                ).scalar_one()
                last = 0
            else:
                model_id, last = row
            number = last + 1
            conn.execute(
                sa.update(models).where(models.c.id == model_id).values(last_version=number)
            )
            version_id = conn.execute(
                sa.insert(versions)
                .values(
                    model_id=model_id,
                    number=number,
                    digest=new.digest,
                    created_at=at,
                    created_by=new.created_by,
                    description=new.description,
                    flavor=new.flavor,
                    params=dumps(dict(new.params)),
                    metrics=dumps(dict(new.metrics)),
                    signature=None if new.signature is None else dumps(new.signature),
                    lineage=dumps(new.lineage.to_dict()),
                    deprecated=False,
                )
                .returning(versions.c.id)
            ).scalar_one()
            if new.files:
                conn.execute(
                    sa.insert(version_files),
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
            if new.tags:
                conn.execute(
                    sa.insert(version_tags),
                    [{"version_id": version_id, "key": k, "value": v} for k, v in new.tags.items()],
                )
        return ModelVersion(
            model=new.model,
            version=number,
            digest=new.digest,
            files=tuple(new.files),
            created_at=from_micros(at),
            created_by=new.created_by,
            params=dict(new.params),
            metrics=dict(new.metrics),
            tags=dict(new.tags),
            description=new.description,
            flavor=new.flavor,
            signature=new.signature,
            lineage=new.lineage,
        )

    def _locate(self, conn: sa.Connection, model: str, version: int) -> tuple[int, int | None]:
        """(version row id, deleted_at) or NotFound naming what is missing."""
        row = conn.execute(
            sa.select(versions.c.id, versions.c.deleted_at)
            .join(models, models.c.id == versions.c.model_id)
            .where(models.c.name == model, versions.c.number == version)
        ).first()
        if row is None:
            self._model_id(conn, model)
            raise NotFound(f"version {model}@{version} not found")
        return int(row[0]), row[1]

    def _model_id(self, conn: sa.Connection, model: str) -> int:
        model_id = conn.execute(sa.select(models.c.id).where(models.c.name == model)).scalar()
        if model_id is None:
            raise NotFound(f"model {model!r} not found")
        return int(model_id)

    def _event(
        self,
        conn: sa.Connection,
        version_id: int,
        kind: str,
        *,
        actor: str,
        at: datetime,
        key: str | None = None,
        value: str | None = None,
        reason: str | None = None,
    ) -> None:
        conn.execute(
            sa.insert(version_events).values(
                version_id=version_id,
                kind=kind,
                key=key,
                value=value,
                actor=actor,
                at=to_micros(at),
                reason=reason,
            )
        )

    def set_tag(
        self, model: str, version: int, key: str, value: str | None, *, actor: str, at: datetime
    ) -> ModelVersion:
        with self._writing() as conn:
            version_id, deleted = self._locate(conn, model, version)
            if deleted is not None:
                raise Conflict(f"version {model}@{version} is deleted")
            where = sa.and_(version_tags.c.version_id == version_id, version_tags.c.key == key)
            current = conn.execute(sa.select(version_tags.c.value).where(where)).scalar()
            if value is None:
                if current is None:
                    raise NotFound(f"version {model}@{version} has no tag {key!r}")
                conn.execute(sa.delete(version_tags).where(where))
                self._event(conn, version_id, "tag_removed", actor=actor, at=at, key=key)
            elif current != value:
                if current is None:
                    conn.execute(
                        sa.insert(version_tags).values(version_id=version_id, key=key, value=value)
                    )
                else:
                    conn.execute(sa.update(version_tags).where(where).values(value=value))
                self._event(conn, version_id, "tag_set", actor=actor, at=at, key=key, value=value)
        return self.get_version(model, version)

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
        with self._writing() as conn:
            version_id, deleted = self._locate(conn, model, version)
            if deleted is not None:
                raise Conflict(f"version {model}@{version} is deleted")
            current = conn.execute(
                sa.select(versions.c.deprecated).where(versions.c.id == version_id)
            ).scalar_one()
            if bool(current) != deprecated:
                conn.execute(
                    sa.update(versions)
                    .where(versions.c.id == version_id)
                    .values(deprecated=deprecated)
                )
                kind = "deprecated" if deprecated else "undeprecated"
                self._event(conn, version_id, kind, actor=actor, at=at, reason=reason)
        return self.get_version(model, version)

    def delete_version(
        self, model: str, version: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        with self._writing() as conn:
            version_id, deleted = self._locate(conn, model, version)
            if deleted is not None:
                raise Conflict(f"version {model}@{version} is already deleted")
            if self._deployed(self._model_id(conn, model), version):
                raise Conflict(
                    f"version {model}@{version} has been deployed and can never be deleted"
                )
            conn.execute(
                sa.update(versions)
                .where(versions.c.id == version_id)
                .values(deleted_at=to_micros(at), deleted_by=actor)
            )
            self._event(conn, version_id, "deleted", actor=actor, at=at, reason=reason)
        return self.get_version(model, version)

    # -- reads ----------------------------------------------------------------------------

    def get_model(self, name: str) -> Model:
        with self.engine.connect() as conn:
            found = self._models(conn, models.c.name == name)
        if not found:
            raise NotFound(f"model {name!r} not found")
        return found[0]

    def list_models(self) -> list[Model]:
        with self.engine.connect() as conn:
            return self._models(conn, sa.true())

    def _models(self, conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[Model]:
        live = sa.func.count(versions.c.id).filter(versions.c.deleted_at.is_(None))
        rows = conn.execute(
            sa.select(
                models.c.name,
                models.c.created_at,
                models.c.created_by,
                models.c.last_version,
                live.label("live"),
            )
            .select_from(models.outerjoin(versions, versions.c.model_id == models.c.id))
            .where(where)
            .group_by(models.c.id)
            .order_by(models.c.name)
        ).all()
        return [
            Model(
                name=r.name,
                created_at=from_micros(r.created_at),
                created_by=r.created_by,
                latest_version=r.last_version,
                version_count=r.live,
            )
            for r in rows
        ]

    def get_version(self, model: str, version: int) -> ModelVersion:
        with self.engine.connect() as conn:
            found = self._versions(
                conn, sa.and_(models.c.name == model, versions.c.number == version)
            )
            if not found:
                self._model_id(conn, model)
                raise NotFound(f"version {model}@{version} not found")
        return found[0]

    def list_versions(self, model: str) -> list[ModelVersion]:
        with self.engine.connect() as conn:
            self._model_id(conn, model)
            return self._versions(conn, models.c.name == model)

    def _versions(self, conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[ModelVersion]:
        rows = conn.execute(_version_select().where(where).order_by(versions.c.number)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        files: dict[int, list[FileEntry]] = defaultdict(list)
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for chunk in _chunks(ids, 500):
            for f in conn.execute(
                sa.select(version_files)
                .where(version_files.c.version_id.in_(chunk))
                .order_by(version_files.c.version_id, version_files.c.path)
            ):
                files[f.version_id].append(FileEntry(f.path, f.size, f.sha256, bool(f.executable)))
            for t in conn.execute(
                sa.select(version_tags).where(version_tags.c.version_id.in_(chunk))
            ):
                tags[t.version_id][t.key] = t.value
        return [_to_version(r, files[r.id], tags[r.id]) for r in rows]

    def version_events(self, model: str, version: int) -> list[VersionEvent]:
        with self.engine.connect() as conn:
            version_id, _ = self._locate(conn, model, version)
            rows = conn.execute(
                sa.select(version_events)
                .where(version_events.c.version_id == version_id)
                .order_by(version_events.c.id)
            ).all()
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
            for r in rows
        ]

    def file_references(self) -> Iterator[FileReference]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    models.c.name,
                    versions.c.number,
                    version_files.c.path,
                    version_files.c.sha256,
                    version_files.c.size,
                )
                .select_from(
                    version_files.join(versions, versions.c.id == version_files.c.version_id).join(
                        models, models.c.id == versions.c.model_id
                    )
                )
                .where(versions.c.deleted_at.is_(None))
                .order_by(models.c.name, versions.c.number, version_files.c.path)
            ).all()
        for r in rows:
            yield FileReference(r[0], r[1], r[2], r[3], r[4])

    def _deployed(self, model_id: int, version: int) -> bool:
        return ever_deployed(self._raw.reader(), model_id, version)

    def close(self) -> None:
        self._raw.close()
        self.engine.dispose()


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _to_version(row: Any, files: list[FileEntry], tags: Mapping[str, str]) -> ModelVersion:
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
        lineage=Lineage.from_dict(json.loads(row.lineage)),
        deprecated=bool(row.deprecated),
        deleted_at=None if row.deleted_at is None else from_micros(row.deleted_at),
        deleted_by=row.deleted_by,
    )
