"""Models and their versions in memory: registration, tags, deprecation, deletion."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from ...domain.audit import (
    MODEL_CREATED,
    MODEL_DELETED,
    RECORDED_DELETED,
    model_event_change,
    recorded_deleted_change,
    registration_change,
)
from ...domain.deployment_rules import check_deletable
from ...domain.errors import NotFound, model_not_found, version_not_found
from ...domain.model import (
    Model,
    ModelEvent,
    ModelVersion,
    NewVersion,
    VersionEvent,
    check_model_deletable,
    check_not_deleted,
    check_replay,
    deleted_record,
    model_exists,
    model_tag_change,
    next_number,
    version_tag_change,
)
from ...domain.times import to_micros
from ...domain.trust import TRUSTED, new_trust, trust_change, trusted_of
from ...ports import FileReference
from .audit import MemoryAudit

if TYPE_CHECKING:
    from ...domain.decisions import Decision
    from ...domain.deployments import DeploymentEvent, DeploymentRequest, Environment


@dataclass
class _ModelState:
    model: Model
    versions: dict[int, ModelVersion] = field(default_factory=dict)


class MemoryVersions(MemoryAudit):
    """Models, versions, tags and inline blobs in dicts (the reference for the SQL store's)."""

    _deployments: list[DeploymentEvent]
    _requests: list[DeploymentRequest]
    _environments: dict[tuple[str, str], Environment]
    _decisions: dict[str, Decision]
    _input_modes: dict[str, tuple[str, int | None]]

    def __init__(self) -> None:
        self._models: dict[str, _ModelState] = {}
        self._events: list[VersionEvent] = []
        self._model_events: list[ModelEvent] = []
        self._lock = threading.RLock()
        self._inline: dict[str, bytes] = {}
        # (actor, idempotency key) -> (model, number, digest) of the version it made
        self._registration_keys: dict[tuple[str, str], tuple[str, int, str]] = {}

    def create_version(
        self,
        new: NewVersion,
        *,
        inline: Mapping[str, bytes] | None = None,
        key: str | None = None,
        number: int | None = None,
    ) -> ModelVersion:
        with self._lock:
            if key is not None:
                found = self._registration_keys.get((new.created_by, key))
                if found is not None:  # a retried request: nothing is written
                    number = check_replay(new, key, *found)
                    return self._models[new.model].versions[number]
            state = self._models.get(new.model)
            last = 0 if state is None else state.model.latest_version
            number = next_number(new.model, last, number)
            self._inline.update(inline or {})
            state = self._model_state(new.model, new.created_at, new.created_by)
            if state.model.deleted_at is not None:
                self._created(state, new.created_by, new.created_at)
            version = new.numbered(number, new.created_at)
            state.versions[number] = version
            state.model = replace(
                state.model, latest_version=number, version_count=state.model.version_count + 1
            )
            if key is not None:
                self._registration_keys[(new.created_by, key)] = (new.model, number, new.digest)
            self._audit(
                "version.registered",
                f"model:{new.model}",
                actor=new.created_by,
                at=new.created_at,
                change=registration_change(version, key),
            )
            return version

    def _model_state(self, name: str, at: datetime, actor: str) -> _ModelState:
        """The model's state, made now if it has none yet."""
        state = self._models.get(name)
        if state is None:
            state = _ModelState(Model(name, at, actor, 0, 0))
            self._models[name] = state
        return state

    def create_model(
        self,
        name: str,
        *,
        actor: str,
        at: datetime,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> Model:
        with self._lock:
            found = self._models.get(name)
            if found is not None and found.model.deleted_at is None:
                raise model_exists(name)
            state = self._model_state(name, at, actor)
            self._created(state, actor, at)
            if description:
                self.set_model_description(name, description, actor=actor, at=at)
            for key in sorted(tags or {}):
                self.set_model_tag(name, key, (tags or {})[key], actor=actor, at=at)
            return state.model

    def _created(self, state: _ModelState, actor: str, at: datetime) -> None:
        """The model's `created` change and audit entry; a deleted model's name taken again
        (numbering goes on after its numbers)."""
        name = state.model.name
        state.model = replace(
            state.model, created_at=at, created_by=actor, deleted_at=None, deleted_by=None
        )
        seq = len(self._model_events) + 1
        self._model_events.append(ModelEvent(seq, name, "created", None, None, actor, at))
        self._audit(MODEL_CREATED, f"model:{name}", actor=actor, at=at, change={"model": name})

    def delete_model(self, name: str, *, actor: str, at: datetime, reason: str | None) -> Model:
        with self._lock:
            state = self._state(name)
            deployed = (
                any(m == name for m, _ in self._environments)
                or any(e.model == name for e in self._deployments)
                or any(r.model == name for r in self._requests)
            )
            decided = any(d.model == name for d in self._decisions.values())
            check_model_deletable(name, deployed=deployed, decided=decided)
            kept = [v for n, v in sorted(state.versions.items()) if v.deleted_at is None]
            for version in kept:
                self._record(version, "deleted", actor, at, reason=reason)
                self._store(replace(version, deleted_at=at, deleted_by=actor))
            state.model = replace(
                state.model, tags={}, description="", version_count=0, deleted_at=at,
                deleted_by=actor,
            )  # fmt: skip
            self._input_modes.pop(name, None)
            seq = len(self._model_events) + 1
            self._model_events.append(ModelEvent(seq, name, "deleted", None, reason, actor, at))
            change = {"model": name, "reason": reason, "versions": [v.version for v in kept]}
            self._audit(MODEL_DELETED, f"model:{name}", actor=actor, at=at, change=change)
            return state.model

    def record_deleted_version(
        self, model: str, number: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        with self._lock:
            state = self._models.get(model)
            number = next_number(model, 0 if state is None else state.model.latest_version, number)
            state = self._model_state(model, at, actor)
            if state.model.deleted_at is not None:
                self._created(state, actor, at)
            version = replace(
                deleted_record(model, actor, at).numbered(number, at),
                deleted_at=at,
                deleted_by=actor,
            )
            state.versions[number] = version
            state.model = replace(state.model, latest_version=number)
            self._record(version, "deleted", actor, at, reason=reason)
            self._audit(
                RECORDED_DELETED,
                f"model:{model}",
                actor=actor,
                at=at,
                change=recorded_deleted_change(version, reason),
            )
            return version

    def registration_keys(self) -> list[tuple[str, str, str, int, str, int]]:
        with self._lock:
            return [
                (actor, key, model, number, digest,
                 to_micros(self._models[model].versions[number].created_at))
                for (actor, key), (model, number, digest) in self._registration_keys.items()
            ]  # fmt: skip

    def _state(self, name: str) -> _ModelState:
        state = self._any_state(name)
        if state.model.deleted_at is not None:
            raise NotFound(model_not_found(name))
        return state

    def _any_state(self, name: str) -> _ModelState:
        """The model's state, a deleted model's too (to read its records back)."""
        state = self._models.get(name)
        if state is None:
            raise NotFound(model_not_found(name))
        return state

    def _live(self, model: str, version: int) -> ModelVersion:
        found = self.get_version(model, version)
        check_not_deleted(model, version, found.deleted_at is not None)
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
            return self._any_state(name).model

    def list_models(self) -> list[Model]:
        with self._lock:
            return [self._models[name].model for name in sorted(self._models)]

    def get_version(self, model: str, version: int) -> ModelVersion:
        with self._lock:
            found = self._any_state(model).versions.get(version)
            if found is None:
                raise NotFound(version_not_found(model, version))
            return found

    def inline_blob(self, sha256: str) -> bytes | None:
        with self._lock:
            return self._inline.get(sha256)

    def inline_blobs(self) -> Iterator[tuple[str, int]]:
        with self._lock:
            items = sorted((k, len(v)) for k, v in self._inline.items())
        return iter(items)

    def delete_inline_blob(self, sha256: str) -> None:
        with self._lock:
            self._inline.pop(sha256, None)

    def digest(self, model: str, version: int) -> str:
        return self.get_version(model, version).digest

    def list_versions(self, model: str) -> list[ModelVersion]:
        with self._lock:
            versions = self._any_state(model).versions
            return [versions[n] for n in sorted(versions)]

    def set_tag(
        self, model: str, version: int, key: str, value: str | None, *, actor: str, at: datetime
    ) -> ModelVersion:
        with self._lock:
            found = self._live(model, version)
            tags = dict(found.tags)
            kind = version_tag_change(model, version, key, tags.get(key), value)
            if kind is None:
                return found
            if value is None:
                del tags[key]
            else:
                tags[key] = value
            self._record(found, kind, actor, at, key=key, value=value)
            self._audit(
                f"version.{kind}",
                f"model:{model}",
                actor=actor,
                at=at,
                change={"model": model, "version": version, "key": key, "value": value},
            )
            return self._store(replace(found, tags=tags))

    def set_model_tag(
        self, model: str, key: str, value: str | None, *, actor: str, at: datetime
    ) -> Model:
        with self._lock:
            state = self._state(model)
            tags = dict(state.model.tags)
            kind = model_tag_change(model, key, tags.get(key), value)
            if kind is None:
                return state.model
            if value is None:
                del tags[key]
            else:
                tags[key] = value
            state.model = replace(state.model, tags=tags)
            self._model_event(model, kind, actor, at, key=key, value=value)
            return state.model

    def set_model_description(self, model: str, text: str, *, actor: str, at: datetime) -> Model:
        with self._lock:
            state = self._state(model)
            if state.model.description != text:
                state.model = replace(state.model, description=text)
                self._model_event(model, "described", actor, at, value=text)
            return state.model

    def _model_event(
        self,
        model: str,
        kind: str,
        actor: str,
        at: datetime,
        *,
        key: str | None = None,
        value: str | None = None,
    ) -> None:
        seq = len(self._model_events) + 1
        self._model_events.append(ModelEvent(seq, model, kind, key, value, actor, at))
        change = model_event_change(model, kind, key, value)
        self._audit(f"model.{kind}", f"model:{model}", actor=actor, at=at, change=change)

    def model_events(self, model: str) -> list[ModelEvent]:
        with self._lock:
            self._any_state(model)
            return [e for e in self._model_events if e.model == model]

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
            self._audit(
                f"version.{kind}",
                f"model:{model}",
                actor=actor,
                at=at,
                change={"model": model, "version": version, "reason": reason},
            )
            return self._store(replace(found, deprecated=deprecated))

    def delete_version(
        self, model: str, version: int, *, actor: str, at: datetime, reason: str | None
    ) -> ModelVersion:
        with self._lock:
            found = self.get_version(model, version)
            named = [e.versions for e in self._deployments if e.model == model] + [
                r.versions for r in self._requests if r.model == model
            ]
            check_deletable(model, version, deleted=found.deleted_at is not None, named=named)
            self._record(found, "deleted", actor, at, reason=reason)
            self._audit(
                "version.deleted",
                f"model:{model}",
                actor=actor,
                at=at,
                change={"model": model, "version": version, "reason": reason},
            )
            state = self._models[model]
            state.model = replace(state.model, version_count=state.model.version_count - 1)
            return self._store(replace(found, deleted_at=at, deleted_by=actor))

    def version_events(self, model: str, version: int) -> list[VersionEvent]:
        with self._lock:
            self.get_version(model, version)
            return [e for e in self._events if e.model == model and e.version == version]

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
        with self._lock:
            found = self._live(model, version)
            new = new_trust(trusted_of(self.version_events(model, version)), types)
            for name in new:
                self._record(found, TRUSTED, actor, at, key=name, reason=reason)
            if new:
                self._audit(
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

        with self._lock:
            found = self._live(model, version)
            held = [e.key or "" for e in self.version_events(model, version) if e.kind == SIGNED]
            new = new_signatures(held, signatures)
            for key, bundle in new:
                self._record(found, SIGNED, actor, at, key=key, value=bundle, reason=reason)
            if new:
                self._audit(
                    "version.signed",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change=signature_change(model, version, new, reason),
                )
            return [key for key, _ in new]

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
