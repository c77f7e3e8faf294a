"""Observations: what an environment served when it was looked at, and nothing about before.

The property: whatever really served, and whenever it was observed, every answer the history
gives is either what really served or "unknown" — never a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrepo.domain.deployments import (
    DEPLOY,
    OBSERVE,
    Allocation,
    DeploymentChange,
    DeploymentEvent,
    LiveState,
    Unknown,
    check_importable,
    live_event,
    timeline,
    unknown_at,
)
from modelrepo.domain.errors import InvalidInput

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REASON = "imported from MLflow (sqlite:///mlflow.db), which keeps no history"


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def event(
    event_id: int,
    kind: str,
    versions: tuple[int, ...],
    effective: int,
    *,
    unknown_from: int | None = None,
    recorded: int = 10_000,
) -> DeploymentEvent:
    return DeploymentEvent(
        event_id=event_id,
        model="m",
        environment="production",
        kind=kind,
        versions=tuple(Allocation(v, 1.0 / len(versions)) for v in versions),
        effective_at=at(effective),
        recorded_at=at(recorded) + timedelta(microseconds=event_id),
        actor="importer",
        reason=REASON if kind == OBSERVE else None,
        unknown_from=None if unknown_from is None else at(unknown_from),
        earliest_at=at(effective - 50) if kind == OBSERVE else None,
    )


def answer(events: list[DeploymentEvent], minute: float, known: datetime | None = None) -> object:
    """'unknown', or the versions live at `minute`, by the rule."""
    when = T0 + timedelta(minutes=minute)
    found = live_event(events, when, known)
    if unknown_at(found, when) is not None:
        return "unknown"
    return tuple(a.version for a in found.versions) if found else ()


def test_before_the_first_observation_nothing_is_known() -> None:
    first = event(1, OBSERVE, (2,), 100)
    assert answer([first], 0) == "unknown"
    assert answer([first], 99.9) == "unknown"
    assert answer([first], 100) == (2,)
    assert answer([first], 500) == (2,)
    unknown = unknown_at(first, at(50))
    assert unknown == Unknown(None, at(100), REASON, at(50))
    assert unknown.describe() == f"unknown before 2026-01-01T01:40:00.000000Z ({REASON})"


def test_between_two_observations_the_change_happened_somewhere() -> None:
    events = [event(1, OBSERVE, (2,), 100), event(2, OBSERVE, (1,), 200, unknown_from=100)]
    assert answer(events, 100) == (2,)  # the first observation's instant is known
    assert answer(events, 150) == "unknown"
    assert answer(events, 200) == (1,)
    described = unknown_at(live_event(events, at(150)), at(150))
    assert described is not None
    assert described.describe().startswith(
        "unknown between 2026-01-01T01:40:00.000000Z and 2026-01-01T03:20:00.000000Z ("
    )
    # As known before the second observation was recorded, v2 held on.
    assert answer(events, 150, events[0].recorded_at) == (2,)


def test_an_empty_observation_is_an_undeploy_and_events_outside_stay_known() -> None:
    events = [
        event(1, DEPLOY, (1,), 10),
        event(2, OBSERVE, (), 100, unknown_from=50),
    ]
    assert answer(events, 20) == (1,)
    assert answer(events, 50) == (1,)
    assert answer(events, 60) == "unknown"
    assert answer(events, 100) == ()


def test_the_timeline_marks_unknown_stretches() -> None:
    events = [
        event(1, OBSERVE, (2,), 100),
        event(2, OBSERVE, (2,), 200, unknown_from=100),
        event(3, OBSERVE, (1,), 300, unknown_from=200),
    ]
    spans = [
        (
            i.start and i.start.strftime("%H:%M"),
            i.end and i.end.strftime("%H:%M"),
            [a.version for a in i.versions],
            i.unknown is not None,
        )
        for i in timeline(events)
    ]
    assert spans == [
        (None, "01:40", [], True),
        ("01:40", "03:20", [], True),
        ("03:20", "05:00", [], True),
        ("05:00", None, [1], False),
    ]
    assert timeline(events)[0].to_dict()["unknown"]["until"] == "2026-01-01T01:40:00.000000Z"


def test_live_state_carries_unknown_both_ways() -> None:
    first = event(1, OBSERVE, (2,), 100)
    state = LiveState("m", "production", at(5), None, (), first, unknown_at(first, at(5)))
    raw = state.to_dict()
    assert raw["unknown"]["since"] is None and raw["unknown"]["reason"] == REASON
    assert LiveState.from_dict(raw) == state
    assert DeploymentEvent.from_dict(first.to_dict()) == first


def test_imported_observations_are_checked() -> None:
    def observe(**kw: object) -> DeploymentChange:
        fields: dict[str, object] = {
            "model": "m",
            "environment": "production",
            "kind": OBSERVE,
            "versions": (),
            "actor": "a",
            "effective_at": at(10),
        }
        fields.update(kw)
        return DeploymentChange(**fields)  # type: ignore[arg-type]

    check_importable(observe(unknown_from=at(9), earliest_at=at(10)))
    with pytest.raises(InvalidInput, match="unknown_from .* must be before its effective_at"):
        check_importable(observe(unknown_from=at(10)))
    with pytest.raises(InvalidInput, match="earliest_at .* must not be after"):
        check_importable(observe(earliest_at=at(11)))
    with pytest.raises(InvalidInput, match="needs the instant"):
        check_importable(observe(effective_at=None))
    with pytest.raises(InvalidInput, match="only an observation"):
        check_importable(observe(kind=DEPLOY, unknown_from=at(1)))


# -- the property -------------------------------------------------------------------------

truths = st.lists(  # the real history: (minute it changed, versions serving from then)
    st.tuples(st.integers(0, 1000), st.lists(st.integers(1, 4), max_size=2, unique=True)),
    min_size=1,
    max_size=8,
)
looks = st.lists(st.integers(0, 1100), min_size=1, max_size=6, unique=True)


def truth_at(changes: list[tuple[int, list[int]]], minute: float) -> tuple[int, ...]:
    served: tuple[int, ...] = ()
    for when, versions in sorted(changes, key=lambda c: c[0]):
        if when <= minute:
            served = tuple(sorted(versions))
    return served


@settings(max_examples=300, deadline=None)
@given(truths, looks, st.lists(st.integers(0, 1100), min_size=1, max_size=12))
def test_every_answer_is_the_truth_or_unknown(
    changes: list[tuple[int, list[int]]], instants: list[int], probes: list[int]
) -> None:
    """Observations made at random instants, each unknown back to the one before it (the first
    back to the beginning of time) and recorded as made (as successive imports do): every
    `live` answer, for any instant and as known at any recording, is what really served or
    unknown; and the timeline agrees with `live` everywhere."""
    instants = sorted(instants)
    events = [
        event(
            n + 1,
            OBSERVE,
            truth_at(changes, minute),
            minute,
            unknown_from=instants[i - 1] if i else None,
            recorded=2000 + i,
        )
        for n, (i, minute) in enumerate(enumerate(instants))
    ]
    for k, known in enumerate(e.recorded_at for e in events):
        # As known at the k-th recording, the last look was at instants[k]: the history is
        # exact up to it, and after it says what that look saw (each import is made at its
        # own "now", so "after it" is the future of that knowledge).
        spans = timeline(events, known)
        for probe in [p + offset for p in probes for offset in (0, 0.5)] + instants:
            got = answer(events, probe, known)
            if probe <= instants[k]:
                assert got == "unknown" or got == truth_at(changes, probe), (probe, got)
            else:
                assert got == truth_at(changes, instants[k])
            when = T0 + timedelta(minutes=probe)
            inside = [
                s
                for s in spans
                if (s.start is None or s.start < when) and (s.end is None or when < s.end)
            ]
            if probe in instants or any(s.start == when for s in spans):
                continue  # a boundary: intervals are half-open, observations are instants
            if got == "unknown":
                assert len(inside) == 1 and inside[0].unknown is not None
            elif got == ():
                assert inside == []
            else:
                assert len(inside) == 1
                assert tuple(a.version for a in inside[0].versions) == got
    assert answer(events, instants[0] - 0.5, events[0].recorded_at - timedelta(seconds=1)) == ()
