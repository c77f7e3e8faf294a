"""History imported from a registry that keeps none, through the SDK: every answer is what
was observed or "unknown", never a guessed version (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from modelrepo import ManualClock, Registry
from modelrepo.domain.errors import Conflict, InvalidInput
from modelrepo.domain.times import format_time

SOURCE = "MLflow (sqlite:///tmp/mlflow.db)"
REASON = f"imported from {SOURCE}, which keeps no history"


def observe(reg: Registry, artifact: Path) -> dict[str, object]:
    """Versions 1-2 registered; an observation a week ago saw v2 in production (created two
    weeks ago), and one a day ago saw v1 (the alias moved back some time in between)."""
    for i in (1, 2):
        (artifact / "features.csv").write_text(f"v{i}\n")
        reg.register("credit-risk", artifact, code=False)
    now = reg.clock.now()
    first, second = now - timedelta(days=7), now - timedelta(days=1)
    created = now - timedelta(days=14)
    count = reg.import_deployments(
        "credit-risk",
        [
            {"kind": "observe", "environment": "production", "versions": {2: 1.0},
             "effective_at": first, "earliest_at": created, "reason": "alias champion"},
            {"kind": "observe", "environment": "production", "versions": {1: 1.0},
             "effective_at": second, "unknown_from": first, "reason": "alias champion"},
        ],
        source=SOURCE,
    )  # fmt: skip
    assert count == 2
    return {"first": first, "second": second, "created": created, "now": now}


def test_live_answers_unknown_before_and_between_observations(
    registry: Registry, artifact: Path
) -> None:
    t = observe(registry, artifact)
    first, second = t["first"], t["second"]
    assert isinstance(first, type(t["now"])) and isinstance(second, type(t["now"]))
    before = registry.live("credit-risk", env="production", at=first - timedelta(days=3))
    assert before.versions == () and before.unknown is not None
    assert before.unknown.since is None and before.unknown.until == first
    assert before.unknown.earliest_at == t["created"]
    assert before.unknown.reason == f"{REASON}: alias champion"
    assert before.unknown.describe() == (
        f"unknown before {format_time(first)} ({REASON}: alias champion)"
    )
    assert before.event is not None and before.event.kind == "observe"
    between = registry.live("credit-risk", env="production", at=first + timedelta(days=1))
    assert between.unknown is not None and between.unknown.since == first
    assert between.unknown.describe().startswith(
        f"unknown between {format_time(first)} and {format_time(second)}"
    )
    at_first = registry.live("credit-risk", env="production", at=first)
    assert [v.version for v in at_first.versions] == [2] and at_first.unknown is None
    now = registry.live("credit-risk", env="production")
    assert [v.version for v in now.versions] == [1] and now.unknown is None
    # As known before the second import, v2 held on after the first observation.
    known = registry.live(
        "credit-risk",
        env="production",
        at=first + timedelta(days=1),
        as_known_at=before.event.recorded_at,
    )
    assert [v.version for v in known.versions] == [2]


def test_history_and_timeline_show_the_observations(registry: Registry, artifact: Path) -> None:
    t = observe(registry, artifact)
    events = registry.history("credit-risk", env="production")
    assert [(e.kind, e.unknown_from, e.earliest_at) for e in events] == [
        ("observe", None, t["created"]),
        ("observe", t["first"], None),
    ]
    spans = registry.timeline("credit-risk", env="production")
    assert [(s.start, s.end, s.unknown is not None) for s in spans] == [
        (None, t["first"], True),
        (t["first"], t["second"], True),
        (t["second"], None, False),
    ]
    assert registry.timeline("credit-risk", version=1) == spans[-1:]


def test_what_serves_now_is_never_unknown(registry: Registry, artifact: Path) -> None:
    t = observe(registry, artifact)
    assert registry.resolve("credit-risk@production") == ("credit-risk", 1)
    handle = registry.load_live("credit-risk", env="production")
    assert handle.version == 1
    later = t["now"] + timedelta(days=1)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match="an observation is of the past"):
        registry.import_deployments(
            "credit-risk",
            [
                {
                    "kind": "observe",
                    "environment": "staging",
                    "versions": {1: 1},
                    "effective_at": later,
                }
            ],
            source=SOURCE,
        )


def test_imported_observations_are_checked(registry: Registry, artifact: Path) -> None:
    t = observe(registry, artifact)
    first = t["first"]
    bad = [
        ({"kind": "observe", "unknown_from": first}, "unknown_from .* must be before"),
        ({"kind": "observe", "earliest_at": t["now"]}, "earliest_at .* must not be after"),
        ({"kind": "promote"}, "invalid kind 'promote'"),
        ({"unknown_from": first - timedelta(days=1)}, "only an observation"),  # type: ignore[operator]
    ]
    for extra, message in bad:
        record = {"environment": "staging", "versions": {1: 1.0}, "effective_at": first, **extra}
        with pytest.raises(InvalidInput, match=message):
            registry.import_deployments("credit-risk", [record], source=SOURCE)
    assert [e.environment for e in registry.history("credit-risk")] == ["production"] * 2
    assert registry.audit_verify().ok


def test_a_decision_in_an_unknown_stretch_is_neither_live_nor_not_live(
    registry: Registry, artifact: Path
) -> None:
    t = observe(registry, artifact)
    first = t["first"]
    at = first - timedelta(days=2)  # type: ignore[operator]
    given = registry.log_decision(
        "credit-risk", inputs={"x": 1}, output=1, environment="production", version=2,
        decided_at=at,
    )  # fmt: skip
    assert given.flags == ("live_unknown",)
    known = registry.log_decision(
        "credit-risk", inputs={"x": 1}, output=1, environment="production", version=1,
        decided_at=t["second"],
    )  # fmt: skip
    assert known.flags == ()
    wrong = registry.log_decision(
        "credit-risk", inputs={"x": 1}, output=1, environment="production", version=2,
        decided_at=t["second"],
    )  # fmt: skip
    assert wrong.flags == ("not_live",)
    with pytest.raises(InvalidInput, match=r"is unknown before .*: give the version"):
        registry.log_decision(
            "credit-risk", inputs={"x": 1}, output=1, environment="production", decided_at=at
        )
    story = registry.decision(given.decision_id)
    assert story["live_unknown"]["until"] == format_time(first)  # type: ignore[arg-type]
    assert story["deployment"] is None and story["matches_history"] is False


def test_load_live_refuses_an_unknown_now(
    registry: Registry, artifact: Path, clock: ManualClock
) -> None:
    """Only a clock set back can make "now" fall before an observation: then what serves is
    unknown, and loading it is refused with the reason, rather than loading a guess."""
    t = observe(registry, artifact)
    clock.set(t["first"] - timedelta(days=1))  # type: ignore[operator]
    with pytest.raises(Conflict, match=r"what serves credit-risk@production now is unknown before"):
        registry.load_live("credit-risk", env="production")
    with pytest.raises(Conflict, match="unknown before"):
        registry.resolve("credit-risk@production")


@pytest.mark.sqlite_only
def test_an_observation_another_writer_imports_is_seen_at_once(
    store_dir: Path, artifact: Path
) -> None:
    """SQLite's `live` asks only for the event in force while an environment has no
    observation, and learns that it has one from the database's data version: an import by
    another connection (another process, here another store object) is answered right away."""
    reader = Registry(store_dir, user="reader")
    reader.register("credit-risk", artifact, code=False)
    reader.deploy("credit-risk", 1, env="production", effective_at="2026-01-01T00:00:00Z",
                  reason="backfilled")  # fmt: skip
    probe = "2026-02-01T00:00:00Z"
    for _ in range(3):  # the reader settles on "no observation here"
        assert [v.version for v in reader.live("credit-risk", env="production", at=probe)
                .versions] == [1]  # fmt: skip
    with Registry(store_dir, user="importer") as writer:
        writer.import_deployments(
            "credit-risk",
            [{"kind": "observe", "environment": "production", "versions": {1: 1.0},
              "effective_at": "2026-03-01T00:00:00Z", "unknown_from": "2026-01-15T00:00:00Z"}],
            source=SOURCE,
        )  # fmt: skip
    state = reader.live("credit-risk", env="production", at=probe)
    assert state.versions == () and state.unknown is not None
    assert [v.version for v in reader.live("credit-risk", env="production",
                                           at="2026-01-10T00:00:00Z").versions] == [1]  # fmt: skip
    reader.close()
