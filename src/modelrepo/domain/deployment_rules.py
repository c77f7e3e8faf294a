"""What a deployment change records, decided once for every store.

A store reads what these functions need inside its write transaction (the environment's
protection and history, which versions exist, the last recording time), calls one of them, and
persists the result in the same transaction, so the decision and the write are one step. The
rules: a protected environment takes a change only with an approval, else it becomes a request
for one; an event takes effect when it is recorded unless told otherwise; a rollback restores
the allocation before the current one; a deleted version is never deployed; recording times
strictly increase, so recording order is time order; a version once named by a deployment can
never be deleted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .deployments import (
    OBSERVE,
    ROLLBACK,
    UNDEPLOY,
    Allocation,
    DeploymentChange,
    DeploymentEvent,
    DeploymentRequest,
    EnvironmentChange,
    approved_change,
    change_target,
    check_decidable,
    check_importable,
    check_not_stale,
    check_requester,
)
from .errors import ApprovalRequired, Conflict, InvalidInput, NotFound, version_not_found
from .principals import Authentication
from .times import format_time

UNPROTECT = "unprotect"
"""The kind of a request to lift an environment's protection (it records no event)."""

ONE_MICRO = timedelta(microseconds=1)

VersionLookup = Callable[[int], bool | None]
"""Whether the model's version N is deleted; None when the model has no version N."""


@dataclass(frozen=True, slots=True)
class EnvironmentState:
    """What the rules read about one environment: a new one is unprotected and empty."""

    protected: bool = False
    events: Sequence[DeploymentEvent] = ()
    require_sso: bool = False
    """Its events; read only when `needs_history` says so, which spares a deploy the read."""
    latest_event_id: int | None = None
    """Its newest event: the base a request is checked against when approved."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event the rules accepted, to be stored as it is under the store's next id."""

    model: str
    environment: str
    kind: str
    versions: tuple[Allocation, ...]
    effective_at: datetime
    recorded_at: datetime
    actor: str
    reason: str | None = None
    request_id: int | None = None
    approved_by: str | None = None
    unknown_from: datetime | None = None
    earliest_at: datetime | None = None
    actor_auth: Authentication | None = None
    approved_auth: Authentication | None = None

    @property
    def approved_at(self) -> datetime | None:
        """An approved change is approved at the instant it is recorded."""
        return self.recorded_at if self.approved_by is not None else None

    def numbered(self, event_id: int) -> DeploymentEvent:
        return DeploymentEvent(
            event_id=event_id,
            model=self.model,
            environment=self.environment,
            kind=self.kind,
            versions=self.versions,
            effective_at=self.effective_at,
            recorded_at=self.recorded_at,
            actor=self.actor,
            reason=self.reason,
            request_id=self.request_id,
            approved_by=self.approved_by,
            approved_at=self.approved_at,
            unknown_from=self.unknown_from,
            earliest_at=self.earliest_at,
            actor_auth=self.actor_auth,
            approved_auth=self.approved_auth,
        )


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A request for approval the rules opened, to be stored under the store's next id."""

    model: str
    environment: str
    kind: str
    versions: tuple[Allocation, ...]
    effective_at: datetime | None
    requested_by: str
    requested_at: datetime
    reason: str | None
    base_event_id: int | None
    requested_auth: Authentication | None = None

    def numbered(self, request_id: int) -> DeploymentRequest:
        return DeploymentRequest(
            request_id=request_id,
            model=self.model,
            environment=self.environment,
            kind=self.kind,
            versions=self.versions,
            effective_at=self.effective_at,
            requested_by=self.requested_by,
            requested_at=self.requested_at,
            reason=self.reason,
            base_event_id=self.base_event_id,
            requested_auth=self.requested_auth,
        )


def recording_time(now: datetime, last_recorded: datetime | None) -> datetime:
    """`now`, or just after the last recording if the clock has not passed it: recording
    order is time order even when the clock stands still or steps back."""
    if last_recorded is not None and now <= last_recorded:
        return last_recorded + ONE_MICRO
    return now


def needs_history(change: DeploymentChange) -> bool:
    """Whether deciding `change` reads its environment's events (a rollback computing its
    target, or an undeploy checking something was deployed); a deploy does not."""
    return change.kind == UNDEPLOY or (change.kind == ROLLBACK and change.versions is None)


