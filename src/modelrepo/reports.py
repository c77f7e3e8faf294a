"""Evidence reports a reviewer or regulator can read offline: JSON, and one HTML file with
everything inline (styles, an SVG timeline chart; no script, no external resource).

HTML comes from Jinja2 templates (`modelrepo/templates/`) with autoescaping on, so no value
can open a tag or an attribute whatever it holds; the page itself depends on nothing at
reading time (no CDN, no script). Jinja2 is imported on the first render only: it stays out
of the CLI's start-up.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .domain.deployments import OBSERVE, DeploymentEvent, Interval, Unknown
from .domain.times import format_time, parse_time
from .domain.trust import trust_record
from .verifier import canonical_json, leaf_hash, verify_checkpoint, verify_inclusion

if TYPE_CHECKING:
    from .api import RegistryAPI as Registry

UNKNOWN_FILL = "#d4d4d4"  # a stretch an observation leaves unknown
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d")


def model_report(
    reg: Registry, name: str, *, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    """What was live when, which versions and from what, who deployed and approved, and
    whether each of those changes is proved in the signed audit log. The period is `since` to
    `until`; by default it fits the history (first to last change, `_margin` either side), so
    the chart spends its width on the changes rather than on the quiet weeks since."""
    now = reg.clock.now()
    events = reg.history(name)
    start, end = _period(
        [e.effective_at for e in events],
        now,
        parse_time(since) if since else None,
        parse_time(until) if until else None,
    )
    intervals = [
        i
        for i in reg.timeline(name)
        if (i.start is None or i.start < end) and (i.end is None or i.end > start)
    ]
    shown = sorted({a.version for i in intervals for a in i.versions})
    versions = [reg.get(name, n) for n in shown]
    report_events = [e for e in events if start <= e.effective_at <= end]
    verification = reg.audit_verify()
    checkpoints = reg.audit_checkpoints()
    checkpoint = checkpoints[-1] if checkpoints else reg.audit_checkpoint()
    proofs = _deployment_proofs(reg, report_events, checkpoint)
    return {
        "format": "modelrepo.report.model/1",
        "model": name,
        "generated_at": format_time(now),
        "period": {"from": format_time(start), "to": format_time(end)},
        "versions": [
            {
                "version": v.version,
                "digest": v.digest,
                "created_at": format_time(v.created_at),
                "created_by": v.created_by,
                "flavor": v.flavor,
                "description": v.description,
                "params": dict(v.params),
                "metrics": dict(v.metrics),
                "trusted_types": trust_record(reg.events(name, v.version)),
                "lineage": {
                    "data": [d.to_dict() for d in v.lineage.data],
                    "code": v.lineage.code.to_dict() if v.lineage.code else None,
                    "python": v.lineage.environment.python if v.lineage.environment else None,
                    "packages": len(v.lineage.environment.packages) if v.lineage.environment else 0,
                },
            }
            for v in versions
        ],
        "intervals": [_clip(i, start, end) for i in intervals],
        "events": [{**e.to_dict(), "audit": proofs.get(e.event_id)} for e in report_events],
        "audit": {
            "verified": verification.ok,
            "problems": verification.problems,
            "size": verification.size,
            "root_hash": verification.root_hash,
            "checkpoint": checkpoint,
            "public_key": reg.audit_key(),
        },
    }


def _margin(first: datetime, last: datetime) -> timedelta:
    """Room either side of the changes: 5% of their span, at least an hour."""
    return max((last - first) * 0.05, timedelta(hours=1))


def _period(
    changes: list[datetime], now: datetime, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime]:
    """The report's period: `since`/`until` when given, otherwise from the first change to
    the last with a margin (never past `now`); a day up to `now` when nothing changed."""
    if changes:
        first, last = min(changes), max(changes)
        margin = _margin(first, last)
        start = since or first - margin
        end = until or (max(min(last + margin, now), last) if last > start else now)
    else:
        end = until or now
        start = since or end - timedelta(days=1)
    if start >= end:
        start = end - timedelta(days=1)
    return start, end


def _clip(interval: Interval, start: datetime, end: datetime) -> dict[str, Any]:
    """An interval as drawn in the period (`from`, `to`: clipped to it), with its own
    extent beside (`started_at`, `ended_at`, null while it is still live)."""
    doc = interval.to_dict()
    doc["started_at"] = format_time(interval.start) if interval.start else None
    doc["ended_at"] = format_time(interval.end) if interval.end else None
    doc["from"] = format_time(max(interval.start or start, start))
    doc["to"] = format_time(min(interval.end or end, end))
    doc["open"] = interval.end is None
    return doc


def _deployment_proofs(
    reg: Registry, events: list[DeploymentEvent], checkpoint: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    """For each deployment event, its audit entry's inclusion, checked against the checkpoint."""
    wanted = {e.event_id for e in events}
    found: dict[int, dict[str, Any]] = {}
    key = reg.audit_key().encode()
    signed = verify_checkpoint(checkpoint, key)
    for entry in reg.audit_log(f"model:{events[0].model}") if events else []:
        raw = entry.get("change")
        change: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if entry.get("kind") != "deployment.recorded" or change.get("event_id") not in wanted:
            continue  # a damaged entry is reported by verification, not here
        if entry["seq"] > checkpoint["size"]:
            found[entry["change"]["event_id"]] = {"seq": entry["seq"], "status": "after checkpoint"}
            continue
        bundle = reg.audit_prove(entry["seq"], checkpoint=checkpoint)
        ok = signed and verify_inclusion(
            leaf_hash(canonical_json(bundle["entry"])),
            bundle["index"],
            checkpoint["size"],
            [bytes.fromhex(h) for h in bundle["proof"]],
            bytes.fromhex(checkpoint["root_hash"]),
        )
        found[entry["change"]["event_id"]] = {
            "seq": entry["seq"],
            "status": "proved" if ok else "PROOF FAILED",
            "proof": bundle["proof"],
        }
    return found


