"""Deployment history in SQL: environments, bitemporal events, requests and decisions.

The rules that need a transaction (protection, rollback targets, one decision per request,
monotonic recording times) are enforced here, inside the write transaction that records the
change, so concurrent writers cannot slip between a check and a write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...domain.deployments import (
    ROLLBACK,
    UNDEPLOY,
    Allocation,
    Approval,
    DeploymentChange,
    DeploymentEvent,
    DeploymentRequest,
    Environment,
    rollback_target,
)
from ...domain.errors import ApprovalRequired, Conflict, Forbidden, NotFound
from ...domain.times import from_micros, to_micros
from ...ports import Clock
from .tables import (
    deployment_events,
    deployment_requests,
    environment_events,
    environments,
    models,
    request_decisions,
    versions,
)

ONE_MICRO = timedelta(microseconds=1)


def _dump_allocations(allocations: Sequence[Allocation]) -> str:
    return json.dumps(
        [{"version": a.version, "weight": a.weight} for a in allocations], separators=(",", ":")
    )


def _load_allocations(text: str) -> tuple[Allocation, ...]:
    return tuple(Allocation(int(a["version"]), float(a["weight"])) for a in json.loads(text))


def _micros(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


class SqlDeployments:
    """The deployment half of `SqlMetadataStore` (mixed into it)."""

    engine: sa.Engine
    _env_ids: dict[tuple[str, str], int]

    def _writing(self) -> AbstractContextManager[sa.Connection]:  # provided by the store
        raise NotImplementedError

    def _model_id(self, conn: sa.Connection, model: str) -> int:  # provided by the store
        raise NotImplementedError

    # -- helpers inside a transaction -------------------------------------------------------

    def _environment(
        self, conn: sa.Connection, model_id: int, env: str, *, actor: str | None, at: int
    ) -> tuple[int, bool]:
        """(id, protected) of an environment, created on first use when `actor` is given."""
        row = conn.execute(
            sa.select(environments.c.id, environments.c.protected).where(
                environments.c.model_id == model_id, environments.c.name == env
            )
        ).first()
        if row is not None:
            return int(row[0]), bool(row[1])
        if actor is None:
            raise NotFound(f"environment {env!r} not found")
        env_id = conn.execute(
            sa.insert(environments)
            .values(model_id=model_id, name=env, protected=False, created_at=at, created_by=actor)
            .returning(environments.c.id)
        ).scalar_one()
        return int(env_id), False

    def _recorded_at(self, conn: sa.Connection, clock: Clock) -> int:
        """Now, but strictly after every recording so far: recording order is time order."""
        now = to_micros(clock.now())
        last = conn.execute(sa.select(sa.func.max(deployment_events.c.recorded_at))).scalar()
        return now if last is None or now > last else int(last) + 1

    def _check_versions(
        self, conn: sa.Connection, model: str, model_id: int, allocations: Sequence[Allocation]
    ) -> None:
        wanted = [a.version for a in allocations]
        if not wanted:
            return
        rows = dict(
            conn.execute(
                sa.select(versions.c.number, versions.c.deleted_at).where(
                    versions.c.model_id == model_id, versions.c.number.in_(wanted)
                )
            ).all()
        )
        for number in wanted:
            if number not in rows:
                raise NotFound(f"version {model}@{number} not found")
            if rows[number] is not None:
                raise Conflict(f"version {model}@{number} is deleted and cannot be deployed")

    def _env_events(self, conn: sa.Connection, env_id: int, model: str, env: str) -> list[Any]:
        rows = conn.execute(
            sa.select(deployment_events)
            .where(deployment_events.c.environment_id == env_id)
            .order_by(deployment_events.c.id)
        ).all()
        return [_to_event(r, model, env) for r in rows]

    def _target(
        self, conn: sa.Connection, change: DeploymentChange, env_id: int, at: int
    ) -> tuple[Allocation, ...]:
        if change.kind == ROLLBACK and change.versions is None:
            events = self._env_events(conn, env_id, change.model, change.environment)
            return rollback_target(events, from_micros(at))
        if change.kind == UNDEPLOY:
            return ()
        assert change.versions is not None
        return change.versions

    def _append(
        self, conn: sa.Connection, change: DeploymentChange, clock: Clock
    ) -> DeploymentEvent:
        model_id = self._model_id(conn, change.model)
        recorded = self._recorded_at(conn, clock)
        env_id, protected = self._environment(
            conn, model_id, change.environment, actor=change.actor, at=recorded
        )
        if protected and change.approval is None:
            raise ApprovalRequired(
                f"environment {change.environment!r} of {change.model} is protected: "
                "the change needs approval by a second identity"
            )
        effective = recorded if change.effective_at is None else to_micros(change.effective_at)
        allocations = self._target(conn, change, env_id, min(effective, recorded))
        self._check_versions(conn, change.model, model_id, allocations)
        approval = change.approval
        event_id = conn.execute(
            sa.insert(deployment_events)
            .values(
                model_id=model_id,
                environment_id=env_id,
                kind=change.kind,
                versions=_dump_allocations(allocations),
                effective_at=effective,
                recorded_at=recorded,
                actor=change.actor,
                reason=change.reason,
                request_id=approval.request_id if approval else None,
                approved_by=approval.approved_by if approval else None,
                approved_at=recorded if approval else None,
            )
            .returning(deployment_events.c.id)
        ).scalar_one()
        return DeploymentEvent(
            event_id=int(event_id),
            model=change.model,
            environment=change.environment,
            kind=change.kind,
            versions=allocations,
            effective_at=from_micros(effective),
            recorded_at=from_micros(recorded),
            actor=change.actor,
            reason=change.reason,
            request_id=approval.request_id if approval else None,
            approved_by=approval.approved_by if approval else None,
            approved_at=from_micros(recorded) if approval else None,
        )

    # -- writes -----------------------------------------------------------------------------

    def record_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentEvent:
        with self._writing() as conn:
            return self._append(conn, change, clock)

    def import_deployments(
        self, changes: Sequence[DeploymentChange], *, clock: Clock
    ) -> list[DeploymentEvent]:
        """Record many changes in one transaction (for imported history)."""
        with self._writing() as conn:
            return [self._append(conn, change, clock) for change in changes]

    def protect(self, model: str, env: str, *, actor: str, clock: Clock) -> Environment:
        with self._writing() as conn:
            model_id = self._model_id(conn, model)
            at = to_micros(clock.now())
            env_id, protected = self._environment(conn, model_id, env, actor=actor, at=at)
            if not protected:
                conn.execute(
                    sa.update(environments)
                    .where(environments.c.id == env_id)
                    .values(protected=True)
                )
                conn.execute(
                    sa.insert(environment_events).values(
                        environment_id=env_id, kind="protected", actor=actor, at=at
                    )
                )
        return self.environment(model, env)

    def request_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentRequest:
        with self._writing() as conn:
            model_id = self._model_id(conn, change.model)
            now = to_micros(clock.now())
            env_id, _ = self._environment(
                conn, model_id, change.environment, actor=change.actor, at=now
            )
            if change.kind == "unprotect":
                allocations: tuple[Allocation, ...] = ()
            else:
                allocations = self._target(conn, change, env_id, now)
                self._check_versions(conn, change.model, model_id, allocations)
            request_id = conn.execute(
                sa.insert(deployment_requests)
                .values(
                    model_id=model_id,
                    environment_id=env_id,
                    kind=change.kind,
                    versions=_dump_allocations(allocations),
                    effective_at=None
                    if change.effective_at is None
                    else to_micros(change.effective_at),
                    requested_by=change.actor,
                    requested_at=now,
                    reason=change.reason,
                )
                .returning(deployment_requests.c.id)
            ).scalar_one()
        return self.get_request(int(request_id))

    def decide_request(
        self,
        request_id: int,
        *,
        approve: bool,
        actor: str,
        reason: str | None,
        clock: Clock,
    ) -> DeploymentRequest:
        with self._writing() as conn:
            request = self._request(conn, request_id)
            if request.status != "pending":
                raise Conflict(f"request {request_id} is already {request.status}")
            if actor == request.requested_by:
                raise Forbidden(
                    f"{actor} requested change {request_id} and cannot also "
                    f"{'approve' if approve else 'reject'} it: a second identity must decide"
                )
            now = clock.now()
            event_id = None
            if approve and request.kind == "unprotect":
                env_id = self._request_env_id(conn, request_id)
                conn.execute(
                    sa.update(environments)
                    .where(environments.c.id == env_id)
                    .values(protected=False)
                )
                conn.execute(
                    sa.insert(environment_events).values(
                        environment_id=env_id,
                        kind="unprotected",
                        actor=actor,
                        at=to_micros(now),
                        request_id=request_id,
                        reason=request.reason,
                    )
                )
            elif approve:
                effective = request.effective_at
                if effective is not None and request.requested_at <= effective < now:
                    effective = None  # a schedule that passed while waiting starts now
                event = self._append(
                    conn,
                    DeploymentChange(
                        model=request.model,
                        environment=request.environment,
                        kind=request.kind,
                        versions=request.versions,
                        actor=request.requested_by,
                        reason=request.reason,
                        effective_at=effective,
                        approval=Approval(request_id, actor),
                    ),
                    clock,
                )
                event_id = event.event_id
            conn.execute(
                sa.insert(request_decisions).values(
                    request_id=request_id,
                    decision="approved" if approve else "rejected",
                    decided_by=actor,
                    decided_at=to_micros(now),
                    reason=reason,
                    event_id=event_id,
                )
            )
        return self.get_request(request_id)

    # -- reads ------------------------------------------------------------------------------

    def _request_env_id(self, conn: sa.Connection, request_id: int) -> int:
        return int(
            conn.execute(
                sa.select(deployment_requests.c.environment_id).where(
                    deployment_requests.c.id == request_id
                )
            ).scalar_one()
        )

    def _requests(self, conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[Any]:
        rows = conn.execute(
            sa.select(
                deployment_requests,
                models.c.name.label("model_name"),
                environments.c.name.label("env_name"),
                request_decisions.c.decision,
                request_decisions.c.decided_by,
                request_decisions.c.decided_at,
                request_decisions.c.reason.label("decision_reason"),
                request_decisions.c.event_id,
            )
            .join(models, models.c.id == deployment_requests.c.model_id)
            .join(environments, environments.c.id == deployment_requests.c.environment_id)
            .outerjoin(
                request_decisions, request_decisions.c.request_id == deployment_requests.c.id
            )
            .where(where)
            .order_by(deployment_requests.c.id)
        ).all()
        return [
            DeploymentRequest(
                request_id=r.id,
                model=r.model_name,
                environment=r.env_name,
                kind=r.kind,
                versions=_load_allocations(r.versions),
                effective_at=_micros(r.effective_at),
                requested_by=r.requested_by,
                requested_at=from_micros(r.requested_at),
                reason=r.reason,
                status=r.decision or "pending",
                decided_by=r.decided_by,
                decided_at=_micros(r.decided_at),
                decision_reason=r.decision_reason,
                event_id=r.event_id,
            )
            for r in rows
        ]

    def _request(self, conn: sa.Connection, request_id: int) -> DeploymentRequest:
        found = self._requests(conn, deployment_requests.c.id == request_id)
        if not found:
            raise NotFound(f"request {request_id} not found")
        return found[0]  # type: ignore[no-any-return]

    def get_request(self, request_id: int) -> DeploymentRequest:
        with self.engine.connect() as conn:
            return self._request(conn, request_id)

    def list_requests(
        self, model: str | None = None, status: str | None = None
    ) -> list[DeploymentRequest]:
        with self.engine.connect() as conn:
            where: sa.ColumnElement[bool] = sa.true()
            if model is not None:
                self._model_id(conn, model)
                where = models.c.name == model
            found = self._requests(conn, where)
        return [r for r in found if status is None or r.status == status]

    def environment(self, model: str, env: str) -> Environment:
        found = [e for e in self.environments(model) if e.name == env]
        if not found:
            raise NotFound(f"environment {env!r} of {model} not found")
        return found[0]

    def environments(self, model: str) -> list[Environment]:
        with self.engine.connect() as conn:
            model_id = self._model_id(conn, model)
            rows = conn.execute(
                sa.select(environments)
                .where(environments.c.model_id == model_id)
                .order_by(environments.c.name)
            ).all()
        return [
            Environment(model, r.name, bool(r.protected), from_micros(r.created_at), r.created_by)
            for r in rows
        ]

    def deployment_events(self, model: str, env: str | None = None) -> list[DeploymentEvent]:
        with self.engine.connect() as conn:
            model_id = self._model_id(conn, model)
            query = (
                sa.select(deployment_events, environments.c.name.label("env_name"))
                .join(environments, environments.c.id == deployment_events.c.environment_id)
                .where(deployment_events.c.model_id == model_id)
                .order_by(deployment_events.c.id)
            )
            if env is not None:
                query = query.where(environments.c.name == env)
            rows = conn.execute(query).all()
        return [_to_event(r, model, r.env_name) for r in rows]

    def _env_id(self, conn: sa.Connection, model: str, env: str) -> int | None:
        key = (model, env)
        cached = self._env_ids.get(key)
        if cached is not None:
            return cached
        row = conn.execute(
            sa.select(environments.c.id)
            .join(models, models.c.id == environments.c.model_id)
            .where(models.c.name == model, environments.c.name == env)
        ).scalar()
        if row is None:
            self._model_id(conn, model)
            return None
        self._env_ids[key] = int(row)  # ids never change once assigned
        return int(row)

    def live(
        self, model: str, env: str, at: datetime, as_known_at: datetime | None = None
    ) -> DeploymentEvent | None:
        with self.engine.connect() as conn:
            env_id = self._env_id(conn, model, env)
            if env_id is None:
                return None
            query = (
                sa.select(deployment_events)
                .where(
                    deployment_events.c.environment_id == env_id,
                    deployment_events.c.effective_at <= to_micros(at),
                )
                .order_by(deployment_events.c.effective_at.desc(), deployment_events.c.id.desc())
                .limit(1)
            )
            if as_known_at is not None:
                query = query.where(deployment_events.c.recorded_at <= to_micros(as_known_at))
            row = conn.execute(query).first()
        return None if row is None else _to_event(row, model, env)

    def ever_deployed(self, conn: sa.Connection, model_id: int, version: int) -> bool:
        """Whether any event or request of the model names `version` (checked on delete)."""
        for table in (deployment_events, deployment_requests):
            for (text,) in conn.execute(
                sa.select(table.c.versions).where(table.c.model_id == model_id)
            ):
                if any(a.version == version for a in _load_allocations(text)):
                    return True
        return False


def _to_event(row: Any, model: str, env: str) -> DeploymentEvent:
    return DeploymentEvent(
        event_id=row.id,
        model=model,
        environment=env,
        kind=row.kind,
        versions=_load_allocations(row.versions),
        effective_at=from_micros(row.effective_at),
        recorded_at=from_micros(row.recorded_at),
        actor=row.actor,
        reason=row.reason,
        request_id=row.request_id,
        approved_by=row.approved_by,
        approved_at=_micros(row.approved_at),
    )
