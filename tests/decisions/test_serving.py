"""What was really serving: switching instances, a stale pod flagged as drift, a silent one."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from modelrepo import ManualClock, Registry
from modelrepo.domain.errors import NotFound
from modelrepo.domain.times import format_time

from ..conftest import T0


def setup(tmp_path: Path) -> tuple[Registry, ManualClock]:
    clock = ManualClock(T0)
    reg = Registry(tmp_path / "store", user="svc", clock=clock)
    for intercept in (-1.0, 1.0):
        folder = tmp_path / f"m{intercept}"
        folder.mkdir()
        (folder / "coefficients.json").write_text(json.dumps(
            {"features": ["x"], "coefficients": {"x": 1.0}, "intercept": intercept}))  # fmt: skip
        reg.register("score", folder, flavor="text-coefficients", code=False)
    return reg, clock


def test_switching_drift_and_ageing_out(tmp_path: Path) -> None:
    reg, clock = setup(tmp_path)
    reg.deploy("score", 1, env="production")
    clock.advance(timedelta(minutes=1))
    a = reg.load_live("score", env="production", instance_id="pod-a")
    b = reg.load_live("score", env="production", instance_id="pod-b")
    stale = reg.load_live("score", env="production", instance_id="pod-stale")
    silent = reg.load_live("score", env="production", instance_id="pod-silent")
    clock.advance(timedelta(minutes=10))
    for handle in (a, b, stale, silent):
        handle.heartbeat()
    switched_at = clock.now()
    reg.deploy("score", 2, env="production")
    clock.advance(timedelta(minutes=2))
    assert a.reload() and a.version == 2  # pod-a picks up v2 two minutes later
    clock.advance(timedelta(minutes=3))
    assert b.reload()  # pod-b five minutes later
    assert not b.reload()
    for handle in (a, b, stale):
        handle.heartbeat()  # pod-stale keeps serving v1; pod-silent says nothing more
    stale.predict({"x": 0.0}, decision_id="from-stale")
    clock.advance(timedelta(minutes=3))
    a.heartbeat(), b.heartbeat(), stale.heartbeat()
    report = reg.serving("score", env="production", ttl=300)
    now = {s["instance_id"]: (s["version"], s["drift"]) for s in report["serving"]}
    assert report["expected"] == [2]
    assert now == {"pod-a": (2, False), "pod-b": (2, False), "pod-stale": (1, True)}
    assert [s["instance_id"] for s in report["aged_out"]] == ["pod-silent"]
    drift = {(d["instance_id"], d["version"]): (d["from"], d["to"]) for d in report["drift"]}
    first = switched_at + timedelta(microseconds=1)  # the deploy recorded just after the beat
    assert set(drift) == {("pod-a", 1), ("pod-b", 1), ("pod-stale", 1), ("pod-silent", 1)}
    assert drift[("pod-a", 1)][0] <= drift[("pod-b", 1)][0]
    assert drift[("pod-stale", 1)][1] == report["at"]  # still drifting now
    assert reg.decision("from-stale")["version"] == 1
    assert reg.decision("from-stale")["flags"] == ["not_live"]
    before = reg.serving("score", env="production", at=first - timedelta(minutes=5), ttl=300)
    assert {s["instance_id"] for s in before["serving"]} == {
        "pod-a", "pod-b", "pod-stale", "pod-silent"
    }  # fmt: skip
    assert not any(s["drift"] for s in before["serving"])
    a.close()
    after = reg.serving("score", env="production", ttl=300)
    assert "pod-a" not in {s["instance_id"] for s in after["serving"]}


def test_serving_command(run, tmp_path: Path, store_dir: Path) -> None:  # type: ignore[no-untyped-def]
    reg, _ = setup(tmp_path)
    reg.deploy("score", 1, env="production")
    reg.load_live("score", env="production", instance_id="pod-1")
    reg.deploy("score", 2, env="production")
    reg.close()
    at = ["--at", "2026-03-01T10:01:00Z"]  # the store's clock started at 10:00
    doc = run("serving", "score", "--env", "production", *at, "--json").json
    assert doc["serving"][0]["instance_id"] == "pod-1"
    assert doc["serving"][0]["drift"]
    assert "DRIFT" in run("serving", "score", "--env", "production", *at).out
    later = run("serving", "score", "--env", "production", "--json").json  # silent since
    assert later["serving"] == [] and later["aged_out"][0]["instance_id"] == "pod-1"
    assert (
        "environment 'nope' of score not found"
        in run("serving", "score", "--env", "nope", ok=False).err
    )


def test_an_instance_is_touched_only_through_what_it_serves(
    registry: Registry, tmp_path: Path
) -> None:
    """A heartbeat or stop names the model and environment: an instance of another model or
    environment is not found, and one that stopped is left as it ended."""
    folder = tmp_path / "linear"
    folder.mkdir()
    (folder / "coefficients.json").write_text(json.dumps(
        {"features": ["x"], "coefficients": {"x": 1.0}, "intercept": 0.0}))  # fmt: skip
    for name in ("score", "fraud"):
        registry.register(name, folder, flavor="text-coefficients", code=False)
        registry.deploy(name, 1, env="production")
    handle = registry.load_live("score", env="production", instance_id="pod-1")
    for name, env in (("fraud", "production"), ("score", "staging"), ("nope", "production")):
        with pytest.raises(NotFound):
            registry.serving_heartbeat(name, env=env, instance_id="pod-1")
        with pytest.raises(NotFound):
            registry.serving_stop(name, env=env, instance_id="pod-1")
    serving = registry.serving("score", env="production")["serving"]
    assert [s["instance_id"] for s in serving] == ["pod-1"]
    handle.close()
    registry.serving_stop("score", env="production", instance_id="pod-1")  # already ended
    handle.heartbeat()  # a late heartbeat does not reopen it
    assert registry.serving("score", env="production")["serving"] == []


def test_no_drift_is_claimed_where_what_should_serve_is_unknown(tmp_path: Path) -> None:
    """An instance serving before the first observation of imported history: what it should
    have served then is unknown, so it neither drifts nor matches; after, it is checked."""
    reg, clock = setup(tmp_path)
    old = reg.get("score", 1)
    reg.serving_start("score", env="production", instance_id="pod-old", host="h", version=1,
                      digest=old.digest)  # fmt: skip
    started = clock.now()
    clock.advance(timedelta(hours=1))
    seen = clock.now() - timedelta(minutes=30)
    reg.serving_heartbeat("score", env="production", instance_id="pod-old")
    reg.import_deployments(
        "score",
        [{"kind": "observe", "environment": "production", "versions": {2: 1.0},
          "effective_at": seen}],
        source="MLflow (sqlite:///mlflow.db)",
    )  # fmt: skip
    then = reg.serving("score", env="production", at=started + timedelta(minutes=5), ttl=7200)
    assert then["expected"] == [] and then["unknown"]["until"] == format_time(seen)
    assert [(s["instance_id"], s["drift"]) for s in then["serving"]] == [("pod-old", False)]
    now = reg.serving("score", env="production", ttl=7200)
    assert now["unknown"] is None and now["expected"] == [2]
    assert [(s["instance_id"], s["drift"]) for s in now["serving"]] == [("pod-old", True)]
    # Drift only from the observation on: before it, nobody knows what should have served.
    assert [(d["version"], d["from"]) for d in now["drift"]] == [(1, format_time(seen))]
