"""Deployment history as a fold over an append-only log of bitemporal events.

Each event carries the full allocation it leaves behind (an empty one for an undeploy), so the
state of an environment at instant T, as known at instant R, is the allocation of the last
event (by effective time, then recording order) with `effective_at <= T` and
`recorded_at <= R`. A backfill (an event whose effective time precedes its recording) changes
answers about the past only for questions asked after it was recorded.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .canonical import canonical_text
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .names import ENVIRONMENT_PATTERN as ENVIRONMENT_PATTERN  # the rule lives in names
from .names import MAX_NUMBER, check_version
from .names import check_environment_name as check_environment_name
from .principals import Authentication, auth_dict, is_service_account, sso_problem, ties
from .times import format_time, parse_time

DEPLOY, UNDEPLOY, ROLLBACK, OBSERVE = "deploy", "undeploy", "rollback", "observe"
KINDS = (DEPLOY, UNDEPLOY, ROLLBACK, OBSERVE)


@dataclass(frozen=True, slots=True)
class Allocation:
    """A version and the share of traffic it serves (weights of an allocation sum to 1)."""

    version: int
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "weight": self.weight}


def _time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


def _allocations(raw: Any) -> tuple[Allocation, ...]:
    return tuple(Allocation(int(a["version"]), float(a["weight"])) for a in raw)


def normalise_split(split: Mapping[int, float]) -> tuple[Allocation, ...]:
    """Validate a traffic split; weights are fractions summing to 1, or percents summing to 100."""
    if len(split) == 1:
        ((version, weight),) = split.items()
        if (
            type(version) is int
            and 1 <= version <= MAX_NUMBER
            and type(weight) in (int, float)
            and weight in (1, 100)
        ):
            return (Allocation(version, 1.0),)
    if not split:
        raise InvalidInput("a split needs at least one version")
    allocations = []
    for version, weight in split.items():
        check_version(version, "version in split")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise InvalidInput(f"weight of version {version} is not a number")
        if not math.isfinite(weight) or weight <= 0:
            raise InvalidInput(f"weight of version {version} must be positive")
        allocations.append((version, float(weight)))
    total = math.fsum(w for _, w in allocations)
    if math.isclose(total, 100.0, abs_tol=1e-6) and total > 1.0 + 1e-6:
        allocations = [(v, w / 100.0) for v, w in allocations]
    elif not math.isclose(total, 1.0, abs_tol=1e-6):
        raise InvalidInput(f"split weights sum to {total:g}; they must sum to 1 (or 100 percent)")
    return tuple(Allocation(v, w) for v, w in sorted(allocations))


@dataclass(frozen=True, slots=True)
class DeploymentEvent:
    """One change of what serves an environment, with both of its times and its provenance."""

    event_id: int
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
    approved_at: datetime | None = None
    unknown_from: datetime | None = None
    """An observation's: what served in (`unknown_from`, `effective_at`) is unknown (None:
    from the beginning of time). None on every other kind."""
    earliest_at: datetime | None = None
    """An observation's bound: the earliest instant its versions could have started serving
    (their creation). Kept as information; None on every other kind."""
    actor_auth: Authentication | None = None
    """How the actor was authenticated (None: recorded before this was kept)."""
    approved_auth: Authentication | None = None
    """How the approver was authenticated."""

    @property
    def backfill(self) -> bool:
        """True when the event took effect before the registry learnt of it."""
        return self.effective_at < self.recorded_at

    @property
    def order(self) -> tuple[datetime, int]:
        """The position in effective history: effective time, then recording order."""
        return (self.effective_at, self.event_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "model": self.model,
            "environment": self.environment,
            "kind": self.kind,
            "versions": [a.to_dict() for a in self.versions],
            "effective_at": format_time(self.effective_at),
            "recorded_at": format_time(self.recorded_at),
            "backfill": self.backfill,
            "actor": self.actor,
            "reason": self.reason,
            "request_id": self.request_id,
            "approved_by": self.approved_by,
            "approved_at": format_time(self.approved_at) if self.approved_at else None,
            "unknown_from": format_time(self.unknown_from) if self.unknown_from else None,
            "earliest_at": format_time(self.earliest_at) if self.earliest_at else None,
            "actor_auth": auth_dict(self.actor_auth),
            "approved_auth": auth_dict(self.approved_auth),
        }

    def covers(self, at: datetime) -> bool:
        """Whether this is an observation that leaves `at` unknown: `at` lies in the open
        interval (`unknown_from`, `effective_at`)."""
        return (
            self.kind == OBSERVE
            and at < self.effective_at
            and (self.unknown_from is None or self.unknown_from < at)
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeploymentEvent:
        """The inverse of `to_dict` (`backfill` is derived from the two times)."""
        return cls(
            event_id=int(raw["event_id"]),
            model=raw["model"],
            environment=raw["environment"],
            kind=raw["kind"],
            versions=_allocations(raw["versions"]),
            effective_at=parse_time(raw["effective_at"]),
            recorded_at=parse_time(raw["recorded_at"]),
            actor=raw["actor"],
            reason=raw.get("reason"),
            request_id=raw.get("request_id"),
            approved_by=raw.get("approved_by"),
            approved_at=_time(raw.get("approved_at")),
            unknown_from=_time(raw.get("unknown_from")),
            earliest_at=_time(raw.get("earliest_at")),
            actor_auth=Authentication.from_dict(raw.get("actor_auth")),
            approved_auth=Authentication.from_dict(raw.get("approved_auth")),
        )


@dataclass(frozen=True, slots=True)
class DeploymentRequest:
    """A change to a protected environment, waiting for a second identity to approve it."""

    request_id: int
    model: str
    environment: str
    kind: str
    versions: tuple[Allocation, ...]
    effective_at: datetime | None
    requested_by: str
    requested_at: datetime
    reason: str | None
    status: str = "pending"  # pending | approved | rejected
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    event_id: int | None = None
    base_event_id: int | None = None  # the environment's latest event when requested
    requested_auth: Authentication | None = None
    decided_auth: Authentication | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "model": self.model,
            "environment": self.environment,
            "kind": self.kind,
            "versions": [a.to_dict() for a in self.versions],
            "effective_at": format_time(self.effective_at) if self.effective_at else None,
            "requested_by": self.requested_by,
            "requested_at": format_time(self.requested_at),
            "reason": self.reason,
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": format_time(self.decided_at) if self.decided_at else None,
            "decision_reason": self.decision_reason,
            "event_id": self.event_id,
            "base_event_id": self.base_event_id,
            "requested_auth": auth_dict(self.requested_auth),
            "decided_auth": auth_dict(self.decided_auth),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeploymentRequest:
        return cls(
            request_id=int(raw["request_id"]),
            model=raw["model"],
            environment=raw["environment"],
            kind=raw["kind"],
            versions=_allocations(raw["versions"]),
            effective_at=_time(raw.get("effective_at")),
            requested_by=raw["requested_by"],
            requested_at=parse_time(raw["requested_at"]),
            reason=raw.get("reason"),
            status=raw["status"],
            decided_by=raw.get("decided_by"),
            decided_at=_time(raw.get("decided_at")),
            decision_reason=raw.get("decision_reason"),
            event_id=raw.get("event_id"),
            base_event_id=raw.get("base_event_id"),
            requested_auth=Authentication.from_dict(raw.get("requested_auth")),
            decided_auth=Authentication.from_dict(raw.get("decided_auth")),
        )


@dataclass(frozen=True, slots=True)
class EnvironmentChange:
    """Protection switched on or off: by whom, when, and through which request."""

    kind: str  # protected | unprotected
    actor: str
    at: datetime
    request_id: int | None = None
    reason: str | None = None
    actor_auth: Authentication | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "actor": self.actor,
            "at": format_time(self.at),
            "request_id": self.request_id,
            "reason": self.reason,
            "actor_auth": auth_dict(self.actor_auth),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EnvironmentChange:
        return cls(
            kind=raw["kind"],
            actor=raw["actor"],
            at=parse_time(raw["at"]),
            request_id=raw.get("request_id"),
            reason=raw.get("reason"),
            actor_auth=Authentication.from_dict(raw.get("actor_auth")),
        )


@dataclass(frozen=True, slots=True)
class Environment:
    """A named place a model serves from (production, staging, ...)."""

    model: str
    name: str
    protected: bool
    created_at: datetime
    created_by: str
    changes: tuple[EnvironmentChange, ...] = ()
    require_sso: bool = False
    """Requests and approvals only from identity-provider users (`protect --require-sso`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "environment": self.name,
            "protected": self.protected,
            "require_sso": self.require_sso,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Environment:
        return cls(
            model=raw["model"],
            name=raw["environment"],
            protected=bool(raw["protected"]),
            created_at=parse_time(raw["created_at"]),
            created_by=raw["created_by"],
            changes=tuple(EnvironmentChange.from_dict(c) for c in raw.get("changes") or ()),
            require_sso=bool(raw.get("require_sso", False)),
        )


@dataclass(frozen=True, slots=True)
class Unknown:
    """Why an instant's answer is unknown: it lies between `since` (None: the beginning of
    time) and `until`, the instant an observation first saw the environment; `earliest_at`
    is that observation's bound (the earliest its versions could have started serving)."""

    since: datetime | None
    until: datetime
    reason: str
    earliest_at: datetime | None = None

    def describe(self) -> str:
        """One line: `unknown before T (why)` or `unknown between S and T (why)`."""
        until = format_time(self.until)
        span = (
            f"before {until}"
            if self.since is None
            else f"between {format_time(self.since)} and {until}"
        )
        return f"unknown {span} ({self.reason})" if self.reason else f"unknown {span}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": format_time(self.since) if self.since else None,
            "until": format_time(self.until),
            "reason": self.reason,
            "earliest_at": format_time(self.earliest_at) if self.earliest_at else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Unknown:
        return cls(
            since=_time(raw.get("since")),
            until=parse_time(raw["until"]),
            reason=raw.get("reason") or "",
            earliest_at=_time(raw.get("earliest_at")),
        )

    @classmethod
    def of(cls, observation: DeploymentEvent) -> Unknown:
        """The unknown stretch an observation leaves before it."""
        return cls(
            observation.unknown_from,
            observation.effective_at,
            observation.reason or "",
            observation.earliest_at,
        )


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of time during which an environment served one allocation, or (`unknown`
    set, no versions, `event` the observation) during which what it served is unknown; an
    unknown stretch from the beginning of time has no `start`."""

    environment: str
    versions: tuple[Allocation, ...]
    start: datetime | None
    end: datetime | None
    event: DeploymentEvent
    unknown: Unknown | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "versions": [a.to_dict() for a in self.versions],
            "from": format_time(self.start) if self.start else None,
            "to": format_time(self.end) if self.end else None,
            "event_id": self.event.event_id,
            "kind": self.event.kind,
            "backfill": self.event.backfill,
            "actor": self.event.actor,
            "approved_by": self.event.approved_by,
            "actor_auth": auth_dict(self.event.actor_auth),
            "approved_auth": auth_dict(self.event.approved_auth),
            "unknown": self.unknown.to_dict() if self.unknown else None,
        }


def known(events: Iterable[DeploymentEvent], as_known_at: datetime | None) -> list[DeploymentEvent]:
    """Events the registry had recorded by `as_known_at`, in effective order."""
    chosen = [e for e in events if as_known_at is None or e.recorded_at <= as_known_at]
    return sorted(chosen, key=lambda e: e.order)


def live_event(
    events: Iterable[DeploymentEvent], at: datetime, as_known_at: datetime | None = None
) -> DeploymentEvent | None:
    """The event that answers "what was live at `at`, as known at `as_known_at`".

    `at` is unknown when an observation known then leaves it unknown (`DeploymentEvent.covers`):
    the answer is that observation (the earliest by effective time, if several), whose
    `effective_at` is after `at` (`unknown_at` tells). Otherwise it is the event in force: the
    latest with `effective_at <= at` (an observation then acts as a deploy of what it saw, or an
    undeploy if it saw nothing). The SQL store asks the same in one statement (`Q.LIVE`)."""
    best: DeploymentEvent | None = None
    covering: DeploymentEvent | None = None
    for event in events:
        if as_known_at is not None and event.recorded_at > as_known_at:
            continue
        if event.effective_at > at:
            if event.covers(at) and (covering is None or event.order < covering.order):
                covering = event
            continue
        if best is None or event.order > best.order:
            best = event
    return covering or best


def unknown_at(event: DeploymentEvent | None, at: datetime) -> Unknown | None:
    """Whether the answer `live_event` gave for `at` is "unknown", and why."""
    if event is None or not event.covers(at):
        return None
    return Unknown.of(event)


def timeline(
    events: Iterable[DeploymentEvent], as_known_at: datetime | None = None
) -> list[Interval]:
    """Intervals per environment, in effective order; empty allocations are gaps, not intervals,
    and a stretch an observation leaves unknown is an interval marked `unknown`."""
    by_env: dict[str, list[DeploymentEvent]] = {}
    for event in known(events, as_known_at):
        by_env.setdefault(event.environment, []).append(event)
    intervals: list[Interval] = []
    for env in sorted(by_env):
        ordered = by_env[env]
        if any(e.kind == OBSERVE for e in ordered):
            intervals.extend(_observed_timeline(env, ordered))
            continue
        current: Interval | None = None
        for i, event in enumerate(ordered):
            end = ordered[i + 1].effective_at if i + 1 < len(ordered) else None
            if current is not None and current.versions == event.versions:
                current = Interval(env, current.versions, current.start, end, current.event)
                intervals[-1] = current
            elif event.versions and (end is None or end > event.effective_at):
                current = Interval(env, event.versions, event.effective_at, end, event)
                intervals.append(current)
            else:
                current = None
    return intervals


def _observed_timeline(env: str, ordered: list[DeploymentEvent]) -> list[Interval]:
    """The timeline of one environment with observations: the answer of `live_event` is
    constant between consecutive instants at which an event takes effect or an unknown stretch
    begins, so each such segment is asked once (inside it) and equal neighbours merge."""
    observations = [e for e in ordered if e.kind == OBSERVE]
    cuts = sorted(
        {e.effective_at for e in ordered}
        | {o.unknown_from for o in observations if o.unknown_from is not None}
    )
    bounds: list[datetime | None] = [None, *cuts]
    intervals: list[Interval] = []
    last_key: object = None
    index = 0  # events with effective_at <= start: ordered[:index]
    for i, start in enumerate(bounds):
        end = cuts[i] if i < len(cuts) else None
        if start is not None:
            while index < len(ordered) and ordered[index].effective_at <= start:
                index += 1
        covering = [
            o
            for o in observations
            if end is not None
            and o.effective_at >= end
            and (o.unknown_from is None or (start is not None and o.unknown_from <= start))
        ]
        if covering:
            first = min(covering, key=lambda o: o.order)
            key: object = ("unknown", first.event_id)
            if key == last_key:
                intervals[-1] = replace(intervals[-1], end=end)
            else:
                intervals.append(Interval(env, (), start, end, first, Unknown.of(first)))
        else:
            event = ordered[index - 1] if index else None
            if event is None or not event.versions:
                last_key = None
                continue
            key = ("live", event.versions)
            if key == last_key:
                intervals[-1] = replace(intervals[-1], end=end)
            else:
                intervals.append(Interval(env, event.versions, start, end, event))
        last_key = key
    return intervals


def rollback_target(events: Sequence[DeploymentEvent], at: datetime) -> tuple[Allocation, ...]:
    """What a rollback at `at` restores: the allocation live before the current one.

    History is replayed as a stack: deploys and undeploys push a state, a rollback pops one,
    so repeated rollbacks walk further back (v3 -> v2 -> v1), and rolling back an undeploy
    restores what it removed.
    """
    stack: list[tuple[Allocation, ...]] = [()]
    for event in sorted(events, key=lambda e: e.order):
        if event.effective_at > at:
            break
        if event.kind == ROLLBACK:
            if len(stack) > 1:
                stack.pop()
            stack[-1] = event.versions  # the recorded allocation is what went live
        elif event.versions != stack[-1]:
            stack.append(event.versions)
    if len(stack) < 3:  # the target would be the empty state before anything was deployed
        raise Conflict("nothing to roll back to: no earlier deployment in this environment")
    return stack[-2]


def change_target(
    change: DeploymentChange, events: Sequence[DeploymentEvent], at: datetime
) -> tuple[Allocation, ...]:
    """What `change` makes live at `at`, given its environment's events so far (the events
    matter only to a rollback or an undeploy). An undeploy needs something deployed there
    before, so a typo in the environment's name is not recorded as a new environment."""
    if change.kind == ROLLBACK and change.versions is None:
        return rollback_target(events, at)
    if change.kind == UNDEPLOY:
        if not any(e.versions and e.effective_at <= at for e in events):
            raise Conflict(f"nothing was ever deployed to {change.model}@{change.environment}")
        return ()
    assert change.versions is not None
    return change.versions


