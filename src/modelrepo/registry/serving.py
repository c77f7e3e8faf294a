"""Loading versions to predict with, what instances actually serve, and replaying decisions, over
an embedded store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.arguments import optional_time
from ..api.serving import ServingAPI
from ..domain.deployments import Interval, check_environment_name, timeline
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.names import validate_model_name
from ..domain.times import format_time
from ..loading import Loading
from .core import Core

if TYPE_CHECKING:
    from ..domain.model import ModelVersion


class Serving(Loading, Core, ServingAPI):
    def _materialise(self, version: ModelVersion) -> Path:
        """A verified copy of the version's files, cached by digest inside the store."""
        if self.backend.location == ":memory:" or not Path(self.backend.location).is_dir():
            import tempfile  # no folder of its own (memory, or a database and S3)

            return self.download(version.model, version.version, Path(tempfile.mkdtemp()) / "v")
        cache = Path(self.backend.location) / "cache" / version.digest.replace(":", "-")
        if not cache.exists():
            from ..disk.modes import make_folder, seal_tree

            mode = self.backend.mode
            if mode is not None:
                make_folder(cache.parent, mode)
            try:
                self.download(version.model, version.version, cache)
            except Conflict:
                if not cache.exists():  # a concurrent loader won the race; anything else is real
                    raise
            if mode is not None:
                seal_tree(cache, mode)  # as private as the rest of the store
        return cache

    def _record_pickle_trust(self, found: ModelVersion) -> None:
        self.backend.metadata.record_audit(
            "model.pickle_trusted",
            f"model:{found.model}",
            actor=self.user,
            at=self.clock.now(),
            change={"model": found.model, "version": found.version, "digest": found.digest},
        )

    def serving_start(
        self, name: str, *, env: str, instance_id: str, host: str, version: int, digest: str
    ) -> None:
        found = self._readable(name, version)
        if digest != found.digest:
            raise InvalidInput(f"digest {digest!r} is not the digest of {found.ref}")
        self.backend.metadata.serving_start(
            found.model,
            check_environment_name(env),
            instance_id=_instance_id(instance_id),
            host=_host_name(host),
            version=found.version,
            digest=found.digest,
            at=self.clock.now(),
        )

    def serving_heartbeat(self, name: str, *, env: str, instance_id: str) -> None:
        validate_model_name(name)
        check_environment_name(env)
        self.backend.metadata.serving_heartbeat(
            name, env, _instance_id(instance_id), self.clock.now()
        )

    def serving_stop(self, name: str, *, env: str, instance_id: str) -> None:
        validate_model_name(name)
        check_environment_name(env)
        self.backend.metadata.serving_stop(name, env, _instance_id(instance_id), self.clock.now())

    def serving(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        ttl: float = 300.0,
    ) -> dict[str, Any]:
        from datetime import timedelta

        validate_model_name(name)
        check_environment_name(env)
        when = optional_time(at, "time") or self.clock.now()
        keep = timedelta(seconds=ttl)
        periods = self.backend.metadata.serving_periods(name, env)
        unknown = None
        try:
            state = self.live(name, env=env, at=when)
            expected, unknown = [v.version for v in state.versions], state.unknown
        except NotFound:
            if not periods:
                raise  # a misspelt environment is an error, not "nothing was serving"
            expected = []
        active = [p for p in periods if p.since <= when < p.until(keep)]
        events = self.history(name, env=env)
        drift = []
        intervals = timeline(events)
        for period in periods:
            end = min(period.until(keep), when)
            for interval in intervals:
                if interval.unknown is not None:
                    continue  # what was expected then is unknown: no drift can be shown
                assert interval.start is not None  # only an unknown stretch has none
                start = max(period.since, interval.start)
                stop = min(end, interval.end or end)
                if start < stop and all(a.version != period.version for a in interval.versions):
                    drift.append({"instance_id": period.instance_id, "version": period.version,
                                  "from": format_time(start), "to": format_time(stop),
                                  "expected": [a.version for a in interval.versions]})  # fmt: skip
            gaps = _uncovered(period.since, end, intervals)
            for start, stop in gaps:
                drift.append({"instance_id": period.instance_id, "version": period.version,
                              "from": format_time(start), "to": format_time(stop),
                              "expected": []})  # fmt: skip
        return {
            "model": name,
            "environment": env,
            "at": format_time(when),
            "ttl_seconds": ttl,
            "expected": expected,
            # What should have served is unknown (an imported observation leaves it so): no
            # instance is said to drift from it.
            "unknown": unknown.to_dict() if unknown else None,
            "serving": [
                {**p.to_dict(keep), "drift": unknown is None and p.version not in expected}
                for p in active
            ],
            "aged_out": [
                p.to_dict(keep) for p in periods if p.aged_out(when, keep) and p.since <= when
            ],
            "drift": sorted(drift, key=lambda d: (d["from"], d["instance_id"])),
        }

    def replay(
        self,
        decision_id: str,
        *,
        tolerance: float = 1e-9,
        trust_pickle: bool = False,
        module: Any = None,
    ) -> dict[str, Any]:
        from ..domain.outputs import compare

        decision = self.backend.metadata.get_decision(decision_id)
        inputs = self.decision_inputs(decision_id)
        handle = self.load(
            decision.model, decision.version, trust_pickle=trust_pickle, module=module
        )
        replayed = handle.rerun(inputs)
        match, worst = compare(decision.output, replayed, tolerance)
        return {
            "decision_id": decision_id,
            "model": decision.model,
            "version": decision.version,
            "digest": handle.digest,
            "recorded": decision.output,
            "replayed": replayed,
            "match": match,
            "max_abs_diff": worst,
            "tolerance": tolerance,
        }


def _uncovered(
    start: datetime, stop: datetime, intervals: Sequence[Interval]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, stop) during which nothing was live at all (a stretch whose
    answer is unknown is not one: something may have been)."""
    gaps = []
    cursor = start
    for interval in sorted(intervals, key=lambda i: (i.start is not None, i.start or start)):
        begin = interval.start or start
        if begin > cursor:
            gaps.append((cursor, min(begin, stop)))
        cursor = max(cursor, interval.end or stop)
        if cursor >= stop:
            break
    if cursor < stop:
        gaps.append((cursor, stop))
    return [(a, b) for a, b in gaps if a < b]


def _instance_id(value: str) -> str:
    """A serving instance's id: 1-128 printable characters (it appears in reports)."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= 128
        or not value.isprintable()
        or "/" in value
    ):
        raise InvalidInput(f"invalid instance id {value!r}: 1-128 printable characters, no '/'")
    return value


def _host_name(value: str) -> str:
    if not isinstance(value, str) or len(value) > 255 or not value.isprintable():
        raise InvalidInput(f"invalid host {value!r}: use up to 255 printable characters")
    return value
