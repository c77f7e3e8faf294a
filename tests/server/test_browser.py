"""The web UI in headless Chromium against a real `modelrepo serve`: log in with a token, open
a model's timeline, pick instants by clicking the chart and by typing one, and check the
versions the page shows against the SDK's `live(name, env, at=...)`.

Uses Debian's `chromium` (/usr/bin/chromium, installed by .ci/run) driven by Playwright; no
browser is downloaded. In CI a missing browser fails the test; elsewhere it is skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo import Registry

from ..serving import serve

CHROMIUM = Path("/usr/bin/chromium")
MODEL = "credit-risk"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
# (environment, days after T0, version): three production deployments, two in staging.
HISTORY = [
    ("production", 1, 1),
    ("staging", 5, 2),
    ("production", 10, 2),
    ("staging", 15, 3),
    ("production", 20, 3),
]

pytestmark = pytest.mark.sqlite_only


def describe(state: Any) -> str:
    """The SDK's answer as the page writes it (`v2`, `v3 90% · v1 10%`, `nothing`)."""
    if not state.versions:
        return "nothing"
    return " · ".join(
        f"v{v.version}" if v.weight >= 1 else f"v{v.version} {round(v.weight * 100)}%"
        for v in state.versions
    )


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"Debian's chromium is not installed ({CHROMIUM}); apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


def test_the_timeline_shows_what_the_sdk_says_was_live(
    chromium: Any, store_dir: Path, tmp_path: Path, artifact: Path
) -> None:
    with Registry(store_dir, user="alice") as reg:
        for i in range(3):
            (artifact / "model" / "coefficients.json").write_text(f'{{"income": 0.2{i}}}')
            reg.register(MODEL, artifact, code=False, environment=False)
        for env, days, version in HISTORY:
            when = T0 + timedelta(days=days)
            record = {"environment": env, "effective_at": when, "versions": {version: 1.0}}
            reg.import_deployments(MODEL, [record], source="the old registry")
        _, token = reg.create_token("viewer", "viewer")

    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        sdk = Registry(url, token=token)
        page = chromium.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(30_000)  # a busy CI machine
        page.goto(f"{url}/ui/")
        page.get_by_test_id("token").fill(token)
        page.get_by_test_id("login").click()
        page.get_by_test_id("model-link").filter(has_text=MODEL).click()
        chart = page.get_by_test_id("timeline")
        chart.locator("svg").wait_for()

        def registry_answer(at: str) -> dict[str, str]:
            """The page's answer for `at` once the registry has given it: environment ->
            versions as shown."""
            answer = page.locator(
                f'[data-testid="live-answer"][data-at="{at}"]'
                '[data-source="answered by the registry"]'
            )
            answer.wait_for()
            rows = answer.get_by_test_id("live-row")
            return {
                rows.nth(i).get_attribute("data-environment") or "": rows.nth(i)
                .get_by_test_id("live-versions")
                .inner_text()
                for i in range(rows.count())
            }

        def expected(at: str) -> dict[str, str]:
            return {
                env: describe(sdk.live(MODEL, env=env, at=at)) for env in ("production", "staging")
            }

        # Typed: the 12th of January, when production ran v2 and staging v2.
        page.get_by_test_id("instant").fill("2025-01-12T00:00:00Z")
        page.get_by_test_id("show-live").click()
        typed = registry_answer("2025-01-12T00:00:00Z")
        assert typed == expected("2025-01-12T00:00:00Z") == {"production": "v2", "staging": "v2"}

        # Clicked: instants across the chart, each read back from the page and asked of the SDK.
        box = chart.bounding_box()
        assert box is not None
        seen = set()
        for fraction in (0.15, 0.45, 0.75, 0.97):
            page.mouse.click(box["x"] + 130 + fraction * (box["width"] - 140), box["y"] + 40)
            at = page.get_by_test_id("instant").input_value()
            shown = registry_answer(at)
            assert shown == expected(at), at
            seen.add(shown["production"])
        assert len(seen) >= 2, seen  # the clicks landed on different deployments
        sdk.close()


