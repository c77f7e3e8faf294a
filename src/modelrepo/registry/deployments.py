"""Deployments: what serves where and since when, and the requests and approvals that protected
environments need, over an embedded store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..api.arguments import optional_time
from ..api.deployments import DeploymentsAPI
from ..domain.deployments import (
    DEPLOY,
    OBSERVE,
    ROLLBACK,
    UNDEPLOY,
    Allocation,
    DeploymentChange,
    DeploymentEvent,
    DeploymentOutcome,
    DeploymentRequest,
    Environment,
    Interval,
    LiveState,
    LiveVersion,
    check_environment_name,
    normalise_split,
    rollback_target,
    timeline,
    unknown_at,
)
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.model import require_reason
from ..domain.names import check_version, parse_ref, validate_model_name
from .attestations import check_signed_for, sign_for_protected
from .core import Core, changes


class Deployments(Core, DeploymentsAPI):
    def resolve(self, ref: str) -> tuple[str, int]:
        parsed = parse_ref(ref)
        if parsed.version is not None:
            return parsed.model, parsed.version
        assert parsed.environment is not None
        state = self.live(parsed.model, env=parsed.environment)
        if state.unknown is not None:  # never now, unless the clock went back: say so
            raise Conflict(
                f"what serves {parsed.model}@{parsed.environment} now is {state.unknown.describe()}"
            )
        if not state.versions:
            raise NotFound(f"nothing is live in {parsed.model}@{parsed.environment}")
        if len(state.versions) > 1:
            shares = ", ".join(f"{v.version} ({v.weight:.0%})" for v in state.versions)
            raise Conflict(
                f"{parsed.model}@{parsed.environment} is split between versions {shares}; "
                "name one version"
            )
        return parsed.model, state.versions[0].version

    def _apply(self, change: DeploymentChange) -> DeploymentOutcome:
        validate_model_name(change.model)
        check_environment_name(change.environment)
        past = change.effective_at is not None and change.effective_at < self.clock.now()
        if past:
            require_reason(
                change.reason, "an effective time in the past records a backfill and needs a reason"
            )
        if change.kind != UNDEPLOY:
            targets = self._targets(change)
            sign_for_protected(self, change.model, change.environment, targets)
            check_signed_for(self, change.model, change.environment, targets)
        result = self.backend.metadata.apply_deployment(change, clock=self.clock)
        if isinstance(result, DeploymentRequest):
            return DeploymentOutcome("pending", request=result)
        status = "scheduled" if result.effective_at > result.recorded_at else "live"
        return DeploymentOutcome(status, event=result)

    def _targets(self, change: DeploymentChange) -> tuple[Allocation, ...]:
        """The versions a change puts live (a rollback's, as the history says now)."""
        if change.versions is not None:
            return change.versions
        events = self.backend.metadata.deployment_events(change.model, change.environment)
        return rollback_target(events, self.clock.now()) if events else ()

    def deploy(
        self,
        name: str,
        version: int,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        return self.deploy_split(
            name, {check_version(version): 1.0}, env=env, reason=reason, effective_at=effective_at
        )

    @changes
    def deploy_split(
        self,
        name: str,
        split: Mapping[int, float],
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        return self._apply(
            DeploymentChange(
                model=name,
                environment=env,
                kind=DEPLOY,
                versions=normalise_split(split),
                actor=self.user,
                actor_auth=self.auth,
                reason=reason,
                effective_at=optional_time(effective_at, "effective time"),
            )
        )

    @changes
    def undeploy(
        self,
        name: str,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        return self._apply(
            DeploymentChange(
                model=name,
                environment=env,
                kind=UNDEPLOY,
                versions=(),
                actor=self.user,
                actor_auth=self.auth,
                reason=reason,
                effective_at=optional_time(effective_at, "effective time"),
            )
        )

    @changes
    def rollback(self, name: str, *, env: str, reason: str | None = None) -> DeploymentOutcome:
        return self._apply(
            DeploymentChange(
                model=name,
                environment=env,
                kind=ROLLBACK,
                versions=None,
                actor=self.user,
                actor_auth=self.auth,
                reason=reason,
            )
        )

    @changes
    def import_deployments(
        self, name: str, records: Iterable[Mapping[str, Any]], *, source: str
    ) -> int:
        validate_model_name(name)
        changes = []
        checked_envs: set[str] = set()
        splits: dict[tuple[tuple[Any, Any], ...], tuple[Allocation, ...]] = {}
        prefix = f"imported from {source}"
        observed = f"{prefix}, which keeps no history"
        for record in records:
            kind = record.get("kind")
            if kind not in (None, OBSERVE):
                raise InvalidInput(
                    f"invalid kind {kind!r} of an imported record: use 'observe', or leave it "
                    "out for a deploy (an undeploy if its versions are empty)"
                )
            split = record.get("versions") or {}
            effective = optional_time(record.get("effective_at"), "effective time")
            if effective is None:
                raise InvalidInput("every imported deployment needs an effective_at")
            env = record.get("environment")
            if env not in checked_envs:
                checked_envs.add(check_environment_name(str(env)))
            allocations: tuple[Allocation, ...] = ()
            if split:
                key = tuple(split.items())
                found = splits.get(key)  # histories repeat the same few splits
                if found is None:
                    found = splits[key] = normalise_split({int(k): v for k, v in key})
                allocations = found
            note = record.get("reason")
            if kind == OBSERVE:
                changes.append(
                    DeploymentChange(
                        name,
                        str(env),
                        OBSERVE,
                        allocations,
                        self.user,
                        f"{observed}: {note}" if note else observed,
                        effective,
                        unknown_from=optional_time(record.get("unknown_from"), "unknown_from"),
                        earliest_at=optional_time(record.get("earliest_at"), "earliest_at"),
                    )
                )
                continue
            if record.get("unknown_from") is not None or record.get("earliest_at") is not None:
                raise InvalidInput(
                    "only an observation (kind 'observe') has an unknown_from or an earliest_at"
                )
            changes.append(
                DeploymentChange(
                    name,
                    str(env),
                    DEPLOY if split else UNDEPLOY,
                    allocations,
                    self.user,
                    f"{prefix}: {note}" if note else prefix,
                    effective,
                )
            )
        return self.backend.metadata.import_deployments(changes, clock=self.clock)

    @changes
    def approve(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        asked = self.request(check_version(request_id))
        if asked.status == "pending" and asked.kind != UNDEPLOY and asked.versions:
            check_signed_for(self, asked.model, asked.environment, asked.versions)
        return self.backend.metadata.decide_request(
            check_version(request_id),
            approve=True,
            actor=self.user,
            reason=reason,
            clock=self.clock,
            auth=self.auth,
        )

    @changes
    def reject(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        return self.backend.metadata.decide_request(
            check_version(request_id),
            approve=False,
            actor=self.user,
            reason=reason,
            clock=self.clock,
            auth=self.auth,
        )

    def requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[DeploymentRequest]:
        if status not in (None, "pending", "approved", "rejected"):
            raise InvalidInput(f"invalid status {status!r}: use pending, approved or rejected")
        if name is not None:
            validate_model_name(name)
        return self.backend.metadata.list_requests(name, status)

    def request(self, request_id: int) -> DeploymentRequest:
        return self.backend.metadata.get_request(check_version(request_id))

    @changes
    def protect(self, name: str, *, env: str, require_sso: bool = False) -> Environment:
        return self.backend.metadata.protect(
            validate_model_name(name),
            check_environment_name(env),
            actor=self.user,
            clock=self.clock,
            require_sso=require_sso,
            auth=self.auth,
        )

    @changes
    def unprotect(self, name: str, *, env: str, reason: str | None = None) -> DeploymentRequest:
        validate_model_name(name)
        if not self.backend.metadata.environment(name, check_environment_name(env)).protected:
            raise Conflict(f"environment {env!r} of {name} is not protected")
        return self.backend.metadata.request_deployment(
            DeploymentChange(name, env, "unprotect", (), self.user, reason, actor_auth=self.auth),
            clock=self.clock,
        )

    def environments(self, name: str) -> list[Environment]:
        return self.backend.metadata.environments(validate_model_name(name))

    def live(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        as_known_at: datetime | str | None = None,
    ) -> LiveState:
        if (name, env) not in self._checked_names:  # the hot path of every audit question
            validate_model_name(name)
            check_environment_name(env)
            self._checked_names.add((name, env))
        when = optional_time(at, "time") or self.clock.now()
        known = optional_time(as_known_at, "as-known-at time")
        event = self.backend.metadata.live(name, env, when, known)
        if event is None:
            return LiveState(name, env, when, known, (), None)
        if event.effective_at > when:  # an observation that leaves `when` unknown
            return LiveState(name, env, when, known, (), event, unknown_at(event, when))
        versions = self._live_versions.get(event.event_id)
        if versions is None:
            digest = self.backend.metadata.digest
            versions = tuple(
                LiveVersion(a.version, a.weight, digest(name, a.version)) for a in event.versions
            )
            if len(self._live_versions) > 100_000:
                self._live_versions.clear()
            self._live_versions[event.event_id] = versions  # events never change
        return LiveState(name, env, when, known, versions, event)

    def history(
        self,
        name: str,
        *,
        env: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> list[DeploymentEvent]:
        start = optional_time(since, "since")
        end = optional_time(until, "until")
        if env is not None:
            check_environment_name(env)
        events = self.backend.metadata.deployment_events(validate_model_name(name), env)
        chosen = [
            e
            for e in events
            if (start is None or e.effective_at >= start) and (end is None or e.effective_at <= end)
        ]
        return sorted(chosen, key=lambda e: e.order)

    def timeline(
        self,
        name: str,
        *,
        env: str | None = None,
        version: int | None = None,
        as_known_at: datetime | str | None = None,
    ) -> list[Interval]:
        if env is not None:
            check_environment_name(env)
        events = self.backend.metadata.deployment_events(validate_model_name(name), env)
        intervals = timeline(events, optional_time(as_known_at, "as-known-at time"))
        if version is not None:
            intervals = [i for i in intervals if any(a.version == version for a in i.versions)]
        return intervals
