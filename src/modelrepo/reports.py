"""Evidence reports a reviewer or regulator can read offline: JSON, and one HTML file with
everything inline (styles, an SVG timeline chart; no script, no external resource).

HTML is written by hand with `html.escape` on every value: the report is small, static and
must never depend on a CDN or a template engine at reading time.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .domain.deployments import DeploymentEvent, Interval
from .domain.times import format_time, parse_time
from .verifier import canonical_json, leaf_hash, verify_checkpoint, verify_inclusion

if TYPE_CHECKING:
    from .api import RegistryAPI as Registry

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
        i for i in reg.timeline(name) if i.start < end and (i.end is None or i.end > start)
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
    doc["started_at"] = format_time(interval.start)
    doc["ended_at"] = format_time(interval.end) if interval.end else None
    doc["from"] = format_time(max(interval.start, start))
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

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#111;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border-bottom:1px solid #eee;
padding:4px 6px;text-align:left;vertical-align:top}th{background:#f7f7f7}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.ok{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}.muted{color:#666}
svg text{font:11px system-ui,sans-serif}svg .tick{fill:#666}
.legend{display:flex;flex-wrap:wrap;gap:1em;list-style:none;padding:0;margin:.3em 0}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.3em;
vertical-align:-.1em}.swatch.bf{border:1px dashed #111}.swatch.marker{width:3px;
background:#b91c1c}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


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


def _legend(doc: dict[str, Any]) -> str:
    """What the chart's colours and marks mean: one swatch per version, then the marks."""
    items = [
        f'<li><span class="swatch" style="background:{PALETTE[k % len(PALETTE)]}"></span>'
        f"v{_e(v['version'])}</li>"
        for k, v in enumerate(doc["versions"])
    ]
    items.append('<li><span class="swatch bf"></span>backfilled (recorded after it took '
                 "effect)</li>")  # fmt: skip
    items.append('<li><span class="ok">&#10003;</span> approved by a second identity</li>')
    if doc.get("marker"):
        items.append('<li><span class="swatch marker"></span>the decision</li>')
    return f'<ul class="legend" aria-label="legend">{"".join(items)}</ul>'


def _timeline_svg(doc: dict[str, Any]) -> str:
    start = parse_time(doc["period"]["from"])
    end = parse_time(doc["period"]["to"])
    span = max((end - start).total_seconds(), 1.0)
    envs = sorted({i["environment"] for i in doc["intervals"]})
    left, width, row = 120, 940, 34
    height = 40 + row * max(len(envs), 1)
    axis = height - 14
    colors = {v["version"]: PALETTE[k % len(PALETTE)] for k, v in enumerate(doc["versions"])}

    def x(at: str) -> float:
        return left + width * (parse_time(at) - start).total_seconds() / span

    parts = [f'<svg viewBox="0 0 {left + width + 20} {height}" width="100%" role="img" '
             f'aria-label="deployment timeline">']  # fmt: skip
    for t, label in _ticks(start, end):
        tx = left + width * (t - start).total_seconds() / span
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="12" y2="{axis}" stroke="#eee"/>'
                     f'<text class="tick" x="{tx:.1f}" y="{height - 2}" text-anchor="middle">'
                     f"{_e(label)}</text>")  # fmt: skip
    for r, env in enumerate(envs):
        y = 20 + r * row
        parts.append(f'<text x="4" y="{y + 18}">{_e(env)}</text>')
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y + 26}" y2="{y + 26}" '
                     f'stroke="#ddd"/>')  # fmt: skip
        for i in (i for i in doc["intervals"] if i["environment"] == env):
            x0, x1 = x(i["from"]), x(i["to"])
            offset = 0.0
            for a in i["versions"]:
                h = 24 * a["weight"]
                label = f"v{a['version']}" + (f" {a['weight']:.0%}" if a["weight"] < 1 else "")
                # The deployment's own interval, not the part of it inside the chart.
                began, ended = i.get("started_at", i["from"]), i.get("ended_at", i["to"])
                title = (f"{env}: v{a['version']} ({a['weight']:.0%}) from {began} to "
                         f"{'now' if i['open'] else ended}; event {i['event_id']} by "
                         f"{i['actor']}" + (f", approved by {i['approved_by']}"
                                            if i["approved_by"] else "")
                         + (" (backfill)" if i["backfill"] else ""))  # fmt: skip
                dash = ' stroke="#111" stroke-dasharray="3,2"' if i["backfill"] else ""
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y + 2 + offset:.1f}" width="{max(x1 - x0, 1):.1f}" '
                    f'height="{h:.1f}" fill="{colors.get(a["version"], "#888")}"{dash}>'
                    f"<title>{_e(title)}</title></rect>"
                )
                if x1 - x0 > 28 and h >= 10:
                    parts.append(
                        f'<text x="{x0 + 4:.1f}" y="{y + 2 + offset + h / 2 + 4:.1f}" '
                        f'fill="#fff">{_e(label)}</text>'
                    )
                offset += h
            if i["approved_by"]:
                parts.append(f'<text x="{x0 + 1:.1f}" y="{y - 1}" fill="#15803d">&#10003;</text>')
    if doc.get("marker"):
        mx = x(doc["marker"])
        parts.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="8" y2="{height - 14}" stroke="#b91c1c" '
            f'stroke-width="2"><title>{_e(doc["marker"])}</title></line>'
        )
    parts.append("</svg>")
    return "".join(parts) + _legend(doc)


