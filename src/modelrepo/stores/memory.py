"""Metadata in memory: the reference `MetadataStore` the contract suite is checked against."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..domain.errors import Conflict, NotFound
from ..domain.model import Model, ModelVersion, NewVersion, VersionEvent
from ..ports import FileReference


@dataclass
class _ModelState:
    model: Model
    versions: dict[int, ModelVersion] = field(default_factory=dict)


class MemoryMetadataStore:
    """Thread-safe, in-process, gone when the process ends."""

    def __init__(self) -> None:
        self._models: dict[str, _ModelState] = {}
        self._events: list[VersionEvent] = []
        self._lock = threading.RLock()

    def create_version(self, new: NewVersion) -> ModelVersion:
        with self._lock:
            state = self._models.get(new.model)
            if state is None:
                state = _ModelState(Model(new.model, new.created_at, new.created_by, 0, 0))
                self._models[new.model] = state
            number = state.model.latest_version + 1
            version = ModelVersion(
                model=new.model,
                version=number,
                digest=new.digest,
                files=tuple(new.files),
                created_at=new.created_at,
                created_by=new.created_by,
                params=dict(new.params),
                metrics=dict(new.metrics),
                tags=dict(new.tags),
                description=new.description,
                flavor=new.flavor,
                signature=new.signature,
                lineage=new.lineage,
            )
            state.versions[number] = version
            state.model = replace(
                state.model, latest_version=number, version_count=state.model.version_count + 1
            )
            return version

    def _state(self, name: str) -> _ModelState:
        state = self._models.get(name)
        if state is None:
            raise NotFound(f"model {name!r} not found")
        return state

    def _live(self, model: str, version: int) -> ModelVersion:
        found = self.get_version(model, version)
        if found.deleted_at is not None:
            raise Conflict(f"version {model}@{version} is deleted")
        return found

    def _record(
        self,
        found: ModelVersion,
        kind: str,
        actor: str,
        at: datetime,
        key: str | None = None,
        value: str | None = None,
        reason: str | None = None,
    ) -> None:
        self._events.append(
            VersionEvent(
                len(self._events) + 1,
                found.model,
                found.version,
                kind,
                key,
                value,
                actor,
                at,
                reason,
            )
        )

    def _store(self, version: ModelVersion) -> ModelVersion:
        self._models[version.model].versions[version.version] = version
        return version

    def get_model(self, name: str) -> Model:
        with self._lock:
            return self._state(name).model

    def list_models(self) -> list[Model]:
        with self._lock:
            return [self._models[name].model for name in sorted(self._models)]

    def get_version(self, model: str, version: int) -> ModelVersion:
        with self._lock:
            found = self._state(model).versions.get(version)
            if found is None:
                raise NotFound(f"version {model}@{version} not found")
            return found

    def list_versions(self, model: str) -> list[ModelVersion]:
        with self._lock:
            versions = self._state(model).versions
            return [versions[n] for n in sorted(versions)]

    def set_tag(
        self, model: str, version: int, key: str, value: str | None, *, actor: str, at: datetime
    ) -> ModelVersion:
        with self._lock:
            found = self._live(model, version)
            tags = dict(found.tags)
            if value is None:
                if key not in tags:
                    raise NotFound(f"version {model}@{version} has no tag {key!r}")
                del tags[key]
                self._record(found, "tag_removed", actor, at, key=key)
            elif tags.get(key) != value:
                tags[key] = value
                self._record(found, "tag_set", actor, at, key=key, value=value)
            return self._store(replace(found, tags=tags))

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
        with self._lock:
            found = self._live(model, version)
            if found.deprecated == deprecated:
                return found
            kind = "deprecated" if deprecated else "undeprecated"
            self._record(found, kind, actor, at, reason=reason)
            return self._store(replace(found, deprecated=deprecated))

    def delete_version(
        self, model: str, version: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        with self._lock:
            found = self.get_version(model, version)
            if found.deleted_at is not None:
                raise Conflict(f"version {model}@{version} is already deleted")
            self._record(found, "deleted", actor, at, reason=reason)
            state = self._models[model]
            state.model = replace(state.model, version_count=state.model.version_count - 1)
            return self._store(replace(found, deleted_at=at, deleted_by=actor))

    def version_events(self, model: str, version: int) -> list[VersionEvent]:
        with self._lock:
            self.get_version(model, version)
            return [e for e in self._events if e.model == model and e.version == version]

    def file_references(self) -> Iterator[FileReference]:
        with self._lock:
            refs = [
                FileReference(name, v.version, f.path, f.sha256, f.size)
                for name in sorted(self._models)
                for v in self.list_versions(name)
                if v.deleted_at is None
                for f in v.files
            ]
        return iter(refs)

    def close(self) -> None:
        pass
