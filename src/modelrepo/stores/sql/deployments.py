"""Deployment history in SQL: environments, bitemporal events, requests and decisions.

The rules that need a transaction (protection, rollback targets, one decision per request,
strictly increasing recording times) are enforced here, inside the write transaction that
records the change, so concurrent writers cannot slip between a check and a write. These are
hot paths, so they run as precompiled statements on the raw connection (see `raw.py`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.audit import decision_change, import_batch_change, import_row, protection_change
from ...domain.deployments import (
    Allocation,
    DeploymentChange,
    DeploymentEvent,
    DeploymentRequest,
    Environment,
    EnvironmentChange,
    allocations_json,
    unknown_environment,
)
from ...domain.errors import (
    NotFound,
    environment_not_found,
    model_not_found,
    request_not_found,
)
from ...domain.principals import Authentication, auth_from_text, auth_text
from ...domain.times import from_micros, to_micros
from .audit import SqlAudit
from .raw import Q, RawConnections, Tx

if TYPE_CHECKING:
    from ...domain.deployment_rules import EnvironmentState, NewEvent, NewRequest, VersionLookup
    from ...ports import Clock

EVENT_CACHE_SIZE = 100_000


dump_allocations = allocations_json


@functools.lru_cache(maxsize=4096)
def load_allocations(text: str) -> tuple[Allocation, ...]:
    return tuple(Allocation(int(a["version"]), float(a["weight"])) for a in json.loads(text))


def _micros(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def _opt_micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


def model_id(tx: Tx, model: str) -> int:
    found = tx.scalar(Q.MODEL_ID, name=model)
    if found is None:
        raise NotFound(model_not_found(model))
    return int(found)


def any_model_id(tx: Tx, model: str) -> int:
    """The model's id, a deleted model's too (to read its records back)."""
    found = tx.scalar(Q.MODEL_ID_ANY, name=model)
    if found is None:
        raise NotFound(model_not_found(model))
    return int(found)


def named_allocations(tx: Tx, model_id: int) -> Iterator[tuple[Allocation, ...]]:
    """The allocation of every event and request of the model, read as they are consumed
    (the delete check stops at the first that names its version)."""
    for statement in (Q.EVENT_ALLOCATIONS, Q.REQUEST_ALLOCATIONS):
        for (text,) in tx.all(statement, model_id=model_id):
            yield load_allocations(text)


def _version_lookup(tx: Tx, model_id: int) -> VersionLookup:
    """Whether each version of the model is deleted (None: no such version), read on demand."""

    def deleted(number: int) -> bool | None:
        state = tx.one(Q.VERSION_STATE, model_id=model_id, number=number)
        return None if state is None else state.deleted_at is not None

    return deleted


def known_env_id(tx: Tx, cache: dict[tuple[str, str], int], model: str, env: str) -> int | None:
    """The id of `env` of `model`, or None if it was never used; ids never change once
    assigned, so `cache` keeps the ones found."""
    key = (model, env)
    env_id = cache.get(key)
    if env_id is None:
        env_id = tx.scalar(Q.ENV_ID, model=model, env=env)
        if env_id is not None:
            cache[key] = env_id
    return env_id


class SqlDeployments(SqlAudit):
    """The deployment half of `SqlMetadataStore` (mixed into it)."""

    _raw: RawConnections
    _env_ids: dict[tuple[str, str], int]
    _event_cache: dict[int, DeploymentEvent]
    _observed: Observed

    # -- helpers inside a transaction -------------------------------------------------------

    def _environment(
        self, tx: Tx, model_id: int, env: str, *, actor: str, at: int
    ) -> tuple[int, bool, bool]:
        """(id, protected, requires single sign-on) of an environment, created on first use."""
        row = tx.one(Q.ENVIRONMENT, model_id=model_id, name=env)
        if row is not None:
            return int(row.id), bool(row.protected), bool(row.require_sso)
        env_id = tx.scalar(Q.NEW_ENVIRONMENT, model_id=model_id, name=env, at=at, actor=actor)
        return int(env_id), False, False

    def _env_id(self, tx: Tx, model_id: int, name: str, row: Any, *, actor: str, at: int) -> int:
        """The id of the environment read as `row`, created now if `row` is None: only once
        the rules accepted the change."""
        if row is not None:
            return int(row.id)
        return int(tx.scalar(Q.NEW_ENVIRONMENT, model_id=model_id, name=name, at=at, actor=actor))

    def _last_recorded(self, tx: Tx) -> datetime | None:
        return _micros(tx.scalar(Q.LAST_RECORDED))

    def _env_state(
        self, tx: Tx, change: DeploymentChange, env: Any, *, for_request: bool = False
    ) -> EnvironmentState:
        """What the rules read about the environment (`env`: its row, None if new); its
        newest event only where a request may be opened, which spares a deploy the read."""
        from ...domain.deployment_rules import EnvironmentState, needs_history

        if env is None:
            return EnvironmentState()
        history = [
            _to_event(r, change.model, change.environment)
            for r in (tx.all(Q.ENV_EVENTS, env_id=env.id) if needs_history(change) else ())
        ]
        protected = bool(env.protected)
        latest = tx.scalar(Q.LAST_ENV_EVENT, env_id=env.id) if for_request or protected else None
        return EnvironmentState(
            protected, history, latest_event_id=latest, require_sso=bool(env.require_sso)
        )

    def _apply(
        self, tx: Tx, change: DeploymentChange, clock: Clock
    ) -> DeploymentEvent | DeploymentRequest:
        """Decide `change` by the rules and store what they decide, inside `tx`."""
        from ...domain.deployment_rules import NewRequest, decide_deployment

        mid = model_id(tx, change.model)
        env = tx.one(Q.ENVIRONMENT, model_id=mid, name=change.environment)
        decided = decide_deployment(
            change,
            self._env_state(tx, change, env),
            _version_lookup(tx, mid),
            now=clock.now(),
            last_recorded=self._last_recorded(tx),
        )
        if isinstance(decided, NewRequest):
            return self._write_request(tx, mid, env, decided)
        return self._write_event(tx, mid, env, decided)

    def _write_event(self, tx: Tx, mid: int, env: Any, new: NewEvent) -> DeploymentEvent:
        """Store an event the rules accepted, with its audit entry (`env`: its environment's
        row, None to create the environment now)."""
        recorded = to_micros(new.recorded_at)
        env_id = self._env_id(tx, mid, new.environment, env, actor=new.actor, at=recorded)
        event_id = tx.scalar(
            Q.NEW_EVENT,
            model_id=mid,
            env_id=env_id,
            kind=new.kind,
            versions=dump_allocations(new.versions),
            effective_at=to_micros(new.effective_at),
            recorded_at=recorded,
            actor=new.actor,
            reason=new.reason,
            request_id=new.request_id,
            approved_by=new.approved_by,
            approved_at=recorded if new.approved_by is not None else None,
            unknown_from=_opt_micros(new.unknown_from),
            earliest_at=_opt_micros(new.earliest_at),
            actor_auth=auth_text(new.actor_auth),
            approved_auth=auth_text(new.approved_auth),
        )
        event = new.numbered(int(event_id))
        self._audit(
            tx,
            "deployment.recorded",
            f"model:{new.model}",
            actor=new.approved_by or new.actor,
            at=event.recorded_at,
            change=event.to_dict(),
        )
        return event

    def _write_request(self, tx: Tx, mid: int, env: Any, new: NewRequest) -> DeploymentRequest:
        """Store a request the rules opened, with its audit entry (`env` as `_write_event`)."""
        at = to_micros(new.requested_at)
        env_id = self._env_id(tx, mid, new.environment, env, actor=new.requested_by, at=at)
        request_id = tx.scalar(
            Q.NEW_REQUEST,
            base_event_id=new.base_event_id,
            model_id=mid,
            env_id=env_id,
            kind=new.kind,
            versions=dump_allocations(new.versions),
            effective_at=None if new.effective_at is None else to_micros(new.effective_at),
            actor=new.requested_by,
            at=at,
            reason=new.reason,
            auth=auth_text(new.requested_auth),
        )
        request = self._request(tx, int(request_id))
        self._audit(
            tx,
            "deployment.requested",
            f"model:{new.model}",
            actor=new.requested_by,
            at=request.requested_at,
            change=request.to_dict(),
        )
        return request

    # -- writes -----------------------------------------------------------------------------

    def apply_deployment(
        self, change: DeploymentChange, *, clock: Clock
    ) -> DeploymentEvent | DeploymentRequest:
        with self._raw.write() as tx:
            return self._apply(tx, change, clock)

    def import_deployments(self, changes: Sequence[DeploymentChange], *, clock: Clock) -> int:
        """Record many deploys/undeploys in one transaction, checks batched (imported history)."""
        from ...domain.deployment_rules import decide_import

        with self._raw.write() as tx:
            model_ids: dict[str, int] = {}
            envs: dict[tuple[str, str], Any] = {}  # (model, env) -> its row, None if new

            def mid_of(model: str) -> int:
                mid = model_ids.get(model)
                if mid is None:
                    mid = model_ids[model] = model_id(tx, model)
                return mid

            def protected(model: str, env: str) -> bool:
                key = (model, env)
                if key not in envs:
                    envs[key] = tx.one(Q.ENVIRONMENT, model_id=mid_of(model), name=env)
                return envs[key] is not None and bool(envs[key].protected)

            def deleted(model: str, number: int) -> bool | None:
                return _version_lookup(tx, mid_of(model))(number)

            plan = decide_import(
                changes,
                protected,
                deleted,
                now=clock.now(),
                last_recorded=self._last_recorded(tx),
            )
            if not plan:
                return 0
            first = to_micros(plan.recorded_from)
            env_ids: dict[tuple[str, str], int] = {}
            rows: list[dict[str, Any]] = []
            portable: list[tuple[Any, ...]] = []
            recorded = first
            for change, effective_at in zip(plan.changes, plan.effective_at, strict=True):
                key = (change.model, change.environment)
                env_id = env_ids.get(key)
                if env_id is None:
                    mid = model_ids[change.model]
                    env_id = self._env_id(
                        tx, mid, change.environment, envs[key], actor=change.actor, at=first
                    )
                    env_ids[key] = env_id
                versions_text = dump_allocations(change.versions or ())
                effective = to_micros(effective_at)
                unknown_from = _opt_micros(change.unknown_from)
                earliest_at = _opt_micros(change.earliest_at)
                rows.append(
                    {
                        "model_id": model_ids[change.model],
                        "env_id": env_id,
                        "kind": change.kind,
                        "versions": versions_text,
                        "effective_at": effective,
                        "recorded_at": recorded,
                        "actor": change.actor,
                        "reason": change.reason,
                        "request_id": None,
                        "approved_by": None,
                        "approved_at": None,
                        "unknown_from": unknown_from,
                        "earliest_at": earliest_at,
                    }
                )
                portable.append(
                    import_row(
                        change.model,
                        change.environment,
                        change.kind,
                        versions_text,
                        effective,
                        recorded,
                        change.actor,
                        change.reason,
                        unknown_from,
                        earliest_at,
                    )
                )
                recorded += 1  # the plan's recording times are a microsecond apart
            tx.executemany(Q.NEW_EVENT_BULK, rows)
            change_doc = import_batch_change(portable)
            self._audit(
                tx,
                "deployment.imported",
                "models:" + ",".join(change_doc["models"]),
                actor=changes[0].actor,
                at=from_micros(recorded - 1),
                change=change_doc,
            )
            return len(rows)

    def protect(
        self,
        model: str,
        env: str,
        *,
        actor: str,
        clock: Clock,
        require_sso: bool = False,
        auth: Authentication | None = None,
    ) -> Environment:
        from ...domain.deployment_rules import protection

        with self._raw.write() as tx:
            mid = model_id(tx, model)
            now = clock.now()
            env_id, protected, sso = self._environment(tx, mid, env, actor=actor, at=to_micros(now))
            change = protection(
                protected,
                actor=actor,
                at=now,
                require_sso=require_sso,
                sso_already=sso,
                auth=auth,
            )
            if change is not None:
                tx.execute(Q.SET_PROTECTED, env_id=env_id, flag=True, sso=sso or require_sso)
                tx.execute(
                    Q.ENVIRONMENT_EVENT,
                    env_id=env_id,
                    kind=change.kind,
                    actor=change.actor,
                    at=to_micros(change.at),
                    request_id=change.request_id,
                    reason=change.reason,
                    auth=auth_text(change.actor_auth),
                )
                self._audit(
                    tx,
                    "environment.protected",
                    f"model:{model}",
                    actor=actor,
                    at=change.at,
                    change=protection_change(model, env, change),
                )
        return self.environment(model, env)

    def request_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentRequest:
        from ...domain.deployment_rules import open_request

        with self._raw.write() as tx:
            mid = model_id(tx, change.model)
            now = clock.now()
            env = tx.one(Q.ENVIRONMENT, model_id=mid, name=change.environment)
            new = open_request(
                change,
                self._env_state(tx, change, env, for_request=True),
                _version_lookup(tx, mid),
                now=now,
            )
            return self._write_request(tx, mid, env, new)

    def decide_request(
        self,
        request_id: int,
        *,
        approve: bool,
        actor: str,
        reason: str | None,
        clock: Clock,
        auth: Authentication | None = None,
    ) -> DeploymentRequest:
        from ...domain.deployment_rules import request_decision

        with self._raw.write() as tx:
            request = self._request(tx, request_id)
            now = clock.now()
            event_id = None
            mid = model_id(tx, request.model)
            env_id, _, sso = self._environment(
                tx, mid, request.environment, actor=actor, at=to_micros(now)
            )
            decision = request_decision(
                request,
                approve=approve,
                actor=actor,
                latest_event_id=tx.scalar(Q.LAST_ENV_EVENT, env_id=env_id),
                now=now,
                auth=auth,
                require_sso=sso,
            )
            lifted = decision.unprotected
            if lifted is not None:
                tx.execute(Q.SET_PROTECTED, env_id=env_id, flag=False, sso=False)
                tx.execute(
                    Q.ENVIRONMENT_EVENT,
                    env_id=env_id,
                    kind=lifted.kind,
                    actor=lifted.actor,
                    at=to_micros(lifted.at),
                    request_id=lifted.request_id,
                    reason=lifted.reason,
                    auth=auth_text(lifted.actor_auth),
                )
            elif decision.change is not None:
                event = self._apply(tx, decision.change, clock)
                assert isinstance(event, DeploymentEvent)  # approved: carried out, not requested
                event_id = event.event_id
                now = event.recorded_at  # the approval and the event share one instant
            tx.execute(
                Q.NEW_DECISION,
                request_id=request_id,
                decision=decision.status,
                actor=actor,
                at=to_micros(now),
                reason=reason,
                event_id=event_id,
                auth=auth_text(auth),
            )
            decided = self._request(tx, request_id)
            self._audit(
                tx,
                "request.approved" if approve else "request.rejected",
                f"model:{request.model}",
                actor=actor,
                at=now,
                change=decision_change(request, reason, event_id, auth),
            )
            return decided

    # -- reads ------------------------------------------------------------------------------

    def _request(self, tx: Tx, request_id: int) -> DeploymentRequest:
        row = tx.one(Q.REQUEST, request_id=request_id)
        if row is None:
            raise NotFound(request_not_found(request_id))
        return _to_request(row)

    def get_request(self, request_id: int) -> DeploymentRequest:
        return self._request(self._raw.reader(), request_id)

    def list_requests(
        self, model: str | None = None, status: str | None = None
    ) -> list[DeploymentRequest]:
        tx = self._raw.reader()
        if model is None:
            rows = tx.all(Q.REQUESTS)
        else:
            rows = tx.all(Q.MODEL_REQUESTS, model_id=model_id(tx, model))
        found = [_to_request(r) for r in rows]
        return [r for r in found if status is None or r.status == status]

    def environment(self, model: str, env: str) -> Environment:
        tx = self._raw.reader()
        row = tx.one(Q.MODEL_ENVIRONMENT, model_id=model_id(tx, model), name=env)
        if row is None:
            raise NotFound(environment_not_found(model, env))
        return _to_environment(tx, model, row)

    def environments(self, model: str) -> list[Environment]:
        tx = self._raw.reader()
        rows = tx.all(Q.MODEL_ENVIRONMENTS, model_id=model_id(tx, model))
        return [_to_environment(tx, model, r) for r in rows]

    def deployment_events(self, model: str, env: str | None = None) -> list[DeploymentEvent]:
        tx = self._raw.reader()
        rows = tx.all(Q.MODEL_EVENTS, model_id=model_id(tx, model))
        return [_to_event(r, model, r.env_name) for r in rows if env is None or r.env_name == env]

    def _may_be_observed(self, tx: Tx, env_id: int) -> bool:
        """Whether, in the snapshot the statement just run on `tx` read (SQLite), environment
        `env_id` may have an observation. Most never do, and then the event in force is the
        whole answer: `live` is one index seek, not two. What environments have one is read
        again whenever the database changed since it was read (SQLite's data version, checked
        after the statement: equal versions mean the same snapshot); until then it is known."""
        memo = self._observed
        version = self._raw.data_version()
        if memo.version != version or memo.conn is not self._raw.connection():
            memo.envs = frozenset(r[0] for r in tx.tuples(Q.OBSERVED_ENVS))
            memo.version, memo.conn = self._raw.data_version(), self._raw.connection()
            if memo.version != version:
                return True  # changed meanwhile: ask the whole question
        return env_id in memo.envs

    def live(
        self, model: str, env: str, at: datetime, as_known_at: datetime | None = None
    ) -> DeploymentEvent | None:
        """As `domain.deployments.live_event` (one statement asks it: see `Q.LIVE`)."""
        tx = self._raw.reader()
        env_id = known_env_id(tx, self._env_ids, model, env)
        if env_id is None:
            model_id(tx, model)  # NotFound for an unknown model
            raise unknown_environment(model, env, [e.name for e in self.environments(model)])
        params = {"env_id": env_id, "at": to_micros(at)}
        if as_known_at is None:
            full, in_force = Q.LIVE, Q.LIVE_IN_FORCE
        else:
            params["known"] = to_micros(as_known_at)
            full, in_force = Q.LIVE_KNOWN, Q.LIVE_KNOWN_IN_FORCE
        if self._raw.data_version() is None:
            event_id = tx.scalar(full, **params)
        else:
            event_id = tx.scalar(in_force, **params)
            if self._may_be_observed(tx, env_id):
                event_id = tx.scalar(full, **params)
        if event_id is None:
            return None
        event = self._event_cache.get(event_id)
        if event is None:
            event = _to_event(tx.one(Q.EVENT, event_id=event_id), model, env)
            if len(self._event_cache) >= EVENT_CACHE_SIZE:
                self._event_cache.clear()
            self._event_cache[event_id] = event  # events are immutable, but for the name
        elif event.model != model:  # its model renamed (by another process) since
            event = dataclasses.replace(event, model=model)
        return event


class Observed(threading.local):
    """Per thread (so per connection): the environments with an observation, and the data
    version of the snapshot they were read in."""

    conn: Any = None
    version: int | None = None
    envs: frozenset[int] = frozenset()


def _to_request(r: Any) -> DeploymentRequest:
    return DeploymentRequest(
        request_id=r.id,
        model=r.model_name,
        environment=r.env_name,
        kind=r.kind,
        versions=load_allocations(r.versions),
        effective_at=_micros(r.effective_at),
        requested_by=r.requested_by,
        requested_at=from_micros(r.requested_at),
        reason=r.reason,
        status=r.decision or "pending",
        decided_by=r.decided_by,
        decided_at=_micros(r.decided_at),
        decision_reason=r.decision_reason,
        event_id=r.event_id,
        base_event_id=r.base_event_id,
        requested_auth=auth_from_text(r.requested_auth),
        decided_auth=auth_from_text(r.decided_auth),
    )


def _to_event(row: Any, model: str, env: str) -> DeploymentEvent:
    return DeploymentEvent(
        event_id=row.id,
        model=model,
        environment=env,
        kind=row.kind,
        versions=load_allocations(row.versions),
        effective_at=from_micros(row.effective_at),
        recorded_at=from_micros(row.recorded_at),
        actor=row.actor,
        reason=row.reason,
        request_id=row.request_id,
        approved_by=row.approved_by,
        approved_at=_micros(row.approved_at),
        unknown_from=_micros(row.unknown_from),
        earliest_at=_micros(row.earliest_at),
        actor_auth=auth_from_text(row.actor_auth),
        approved_auth=auth_from_text(row.approved_auth),
    )


def _to_environment(tx: Tx, model: str, row: Any) -> Environment:
    """An environment's row, with its protection changes read beside it."""
    return Environment(
        model,
        row.name,
        bool(row.protected),
        from_micros(row.created_at),
        row.created_by,
        tuple(
            EnvironmentChange(
                c.kind,
                c.actor,
                from_micros(c.at),
                c.request_id,
                c.reason,
                auth_from_text(c.actor_auth),
            )
            for c in tx.all(Q.ENV_CHANGES, env_id=row.id)
        ),
        bool(row.require_sso),
    )
