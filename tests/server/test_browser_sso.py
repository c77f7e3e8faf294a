"""Four eyes in the browser, through the identity provider: a real `modelrepo serve` trusting a
real OpenID provider (tests/oidc_provider.py), headless Chromium signing two people in on the
provider's own form. Alice (a deployer) requests a deployment to a production that requires
single sign-on; Bob (an approver), in a browser of his own, approves it. The records then
name both, with the provider that vouched for them: history, live, the evidence report and
the audit trail, as the SDK and the CLI read them.

Uses Debian's `chromium` (/usr/bin/chromium) driven by Playwright, as test_browser.py does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelrepo import Registry
from modelrepo.cli import cli
from modelrepo.reports import render_html

from ..oidc_provider import provider
from ..serving import serve
from .test_browser import chromium  # noqa: F401 - the fixture, shared

MODEL = "credit-risk"
CLIENT_ID = "modelrepo"
SECRET = "web-client-secret"

pytestmark = pytest.mark.sqlite_only


def sign_in(browser: Any, url: str, sub: str, where: str = "") -> Any:
    """A new browser (its own cookies) signed in as `sub` on the provider's form; its page."""
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.set_default_timeout(30_000)  # a busy CI machine
    page.goto(f"{url}/ui/{where}")
    page.get_by_test_id("sso").click()
    page.locator('input[name="sub"]').fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_test_id("who-name").wait_for()
    return page


def test_a_deployment_requested_and_approved_in_the_browser_names_both_people(
    chromium: Any,  # noqa: F811
    store_dir: Path,
    tmp_path: Path,
    artifact: Path,
) -> None:
    with provider() as idp:
        idp.add_user("alice", {"email": "alice@example.com"})
        idp.add_user("bob", {"email": "bob@example.com"})
        with Registry(store_dir, user="admin") as reg:
            reg.register(MODEL, artifact, code=False, environment=False)
            reg.protect(MODEL, env="production", require_sso=True)
            reg.grant_role("alice@example.com", "deployer", issuer=idp.url)
            reg.grant_role("bob@example.com", "approver", issuer=idp.url)
            _, admin = reg.create_token("admin", "admin")

        options = ["--oidc-issuer", idp.url, "--oidc-audience", CLIENT_ID]
        env = {"MODELREPO_OIDC_CLIENT_SECRET": SECRET}
        with serve(["--store", str(store_dir)], env, tmp_path / "server.log", options) as (url, _):
            issuer = f"identity provider {idp.url}"

            alice = sign_in(chromium, url, "alice")
            assert alice.get_by_test_id("who-name").inner_text() == "alice@example.com"
            assert idp.url in alice.get_by_test_id("who-issuer").inner_text()
            assert alice.get_by_test_id("logout").inner_text() == "Sign out"
            alice.get_by_test_id("model-link").filter(has_text=MODEL).click()
            alice.get_by_test_id("deploy-env-1").fill("production")
            alice.get_by_test_id("deploy-1").click()
            outcome = alice.get_by_test_id("deploy-outcome")
            outcome.wait_for()
            said = outcome.inner_text()
            assert "awaits approval" in said, said
            request_id = int(said.split()[1])

            # Bob opens the requests first: signing in brings him back to them.
            bob = sign_in(chromium, url, "bob", "#/requests")
            row = bob.locator(f'[data-testid="request-row"][data-request="{request_id}"]')
            assert f"alice@example.com ({issuer})" in row.get_by_test_id("request-by").inner_text()
            bob.get_by_test_id(f"approve-{request_id}").click()
            decided = bob.get_by_test_id("request-decided")
            decided.wait_for()
            assert decided.inner_text() == f"approved by bob@example.com ({issuer})"

            # Alice sees who deployed and who approved, and how each signed in.
            alice.reload()
            first = alice.get_by_test_id("history-row").last
            first.wait_for()
            assert first.get_by_test_id("history-actor").inner_text() == (
                f"alice@example.com ({issuer})"
            )
            assert first.get_by_test_id("history-approver").inner_text() == (
                f"bob@example.com ({issuer})"
            )
            alice.get_by_test_id("logout").click()
            alice.get_by_test_id("sso").wait_for()
            assert alice.get_by_test_id("provider-sign-out").get_attribute("href") == (
                f"{idp.url}/oauth2/end_session"
            )

            with Registry(url, token=admin) as sdk:
                sdk_checks(sdk, idp.url, request_id, issuer)

            runner = CliRunner(env={"MODELREPO_TOKEN": admin})
            base = ["--store", url]
            audit = runner.invoke(cli, [*base, "audit", "log", "--model", MODEL, "--json"])
            assert audit.exit_code == 0, audit.output
            people = ("alice@example.com", "bob@example.com")
            entries = json.loads(audit.output)["entries"]
            by = {e["actor"]: e for e in entries if e["actor"] in people}
            assert set(by) == {"alice@example.com", "bob@example.com"}
            for entry in by.values():
                assert idp.url in json.dumps(entry["change"]), entry
            history = runner.invoke(cli, [*base, "history", MODEL, "--env", "production"])
            assert history.exit_code == 0, history.output
            assert f"alice@example.com ({issuer})" in history.output
            assert f"bob@example.com ({issuer})" in history.output


def sdk_checks(sdk: Registry, issuer_url: str, request_id: int, issuer: str) -> None:
    """What the SDK reads back: history, live, the request, the evidence report."""
    oidc = {"method": "oidc", "issuer": issuer_url}
    event = sdk.history(MODEL, env="production")[-1]
    assert (event.actor, event.approved_by) == ("alice@example.com", "bob@example.com")
    assert event.actor_auth is not None and event.approved_auth is not None
    assert event.actor_auth.to_dict() == {**oidc, "subject": "alice"}
    assert event.approved_auth.to_dict() == {**oidc, "subject": "bob"}
    live = sdk.live(MODEL, env="production")
    assert [v.version for v in live.versions] == [1]
    assert live.event is not None and live.event.actor_auth == event.actor_auth
    request = sdk.request(request_id)
    assert request.requested_auth == event.actor_auth
    assert request.decided_auth == event.approved_auth

    report = sdk.report_model(MODEL)
    html = render_html(report)
    for person in ("alice@example.com", "bob@example.com"):
        assert f"{person} ({issuer})" in html, person
    assert json.dumps(report).count(issuer_url) >= 2
