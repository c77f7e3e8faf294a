"""Deny by default: every route refuses a request without a token; each mutating route
refuses the roles and model scopes that may not use it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from modelrepo import Registry
from modelrepo.domain.access import ROLE_ACTIONS, authorize
from modelrepo.domain.errors import Forbidden
from modelrepo.server import create_app
from modelrepo.server.auth import is_public, required_action

from .conftest import Api

PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# The web UI's static shell: HTML, CSS and JavaScript without data (each datum it shows comes
# from /api/v1 with the user's token), each file its own route, no catch-all.
PUBLIC |= {"/ui", "/ui/", "/ui/app.css", "/ui/app.mjs", "/ui/timeline.mjs"}


def test_every_route_without_the_public_marker_refuses_a_request_without_a_token() -> None:
    app = create_app(Registry.in_memory(user="server"))
    from fastapi.testclient import TestClient

    client = TestClient(app)
    public = set()
    walked = 0
    for route in app.routes:
        path = route.path  # type: ignore[attr-defined]
        if is_public(route):
            public.add(path)
            continue
        assert isinstance(route, APIRoute), path
        assert required_action(route) is not None, path
        url = re.sub(r"\{[^}]+\}", "x1", path.replace("{version}", "1"))
        for method in route.methods:
            for headers in ({}, {"Authorization": "Bearer mr_000000000000_forged"},
                            {"Authorization": "Basic YWxpY2U6c2VjcmV0"}):  # fmt: skip
                reply = client.request(method, url, headers=headers, content=b"{not json")
                assert reply.status_code == 401, (method, path, headers)
                assert reply.json()["code"] == "unauthenticated"
                assert reply.headers["www-authenticate"] == "Bearer"
            walked += 1
    assert public == PUBLIC
    assert walked >= 30


def test_a_route_that_forgets_its_check_stops_the_app_from_starting() -> None:
    from fastapi import APIRouter

    from modelrepo.server import app as app_module
    from modelrepo.server.routes import health

    extra = APIRouter()

    @extra.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    original = health.router.routes[:]
    health.router.routes.extend(extra.routes)
    try:
        with pytest.raises(RuntimeError, match="/forgotten"):
            app_module.create_app(Registry.in_memory(user="server"))
    finally:
        health.router.routes[:] = original


def test_revoked_tokens_are_refused(api: Api) -> None:
    record = next(t for t in api.registry.tokens() if t.user == "viewer-user")
    assert api.client.get("/api/v1/models", headers=api.as_("viewer")).status_code == 200
    api.registry.revoke_token(record.token_id)
    refused = api.client.get("/api/v1/models", headers=api.as_("viewer"))
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]


def test_the_role_table() -> None:
    assert ROLE_ACTIONS["viewer"] == {"read"}
    assert "deploy" not in ROLE_ACTIONS["approver"]
    assert "approve" not in ROLE_ACTIONS["deployer"]
    from modelrepo.testing.tokens import token

    with pytest.raises(Forbidden):
        authorize(token(role="deployer", model_pattern="fraud-*"), "deploy", "credit-risk")
    authorize(token(role="deployer", model_pattern="fraud-*"), "deploy", "fraud-cards")
    with pytest.raises(Forbidden):
        authorize(token(role="admin", model_pattern="fraud-*"), "read", store_wide=True)


def _seed(api: Api) -> int:
    """credit-risk@1 and fraud-cards@1, production protected, one pending request each."""
    for name in ("credit-risk", "fraud-cards"):
        api.upload(name, who="admin")
        env = f"/api/v1/models/{name}/environments/production"
        api.client.post(f"{env}/protect", headers=api.as_("admin"))
    reply = api.client.post(
        "/api/v1/models/credit-risk/environments/production/deploy",
        headers=api.as_("admin"),
        json={"version": 1},
    )
    return int(reply.json()["request_id"])


def _mutations(request_id: int, token_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(action, method, url, request kwargs) of every mutating endpoint, on credit-risk (and
    `token_id`, a token for every model)."""
    m = "/api/v1/models/credit-risk"
    env = f"{m}/environments/production"
    decision = {"model": "credit-risk", "version": 1, "inputs": 1, "output": 1}
    hook = {"url": "https://hooks.example/", "events": ["deployed"]}
    jsonl = {"content": json.dumps(decision).encode() + b"\n",
             "headers": {"Content-Type": "application/x-ndjson"}}  # fmt: skip
    return [
        (
            "log_decision",
            "POST",
            f"{m}/decisions/columns",
            {"json": {"outputs": [1], "version": 1}},
        ),
        ("log_decision", "POST", "/api/v1/decisions/import", jsonl),
        ("decision_policy", "PUT", f"{m}/decisions/policy", {"json": {"inputs": "digest"}}),
        ("decision_policy", "POST", "/api/v1/decisions/purge", {"json": {"model": "credit-risk"}}),
        ("tokens", "POST", "/api/v1/tokens", {"json": {"user": "eve", "role": "viewer"}}),
        ("tokens", "POST", f"/api/v1/tokens/{token_id}/revoke", {}),
        ("register", "POST", f"{m}/versions", {"files": [("files", ("a", b"x"))]}),
        ("tag", "PUT", f"{m}/versions/1/tags/k", {"json": {"value": "v"}}),
        ("tag", "DELETE", f"{m}/versions/1/tags/k", {}),
        ("tag", "POST", f"{m}/versions/1/deprecation", {"json": {}}),
        ("deploy", "POST", f"{env}/deploy", {"json": {"version": 1}}),
        ("deploy", "POST", f"{env}/undeploy", {"json": {}}),
        ("deploy", "POST", f"{env}/rollback", {"json": {}}),
        ("protect", "POST", f"{m}/environments/staging/protect", {}),
        ("protect", "POST", f"{env}/unprotect", {"json": {}}),
        ("approve", "POST", f"/api/v1/requests/{request_id}/approve", {"json": {}}),
        ("approve", "POST", f"/api/v1/requests/{request_id}/reject", {"json": {}}),
        ("log_decision", "POST", "/api/v1/decisions", {"json": decision}),
        ("log_decision", "POST", "/api/v1/decisions/batch", {"json": {"decisions": [decision]}}),
        ("webhooks", "POST", "/api/v1/webhooks", {"json": hook}),
        ("webhooks", "POST", "/api/v1/webhooks/wh_0123456789ab/disable", {}),
    ]


