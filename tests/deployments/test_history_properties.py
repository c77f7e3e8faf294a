"""Random histories on the SQLite store, checked against a brute-force oracle."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrepo import Conflict, ManualClock, NotFound, Registry
from modelrepo.domain.deployments import Allocation, DeploymentEvent

from ..conftest import T0

ENVS = st.sampled_from(["production", "staging", "canary"])
TIMING = st.sampled_from(["now", "now", "past", "future", "same"])
OFFSET = st.integers(min_value=1, max_value=120)
SPLIT = st.lists(st.integers(1, 4), min_size=2, max_size=3, unique=True)

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("deploy"), ENVS, st.integers(1, 4), TIMING, OFFSET),
        st.tuples(st.just("split"), ENVS, SPLIT, TIMING, OFFSET),
        st.tuples(st.just("undeploy"), ENVS, st.just(0), TIMING, OFFSET),
        st.tuples(st.just("rollback"), ENVS, st.just(0), st.just("now"), OFFSET),
        st.tuples(st.just("tick"), ENVS, st.integers(0, 3), st.just("now"), OFFSET),
    ),
    min_size=1,
    max_size=30,
)


def oracle(
    events: list[DeploymentEvent], env: str, at: datetime, known: datetime | None
) -> tuple[Allocation, ...]:
    """Brute force: the last event by (effective time, recording order) that applies."""
    candidates = [
        e
        for e in events
        if e.environment == env
        and e.effective_at <= at
        and (known is None or e.recorded_at <= known)
    ]
    if not candidates:
        return ()
    return max(candidates, key=lambda e: (e.effective_at, e.event_id)).versions


def expected_rollback(events: list[DeploymentEvent], env: str, at: datetime):
    """An independent statement of rollback: undo the states one by one, as a stack."""
    states: list[tuple[Allocation, ...]] = []
    for e in sorted(
        (e for e in events if e.environment == env and e.effective_at <= at),
        key=lambda e: (e.effective_at, e.event_id),
    ):
        if e.kind == "rollback":
            if states:
                states.pop()
            if states:
                states[-1] = e.versions
            else:
                states.append(e.versions)
        elif not states or states[-1] != e.versions:
            states.append(e.versions)
    return states[-2] if len(states) >= 2 else None


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=OPS, probes=st.lists(st.tuples(st.integers(-5, 400), st.integers(-5, 400)), max_size=25))
def test_live_and_as_known_at_match_the_oracle(ops, probes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(T0)
        reg = Registry(Path(tmp) / "store", user="alice", clock=clock)
        artifact = Path(tmp) / "m.json"
        for i in range(4):
            artifact.write_text(str(i))
            reg.register("m", artifact, code=False, environment=False)
        clock.advance(timedelta(seconds=60))
        events: list[DeploymentEvent] = []
        for kind, env, arg, timing, offset in ops:
            now = clock.now()
            effective: datetime | None = None
            if timing == "past":
                effective = now - timedelta(seconds=offset)
            elif timing == "future":
                effective = now + timedelta(seconds=offset)
            elif timing == "same" and events:
                effective = events[offset % len(events)].effective_at
            reason = "backfill" if effective is not None and effective < now else None
            if kind == "tick":
                clock.advance(timedelta(seconds=arg))
                continue
            if kind == "deploy":
                outcome = reg.deploy("m", arg, env=env, effective_at=effective, reason=reason)
            elif kind == "split":
                weights = {v: 1 / len(arg) for v in arg[:-1]}
                weights[arg[-1]] = 1 - sum(weights.values())
                outcome = reg.deploy_split(
                    "m", weights, env=env, effective_at=effective, reason=reason
                )
            elif kind == "undeploy":
                last = max((e.recorded_at for e in events), default=now - timedelta(1))
                recorded = max(now, last + timedelta(microseconds=1))
                at = recorded if effective is None else min(effective, recorded)
                try:
                    outcome = reg.undeploy("m", env=env, effective_at=effective, reason=reason)
                except Conflict:  # nothing was ever deployed there by then
                    assert not any(
                        e.environment == env and e.versions and e.effective_at <= at for e in events
                    )
                    continue
            else:
                # A rollback takes effect when recorded: now, or just after the last recording.
                last = max((e.recorded_at for e in events), default=now - timedelta(1))
                at = max(now, last + timedelta(microseconds=1))
                target = expected_rollback(events, env, at)
                try:
                    outcome = reg.rollback("m", env=env)
                except Conflict:
                    assert target is None or target == ()
                    continue
                assert outcome.event is not None
                assert outcome.event.versions == target
            assert outcome.event is not None
            events.append(outcome.event)

        history = reg.history("m")
        assert [(e.effective_at, e.event_id) for e in history] == sorted(
            (e.effective_at, e.event_id) for e in events
        )
        recorded = sorted(e.recorded_at for e in events)
        assert recorded == sorted(set(recorded)), "recording times must be distinct"
        instants = [e.effective_at for e in events] + [T0 + timedelta(seconds=s) for s, _ in probes]
        knowns: list[datetime | None] = [None] + [e.recorded_at for e in events]
        knowns += [T0 + timedelta(seconds=k) for _, k in probes]
        used = {e.environment for e in events}
        for env in ("production", "staging", "canary"):
            for at in instants:
                for delta in (timedelta(0), -timedelta(microseconds=1)):
                    for known in knowns[:12]:
                        expected = oracle(events, env, at + delta, known)
                        if env not in used:
                            with pytest.raises(NotFound, match="not found"):
                                reg.live("m", env=env, at=at + delta, as_known_at=known)
                            continue
                        state = reg.live("m", env=env, at=at + delta, as_known_at=known)
                        got = tuple(Allocation(v.version, v.weight) for v in state.versions)
                        assert got == expected, (env, at + delta, known)
            for interval in reg.timeline("m", env=env):
                state = reg.live("m", env=env, at=interval.start)
                assert tuple(Allocation(v.version, v.weight) for v in state.versions) == (
                    interval.versions
                )
        reg.close()
