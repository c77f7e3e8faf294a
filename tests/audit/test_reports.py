"""The model evidence report: self-contained, escaped, and backed by checked audit proofs."""

from __future__ import annotations

import html
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modelrepo import ManualClock, Registry
from modelrepo.domain.times import format_time, parse_time
from modelrepo.reports import _ticks, render_decision_html, render_html

from ..cli.conftest import Run


def test_model_report(run: Run, artifact: Path, tmp_path: Path, store_dir: Path) -> None:
    for i in range(3):
        (artifact / "features.csv").write_text(f"v{i}\n")
        run("register", "credit-risk", str(artifact), "--no-code", "--description",
            "<script>alert('x')</script>")  # fmt: skip
    run("deploy", "credit-risk@1", "--env", "production", "--effective-at",
        "2026-01-05T08:00:00Z", "--reason", "backfilled")  # fmt: skip
    run("deploy", "credit-risk", "--env", "canary", "--split", "1=0.9", "--split", "2=0.1")
    run("env", "protect", "credit-risk", "--env", "production")
    request = run("deploy", "credit-risk@3", "--env", "production", "--json").json
    run("approve", str(request["request_id"]), user="bob")
    out = tmp_path / "report.html"
    doc = run("report", "model", "credit-risk", "--out", str(out), "--json").json
    assert doc["audit"]["verified"]
    assert {e["event_id"]: e["audit"]["status"] for e in doc["events"]} == {
        1: "proved",
        2: "proved",
        3: "proved",
    }
    approved = next(e for e in doc["events"] if e["approved_by"])
    assert (approved["actor"], approved["approved_by"]) == ("alice", "bob")
    assert [v["version"] for v in doc["versions"]] == [1, 2, 3]
    assert json.loads(out.with_suffix(".json").read_text()) == doc
    page = out.read_text()
    assert "<svg" in page and "production" in page and "canary" in page
    assert "<script" not in page.lower()  # escaped, and no script of our own either
    assert "&lt;script&gt;" in page or "alert" not in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # opens offline
    assert "approved by bob" in page


def test_report_flags_a_tampered_log(run: Run, artifact: Path, tmp_path: Path, store_dir: Path):
    import apsw

    run("register", "credit-risk", str(artifact), "--no-code")
    run("deploy", "credit-risk@1", "--env", "production")
    conn = apsw.Connection(str(store_dir / "modelrepo.db"))
    conn.execute("DROP TRIGGER audit_entries_no_update")
    conn.execute("UPDATE audit_entries SET body = CAST('{}' AS BLOB) WHERE seq = 2")
    conn.close()
    doc = run("report", "model", "credit-risk", "--out", str(tmp_path / "r.html"), "--json").json
    assert not doc["audit"]["verified"]
    assert "FAILED" in (tmp_path / "r.html").read_text()
    with Registry(store_dir) as reg:
        assert not reg.audit_verify().ok


# -- the timeline chart: its period, axis, legend and tooltips --------------------------------

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
FIRST = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)


def history(artifact: Path) -> Registry:
    """credit-risk: v1 in production from FIRST, v2 from FIRST + 40 days, staging between;
    the last change three weeks before NOW, the decision `d-1` made between the two."""
    reg = Registry.in_memory(user="alice", clock=ManualClock(NOW, step=timedelta(seconds=1)))
    for _ in range(2):
        reg.register("credit-risk", artifact, code=False, environment=False)
    records = [
        ("production", FIRST, 1),
        ("staging", FIRST + timedelta(days=20), 2),
        ("production", FIRST + timedelta(days=96), 2),
    ]
    reg.import_deployments(
        "credit-risk",
        [{"environment": e, "effective_at": at, "versions": {v: 1.0}} for e, at, v in records],
        source="the old registry",
    )
    reg.log_decision(
        "credit-risk", inputs={"k": 1}, output=1, environment="production",
        decision_id="d-1", decided_at=FIRST + timedelta(days=95),
    )  # fmt: skip
    return reg