def test_each_mutating_endpoint_refuses_other_roles_and_other_scopes(api: Api) -> None:
    request_id = _seed(api)
    admin = next(t for t in api.registry.tokens() if t.user == "admin-user")
    size = api.registry.ready()
    checked = set()
    for action, method, url, kwargs in _mutations(request_id, admin.token_id):
        denied = [r for r, allowed in ROLE_ACTIONS.items() if action not in allowed]
        assert "viewer" in denied
        sent = dict(kwargs)
        extra = sent.pop("headers", {})
        for role in denied:
            reply = api.client.request(method, url, headers={**api.as_(role), **extra}, **sent)
            assert reply.status_code == 403, (role, method, url, reply.text)
            assert reply.json()["code"] == "forbidden"
        for scoped in ("fraud-deployer", "fraud-admin"):
            reply = api.client.request(method, url, headers={**api.as_(scoped), **extra}, **sent)
            assert reply.status_code == 403, (scoped, method, url, reply.text)
        checked.add((method, url))
    assert api.registry.ready() == size, "a refused request changed the audit log"
    # Every mutating route of the app is in the table above.
    app_mutations = {
        (method, r.path)
        for r in api.client.app.routes  # type: ignore[attr-defined]
        if isinstance(r, APIRoute) and not is_public(r)
        for method in r.methods
        if method != "GET" and r.path != "/api/v1/audit/checkpoints"
    }
    assert len(app_mutations) == len(checked)


def test_a_scoped_token_works_inside_its_scope_and_sees_only_it(api: Api) -> None:
    _seed(api)
    fraud = api.client.post(
        "/api/v1/models/fraud-cards/environments/staging/deploy",
        headers=api.as_("fraud-deployer"),
        json={"version": 1},
    )
    assert fraud.status_code == 200 and fraud.json()["actor"] == "fraud-team"
    models = api.client.get("/api/v1/models", headers=api.as_("fraud-admin")).json()
    assert [m["model"] for m in models["items"]] == ["fraud-cards"]
    requests = api.client.get("/api/v1/requests", headers=api.as_("fraud-admin")).json()
    assert requests["items"] == []
    other = api.client.get("/api/v1/models/credit-risk", headers=api.as_("fraud-admin"))
    assert other.status_code == 403
    request = api.client.get("/api/v1/requests/1", headers=api.as_("fraud-admin"))
    assert request.status_code == 403
