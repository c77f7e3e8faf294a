"""Metadata in memory: the reference `MetadataStore` the contract suite is checked against."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..domain.access import ApiToken, credential_change, token_change
from ..domain.audit import (
    AuditEntry,
    DecisionRow,
    decision_change,
    decisions_change,
    import_batch_change,
    model_event_change,
    new_nodes,
    node_position,
    purge_change,
    registration_change,
)
from ..domain.decisions import (
    Decision,
    DecisionColumns,
    NewDecision,
    canonical_json,
    encode_canonical_each,
    flags_json,
)
from ..domain.denials import AUDIT_KIND as DENIALS_KIND
from ..domain.denials import AUDIT_SUBJECT as DENIALS_SUBJECT
from ..domain.denials import Denial, denials_change
from ..domain.deployments import (
    Allocation,
    DeploymentChange,
    DeploymentEvent,
    DeploymentRequest,
    Environment,
    EnvironmentChange,
    allocations_json,
    approved_change,
    change_target,
    check_decidable,
    check_importable,
    check_not_stale,
    live_event,
    unknown_environment,
)
from ..domain.errors import (
    ApprovalRequired,
    Conflict,
    HistoryMoved,
    NotFound,
    decision_not_found,
    model_not_found,
    request_not_found,
    token_not_found,
)
from ..domain.model import (
    Model,
    ModelEvent,
    ModelVersion,
    NewVersion,
    VersionEvent,
    check_replay,
)
from ..domain.serving import ServingPeriod
from ..domain.times import from_micros, parse_time, to_micros
from ..domain.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    Attempt,
    Delivery,
    NewDelivery,
    Webhook,
)
from ..ports import Clock, FileReference

ONE_MICRO = timedelta(microseconds=1)


@dataclass
class _ModelState:
    model: Model
    versions: dict[int, ModelVersion] = field(default_factory=dict)


class MemoryAudit:
    """The audit log kept in lists (the reference for `SqlAudit`)."""

    def __init__(self) -> None:
        self._store_id = str(uuid.uuid4())
        self._audit_bodies: list[bytes] = []
        self._audit_nodes: dict[tuple[int, int], bytes] = {}
        self._checkpoints: list[tuple[int, datetime, str]] = []
        self._audit_lock = threading.RLock()

    def store_id(self) -> str:
        return self._store_id

    def _audit(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        at: datetime,
        change: Mapping[str, Any],
    ) -> AuditEntry:
        with self._audit_lock:
            seq = len(self._audit_bodies) + 1
            entry = AuditEntry(seq, at, actor, kind, subject, change, self._store_id)
            nodes = new_nodes(
                seq - 1, entry.leaf_hash(), lambda lv, ix: self._audit_nodes[(lv, ix)]
            )
            self._audit_bodies.append(entry.canonical())
            self._audit_nodes.update({(lv, ix): h for lv, ix, h in nodes})
            return entry

    def record_audit(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        at: datetime,
        change: Mapping[str, Any],
        only_if_empty: bool = False,
    ) -> AuditEntry | None:
        with self._audit_lock:
            if only_if_empty and self._audit_bodies:
                return None
            return self._audit(kind, subject, actor=actor, at=at, change=change)

    def audit_size(self) -> int:
        return len(self._audit_bodies)

    def audit_node(self, level: int, index: int) -> bytes:
        try:
            return self._audit_nodes[(level, index)]
        except KeyError:
            raise LookupError(f"audit tree node ({level}, {index}) is missing") from None

    def audit_entries(
        self, start: int = 1, end: int | None = None
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        last = len(self._audit_bodies) if end is None else end
        for seq in range(start, last + 1):
            yield seq, self._audit_bodies[seq - 1], self._audit_nodes.get((0, seq - 1))

    def audit_rows(
        self, start: int = 1
    ) -> Iterator[tuple[int, bytes, bytes | None, int, str, str]]:
        for seq, body, leaf in self.audit_entries(start):
            entry = json.loads(body)
            at = to_micros(parse_time(entry["at"]))
            yield seq, body, leaf, at, entry["kind"], entry["subject"]

    def audit_tree(self) -> Iterator[tuple[int, bytes]]:
        with self._audit_lock:
            nodes = [(node_position(lv, ix), h) for (lv, ix), h in self._audit_nodes.items() if lv]
        yield from sorted(nodes)

    def audit_entry(self, seq: int) -> bytes | None:
        return self._audit_bodies[seq - 1] if 1 <= seq <= len(self._audit_bodies) else None

    def subject_entries(self, subject: str) -> list[tuple[int, bytes]]:
        return [
            (i + 1, body)
            for i, body in enumerate(self._audit_bodies)
            if json.loads(body)["subject"] == subject
        ]

    def add_checkpoint(self, size: int, at: datetime, body: str) -> None:
        self._checkpoints.append((size, at, body))

    def checkpoints(self) -> list[tuple[int, int, str]]:
        return [(size, to_micros(at), body) for size, at, body in self._checkpoints]

    def last_checkpoint(self) -> tuple[int, int] | None:
        if not self._checkpoints:
            return None
        size, at, _ = self._checkpoints[-1]
        return size, to_micros(at)


class MemoryServing:
    """Observed serving periods in a list."""

    def __init__(self) -> None:
        self._periods: list[ServingPeriod] = []
        self._serving_lock = threading.Lock()

    def serving_start(
        self,
        model: str,
        environment: str,
        *,
        instance_id: str,
        host: str,
        version: int,
        digest: str,
        at: datetime,
    ) -> None:
        with self._serving_lock:
            self._end(instance_id, at)
            self._periods.append(
                ServingPeriod(instance_id, host, model, environment, version, digest, at, at, None)
            )

    def _end(self, instance_id: str, at: datetime) -> None:
        self._periods = [
            replace(p, ended_at=at, last_seen=at)
            if p.instance_id == instance_id and p.ended_at is None
            else p
            for p in self._periods
        ]

    def _touch(self, model: str, environment: str, instance_id: str, **change: Any) -> None:
        """Apply `change` to the instance's open periods in `model`@`environment`; NotFound
        if it never served there."""
        with self._serving_lock:
            mine = [
                p.instance_id == instance_id and p.model == model and p.environment == environment
                for p in self._periods
            ]
            if not any(mine):
                raise NotFound(f"no serving instance {instance_id!r} in {model}@{environment}")
            self._periods = [
                replace(p, **change) if own and p.ended_at is None else p
                for p, own in zip(self._periods, mine, strict=True)
            ]

    def serving_heartbeat(
        self, model: str, environment: str, instance_id: str, at: datetime
    ) -> None:
        self._touch(model, environment, instance_id, last_seen=at)

    def serving_stop(self, model: str, environment: str, instance_id: str, at: datetime) -> None:
        self._touch(model, environment, instance_id, ended_at=at, last_seen=at)

    def serving_periods(self, model: str, environment: str) -> list[ServingPeriod]:
        with self._serving_lock:
            found = [p for p in self._periods if p.model == model and p.environment == environment]
        return sorted(found, key=lambda p: p.since)


class MemoryTokens(MemoryAudit):
    """API tokens by hash (the reference for `SqlTokens`)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, ApiToken]] = {}  # id -> (hash, token)

    def create_token(self, token: ApiToken, token_hash: str) -> ApiToken:
        with self._audit_lock:
            if token.token_id in self._tokens or any(
                h == token_hash for h, _ in self._tokens.values()
            ):
                raise Conflict(f"token {token.token_id} already exists")
            self._tokens[token.token_id] = (token_hash, token)
            self._audit(
                "token.created",
                f"token:{token.token_id}",
                actor=token.created_by,
                at=token.created_at,
                change=credential_change(token, token_hash),
            )
            return token

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        with self._audit_lock:
            return next((t for h, t in self._tokens.values() if h == token_hash), None)

    def list_tokens(self) -> list[ApiToken]:
        with self._audit_lock:
            return sorted((t for _, t in self._tokens.values()), key=lambda t: t.created_at)

    def token_hashes(self) -> dict[str, str]:
        with self._audit_lock:
            return {token_id: h for token_id, (h, _) in self._tokens.items()}

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> ApiToken:
        with self._audit_lock:
            found = self._tokens.get(token_id)
            if found is None:
                raise NotFound(token_not_found(token_id))
            token_hash, token = found
            if token.revoked_at is not None:
                raise Conflict(f"token {token_id} is already revoked")
            revoked = replace(token, revoked_at=at, revoked_by=actor)
            self._tokens[token_id] = (token_hash, revoked)
            self._audit(
                "token.revoked",
                f"token:{token_id}",
                actor=actor,
                at=at,
                change=token_change(revoked),
            )
            return revoked