def approval_required(change: DeploymentChange) -> ApprovalRequired:
    """The refusal of an unapproved change to a protected environment."""
    return ApprovalRequired(
        f"environment {change.environment!r} of {change.model} is protected: "
        "the change needs approval by a second identity"
    )


def check_deployable(model: str, allocations: Iterable[Allocation], deleted: VersionLookup) -> None:
    """Every version an allocation names exists and is not deleted."""
    for allocation in allocations:
        state = deleted(allocation.version)
        if state is None:
            raise NotFound(version_not_found(model, allocation.version))
        if state:
            raise Conflict(
                f"version {model}@{allocation.version} is deleted and cannot be deployed"
            )


def decide_event(
    change: DeploymentChange,
    environment: EnvironmentState,
    deleted: VersionLookup,
    *,
    now: datetime,
    last_recorded: datetime | None,
) -> NewEvent:
    """The event `change` records, or a refusal: ApprovalRequired first (an approval is all
    that would help), then a target that cannot be computed, then a missing or deleted
    version."""
    if environment.protected and change.approval is None:
        raise approval_required(change)
    recorded = recording_time(now, last_recorded)
    effective = recorded if change.effective_at is None else change.effective_at
    allocations = change_target(change, environment.events, min(effective, recorded))
    check_deployable(change.model, allocations, deleted)
    approval = change.approval
    return NewEvent(
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
        actor_auth=change.actor_auth,
        approved_auth=approval.approved_auth if approval else None,
    )


def open_request(
    change: DeploymentChange,
    environment: EnvironmentState,
    deleted: VersionLookup,
    *,
    now: datetime,
) -> NewRequest:
    """The request for approval of `change`, its target computed now (so the approver sees
    what will go live), or a refusal; an unprotect request names no versions."""
    check_requester(change, require_sso=environment.require_sso)
    if change.kind == UNPROTECT:
        allocations: tuple[Allocation, ...] = ()
    else:
        allocations = change_target(change, environment.events, now)
        check_deployable(change.model, allocations, deleted)
    return NewRequest(
        model=change.model,
        environment=change.environment,
        kind=change.kind,
        versions=allocations,
        effective_at=change.effective_at,
        requested_by=change.actor,
        requested_at=now,
        reason=change.reason,
        base_event_id=environment.latest_event_id,
        requested_auth=change.actor_auth,
    )


def decide_deployment(
    change: DeploymentChange,
    environment: EnvironmentState,
    deleted: VersionLookup,
    *,
    now: datetime,
    last_recorded: datetime | None,
) -> NewEvent | NewRequest:
    """What a deploy, undeploy or rollback does: the event to record, or, in a protected
    environment without an approval, the request to open; a refusal raises."""
    if environment.protected and change.approval is None:
        return open_request(change, environment, deleted, now=now)
    return decide_event(change, environment, deleted, now=now, last_recorded=last_recorded)


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """The events an import records, column-wise (an import records up to millions at once,
    and an object per event would cost more than the rules): event i is `changes[i]`, taking
    effect at `effective_at[i]` and recorded at `recorded_from` plus i microseconds."""

    changes: Sequence[DeploymentChange]
    effective_at: list[datetime]
    recorded_from: datetime

    def __len__(self) -> int:
        return len(self.changes)

    def events(self) -> Iterator[NewEvent]:
        """The plan as one `NewEvent` each, for a store that records them one by one."""
        recorded = self.recorded_from
        for change, effective in zip(self.changes, self.effective_at, strict=True):
            yield NewEvent(
                model=change.model,
                environment=change.environment,
                kind=change.kind,
                versions=change.versions or (),
                effective_at=effective,
                recorded_at=recorded,
                actor=change.actor,
                reason=change.reason,
                unknown_from=change.unknown_from,
                earliest_at=change.earliest_at,
            )
            recorded += ONE_MICRO