# -- HTML ------------------------------------------------------------------------------------

if TYPE_CHECKING:
    import jinja2


@functools.cache
def _templates() -> jinja2.Environment:
    """The report templates, loaded once per process, every value escaped on output."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("modelrepo", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=lambda value: "" if value is None else value,  # a missing value shows blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["json"] = lambda value, sort_keys=False: json.dumps(value, sort_keys=sort_keys)
    env.filters["who"] = _who
    return env


def _who(name: str | None, auth: Any = None) -> str:
    """An actor with how it authenticated (the `who` filter of the templates)."""
    from .domain.principals import Authentication, who

    if not name:
        return "-"
    return who(name, Authentication.from_dict(auth) if isinstance(auth, dict) else auth)


TICK_STEPS: tuple[tuple[str, int], ...] = (
    *(("hour", n) for n in (1, 2, 3, 6, 12)),
    *(("day", n) for n in (1, 2)),
    ("week", 1),
    ("week", 2),
    *(("month", n) for n in (1, 2, 3, 6)),
    *(("year", n) for n in (1, 2, 5, 10, 20, 50, 100)),
)
"""Calendar steps for a chart's time axis, finest first (all in UTC)."""


def _ticks(start: datetime, end: datetime, most: int = 8) -> list[tuple[datetime, str]]:
    """Round instants inside `start`..`end` at the finest calendar step that gives at most
    `most` of them (hours, days, Mondays, months, years), each with a label as short as its
    step allows."""
    for unit, n in TICK_STEPS:
        found = list(itertools.islice(_steps(start, end, unit, n), most + 1))
        if len(found) <= most:
            break
    fmt = {"hour": "%Y-%m-%d %H:%M", "day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m",
           "year": "%Y"}[unit]  # fmt: skip
    return [(t, t.strftime(fmt)) for t in found]


def _steps(start: datetime, end: datetime, unit: str, n: int) -> Iterator[datetime]:
    """The instants from `start` to `end` on an `n`-`unit` calendar grid."""
    t = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if unit == "hour":
        t = t.replace(hour=t.hour - t.hour % n)
        step = timedelta(hours=n)
    elif unit in ("day", "week"):
        t = t.replace(hour=0)
        if unit == "week":  # Mondays
            t -= timedelta(days=t.weekday())
        else:
            t -= timedelta(days=(t.toordinal() % n))
        step = timedelta(days=n * (7 if unit == "week" else 1))
    else:
        months = n * (12 if unit == "year" else 1)
        index = t.year * 12 + t.month - 1
        index -= index % months
        while True:
            t = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
            if t > end:
                return
            if t >= start:
                yield t
            index += months
    while t <= end:
        if t >= start:
            yield t
        t += step