def tooltips(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<title>([^<]*)</title>", page)]


def tick_labels(page: str) -> list[str]:
    return re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', page)


def test_the_model_report_fits_its_period_to_the_history(artifact: Path) -> None:
    reg = history(artifact)
    last = FIRST + timedelta(days=96)
    period = reg.report_model("credit-risk")["period"]
    start, end = parse_time(period["from"]), parse_time(period["to"])
    # Both changes inside, the margin small: the chart is the history, not the weeks since.
    assert start < FIRST and end > last and end < NOW
    assert (FIRST - start) <= timedelta(days=5) and (end - last) <= timedelta(days=5)
    # An explicit period still wins, either end.
    given = reg.report_model("credit-risk", since="2025-01-01T00:00:00Z")["period"]
    assert given["from"].startswith("2025-01-01T00:00:00") and parse_time(given["to"]) < NOW
    given = reg.report_model("credit-risk", until="2026-03-01T00:00:00Z")["period"]
    assert given["to"].startswith("2026-03-01T00:00:00") and parse_time(given["from"]) < FIRST
    # Nothing deployed yet: the day before now.
    reg.register("fraud", artifact, code=False, environment=False)
    empty = reg.report_model("fraud")["period"]
    assert parse_time(empty["to"]) - parse_time(empty["from"]) == timedelta(days=1)


def test_the_charts_have_a_legend_calendar_ticks_and_real_intervals(artifact: Path) -> None:
    reg = history(artifact)
    for doc, render in (
        (reg.report_decision("d-1"), render_decision_html),
        (reg.report_model("credit-risk", since="2026-01-01T00:00:00Z"), render_html),
    ):
        page = render(doc)
        legend = re.search(r'<ul class="legend"[^>]*>(.*?)</ul>', page, flags=re.S)
        assert legend is not None
        assert re.findall(r"</span>(v\d+)</li>", legend.group(1)) == ["v1", "v2"]
        assert "backfilled" in legend.group(1) and "approved" in legend.group(1)
        labels = tick_labels(page)
        assert 4 <= len(labels) <= 8, labels
        # Labels at one calendar step: every Monday, every month start, every day...
        instants = [datetime.fromisoformat(label) for label in labels]
        steps = {b - a for a, b in itertools.pairwise(instants)}
        assert len(steps) == 1 or all(t.day == 1 for t in instants), labels
        # The first deployment began before the chart: its tooltip gives its own start.
        first = next(t for t in tooltips(page) if t.startswith("production: v1"))
        assert f"from {format_time(FIRST)} to {format_time(FIRST + timedelta(days=96))}" in first
        clipped = next(i for i in doc.get("intervals") or doc["timeline"]["intervals"]
                       if i["event_id"] == 1)  # fmt: skip
        assert clipped["started_at"] == format_time(FIRST) != clipped["from"]
        assert clipped["ended_at"] == format_time(FIRST + timedelta(days=96))
        # Still live: said as such, not as the chart's end.
        live = next(t for t in tooltips(page) if t.startswith("production: v2"))
        assert "to now" in live
        marked = "the decision" in legend.group(1)  # the decision report's red line
        assert marked == (render is render_decision_html)


def test_ticks_step_by_the_calendar() -> None:
    at = datetime.fromisoformat
    hours = _ticks(at("2026-01-05T01:10:00+00:00"), at("2026-01-05T09:50:00+00:00"))
    assert [label for _, label in hours][:2] == ["2026-01-05 02:00", "2026-01-05 03:00"]
    weeks = _ticks(at("2026-01-01T00:00:00+00:00"), at("2026-02-20T00:00:00+00:00"))
    assert all(t.weekday() == 0 for t, _ in weeks) and len(weeks) >= 4
    months = _ticks(at("2025-01-15T00:00:00+00:00"), at("2025-12-20T00:00:00+00:00"))
    assert [label for _, label in months][:3] == ["2025-03", "2025-05", "2025-07"]
    years = _ticks(at("2001-06-01T00:00:00+00:00"), at("2026-01-01T00:00:00+00:00"))
    assert [label for _, label in years] == ["2005", "2010", "2015", "2020", "2025"]


def test_reports_say_unknown_where_an_observation_leaves_it(artifact: Path) -> None:
    """Imported from a registry that keeps no history: the chart draws the stretch before the
    first look as a grey 'unknown' band, the events list the observations with their bounds,
    and a decision made in it is reported as neither matching nor contradicting."""
    reg = Registry.in_memory(user="alice", clock=ManualClock(NOW, step=timedelta(seconds=1)))
    reg.register("credit-risk", artifact, code=False, environment=False)
    seen = FIRST + timedelta(days=30)
    source = "MLflow (sqlite:///mlflow.db)"
    reg.import_deployments(
        "credit-risk",
        [{"kind": "observe", "environment": "production", "versions": {1: 1.0},
          "effective_at": seen, "earliest_at": FIRST}],
        source=source,
    )  # fmt: skip
    reg.log_decision(
        "credit-risk", inputs={"k": 1}, output=1, environment="production", version=1,
        decision_id="d-1", decided_at=seen - timedelta(days=2),
    )  # fmt: skip
    told = f"unknown before {format_time(seen)} (imported from {source}, which keeps no history)"
    doc = reg.report_model("credit-risk", since=format_time(FIRST))
    assert [i["unknown"] is not None for i in doc["intervals"]] == [True, False]
    assert doc["intervals"][0]["started_at"] is None
    page = render_html(doc)
    assert any(t.startswith(f"production: {told}") for t in tooltips(page))
    assert 'fill="#d4d4d4"' in page and "unknown (imported from a registry" in page
    assert f"unknown from the beginning; serving from {format_time(FIRST)} at the earliest" in (
        page
    )
    decision = reg.report_decision("d-1")
    assert decision["decision"]["flags"] == ["live_unknown"]
    assert decision["decision"]["live_unknown"]["until"] == format_time(seen)
    page = html.unescape(render_decision_html(decision))
    assert f"<tr><th>what was live</th><td>{told[: -len(')')]})</td></tr>" in page
    assert "<th>matches the deployment history</th><td>unknown</td>" in page
    assert "deployed by" not in page