@dataclass(frozen=True, slots=True)
class Approval:
    """The approved request a change carries out."""

    request_id: int
    approved_by: str
    approved_auth: Authentication | None = None


@dataclass(frozen=True, slots=True)
class DeploymentChange:
    """A change to record: `versions` None on a rollback means 'compute the target'."""

    model: str
    environment: str
    kind: str
    versions: tuple[Allocation, ...] | None
    actor: str
    reason: str | None = None
    effective_at: datetime | None = None
    approval: Approval | None = None
    unknown_from: datetime | None = None
    """An observation's start of the unknown stretch before it (see `DeploymentEvent`)."""
    earliest_at: datetime | None = None
    """An observation's bound (see `DeploymentEvent`)."""
    actor_auth: Authentication | None = None
    """How the actor was authenticated."""


@dataclass(frozen=True, slots=True)
class LiveVersion:
    """A version serving in an environment, its traffic share and content digest."""

    version: int
    weight: float
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "weight": self.weight, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class LiveState:
    """The answer to 'what was live in ENV at T (as known at R)', with the event behind it;
    when the answer is unknown, `unknown` says why, `versions` is empty and `event` is the
    observation that leaves T unknown."""

    model: str
    environment: str
    at: datetime
    as_known_at: datetime | None
    versions: tuple[LiveVersion, ...]
    event: DeploymentEvent | None
    unknown: Unknown | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "environment": self.environment,
            "at": format_time(self.at),
            "as_known_at": format_time(self.as_known_at) if self.as_known_at else None,
            "versions": [v.to_dict() for v in self.versions],
            "event_id": self.event.event_id if self.event else None,
            "event": self.event.to_dict() if self.event else None,
            "unknown": self.unknown.to_dict() if self.unknown else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LiveState:
        event = raw.get("event")
        unknown = raw.get("unknown")
        return cls(
            model=raw["model"],
            environment=raw["environment"],
            at=parse_time(raw["at"]),
            as_known_at=_time(raw.get("as_known_at")),
            versions=tuple(
                LiveVersion(int(v["version"]), float(v["weight"]), v["digest"])
                for v in raw["versions"]
            ),
            event=DeploymentEvent.from_dict(event) if event else None,
            unknown=Unknown.from_dict(unknown) if unknown else None,
        )


