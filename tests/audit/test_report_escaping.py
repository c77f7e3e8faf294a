"""Whatever a record holds, the evidence reports show it as text: no value opens a tag or an
attribute in a page an auditor opens."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo import ManualClock, Registry
from modelrepo.domain.times import parse_time
from modelrepo.reports import render_decision_html, render_html

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"onmouseover=alert(2) x="'
HOSTILE = f"{SCRIPT}{ATTRIBUTE}'&"
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def assert_escaped(page: str) -> None:
    assert "<script" not in page.lower()
    assert '"onmouseover' not in page and "'&" not in page
    assert HOSTILE in html.unescape(page)  # shown, as text


def hostile_registry(artifact: Path) -> Registry:
    """A user, reason, tag, description, params and decision output that hold markup."""
    reg = Registry.in_memory(user=HOSTILE, clock=ManualClock(NOW, step=timedelta(seconds=1)))
    for i in range(2):
        (artifact / "features.csv").write_text(f"v{i}\n")
        reg.register(
            "credit-risk",
            artifact,
            code=False,
            environment=False,
            description=HOSTILE,
            tags={"note": HOSTILE},
            params={"label": HOSTILE},
        )
    reg.deploy("credit-risk", 1, env="production", reason=HOSTILE)
    reg.deploy_split("credit-risk", {1: 0.5, 2: 0.5}, env="canary", reason=HOSTILE)
    reg.log_decision(
        "credit-risk", inputs={"k": HOSTILE}, output={"label": HOSTILE}, version=1,
        environment="production", decision_id="d-1", metadata={"note": HOSTILE},
    )  # fmt: skip
    return reg


def test_values_recorded_through_the_registry_are_escaped(artifact: Path) -> None:
    reg = hostile_registry(artifact)
    for page in (
        render_html(reg.report_model("credit-risk")),
        render_decision_html(reg.report_decision("d-1")),
    ):
        assert_escaped(page)


def poisoned(value: Any) -> Any:
    """Every text of a report document made hostile, but the instants the chart is drawn
    from (a model name or environment the registry refuses today is a document a future
    one, or an edited JSON file, may hold)."""
    if isinstance(value, dict):
        return {k: poisoned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [poisoned(v) for v in value]
    if isinstance(value, str):
        try:
            parse_time(value)
        except ValueError:
            return HOSTILE + value
        return value
    return value


@pytest.mark.parametrize("which", ["model", "decision"])
def test_every_text_of_a_report_is_escaped(artifact: Path, which: str) -> None:
    reg = hostile_registry(artifact)
    reg.audit_checkpoint()
    if which == "model":
        doc = poisoned(reg.report_model("credit-risk"))
        doc["audit"]["verified"] = False  # the problems are shown too
        doc["audit"]["problems"] = [HOSTILE]
        page = render_html(doc)
    else:
        doc = poisoned(reg.report_decision("d-1"))
        doc["audit"]["verified"] = False
        doc["audit"]["problems"] = [HOSTILE]
        page = render_decision_html(doc)
    assert_escaped(page)
    assert f"{HOSTILE}credit-risk" in html.unescape(page)
