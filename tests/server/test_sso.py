"""Single sign-on through the API: identity-provider tokens from a real provider on loopback
become principals with their issuer, roles come from bindings and groups, and four eyes in an
environment that requires single sign-on takes two people the provider vouches for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.reports import render_html
from modelrepo.server import create_app
from modelrepo.server.auth import TokenCache
from modelrepo.server.oidc import OidcSettings, OidcVerifier, parse_role_map

from ..oidc_provider import Provider

CLIENT = "modelrepo-tests"
MODEL = "credit-risk"
ENV = "/api/v1/models/credit-risk/environments/production"

pytestmark = pytest.mark.sqlite_only


@dataclass
class Sso:
    client: TestClient
    registry: Registry
    provider: Provider

    def bearer(self, user: str, **claims: Any) -> dict[str, str]:
        """A real ID token of `user` (its email), signed in through the provider."""
        self.provider.add_user(user, {"email": user, **claims})
        return {"Authorization": f"Bearer {self.provider.id_token(user, client_id=CLIENT)}"}


@pytest.fixture
def sso(registry: Registry, shared_oidc_provider: Provider) -> Iterator[Sso]:
    settings = OidcSettings(
        issuer=shared_oidc_provider.url,
        audience=CLIENT,
        roles_claim="groups",
        role_map=parse_role_map("risk-viewers=viewer,fraud-team=deployer:fraud-*"),
    )
    verifier = OidcVerifier(settings)
    # Bindings are read with the credential, which is trusted for a second: read every time.
    app = create_app(registry, oidc=verifier, token_cache=TokenCache(0))
    with TestClient(app) as client:
        yield Sso(client, registry, shared_oidc_provider)
    verifier.close()


def test_an_identity_provider_user_needs_a_role_and_then_is_recorded_with_its_issuer(
    sso: Sso,
) -> None:
    alice = sso.bearer("alice@bank.example")
    refused = sso.client.get("/api/v1/whoami", headers=alice)
    assert refused.status_code == 403, refused.text
    assert "holds no role" in refused.json()["message"]
    sso.registry.grant_role("alice@bank.example", "viewer", issuer=sso.provider.url)
    me = sso.client.get("/api/v1/whoami", headers=alice).json()
    assert me["user"] == "alice@bank.example"
    assert me["authentication"]["method"] == "oidc"
    assert me["authentication"]["issuer"] == sso.provider.url
    assert me["authenticated_as"].startswith(f"identity provider {sso.provider.url}")
    assert me["grants"] == [{"role": "viewer", "model_pattern": None}]
    # Another issuer's binding grants nothing here.
    sso.registry.grant_role("carol@bank.example", "admin", issuer="https://elsewhere.example")
    carol = sso.bearer("carol@bank.example")
    assert sso.client.get("/api/v1/whoami", headers=carol).status_code == 403


def test_groups_map_to_roles_and_scopes(sso: Sso) -> None:
    dave = sso.bearer("dave@bank.example", groups=["fraud-team", "risk-viewers"])
    me = sso.client.get("/api/v1/whoami", headers=dave).json()
    assert {(g["role"], g["model_pattern"]) for g in me["grants"]} == {
        ("viewer", None),
        ("deployer", "fraud-*"),
    }
    models = sso.client.get("/api/v1/models", headers=dave)
    assert models.status_code == 200


def test_tokens_that_are_not_the_providers_are_refused_at_the_gate(sso: Sso) -> None:
    good = sso.bearer("erin@bank.example")["Authorization"].split()[1]
    header, payload, signature = good.split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    for token in (forged, "a.b.c", good[:-10]):
        reply = sso.client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, reply.text
        assert good not in reply.text


def test_four_eyes_between_two_people_of_the_provider_in_an_sso_environment(sso: Sso) -> None:
    issuer = sso.provider.url
    admin = {"Authorization": f"Bearer {sso.registry.create_token('ops', 'admin')[1]}"}
    sso.registry.grant_role("alice@bank.example", "deployer", issuer=issuer)
    sso.registry.grant_role("alice@bank.example", "approver", issuer=issuer)
    sso.registry.grant_role("bob@bank.example", "approver", issuer=issuer)
    alice, bob = sso.bearer("alice@bank.example"), sso.bearer("bob@bank.example")
    files = [("files", ("model/coefficients.json", b'{"income": 0.25}\n'))]
    made = sso.client.post(f"/api/v1/models/{MODEL}/versions", headers=admin, files=files)
    assert made.status_code == 201, made.text
    protect = sso.client.post(f"{ENV}/protect?require_sso=true", headers=admin)
    assert protect.status_code == 200 and protect.json()["require_sso"] is True
    # A token user may not even ask; an identity-provider user may.
    approver = {"Authorization": f"Bearer {sso.registry.create_token('tom', 'approver')[1]}"}
    asked = sso.client.post(f"{ENV}/deploy", headers=alice, json={"version": 1})
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["request_id"]
    assert asked.json()["requested_auth"] == {
        "method": "oidc",
        "issuer": issuer,
        "subject": "alice@bank.example",
    }
    # Alice cannot approve her own request, nor with an API token she mints for herself.
    approve = f"/api/v1/requests/{request_id}/approve"
    assert sso.client.post(approve, headers=alice).status_code == 403
    own = sso.client.post("/api/v1/tokens", headers=alice, json={"role": "approver"})
    assert own.status_code == 201, own.text
    assert own.json()["minted_auth"]["method"] == "oidc"
    with_token = {"Authorization": f"Bearer {own.json()['token']}"}
    again = sso.client.post(approve, headers=with_token)
    assert again.status_code == 403
    # A second person with an API token is refused here: this environment takes only SSO.
    by_token = sso.client.post(approve, headers=approver)
    assert by_token.status_code == 403
    assert "requires single sign-on" in by_token.json()["message"]
    done = sso.client.post(approve, headers=bob)
    assert done.status_code == 200, done.text
    # Both people, with their issuer, in history, live, the evidence report and the audit log.
    history = sso.client.get(f"/api/v1/models/{MODEL}/history", headers=bob).json()
    event = history["items"][-1] if isinstance(history, dict) else history[-1]
    assert (event["actor"], event["approved_by"]) == ("alice@bank.example", "bob@bank.example")
    assert event["actor_auth"]["issuer"] == event["approved_auth"]["issuer"] == issuer
    live = sso.client.get(f"{ENV}/live", headers=bob).json()
    assert live["event"]["approved_auth"]["subject"] == "bob@bank.example"
    report = sso.client.get(f"/api/v1/models/{MODEL}/report", headers=admin)
    assert report.status_code == 200, report.text
    shown = report.json()["events"][-1]
    assert (shown["actor_auth"]["issuer"], shown["approved_auth"]["issuer"]) == (issuer, issuer)
    html = render_html(report.json())
    assert f"bob@bank.example (identity provider {issuer})" in html
    assert f"alice@bank.example (identity provider {issuer})" in html
    entries = sso.registry.audit_log(f"model:{MODEL}")
    decided = next(e for e in entries if e["kind"] == "request.approved")
    assert decided["actor"] == "bob@bank.example"
    assert decided["change"]["auth"]["issuer"] == issuer
    requested = next(e for e in entries if e["kind"] == "deployment.requested")
    assert requested["change"]["requested_auth"]["issuer"] == issuer
    assert sso.registry.audit_verify().ok, json.dumps(sso.registry.audit_verify().to_dict())