@dataclass(frozen=True, slots=True)
class DeploymentOutcome:
    """What a deploy, undeploy or rollback did: `live`, `scheduled` or `pending` approval."""

    status: str
    event: DeploymentEvent | None = None
    request: DeploymentRequest | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.event is not None:
            return {**self.event.to_dict(), "status": self.status, "request_id": None}
        assert self.request is not None
        return {
            **self.request.to_dict(),
            "event_id": None,
            "recorded_at": None,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeploymentOutcome:
        """The inverse of `to_dict`: an event when one was recorded, else the request."""
        if raw.get("event_id") is not None:
            return cls(raw["status"], event=DeploymentEvent.from_dict(raw))
        request = DeploymentRequest.from_dict({**raw, "status": "pending"})
        return cls(raw["status"], request=request)


def check_not_stale(request: DeploymentRequest, latest_event_id: int | None) -> None:
    """A rollback's target was computed from the state when it was requested: refuse to
    carry it out if the environment changed since, rather than restore the wrong version."""
    if request.kind == ROLLBACK and latest_event_id != request.base_event_id:
        raise Conflict(
            f"request {request.request_id} is stale: {request.model}@{request.environment} "
            f"changed after the rollback was requested (now at event {latest_event_id}); "
            "reject it and request the rollback again"
        )


def unknown_environment(model: str, env: str, known: Sequence[str]) -> NotFound:
    """An audit question about a misspelt environment must fail, not answer 'nothing'."""
    listing = ", ".join(known) if known else "none yet"
    return NotFound(f"environment {env!r} of {model} not found (known: {listing})")


def check_importable(change: DeploymentChange) -> None:
    """Imported history is plain deploys, undeploys and observations with no approval
    attached; only an observation has an unknown stretch or a bound, and both precede it."""
    if change.kind not in (DEPLOY, UNDEPLOY, OBSERVE) or change.approval is not None:
        raise InvalidInput(
            f"cannot import a {change.kind} event: import deploys, undeploys and observations"
        )
    if change.kind != OBSERVE:
        if change.unknown_from is not None or change.earliest_at is not None:
            raise InvalidInput("only an observation has an unknown_from or an earliest_at")
        return
    effective = change.effective_at
    if effective is None:
        raise InvalidInput("an observation needs the instant it was made (effective_at)")
    if change.unknown_from is not None and not change.unknown_from < effective:
        raise InvalidInput(
            f"an observation's unknown_from ({format_time(change.unknown_from)}) must be "
            f"before its effective_at ({format_time(effective)})"
        )
    if change.earliest_at is not None and not change.earliest_at <= effective:
        raise InvalidInput(
            f"an observation's earliest_at ({format_time(change.earliest_at)}) must not be "
            f"after its effective_at ({format_time(effective)})"
        )


@functools.lru_cache(maxsize=4096)
def allocations_json(allocations: tuple[Allocation, ...]) -> str:
    """The stored text of an allocation (cached: the same few allocations recur endlessly)."""
    return canonical_text([{"version": a.version, "weight": a.weight} for a in allocations])


def check_decidable(
    request: DeploymentRequest,
    actor: str,
    approve: bool,
    auth: Authentication | None = None,
    *,
    require_sso: bool = False,
) -> None:
    """One decision per request, by a second real person: never the identity that asked for
    it, nor one tied to it (a service account, the same identity-provider subject, a token
    one minted for the other); in an environment that requires single sign-on, only an
    identity-provider user."""
    if request.status != "pending":
        raise Conflict(f"request {request.request_id} is already {request.status}")
    verb = "approve" if approve else "reject"
    if actor == request.requested_by:
        raise Forbidden(
            f"{actor} requested change {request.request_id} and cannot also "
            f"{verb} it: a second identity must decide",
            model=request.model,
        )
    tie = ties(request.requested_by, request.requested_auth, actor, auth)
    if tie is not None:
        raise Forbidden(
            f"{actor} cannot {verb} change {request.request_id} requested by "
            f"{request.requested_by}: {tie}, so it is no second pair of eyes",
            model=request.model,
        )
    if require_sso:
        problem = sso_problem(auth)
        if problem is not None:
            raise Forbidden(
                f"environment {request.environment!r} of {request.model} requires single "
                f"sign-on: {problem}",
                model=request.model,
            )


def check_requester(change: DeploymentChange, *, require_sso: bool) -> None:
    """Who may ask for a change to a protected environment: a person (never a service
    account), and only an identity-provider user where single sign-on is required."""
    if is_service_account(change.actor):
        raise Forbidden(
            f"{change.actor} is a service account: it cannot request a change to the "
            f"protected environment {change.environment!r} of {change.model}",
            model=change.model,
        )
    if require_sso:
        problem = sso_problem(change.actor_auth)
        if problem is not None:
            raise Forbidden(
                f"environment {change.environment!r} of {change.model} requires single "
                f"sign-on: {problem}",
                model=change.model,
            )


def approved_change(
    request: DeploymentRequest,
    approver: str,
    now: datetime,
    approver_auth: Authentication | None = None,
) -> DeploymentChange:
    """The change an approval carries out; a schedule that passed while the request waited
    takes effect at the approval (a backfill request keeps its past time)."""
    effective = request.effective_at
    if effective is not None and request.requested_at <= effective < now:
        effective = None
    return DeploymentChange(
        model=request.model,
        environment=request.environment,
        kind=request.kind,
        versions=request.versions,
        actor=request.requested_by,
        reason=request.reason,
        effective_at=effective,
        approval=Approval(request.request_id, approver, approver_auth),
        actor_auth=request.requested_auth,
    )
