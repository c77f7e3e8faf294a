"""Deployment history in memory: environments, events, approval requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ...domain.audit import (
    decision_change,
    event_import_row,
    import_batch_change,
    protection_change,
)
from ...domain.deployment_rules import (
    REQUIRE_SSO,
    EnvironmentState,
    NewEvent,
    NewRequest,
    VersionLookup,
    decide_deployment,
    decide_import,
    open_request,
    protection,
    request_decision,
)
from ...domain.deployments import (
    DeploymentChange,
    DeploymentEvent,
    DeploymentRequest,
    Environment,
    EnvironmentChange,
    live_event,
    unknown_environment,
)
from ...domain.errors import NotFound, environment_not_found, request_not_found
from .versions import MemoryVersions

if TYPE_CHECKING:
    from ...domain.principals import Authentication
    from ...ports import Clock


class MemoryDeployments(MemoryVersions):
    """Environments, deployment events and approval requests in lists."""

    def __init__(self) -> None:
        self._environments: dict[tuple[str, str], Environment] = {}
        self._deployments: list[DeploymentEvent] = []
        self._requests: list[DeploymentRequest] = []

    def _environment(self, model: str, env: str, actor: str, at: datetime) -> Environment:
        self._state(model)
        key = (model, env)
        if key not in self._environments:
            self._environments[key] = Environment(model, env, False, at, actor)
        return self._environments[key]

    def _last_recorded(self) -> datetime | None:
        return max((e.recorded_at for e in self._deployments), default=None)

    def _deleted(self, model: str) -> VersionLookup:
        versions = self._state(model).versions

        def deleted(number: int) -> bool | None:
            found = versions.get(number)
            return None if found is None else found.deleted_at is not None

        return deleted

    def _env_events(self, model: str, env: str) -> list[DeploymentEvent]:
        return [e for e in self._deployments if e.model == model and e.environment == env]

    def _env_state(self, change: DeploymentChange) -> EnvironmentState:
        known = self._environments.get((change.model, change.environment))
        events = self._env_events(change.model, change.environment)
        return EnvironmentState(
            protected=known is not None and known.protected,
            events=events,
            latest_event_id=max((e.event_id for e in events), default=None),
            require_sso=known is not None and known.require_sso,
        )

    def _append(self, new: NewEvent) -> DeploymentEvent:
        # The environment is created only once the rules accepted the change.
        self._environment(new.model, new.environment, new.actor, new.recorded_at)
        event = new.numbered(len(self._deployments) + 1)
        self._deployments.append(event)
        return event

    def _record_event(self, new: NewEvent) -> DeploymentEvent:
        """Store an event the rules accepted, with its audit entry."""
        event = self._append(new)
        self._audit(
            "deployment.recorded",
            f"model:{new.model}",
            actor=new.approved_by or new.actor,
            at=event.recorded_at,
            change=event.to_dict(),
        )
        return event

    def _open_request(self, new: NewRequest) -> DeploymentRequest:
        """Store a request the rules opened, with its audit entry."""
        self._environment(new.model, new.environment, new.requested_by, new.requested_at)
        request = new.numbered(len(self._requests) + 1)
        self._requests.append(request)
        self._audit(
            "deployment.requested",
            f"model:{new.model}",
            actor=new.requested_by,
            at=request.requested_at,
            change=request.to_dict(),
        )
        return request

    def _apply(self, change: DeploymentChange, clock: Clock) -> DeploymentEvent | DeploymentRequest:
        """Decide `change` by the rules and store what they decide (the lock held)."""
        decided = decide_deployment(
            change,
            self._env_state(change),
            self._deleted(change.model),
            now=clock.now(),
            last_recorded=self._last_recorded(),
        )
        if isinstance(decided, NewRequest):
            return self._open_request(decided)
        return self._record_event(decided)

    def apply_deployment(
        self, change: DeploymentChange, *, clock: Clock
    ) -> DeploymentEvent | DeploymentRequest:
        with self._lock:
            return self._apply(change, clock)

    def import_deployments(self, changes: Sequence[DeploymentChange], *, clock: Clock) -> int:
        def protected(model: str, env: str) -> bool:
            self._state(model)
            known = self._environments.get((model, env))
            return known is not None and known.protected

        with self._lock:
            plan = decide_import(
                changes,
                protected,
                lambda model, number: self._deleted(model)(number),
                now=clock.now(),
                last_recorded=self._last_recorded(),
            )
            events = [self._append(new) for new in plan.events()]
            if events:
                change_doc = import_batch_change([event_import_row(e) for e in events])
                self._audit(
                    "deployment.imported",
                    "models:" + ",".join(change_doc["models"]),
                    actor=changes[0].actor,
                    at=events[-1].recorded_at,
                    change=change_doc,
                )
            return len(events)

    def _set_protected(
        self, model: str, env: str, flag: bool, change: EnvironmentChange
    ) -> Environment:
        environment = self._environments[(model, env)]
        sso = flag and (environment.require_sso or change.kind == REQUIRE_SSO)
        self._environments[(model, env)] = replace(
            environment, protected=flag, require_sso=sso, changes=(*environment.changes, change)
        )
        return self._environments[(model, env)]

    def _latest_event_id(self, model: str, env: str) -> int | None:
        ids = [e.event_id for e in self._env_events(model, env)]
        return max(ids) if ids else None

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
        with self._lock:
            at = clock.now()
            environment = self._environment(model, env, actor, at)
            change = protection(
                environment.protected,
                actor=actor,
                at=at,
                require_sso=require_sso,
                sso_already=environment.require_sso,
                auth=auth,
            )
            if change is None:
                return environment
            self._audit(
                "environment.protected",
                f"model:{model}",
                actor=actor,
                at=at,
                change=protection_change(model, env, change),
            )
            return self._set_protected(model, env, True, change)

    def request_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentRequest:
        with self._lock:
            self._state(change.model)
            return self._open_request(
                open_request(
                    change, self._env_state(change), self._deleted(change.model), now=clock.now()
                )
            )

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
        with self._lock:
            request = self.get_request(request_id)
            now = clock.now()
            known = self._environments.get((request.model, request.environment))
            decision = request_decision(
                request,
                approve=approve,
                actor=actor,
                latest_event_id=self._latest_event_id(request.model, request.environment),
                now=now,
                auth=auth,
                require_sso=known is not None and known.require_sso,
            )
            event_id = None
            if decision.unprotected is not None:
                self._set_protected(request.model, request.environment, False, decision.unprotected)
            elif decision.change is not None:
                event = self._apply(decision.change, clock)
                assert isinstance(event, DeploymentEvent)  # approved: carried out, not requested
                event_id, now = event.event_id, event.recorded_at
            decided = replace(
                request,
                status=decision.status,
                decided_by=actor,
                decided_at=now,
                decision_reason=reason,
                event_id=event_id,
                decided_auth=auth,
            )
            self._requests[request_id - 1] = decided
            self._audit(
                "request.approved" if approve else "request.rejected",
                f"model:{request.model}",
                actor=actor,
                at=now,
                change=decision_change(request, reason, event_id, auth),
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
                raise NotFound(environment_not_found(model, env))
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