def _chart(doc: dict[str, Any]) -> dict[str, Any]:
    """The timeline chart's geometry (numbers already in the form they are drawn with) and its
    texts, for `timeline.html`: one lane per environment, one bar per version share."""
    start = parse_time(doc["period"]["from"])
    end = parse_time(doc["period"]["to"])
    span = max((end - start).total_seconds(), 1.0)
    envs = sorted({i["environment"] for i in doc["intervals"]})
    left, width, row = 120, 940, 34
    height = 40 + row * max(len(envs), 1)
    colors = {v["version"]: PALETTE[k % len(PALETTE)] for k, v in enumerate(doc["versions"])}

    def x(at: str) -> float:
        return left + width * (parse_time(at) - start).total_seconds() / span

    lanes = []
    unknown = False
    for r, env in enumerate(envs):
        y = 20 + r * row
        bars: list[dict[str, Any]] = []
        approvals: list[str] = []
        for i in (i for i in doc["intervals"] if i["environment"] == env):
            x0, x1 = x(i["from"]), x(i["to"])
            offset = 0.0
            if i.get("unknown"):  # a grey band: what served then is not known
                told = Unknown.from_dict(i["unknown"]).describe()
                bars.append({
                    "x": f"{x0:.1f}", "y": f"{y + 2:.1f}", "width": f"{max(x1 - x0, 1):.1f}",
                    "height": "24.0", "fill": UNKNOWN_FILL, "backfill": False,
                    "title": f"{env}: {told}; event {i['event_id']} (observe)",
                    "label": "unknown",
                    "label_at": (f"{x0 + 4:.1f}", f"{y + 18:.1f}") if x1 - x0 > 60 else None,
                })  # fmt: skip
                unknown = True
                continue
            for a in i["versions"]:
                h, share = 24 * a["weight"], f"{a['weight']:.0%}"
                # The deployment's own interval, not the part of it inside the chart.
                began, ended = i.get("started_at", i["from"]), i.get("ended_at", i["to"])
                title = (f"{env}: v{a['version']} ({share}) from {began} to "
                         f"{'now' if i['open'] else ended}; event {i['event_id']} by "
                         f"{i['actor']}" + (f", approved by {i['approved_by']}"
                                            if i["approved_by"] else "")
                         + (" (backfill)" if i["backfill"] else ""))  # fmt: skip
                bars.append({
                    "x": f"{x0:.1f}",
                    "y": f"{y + 2 + offset:.1f}",
                    "width": f"{max(x1 - x0, 1):.1f}",
                    "height": f"{h:.1f}",
                    "fill": colors.get(a["version"], "#888"),
                    "backfill": i["backfill"],
                    "title": title,
                    "label": f"v{a['version']}" + (f" {share}" if a["weight"] < 1 else ""),
                    "label_at": (f"{x0 + 4:.1f}", f"{y + 2 + offset + h / 2 + 4:.1f}")
                    if x1 - x0 > 28 and h >= 10
                    else None,
                })  # fmt: skip
                offset += h
            if i["approved_by"]:
                approvals.append(f"{x0 + 1:.1f}")
        lanes.append({"environment": env, "y": y, "bars": bars, "approvals": approvals})
    marker = doc.get("marker")
    return {
        "view_width": left + width + 20,
        "height": height,
        "axis": height - 14,
        "left": left,
        "right": left + width,
        "ticks": [
            {"x": f"{left + width * (t - start).total_seconds() / span:.1f}", "label": label}
            for t, label in _ticks(start, end)
        ],
        "lanes": lanes,
        "marker": {"x": f"{x(marker):.1f}", "at": marker} if marker else None,
        "unknown": unknown,
        "legend": [
            {"color": PALETTE[k % len(PALETTE)], "version": v["version"]}
            for k, v in enumerate(doc["versions"])
        ],
    }


def render_html(doc: dict[str, Any]) -> str:
    """The model report (`model_report`'s document) as one self-contained HTML page."""
    events = []
    for e in doc["events"]:
        proof = e.get("audit") or {}
        shares = ", ".join(f"v{a['version']} {a['weight']:.0%}" for a in e["versions"]) or "-"
        mark = proof.get("status", "no entry")
        bounds = None
        if e["kind"] == OBSERVE:  # what it does not know, said beside what it saw
            bounds = f"unknown from {e.get('unknown_from') or 'the beginning'}"
            if e.get("earliest_at"):
                bounds += f"; serving from {e['earliest_at']} at the earliest"
        events.append(
            {**e, "shares": shares, "mark": mark, "entry": proof.get("seq"), "bounds": bounds}
        )
    page = _templates().get_template("model_report.html")
    return page.render(doc=doc, events=events, chart=_chart(doc))