def render_html(doc: dict[str, Any]) -> str:
    audit = doc["audit"]
    cp = audit["checkpoint"]
    status = (
        '<span class="ok">verified</span>'
        if audit["verified"]
        else '<span class="bad">FAILED: ' + _e("; ".join(audit["problems"])) + "</span>"
    )
    rows = []
    for e in doc["events"]:
        proof = e.get("audit") or {}
        mark = proof.get("status", "no entry")
        css = "ok" if mark == "proved" else "bad"
        shares = ", ".join(f"v{a['version']} {a['weight']:.0%}" for a in e["versions"]) or "-"
        rows.append(
            f"<tr><td>{_e(e['event_id'])}</td><td>{_e(e['effective_at'])}"
            f"{'<br><span class=muted>backfill, recorded ' + _e(e['recorded_at']) + '</span>' if e['backfill'] else ''}"  # noqa: E501
            f"</td><td>{_e(e['environment'])}</td><td>{_e(e['kind'])}</td><td>{_e(shares)}</td>"
            f"<td>{_e(e['actor'])}</td><td>{_e(e['approved_by'] or '-')}"
            f"{' (request ' + _e(e['request_id']) + ')' if e['request_id'] else ''}</td>"
            f"<td>{_e(e['reason'] or '')}</td>"
            f"<td class={css}>{_e(mark)} (entry {_e(proof.get('seq'))})</td></tr>"
        )
    versions = []
    for v in doc["versions"]:
        lineage = v["lineage"]
        data = "<br>".join(
            f"{_e(d['uri'])} <code>{_e(d['digest'])}</code>" for d in lineage["data"]
        )
        code = lineage["code"]
        code_text = (f"{_e(code['remote'] or '(no remote)')} <code>{_e(code['commit'])}</code>"
                     f"{' (dirty)' if code['dirty'] else ''}" if code else "-")  # fmt: skip
        versions.append(
            f"<tr><td>v{_e(v['version'])}</td><td><code>{_e(v['digest'])}</code><br>"
            f"{_e(v['created_at'])} by {_e(v['created_by'])}</td><td>{data or '-'}</td>"
            f"<td>{code_text}<br>Python {_e(lineage['python'])}, {_e(lineage['packages'])} "
            f"packages</td><td><code>{_e(json.dumps(v['params'], sort_keys=True))}</code></td>"
            f"<td><code>{_e(json.dumps(v['metrics'], sort_keys=True))}</code></td></tr>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence report: {_e(doc["model"])}</title><style>{CSS}</style></head><body>
<h1>Evidence report: {_e(doc["model"])}</h1>
<p class="muted">Period {_e(doc["period"]["from"])} to {_e(doc["period"]["to"])};
generated {_e(doc["generated_at"])} by modelrepo.</p>
<h2>What was live when</h2>
{_timeline_svg(doc)}
<p class="muted">Hover a bar for its event and the interval it was live.</p>
<h2>Deployment events</h2>
<table><tr><th>event</th><th>effective</th><th>environment</th><th>kind</th><th>versions</th>
<th>actor</th><th>approved by</th><th>reason</th><th>audit</th></tr>
{"".join(rows) or "<tr><td colspan=9>none in this period</td></tr>"}</table>
<h2>Versions and their lineage</h2>
<table><tr><th>version</th><th>digest, created</th><th>data</th><th>code, environment</th>
<th>params</th><th>metrics</th></tr>{"".join(versions)}</table>
<h2>Audit log</h2>
<p>Log of {_e(audit["size"])} entries, root <code>{_e(audit["root_hash"])}</code>: {status}.</p>
<p>Proofs above are checked against the checkpoint of size {_e(cp["size"])} signed at
{_e(cp["timestamp"])} by key <code>{_e(cp["key_id"])}</code>, root
<code>{_e(cp["root_hash"])}</code>.</p>
<details><summary>Public key</summary><pre>{_e(audit["public_key"])}</pre></details>
</body></html>
"""


# -- decisions ---------------------------------------------------------------------------------


def decision_report(reg: Registry, decision_id: str) -> dict[str, Any]:
    """Why a decision was made, with the proof that its record and the deployment behind it
    are in the signed audit log."""
    from .auditing import read_batch

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
    # A batch of one model is filed under it; a batch of several, under "models".
    for entry in itertools.chain(reg.audit_log(f"model:{decision.model}"), reg.audit_log("models")):
        if entry.get("kind") != "decisions.logged" or entry.get("at") != recorded:
            continue
        change = entry["change"]
        if decision.model not in change.get("models", ()):
            continue
        stored = read_batch(
            store, change["first"], change["last"], holding=decision_id,
            layout=change.get("rows", 1),
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
    story = doc["decision"]
    audit = doc["audit"]
    cp = audit["checkpoint"]
    batch = audit["decision_batch"]
    deployment = story.get("deployment") or {}
    approval = story.get("approval") or {}
    lineage = story.get("lineage") or {}
    flags = ", ".join(story["flags"]) or "none"
    agree = (
        '<span class="ok">yes</span>' if story["matches_history"] else '<span class="bad">NO</span>'
    )
    verified = (
        '<span class="ok">verified</span>'
        if audit["verified"]
        else '<span class="bad">FAILED: ' + _e("; ".join(audit["problems"])) + "</span>"
    )
    chart_doc = {
        "period": doc["timeline"]["period"],
        "intervals": doc["timeline"]["intervals"],
        "versions": doc["timeline"]["versions"],
        "marker": story["decided_at"],
    }
    data = "".join(
        f"<li>{_e(d['uri'])} <code>{_e(d['digest'])}</code></li>" for d in lineage.get("data") or []
    )
    code = lineage.get("code")
    rows = [
        ("decision", f"<code>{_e(story['decision_id'])}</code> at {_e(story['decided_at'])}"),
        ("model and version", f"{_e(story['model'])} v{_e(story['version'])} "
                              f"({_e(story['version_source'])})"),
        ("version digest", f"<code>{_e(story['digest'])}</code>"),
        ("environment", _e(story["environment"] or "-")),
        ("output", f"<code>{_e(json.dumps(story['output']))}</code>"),
        ("inputs", f"<code>{_e(story['inputs_digest'])}</code> (kept {_e(story['inputs_mode'])})"),
        ("deployed by", f"{_e(deployment.get('actor', '-'))} (event "
                        f"{_e(deployment.get('event_id', '-'))}, effective "
                        f"{_e(deployment.get('effective_at', '-'))})"),
        ("approved by", _e(approval.get("approved_by") or "-")),
        ("matches the deployment history", agree),
        ("flags", _e(flags)),
        ("code", (f"{_e(code['remote'] or '(no remote)')} <code>{_e(code['commit'])}</code>"
                  if code else "-")),
        ("data", f"<ul>{data}</ul>" if data else "-"),
    ]  # fmt: skip
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    batch_text = (
        f"entry {_e(batch.get('seq'))}: {_e(batch.get('status'))}; the batch of "
        f"{_e(batch.get('count'))} decisions recomputes to the recorded digest: "
        f"{'yes' if batch.get('rows_match') else 'NO'}"
        if "seq" in batch
        else "not found"
    )
    dep_entry = audit.get("deployment_entry") or {}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence report: decision {_e(story["decision_id"])}</title><style>{CSS}</style></head>
<body>
<h1>Why was decision {_e(story["decision_id"])} made?</h1>
<p class="muted">Generated {_e(doc["generated_at"])} by modelrepo.</p>
<table>{table}</table>
<h2>What was live around the decision</h2>
{_timeline_svg(chart_doc)}
<p class="muted">The decision was made at {_e(story["decided_at"])} (the red line). Chart from
{_e(chart_doc["period"]["from"])} to {_e(chart_doc["period"]["to"])}; hover a bar for its event and
the interval it was live.</p>
<h2>Audit proofs</h2>
<p>Audit log: {verified}.</p>
<ul><li>Decision record: {batch_text}.</li>
<li>Deployment event: entry {_e(dep_entry.get("seq", "-"))}: {_e(dep_entry.get("status", "-"))}.
</li></ul>
<p>Checked against the checkpoint of size {_e(cp["size"])} signed at {_e(cp["timestamp"])} by
key <code>{_e(cp["key_id"])}</code>, root <code>{_e(cp["root_hash"])}</code>.</p>
<details><summary>Public key</summary><pre>{_e(audit["public_key"])}</pre></details>
</body></html>
"""