def test_the_first_hour_docs_offline_home_navigation_decisions_and_audit_log(
    chromium: Any, store_dir: Path, tmp_path: Path, artifact: Path
) -> None:
    """What a new user meets: the server's address leads to the UI, the API docs render with
    no other host reachable, the navigation waits for a good token, and decisions and the
    audit log can be browsed page by page."""
    with Registry(store_dir, user="alice") as reg:
        reg.register(MODEL, artifact, code=False, environment=False)
        reg.import_deployments(
            MODEL, [{"environment": "production", "effective_at": T0, "versions": {1: 1.0}}],
            source="the old registry",
        )  # fmt: skip
        for k in range(60):
            reg.log_decision(
                MODEL, inputs={"k": k}, output=k % 2, environment="production",
                decision_id=f"d-{k:02}", decided_at=T0 + timedelta(days=1, minutes=k),
            )  # fmt: skip
        _, token = reg.create_token("viewer", "viewer")

    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        page = chromium.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(30_000)
        elsewhere: list[str] = []

        def air_gap(route: Any) -> None:
            """Only this server answers, as on a network with no way out."""
            if route.request.url.startswith(url):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", air_gap)
        page.goto(f"{url}/docs")
        page.locator(".swagger-ui .info .title").filter(has_text="modelrepo").wait_for()
        page.goto(f"{url}/redoc")
        page.locator("redoc h1, [role=main] h1").first.wait_for()
        assert elsewhere == []

        page.goto(f"{url}/")
        assert page.url == f"{url}/ui/"
        page.get_by_test_id("token").wait_for()
        nav = page.locator("#nav")
        assert nav.is_hidden()
        page.get_by_test_id("token").fill("mr_000000000000_wrong")
        page.get_by_test_id("login").click()
        page.get_by_role("alert").wait_for()
        assert nav.is_hidden()
        page.get_by_test_id("token").fill(token)
        page.get_by_test_id("login").click()
        page.get_by_test_id("model-link").first.wait_for()
        assert nav.is_visible()

        nav.get_by_text("Decisions").click()
        page.get_by_test_id("filter-model").fill(MODEL)
        page.get_by_test_id("filter-env").fill("production")
        page.get_by_test_id("filter-decisions").get_by_role("button").click()
        rows = page.get_by_test_id("decision-row")
        rows.first.wait_for()
        assert rows.count() == 50
        page.get_by_test_id("decisions-more").click()
        page.get_by_test_id("decisions-count").filter(has_text="60 shown").wait_for()
        assert rows.count() == 60 and page.get_by_test_id("decisions-more").is_hidden()

        nav.get_by_text("Audit").click()
        page.get_by_text("intact").wait_for()
        entries = page.get_by_test_id("audit-row")
        entries.first.wait_for()
        assert entries.count() >= 3
        page.get_by_test_id("filter-subject").fill(f"model:{MODEL}")
        page.get_by_test_id("filter-audit").get_by_role("button").click()
        page.wait_for_url("**/ui/#/audit?subject=model%3Acredit-risk")
        # The page is drawn again once the log is verified: wait for the filtered rows (the
        # unfiltered ones, or none, may still be there a moment after the address changes).
        page.wait_for_function(
            """(model) => {
                const rows = [...document.querySelectorAll('[data-testid="audit-row"]')];
                return rows.length > 0 && rows.every((r) => r.innerText.includes(model));
            }""",
            arg=MODEL,
        )
        texts = entries.all_inner_texts()
        # Filed under the model, or under several models that include it (a bulk import).
        assert texts and all(f"model:{MODEL}" in t or "models" in t for t in texts)
        assert any("models" in t for t in texts), "the bulk import shows in the model's record"
        assert elsewhere == []


def test_an_admin_grants_and_revokes_a_role_binding_in_the_browser(
    chromium: Any, store_dir: Path, tmp_path: Path
) -> None:
    """The Roles page against a real server: a grant the server refuses says why, one it
    accepts is what the SDK then lists, and revoking it is recorded."""
    with Registry(store_dir, user="alice") as reg:
        _, token = reg.create_token("alice", "admin")

    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        page = chromium.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(30_000)
        page.goto(f"{url}/ui/")
        page.get_by_test_id("token").fill(token)
        page.get_by_test_id("login").click()
        page.locator("#nav").get_by_text("Roles").click()
        page.get_by_text("No role bindings.").wait_for()

        page.get_by_test_id("role-principal").fill("erin@bank.example")
        page.get_by_test_id("role-role").select_option("deployer")
        page.get_by_test_id("role-pattern").fill("fraud-*")
        page.get_by_test_id("role-grant").get_by_role("button").click()
        page.get_by_role("alert").filter(has_text="no identity provider configured").wait_for()

        page.get_by_test_id("role-issuer").fill("https://idp.bank.example")
        page.get_by_test_id("role-grant").get_by_role("button").click()
        rows = page.get_by_test_id("role-row")
        rows.first.wait_for()
        with Registry(url, token=token) as sdk:
            [binding] = sdk.role_bindings()
        assert (binding.principal, binding.role, binding.model_pattern) == (
            "erin@bank.example", "deployer", "fraud-*",
        )  # fmt: skip
        assert binding.binding_id in rows.first.inner_text()

        page.get_by_test_id("role-revoke").click()
        page.get_by_test_id("roles-status").filter(has_text="Revoked binding").wait_for()
        assert "revoked" in rows.first.inner_text()
        with Registry(url, token=token) as sdk:
            assert [b.active for b in sdk.role_bindings()] == [False]
            assert sdk.audit_verify().ok
