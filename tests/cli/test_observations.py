"""Observed history through the CLI: `live --at` before an observation answers "unknown"
(exit 0, an answer, not an error), `history` shows observations with their bounds and
`timeline` shows the unknown stretches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from modelrepo import Registry
from modelrepo.domain.times import format_time

from .conftest import Run

SOURCE = "MLflow (sqlite:///tmp/mlflow.db)"
REASON = f"imported from {SOURCE}, which keeps no history"


def test_live_history_and_timeline_say_unknown(run: Run, store_dir: Path, artifact: Path) -> None:
    run("register", "credit-risk", str(artifact), "--no-code")
    now = datetime.now(UTC)
    first, second = now - timedelta(days=7), now - timedelta(days=1)
    with Registry(store_dir, user="importer") as reg:
        reg.import_deployments(
            "credit-risk",
            [
                {"kind": "observe", "environment": "production", "versions": {1: 1.0},
                 "effective_at": first, "earliest_at": now - timedelta(days=9)},
                {"kind": "observe", "environment": "production", "versions": {},
                 "effective_at": second, "unknown_from": first, "reason": "alias deleted"},
            ],
            source=SOURCE,
        )  # fmt: skip
    early = format_time(first - timedelta(days=1))
    answer = run("live", "credit-risk", "--env", "production", "--at", early)
    assert answer.code == 0
    assert f"  unknown before {format_time(first)} ({REASON})\n" in answer.out
    assert "v1" not in answer.out and "nothing was live" not in answer.out
    doc = run("live", "credit-risk", "--env", "production", "--at", early, "--json").json
    assert doc["versions"] == []
    assert doc["unknown"] == {
        "since": None,
        "until": format_time(first),
        "reason": REASON,
        "earliest_at": format_time(now - timedelta(days=9)),
    }
    middle = format_time(first + timedelta(days=1))
    between = run("live", "credit-risk", "--env", "production", "--at", middle).out
    assert (
        f"unknown between {format_time(first)} and {format_time(second)} "
        f"({REASON}: alias deleted)" in between
    )
    assert "v1" in run("live", "credit-risk", "--env", "production", "--at", format_time(first)).out
    assert "nothing was live" in run("live", "credit-risk", "--env", "production").out

    history = run("history", "credit-risk").out.splitlines()
    assert len(history) == 2 and all(" observe " in line for line in history)
    assert "(unknown from the beginning; serving from" in history[0]
    assert f"(unknown from {format_time(first)})" in history[1]
    events = run("history", "credit-risk", "--json").json["events"]
    assert [e["unknown_from"] for e in events] == [None, format_time(first)]

    timeline = run("timeline", "credit-risk").out.splitlines()
    assert len(timeline) == 2
    assert "the beginning" in timeline[0] and f"unknown before {format_time(first)}" in timeline[0]
    assert f"unknown between {format_time(first)}" in timeline[1]
    spans = run("timeline", "credit-risk", "--json").json
    assert [s["unknown"] is not None for s in spans["intervals"]] == [True, True]