def decide_import(
    changes: Sequence[DeploymentChange],
    protected: Callable[[str, str], bool],
    deleted: Callable[[str, int], bool | None],
    *,
    now: datetime,
    last_recorded: datetime | None,
) -> ImportPlan:
    """The events imported history records, all or none: plain deploys, undeploys and
    observations (see `check_importable`), as recorded elsewhere (no target is computed),
    never into a protected environment, each recorded a microsecond after the one before
    and, unless told otherwise, taking effect then. `protected(model, env)` is False for an
    environment not created yet; `deleted(model, n)` is as `VersionLookup`."""
    recorded = recording_time(now, last_recorded)
    effective_at: list[datetime] = []
    append = effective_at.append  # an import runs this loop a million times
    # Histories name the same few environments and versions again: each is asked about once.
    open_envs: set[tuple[str, str]] = set()
    checked: set[tuple[str, int]] = set()
    for change in changes:
        check_importable(change)
        model, env = change.model, change.environment
        if (model, env) not in open_envs:
            if protected(model, env):
                raise ApprovalRequired(
                    f"environment {env!r} of {model} is protected: "
                    "history cannot be imported into it"
                )
            open_envs.add((model, env))
        for a in change.versions or ():
            if (model, a.version) not in checked:
                check_deployable(model, (a,), functools.partial(deleted, model))
                checked.add((model, a.version))
        effective = change.effective_at
        if change.kind == OBSERVE and effective is not None and effective > recorded:
            raise InvalidInput(  # so what serves now is never unknown
                f"an observation of {model}@{env} is dated {format_time(effective)}, after "
                f"it is recorded ({format_time(recorded)}): an observation is of the past"
            )
        append(recorded + len(effective_at) * ONE_MICRO if effective is None else effective)
    return ImportPlan(changes, effective_at, recorded)


REQUIRE_SSO = "sso_required"
"""The kind of the environment change that makes it accept only identity-provider users."""


def protection(
    protected: bool,
    *,
    actor: str,
    at: datetime,
    require_sso: bool = False,
    sso_already: bool = False,
    auth: Authentication | None = None,
) -> EnvironmentChange | None:
    """What protecting an environment records: the change, or None if nothing tightens
    (protecting twice records nothing). Requiring single sign-on of an environment already
    protected is a change of its own. Lifting either takes an approved request (which lifts
    both)."""
    if not protected:
        kind = REQUIRE_SSO if require_sso else "protected"
        return EnvironmentChange(kind, actor, at, actor_auth=auth)
    if require_sso and not sso_already:
        return EnvironmentChange(REQUIRE_SSO, actor, at, actor_auth=auth)
    return None


@dataclass(frozen=True, slots=True)
class RequestDecision:
    """What deciding a request does besides recording the decision: for an approval, the
    change to record, or (an approved unprotect) the lifting of protection."""

    approved: bool
    change: DeploymentChange | None = None
    unprotected: EnvironmentChange | None = None

    @property
    def status(self) -> str:
        return "approved" if self.approved else "rejected"


def request_decision(
    request: DeploymentRequest,
    *,
    approve: bool,
    actor: str,
    latest_event_id: int | None,
    now: datetime,
    auth: Authentication | None = None,
    require_sso: bool = False,
) -> RequestDecision:
    """Approve or reject `request` (`latest_event_id`: its environment's newest event now):
    decided once, by another identity than its requester, and an approved rollback only if
    the environment has not changed since it was requested."""
    check_decidable(request, actor, approve, auth, require_sso=require_sso)
    if not approve:
        return RequestDecision(False)
    check_not_stale(request, latest_event_id)
    if request.kind == UNPROTECT:
        lifted = EnvironmentChange(
            "unprotected", actor, now, request.request_id, request.reason, actor_auth=auth
        )
        return RequestDecision(True, unprotected=lifted)
    return RequestDecision(True, change=approved_change(request, actor, now, auth))


def check_deletable(
    model: str, version: int, *, deleted: bool, named: Iterable[Iterable[Allocation]]
) -> None:
    """A version is deleted once, and never if any event or request of the model names it
    (`named`: their allocations), so history always resolves to content."""
    if deleted:
        raise Conflict(f"version {model}@{version} is already deleted")
    if any(a.version == version for allocations in named for a in allocations):
        raise Conflict(f"version {model}@{version} has been deployed and can never be deleted")