class MemoryDenials(MemoryAudit):
    """Refused requests in a list (the reference for `SqlDenials`)."""

    def __init__(self) -> None:
        self._denials: list[Denial] = []

    def record_denials(self, batch: Sequence[Denial], *, actor: str, at: datetime) -> list[Denial]:
        if not batch:
            return []
        with self._audit_lock:
            first = len(self._denials) + 1
            stored = [replace(d, id=first + i) for i, d in enumerate(batch)]
            self._denials.extend(stored)
            self._audit(
                DENIALS_KIND, DENIALS_SUBJECT, actor=actor, at=at, change=denials_change(stored)
            )
            return stored

    def denials(
        self, *, since: datetime | None = None, model: str | None = None, limit: int = 100
    ) -> list[Denial]:
        with self._audit_lock:
            found = [
                d
                for d in self._denials
                if (since is None or d.last_at >= since) and (model is None or d.model == model)
            ]
        found.sort(key=lambda d: (d.last_at, d.id or 0), reverse=True)
        return found[:limit]

    def denials_between(self, first: int, last: int) -> list[Denial]:
        with self._audit_lock:
            return [d for d in self._denials if d.id is not None and first <= d.id <= last]


class MemoryWebhooks(MemoryAudit):
    """Webhooks, the fan-out cursor and the delivery log (the reference for `SqlWebhooks`)."""

    def __init__(self) -> None:
        self._webhooks: dict[str, Webhook] = {}
        self._webhook_cursor = 0
        self._deliveries: list[Delivery] = []
        self._leases: dict[int, datetime] = {}
        self._attempts: list[Attempt] = []

    def add_webhook(self, hook: Webhook) -> Webhook:
        with self._audit_lock:
            if hook.webhook_id in self._webhooks:
                raise Conflict(f"webhook {hook.webhook_id} already exists")
            entry = self._audit(
                "webhook.created",
                f"webhook:{hook.webhook_id}",
                actor=hook.created_by,
                at=hook.created_at,
                change=hook.audit_change(),
            )
            stored = replace(hook, after_seq=entry.seq)
            self._webhooks[hook.webhook_id] = stored
            return stored

    def webhooks(self) -> list[Webhook]:
        with self._audit_lock:
            return sorted(self._webhooks.values(), key=lambda h: (h.created_at, h.webhook_id))

    def disable_webhook(self, webhook_id: str, *, actor: str, at: datetime) -> Webhook:
        with self._audit_lock:
            found = self._webhooks.get(webhook_id)
            if found is None:
                raise NotFound(f"webhook {webhook_id} not found")
            if found.disabled_at is not None:
                raise Conflict(f"webhook {webhook_id} is already disabled")
            disabled = replace(found, disabled_at=at, disabled_by=actor)
            self._webhooks[webhook_id] = disabled
            self._audit(
                "webhook.disabled",
                f"webhook:{webhook_id}",
                actor=actor,
                at=at,
                change=disabled.audit_change(),
            )
            return disabled

    def webhook_cursor(self) -> int:
        with self._audit_lock:
            return self._webhook_cursor

    def enqueue_deliveries(
        self, after: int, upto: int, deliveries: Sequence[NewDelivery], *, at: datetime
    ) -> bool:
        with self._audit_lock:
            if self._webhook_cursor != after:
                return False
            known = {(d.webhook_id, d.seq) for d in self._deliveries}
            for new in deliveries:
                if (new.webhook_id, new.seq) in known:
                    continue
                known.add((new.webhook_id, new.seq))
                self._deliveries.append(
                    Delivery(
                        len(self._deliveries) + 1,
                        new.webhook_id,
                        new.seq,
                        new.event_id,
                        new.kind,
                        new.payload,
                        PENDING,
                        0,
                        at,
                        at,
                    )
                )
            self._webhook_cursor = upto
            return True

    def claim_deliveries(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[Delivery]:
        with self._audit_lock:
            due = [
                d
                for d in self._deliveries
                if d.status == PENDING
                and d.next_attempt_at <= now
                and self._leases.get(d.delivery_id, now) <= now
                and self._webhooks[d.webhook_id].active
            ]
            due.sort(key=lambda d: (d.next_attempt_at, d.delivery_id))
            for d in due[:limit]:
                self._leases[d.delivery_id] = lease_until
            return due[:limit]

    def record_delivery_attempt(
        self, attempt: Attempt, *, owner: str, next_attempt_at: datetime | None
    ) -> Delivery:
        with self._audit_lock:
            if not 1 <= attempt.delivery_id <= len(self._deliveries):
                raise NotFound(f"delivery {attempt.delivery_id} not found")
            found = self._deliveries[attempt.delivery_id - 1]
            self._attempts.append(attempt)
            self._leases.pop(attempt.delivery_id, None)
            status = DELIVERED if attempt.ok else PENDING if next_attempt_at else FAILED
            updated = replace(
                found,
                status=status,
                attempts=max(found.attempts, attempt.attempt),
                next_attempt_at=next_attempt_at or attempt.at,
                last_error=None if attempt.ok else attempt.error,
                delivered_at=attempt.at if attempt.ok else None,
            )
            self._deliveries[attempt.delivery_id - 1] = updated
            return updated

    def deliveries(self, webhook_id: str | None = None, *, limit: int = 100) -> list[Delivery]:
        with self._audit_lock:
            found = [d for d in self._deliveries if webhook_id in (None, d.webhook_id)]
            return found[::-1][:limit]

    def delivery_attempts(self, delivery_id: int) -> list[Attempt]:
        with self._audit_lock:
            return [a for a in self._attempts if a.delivery_id == delivery_id]


class MemoryMetadataStore(MemoryTokens, MemoryServing, MemoryWebhooks, MemoryDenials):
    """Thread-safe, in-process, gone when the process ends."""

    def __init__(self) -> None:
        MemoryAudit.__init__(self)
        MemoryTokens.__init__(self)
        MemoryServing.__init__(self)
        MemoryWebhooks.__init__(self)
        MemoryDenials.__init__(self)
        self._models: dict[str, _ModelState] = {}
        self._events: list[VersionEvent] = []
        self._model_events: list[ModelEvent] = []
        self._lock = threading.RLock()
        self._environments: dict[tuple[str, str], Environment] = {}
        self._inline: dict[str, bytes] = {}
        # (actor, idempotency key) -> (model, number, digest) of the version it made
        self._registration_keys: dict[tuple[str, str], tuple[str, int, str]] = {}
        self._decisions: dict[str, Decision] = {}
        self._input_modes: dict[str, tuple[str, int | None]] = {}
        self._deployments: list[DeploymentEvent] = []
        self._requests: list[DeploymentRequest] = []

    def create_version(
        self,
        new: NewVersion,
        *,
        inline: Mapping[str, bytes] | None = None,
        key: str | None = None,
    ) -> ModelVersion:
        with self._lock:
            if key is not None:
                found = self._registration_keys.get((new.created_by, key))
                if found is not None:  # a retried request: nothing is written
                    number = check_replay(new, key, *found)
                    return self._models[new.model].versions[number]
            self._inline.update(inline or {})
            state = self._models.get(new.model)
            if state is None:
                state = _ModelState(Model(new.model, new.created_at, new.created_by, 0, 0))
                self._models[new.model] = state
            number = state.model.latest_version + 1
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

    def registration_keys(self) -> list[tuple[str, str, str, int, str, int]]:
        with self._lock:
            return [
                (actor, key, model, number, digest,
                 to_micros(self._models[model].versions[number].created_at))
                for (actor, key), (model, number, digest) in self._registration_keys.items()
            ]  # fmt: skip

    def _state(self, name: str) -> _ModelState:
        state = self._models.get(name)
        if state is None:
            raise NotFound(model_not_found(name))
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
            else:
                return found
            self._audit(
                "version.tag_removed" if value is None else "version.tag_set",
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
            if value is None:
                if key not in tags:
                    raise NotFound(f"model {model!r} has no tag {key!r}")
                del tags[key]
            elif tags.get(key) != value:
                tags[key] = value
            else:
                return state.model
            state.model = replace(state.model, tags=tags)
            kind = "tag_removed" if value is None else "tag_set"
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
            self._state(model)
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
            if found.deleted_at is not None:
                raise Conflict(f"version {model}@{version} is already deleted")
            named = [e.versions for e in self._deployments if e.model == model] + [
                r.versions for r in self._requests if r.model == model
            ]
            if any(a.version == version for allocations in named for a in allocations):
                raise Conflict(
                    f"version {model}@{version} has been deployed and can never be deleted"
                )
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

    # -- deployments ------------------------------------------------------------------------

    def _environment(self, model: str, env: str, actor: str, at: datetime) -> Environment:
        self._state(model)
        key = (model, env)
        if key not in self._environments:
            self._environments[key] = Environment(model, env, False, at, actor)
        return self._environments[key]

    def _recorded_at(self, clock: Clock) -> datetime:
        now = clock.now()
        if self._deployments:
            last = max(e.recorded_at for e in self._deployments)
            if now <= last:
                return last + ONE_MICRO
        return now

    def _check_versions(self, model: str, allocations: Sequence[Allocation]) -> None:
        for a in allocations:
            if self._live_version(model, a.version).deleted_at is not None:
                raise Conflict(f"version {model}@{a.version} is deleted and cannot be deployed")

    def _live_version(self, model: str, version: int) -> ModelVersion:
        return self.get_version(model, version)

    def _target(self, change: DeploymentChange, at: datetime) -> tuple[Allocation, ...]:
        return change_target(change, self._env_events(change.model, change.environment), at)

    def _env_events(self, model: str, env: str) -> list[DeploymentEvent]:
        return [e for e in self._deployments if e.model == model and e.environment == env]

    def _append(
        self, change: DeploymentChange, clock: Clock, *, audit: bool = True, imported: bool = False
    ) -> DeploymentEvent:
        self._state(change.model)
        recorded = self._recorded_at(clock)
        effective = recorded if change.effective_at is None else change.effective_at
        # Nothing is created before the checks: a refused change leaves no new environment.
        known = self._environments.get((change.model, change.environment))
        if known is not None and known.protected and change.approval is None:
            raise ApprovalRequired(
                f"environment {change.environment!r} of {change.model} is protected: "
                "the change needs approval by a second identity"
            )
        # Imported history is taken as it was recorded elsewhere (as the SQL store does).
        allocations = (
            tuple(change.versions or ())
            if imported
            else self._target(change, min(effective, recorded))
        )
        self._check_versions(change.model, allocations)
        self._environment(change.model, change.environment, change.actor, recorded)
        approval = change.approval
        event = DeploymentEvent(
            event_id=len(self._deployments) + 1,
            model=change.model,
            environment=change.environment,
            kind=change.kind,
            versions=allocations,
            effective_at=effective,
            recorded_at=recorded,
            actor=change.actor,
            reason=change.reason,
            request_id=approval.request_id if approval else None,
            approved_by=approval.approved_by if approval else None,
            approved_at=recorded if approval else None,
        )
        self._deployments.append(event)
        if not audit:
            return event
        self._audit(
            "deployment.recorded",
            f"model:{change.model}",
            actor=approval.approved_by if approval else change.actor,
            at=event.recorded_at,
            change=event.to_dict(),
        )
        return event

    def record_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentEvent:
        with self._lock:
            return self._append(change, clock)

    def import_deployments(self, changes: Sequence[DeploymentChange], *, clock: Clock) -> int:
        with self._lock:
            saved = list(self._deployments), dict(self._environments)
            events: list[DeploymentEvent] = []
            try:
                for change in changes:
                    check_importable(change)
                    if self._environments.get((change.model, change.environment), None) and (
                        self._environments[(change.model, change.environment)].protected
                    ):
                        raise ApprovalRequired(
                            f"environment {change.environment!r} of {change.model} is "
                            "protected: history cannot be imported into it"
                        )
                    events.append(self._append(change, clock, audit=False, imported=True))
                if events:
                    change_doc = import_batch_change(
                        [
                            (
                                e.model,
                                e.environment,
                                e.kind,
                                allocations_json(e.versions),
                                to_micros(e.effective_at),
                                to_micros(e.recorded_at),
                                e.actor,
                                e.reason,
                            )
                            for e in events
                        ]
                    )
                    self._audit(
                        "deployment.imported",
                        "models:" + ",".join(change_doc["models"]),
                        actor=changes[0].actor,
                        at=events[-1].recorded_at,
                        change=change_doc,
                    )
                return len(changes)
            except BaseException:
                self._deployments, self._environments = saved
                raise

    def _set_protected(
        self, model: str, env: str, flag: bool, change: EnvironmentChange
    ) -> Environment:
        environment = self._environments[(model, env)]
        self._environments[(model, env)] = replace(
            environment, protected=flag, changes=(*environment.changes, change)
        )
        return self._environments[(model, env)]

    def _latest_event_id(self, model: str, env: str) -> int | None:
        ids = [e.event_id for e in self._env_events(model, env)]
        return max(ids) if ids else None

    def protect(self, model: str, env: str, *, actor: str, clock: Clock) -> Environment:
        with self._lock:
            at = clock.now()
            environment = self._environment(model, env, actor, at)
            if environment.protected:
                return environment
            self._audit(
                "environment.protected",
                f"model:{model}",
                actor=actor,
                at=at,
                change={"model": model, "environment": env},
            )
            return self._set_protected(model, env, True, EnvironmentChange("protected", actor, at))

    def request_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentRequest:
        with self._lock:
            now = clock.now()
            if change.kind == "unprotect":
                allocations: tuple[Allocation, ...] = ()
            else:
                allocations = self._target(change, now)
                self._check_versions(change.model, allocations)
            self._environment(change.model, change.environment, change.actor, now)
            request = DeploymentRequest(
                request_id=len(self._requests) + 1,
                model=change.model,
                environment=change.environment,
                kind=change.kind,
                versions=allocations,
                effective_at=change.effective_at,
                requested_by=change.actor,
                requested_at=now,
                reason=change.reason,
                base_event_id=self._latest_event_id(change.model, change.environment),
            )
            self._requests.append(request)
            self._audit(
                "deployment.requested",
                f"model:{change.model}",
                actor=change.actor,
                at=now,
                change=request.to_dict(),
            )
            return request

    def decide_request(
        self,
        request_id: int,
        *,
        approve: bool,
        actor: str,
        reason: str | None,
        clock: Clock,
    ) -> DeploymentRequest:
        with self._lock:
            request = self.get_request(request_id)
            check_decidable(request, actor, approve)
            now = clock.now()
            event_id = None
            if approve:
                check_not_stale(request, self._latest_event_id(request.model, request.environment))
            if approve and request.kind == "unprotect":
                self._set_protected(
                    request.model,
                    request.environment,
                    False,
                    EnvironmentChange("unprotected", actor, now, request_id, request.reason),
                )
            elif approve:
                event = self._append(
                    approved_change(request, actor, now),
                    clock,
                )
                event_id, now = event.event_id, event.recorded_at
            decided = replace(
                request,
                status="approved" if approve else "rejected",
                decided_by=actor,
                decided_at=now,
                decision_reason=reason,
                event_id=event_id,
            )
            self._requests[request_id - 1] = decided
            self._audit(
                "request.approved" if approve else "request.rejected",
                f"model:{request.model}",
                actor=actor,
                at=now,
                change=decision_change(request, reason, event_id),
            )
            return decided

    def get_request(self, request_id: int) -> DeploymentRequest:
        with self._lock:
            if not 1 <= request_id <= len(self._requests):
                raise NotFound(request_not_found(request_id))
            return self._requests[request_id - 1]

    def list_requests(
        self, model: str | None = None, status: str | None = None
    ) -> list[DeploymentRequest]:
        with self._lock:
            if model is not None:
                self._state(model)
            return [
                r
                for r in self._requests
                if (model is None or r.model == model) and (status is None or r.status == status)
            ]

    def environment(self, model: str, env: str) -> Environment:
        with self._lock:
            self._state(model)
            found = self._environments.get((model, env))
            if found is None:
                raise NotFound(f"environment {env!r} of {model} not found")
            return found

    def environments(self, model: str) -> list[Environment]:
        with self._lock:
            self._state(model)
            return sorted(
                (e for (m, _), e in self._environments.items() if m == model),
                key=lambda e: e.name,
            )

    def deployment_events(self, model: str, env: str | None = None) -> list[DeploymentEvent]:
        with self._lock:
            self._state(model)
            return [
                e
                for e in self._deployments
                if e.model == model and (env is None or e.environment == env)
            ]

    def live(
        self, model: str, env: str, at: datetime, as_known_at: datetime | None = None
    ) -> DeploymentEvent | None:
        with self._lock:
            if (model, env) not in self._environments:
                self._state(model)
                known = [e.name for e in self.environments(model)]
                raise unknown_environment(model, env, known)
            return live_event(self.deployment_events(model, env), at, as_known_at)

    # -- decisions ------------------------------------------------------------------------

    def record_decisions(
        self, items: Sequence[NewDecision], *, actor: str, clock: Clock
    ) -> datetime:
        return self.record_decision_columns(DecisionColumns.of(items), actor=actor, clock=clock)

    def record_decision_columns(
        self, columns: DecisionColumns, *, actor: str, clock: Clock
    ) -> datetime:
        c = columns
        with self._lock:
            recorded = clock.now()
            for model in dict.fromkeys(c.models):
                self._state(model)
            for (model, env), newest in c.histories.items():
                if (self._latest_event_id(model, env) or 0) != newest:
                    raise HistoryMoved(f"{model} in {env} was deployed meanwhile")
            batch: dict[str, Decision] = {}
            loads = json.loads
            for row in zip(c.decision_ids, c.models, c.environments, c.versions,
                           c.version_sources, c.decided_at, c.inputs_digests, c.inputs_modes,
                           c.inputs, c.outputs, c.metadata, c.flags, strict=True):  # fmt: skip
                decision_id, model, env, version, source, decided, digest, mode = row[:8]
                inputs, output, metadata, flags = row[8:]
                if decision_id in self._decisions or decision_id in batch:
                    raise Conflict(f"decision {decision_id!r} is already recorded")
                batch[decision_id] = Decision(
                    decision_id, model, env, version, source, from_micros(decided), recorded,
                    digest, mode, None if inputs is None else loads(inputs), loads(output),
                    loads(metadata), tuple(loads(flags)),
                )  # fmt: skip
            if batch:
                change = decisions_change(c)
                models = change["models"]
                self._audit(
                    "decisions.logged",
                    "model:" + models[0] if len(models) == 1 else "models",
                    actor=actor,
                    at=recorded,
                    change=change,
                )
            self._decisions.update(batch)
            return recorded

    def get_decision(self, decision_id: str) -> Decision:
        with self._lock:
            found = self._decisions.get(decision_id)
        if found is None:
            raise NotFound(decision_not_found(decision_id))
        return found

    def decision_batch(self, first: str, last: str) -> list[Decision]:
        with self._lock:
            ordered = list(self._decisions.values())
        ids = [d.decision_id for d in ordered]
        if first not in ids or last not in ids:
            return []
        return ordered[ids.index(first) : ids.index(last) + 1]

    def decision_rows(
        self, first: str | None = None, last: str | None = None
    ) -> Iterator[list[DecisionRow]]:
        with self._lock:
            if first is None and last is None:
                batch = list(self._decisions.values())
            else:
                everything = list(self._decisions)
                if (first is not None and first not in self._decisions) or (
                    last is not None and last not in self._decisions
                ):
                    return
                start = 0 if first is None else everything.index(first)
                end = len(everything) if last is None else everything.index(last) + 1
                batch = [self._decisions[d] for d in everything[start:end]]
        outputs = encode_canonical_each([d.output for d in batch])
        yield [
            (d.decision_id, d.model, d.environment, d.version, to_micros(d.decided_at),
             d.inputs_digest, output, canonical_json(dict(d.metadata)) if d.metadata else "{}",
             flags_json(tuple(d.flags)), to_micros(d.recorded_at),
             None if d.inputs_purged_at is None else to_micros(d.inputs_purged_at))
            for d, output in zip(batch, outputs, strict=True)
        ]  # fmt: skip

    def list_decisions(
        self, model: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[Decision]:
        with self._lock:
            self._state(model)
            found = [
                d
                for d in self._decisions.values()
                if d.model == model
                and (since is None or d.decided_at >= since)
                and (until is None or d.decided_at <= until)
            ]
        return sorted(found, key=lambda d: d.decided_at)[:limit]

    def input_mode(self, model: str) -> str:
        return self.input_policy(model)[0]

    def input_policy(self, model: str) -> tuple[str, int | None]:
        with self._lock:
            self._state(model)
            return self._input_modes.get(model, ("inline", None))

    def set_input_mode(
        self,
        model: str,
        mode: str,
        *,
        actor: str,
        at: datetime,
        retention_days: int | None = None,
    ) -> None:
        with self._lock:
            current = self.input_policy(model)
            if current == (mode, retention_days) and model in self._input_modes:
                return
            self._input_modes[model] = (mode, retention_days)
            self._audit(
                "decisions.policy_set",
                f"model:{model}",
                actor=actor,
                at=at,
                change={
                    "model": model,
                    "inputs": mode,
                    "retention_days": retention_days,
                    "was": current[0],
                },
            )

    def purge_inputs(
        self, model: str, cutoff: datetime, *, actor: str, at: datetime
    ) -> list[tuple[str, str, str]]:
        with self._lock:
            self._state(model)
            expired = [
                d
                for d in self._decisions.values()
                if d.model == model
                and d.decided_at < cutoff
                and d.inputs_purged_at is None
                and d.inputs_mode != "digest"
            ]
            for d in expired:
                self._decisions[d.decision_id] = replace(d, inputs=None, inputs_purged_at=at)
            if expired:
                self._audit(
                    "decisions.inputs_purged",
                    f"model:{model}",
                    actor=actor,
                    at=at,
                    change=purge_change(model, cutoff, [d.decision_id for d in expired]),
                )
            return [(d.decision_id, d.inputs_mode, d.inputs_digest) for d in expired]

    def decision_input_blobs(self) -> set[str]:
        with self._lock:
            return {
                d.inputs_digest.removeprefix("sha256:")
                for d in self._decisions.values()
                if d.inputs_mode == "blob" and d.inputs_purged_at is None
            }