# -- decisions ---------------------------------------------------------------------------------


def decision_report(reg: Registry, decision_id: str) -> dict[str, Any]:
    """Why a decision was made, with the proof that its record and the deployment behind it
    are in the signed audit log."""
    from .auditing import read_batch
    from .domain.audit import name_at, renames_in

    story = reg.decision(decision_id)
    store = reg.backend.metadata
    decision = store.get_decision(decision_id)
    checkpoints = reg.audit_checkpoints()
    checkpoint = checkpoints[-1] if checkpoints else reg.audit_checkpoint()
    if checkpoint["size"] < store.audit_size():
        checkpoint = reg.audit_checkpoint()
    key = reg.audit_key().encode()
    signed = verify_checkpoint(checkpoint, key)
    batch: dict[str, Any] = {"status": "not found"}
    recorded = format_time(decision.recorded_at)
    # A batch of one model is filed under it; a batch of several, under "models". A model
    # renamed since is named in its batch as it was called then.
    record = reg.audit_log(f"model:{decision.model}")
    renames = renames_in(record)
    for entry in itertools.chain(record, reg.audit_log("models")):
        if entry.get("kind") != "decisions.logged" or entry.get("at") != recorded:
            continue
        change = entry["change"]
        seq = int(entry["seq"])
        if name_at(decision.model, seq, renames) not in change.get("models", ()):
            continue
        stored = read_batch(
            store, change["first"], change["last"], holding=decision_id,
            layout=change.get("rows", 1),
            name_then=functools.partial(_renamed_then, seq=seq, renames=renames)
            if renames
            else None,
        )  # fmt: skip
        if not stored.holds:
            continue
        batch = {
            "seq": entry["seq"],
            "count": change["count"],
            "rows_sha256": change["rows_sha256"],
            "rows_match": (stored.count, stored.rows_sha256)
            == (change["count"], change["rows_sha256"]),
            "status": _proved(reg, entry["seq"], checkpoint, signed),
        }
        break
    deployment = None
    if story["deployment_event_id"] is not None:
        for entry in reg.audit_log(f"model:{decision.model}"):
            raw = entry.get("change")
            found: dict[str, Any] = raw if isinstance(raw, dict) else {}
            if (
                entry.get("kind") == "deployment.recorded"
                and found.get("event_id") == story["deployment_event_id"]
            ):
                status = _proved(reg, entry["seq"], checkpoint, signed)
                deployment = {"seq": entry["seq"], "status": status}
                break
    verification = reg.audit_verify()
    model_doc = model_report(
        reg,
        decision.model,
        since=format_time(decision.decided_at - timedelta(days=30)),
        until=format_time(decision.decided_at + timedelta(days=7)),
    )
    return {
        "format": "modelrepo.report.decision/1",
        "generated_at": format_time(reg.clock.now()),
        "decision": story,
        "trusted_types": trust_record(reg.events(decision.model, decision.version)),
        "audit": {
            "verified": verification.ok,
            "problems": verification.problems,
            "checkpoint": checkpoint,
            "decision_batch": batch,
            "deployment_entry": deployment,
            "public_key": reg.audit_key(),
        },
        "timeline": {
            "period": model_doc["period"],
            "intervals": model_doc["intervals"],
            "versions": model_doc["versions"],
        },
    }


def _proved(reg: Registry, seq: int, checkpoint: dict[str, Any], signed: bool) -> str:
    bundle = reg.audit_prove(seq, checkpoint=checkpoint)
    ok = signed and verify_inclusion(
        leaf_hash(canonical_json(bundle["entry"])),
        bundle["index"],
        checkpoint["size"],
        [bytes.fromhex(h) for h in bundle["proof"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    return "proved" if ok else "PROOF FAILED"


def render_decision_html(doc: dict[str, Any]) -> str:
    """The decision report (`decision_report`'s document) as one self-contained HTML page."""
    chart = _chart({**doc["timeline"], "marker": doc["decision"]["decided_at"]})
    return _templates().get_template("decision_report.html").render(doc=doc, chart=chart)


def _renamed_then(name: str, *, seq: int, renames: Sequence[tuple[int, str, str]]) -> str:
    from .domain.audit import name_at

    return name_at(name, seq, renames)
