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
from modelrepo.domain.errors import Forbidden, OutOfScope
from modelrepo.server import create_app
from modelrepo.server.auth import (
    TOKEN_CACHE_SECONDS,
    TokenCache,
    is_public,
    required_action,
)

from .conftest import Api

PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# The docs' own files (Swagger UI, ReDoc), served from the package rather than a CDN.
PUBLIC |= {f"/docs/assets/{name}" for name in (
    "swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")}  # fmt: skip
# The web UI's static shell: HTML, CSS and JavaScript without data (each datum it shows comes
# from /api/v1 with the user's token), each file its own route, no catch-all.
PUBLIC |= {"/", "/ui", "/ui/", "/ui/app.css", "/ui/app.mjs", "/ui/timeline.mjs"}
# Signing in through the identity provider: which provider, the way there and back, and the
# way out (it ends the session its cookie names, and checks that session's CSRF token).
PUBLIC |= {"/api/v1/auth/config", "/ui/login", "/ui/callback", "/ui/logout"}


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
                            {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
                            {"Authorization": "Basic " + _basic("alice", FORGED)}):  # fmt: skip
                reply = client.request(method, url, headers=headers, content=b"{not json")
                assert reply.status_code == 401, (method, path, headers)
                assert _code(reply) in ("unauthenticated", "UNAUTHENTICATED"), reply.text
                assert reply.headers["www-authenticate"] == "Bearer"
            walked += 1
    assert public == PUBLIC
    assert walked >= 30


FORGED = "mr_000000000000_forged"


def _basic(user: str, password: str) -> str:
    import base64

    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _code(reply: Any) -> str:
    """The error code of either shape: ours (`code`) or MLflow's (`error_code`) under
    /api/2.0/mlflow*, each on its own paths only."""
    body = reply.json()
    mlflow = reply.url.path.startswith("/api/2.0/mlflow")
    assert ("error_code" if mlflow else "code") in body, body
    return str(body["error_code" if mlflow else "code"])


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


def test_a_revoked_token_is_refused_once_the_cache_bound_has_passed(api: Api) -> None:
    from fastapi.testclient import TestClient

    now = [100.0]
    cache = TokenCache(TOKEN_CACHE_SECONDS, clock=lambda: now[0])
    client = TestClient(create_app(api.registry, token_cache=cache))
    record = next(t for t in api.registry.tokens() if t.user == "viewer-user")
    url = "/api/v1/models/credit-risk/environments/production/live"
    api.upload("credit-risk")
    api.client.post(
        "/api/v1/models/credit-risk/environments/production/deploy",
        headers=api.as_("deployer"),
        json={"version": 1},
    )
    assert client.get(url, headers=api.as_("viewer")).status_code == 200
    api.registry.revoke_token(record.token_id)
    # Verified a moment ago: trusted until the bound, on every route...
    now[0] += TOKEN_CACHE_SECONDS * 0.9
    assert client.get(url, headers=api.as_("viewer")).status_code == 200
    assert client.get("/api/v1/whoami", headers=api.as_("viewer")).json()["user"] == "viewer-user"
    # ...and never after it.
    now[0] += TOKEN_CACHE_SECONDS * 0.1
    for path in (url, "/api/v1/models", "/api/v1/whoami"):
        refused = client.get(path, headers=api.as_("viewer"))
        assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    # A refused token leaves the cache: it stays refused, whatever the clock says.
    now[0] -= 10 * TOKEN_CACHE_SECONDS
    assert client.get(url, headers=api.as_("viewer")).status_code == 401


def test_without_the_cache_a_revocation_takes_effect_at_once(api: Api) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(api.registry, token_cache=TokenCache(0)))
    record = next(t for t in api.registry.tokens() if t.user == "viewer-user")
    assert client.get("/api/v1/models", headers=api.as_("viewer")).status_code == 200
    api.registry.revoke_token(record.token_id)
    refused = client.get("/api/v1/models", headers=api.as_("viewer"))
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]


def test_the_token_cache_keeps_hashes_not_tokens_and_stays_bounded(api: Api) -> None:
    from fastapi.testclient import TestClient

    cache = TokenCache(60, size=3)
    client = TestClient(create_app(api.registry, token_cache=cache))
    for who in ("viewer", "contributor", "deployer", "approver", "admin"):
        assert client.get("/api/v1/whoami", headers=api.as_(who)).status_code == 200
    kept = cache._verified
    assert 1 <= len(kept) <= 3
    assert not set(kept) & set(api.tokens.values())  # SHA-256 of the text, never the text
    assert client.get("/api/v1/whoami", headers={"Authorization": "Bearer mr_x_y"}).status_code == (
        401
    )


def test_the_role_table() -> None:
    assert ROLE_ACTIONS["viewer"] == {"read"}
    assert "deploy" not in ROLE_ACTIONS["approver"]
    assert "approve" not in ROLE_ACTIONS["deployer"]
    from modelrepo.testing.tokens import token

    deployer = token(role="deployer", model_pattern="fraud-*").principal()
    with pytest.raises(OutOfScope, match="^model 'credit-risk' not found$"):
        authorize(deployer, "deployment.deploy", "credit-risk")
    authorize(deployer, "deployment.deploy", "fraud-cards")
    with pytest.raises(Forbidden, match="^role deployer may not delete$"):
        authorize(deployer, "version.delete", "credit-risk")  # the role first: it names nothing
    with pytest.raises(Forbidden):
        authorize(token(role="admin", model_pattern="fraud-*").principal(), "audit.read")


READS_BY_POST = {
    "/api/v1/audit/checkpoints",  # signs what is there; see the audit tests
    "/api/2.0/mlflow/registered-models/get-latest-versions",  # MLflow reads by POST too
    "/api/v1/decisions/{decision_id:path}/replay",  # computes, changes nothing; scope test below
}


WHOLE_STORE_OR_GRANT = {
    "/api/v1/tokens",  # a token for every model: beyond a scoped caller's grant
    "/api/v1/roles",  # a role binding for every model: likewise
    "/api/v1/webhooks",
    "/api/v1/webhooks/wh_0123456789ab/disable",
    "/api/v1/admin/fsck",
    "/api/v1/admin/gc",
    "/api/v1/signing/keys",
    f"/api/v1/signing/keys/{'a' * 16}/revoke",
    "/api/v1/signing/store-key",
    "/api/v1/signing/rotate",
    "/api/v1/signing/policies",
}


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


def _mutations(
    request_id: int, token_id: str, binding_id: str
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(action, method, url, request kwargs) of every mutating endpoint, on credit-risk (and
    `token_id`, a token for every model, `binding_id`, a role binding for every model)."""
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
        (
            "tokens",
            "POST",
            "/api/v1/roles",
            {"json": {"principal": "eve", "role": "viewer", "issuer": "https://idp.example"}},
        ),
        ("tokens", "POST", f"/api/v1/roles/{binding_id}/revoke", {}),
        ("register", "POST", f"{m}/versions", {"files": [("files", ("a", b"x"))]}),
        ("tag", "PUT", f"{m}/versions/1/tags/k", {"json": {"value": "v"}}),
        ("tag", "DELETE", f"{m}/versions/1/tags/k", {}),
        ("tag", "POST", f"{m}/versions/1/deprecation", {"json": {}}),
        ("trust", "POST", f"{m}/versions/1/trust", {"json": {"types": ["x.Y"], "reason": "r"}}),
        ("tag", "PUT", f"{m}/tags/k", {"json": {"value": "v"}}),
        ("tag", "DELETE", f"{m}/tags/k", {}),
        ("tag", "PUT", f"{m}/description", {"json": {"description": "d"}}),
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
        *_mlflow_mutations(),
        *_lifecycle_mutations(),
        *_signing_mutations(),
    ]


def _signing_mutations() -> list[tuple[str, str, str, dict[str, Any]]]:
    """Signing a version (whoever may register it); keys and policies (administrators)."""
    m = "/api/v1/models/credit-risk"
    keys = "/api/v1/signing/keys"
    return [
        ("register", "POST", f"{m}/versions/1/sign", {"json": {}}),
        ("register", "POST", f"{m}/versions/1/signatures", {"json": {"bundles": ["x"]}}),
        ("signing", "POST", keys, {"json": {"public_key": "k", "label": "l"}}),
        ("signing", "POST", f"{keys}/{'a' * 16}/revoke", {"json": {"reason": "r"}}),
        ("signing", "POST", "/api/v1/signing/store-key", {}),
        ("signing", "POST", "/api/v1/signing/rotate", {}),
        ("signing", "PUT", "/api/v1/signing/policies", {"json": {"scope": "store", "enabled": 1}}),
    ]


def _mlflow_mutations() -> list[tuple[str, str, str, dict[str, Any]]]:
    """The MLflow API's changes, on credit-risk (the model is named in the body)."""
    rm, mv = "/api/2.0/mlflow/registered-models", "/api/2.0/mlflow/model-versions"
    name = {"name": "credit-risk"}
    version = {**name, "version": "1"}
    return [
        ("register", "POST", f"{rm}/create", {"json": name}),
        ("register", "POST", f"{rm}/rename", {"json": {**name, "new_name": "c"}}),
        ("tag", "PATCH", f"{rm}/update", {"json": {**name, "description": "d"}}),
        ("register", "DELETE", f"{rm}/delete", {"json": name}),
        ("tag", "POST", f"{rm}/set-tag", {"json": {**name, "key": "k", "value": "v"}}),
        ("tag", "DELETE", f"{rm}/delete-tag", {"json": {**name, "key": "k"}}),
        ("deploy", "POST", f"{rm}/alias", {"json": {**version, "alias": "champion"}}),
        ("deploy", "DELETE", f"{rm}/alias", {"json": {**name, "alias": "champion"}}),
        ("register", "POST", f"{mv}/create", {"json": {**name, "source": "models:/m-0a"}}),
        ("tag", "PATCH", f"{mv}/update", {"json": {**version, "description": "d"}}),
        ("register", "DELETE", f"{mv}/delete", {"json": version}),
        ("tag", "POST", f"{mv}/set-tag", {"json": {**version, "key": "k", "value": "v"}}),
        ("tag", "DELETE", f"{mv}/delete-tag", {"json": {**version, "key": "k"}}),
        ("deploy", "POST", f"{mv}/transition-stage", {"json": {**version, "stage": "Staging"}}),
    ]


def _lifecycle_mutations() -> list[tuple[str, str, str, dict[str, Any]]]:
    """Deleting, archive and source uploads, backfills, serving reports, maintenance."""
    m = "/api/v1/models/credit-risk"
    serving = f"{m}/environments/production/serving"
    archive = {"files": [("archive", ("a.tar", b"x"))]}
    imported = {"source": "old", "records": [{"environment": "production",
                "effective_at": "2026-01-01T00:00:00Z", "versions": {"1": 1.0}}]}  # fmt: skip
    started = {"instance_id": "pod-1", "version": 1, "digest": "sha256:" + "0" * 64}
    upload = "0" * 32
    return [
        ("delete", "DELETE", f"{m}/versions/1", {"params": {"reason": "withdrawn"}}),
        ("delete", "DELETE", m, {"params": {"reason": "withdrawn"}}),
        ("delete", "POST", f"{m}/rename", {"json": {"new_name": "credit-risk-2"}}),
        ("register", "POST", "/api/v1/models", {"json": {"name": "credit-risk"}}),
        ("register", "POST", f"{m}/deleted-versions", {"json": {"number": 9, "reason": "r"}}),
        ("register", "POST", f"{m}/versions/archive", archive),
        ("register", "POST", f"{m}/versions/source", {"json": {"source": "s3://b/k"}}),
        ("deploy", "POST", f"{m}/deployments/import", {"json": imported}),
        ("log_decision", "POST", serving, {"json": started}),
        ("log_decision", "POST", f"{serving}/pod-1/heartbeat", {}),
        ("log_decision", "POST", f"{serving}/pod-1/stop", {}),
        ("register", "POST", f"{m}/uploads", {"json": {"size": 10}}),
        (
            "register",
            "PUT",
            f"{m}/uploads/{upload}/parts/1",
            {"content": b"x", "headers": {"Content-Digest": "sha-256=:" + "A" * 43 + "=:"}},
        ),
        ("register", "POST", f"{m}/uploads/{upload}/complete", {"json": {}}),
        ("register", "DELETE", f"{m}/uploads/{upload}", {}),
        ("maintain", "POST", "/api/v1/admin/fsck", {}),
        ("maintain", "POST", "/api/v1/admin/gc", {"json": {"dry_run": False}}),
    ]


def test_each_mutating_endpoint_refuses_other_roles_and_other_scopes(api: Api) -> None:
    request_id = _seed(api)
    admin = next(t for t in api.registry.tokens() if t.user == "admin-user")
    binding = api.registry.grant_role("erin@bank.example", "admin", issuer="https://idp.example")
    size = api.registry.ready()
    checked = set()
    for action, method, url, kwargs in _mutations(request_id, admin.token_id, binding.binding_id):
        denied = [r for r, allowed in ROLE_ACTIONS.items() if action not in allowed]
        assert "viewer" in denied
        sent = dict(kwargs)
        extra = sent.pop("headers", {})
        # Another's token is, to whoever may not revoke it, as if it did not exist.
        not_theirs = url.endswith(f"/tokens/{admin.token_id}/revoke")
        for role in denied:
            reply = api.client.request(method, url, headers={**api.as_(role), **extra}, **sent)
            assert reply.status_code == (404 if not_theirs else 403), (role, url, reply.text)
            if not not_theirs:
                assert _code(reply) in ("forbidden", "PERMISSION_DENIED")
        for scoped, role in (("fraud-deployer", "deployer"), ("fraud-admin", "admin")):
            reply = api.client.request(method, url, headers={**api.as_(scoped), **extra}, **sent)
            # Outside the scope, as if credit-risk were not there; a wrong role, a store-wide
            # route or a grant beyond the scope is 403.
            hidden = action in ROLE_ACTIONS[role] and url not in WHOLE_STORE_OR_GRANT
            expected = 404 if hidden or not_theirs else 403
            assert reply.status_code == expected, (scoped, url, reply.text)
        checked.add((method, url))
    assert api.registry.ready() == size, "a refused request changed the audit log"
    # Every mutating route of the app is in the table above.
    app_mutations = {
        (method, r.path)
        for r in api.client.app.routes  # type: ignore[attr-defined]
        if isinstance(r, APIRoute) and not is_public(r)
        for method in r.methods
        if method != "GET" and r.path not in READS_BY_POST
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
    assert other.status_code == 404
    request = api.client.get("/api/v1/requests/1", headers=api.as_("fraud-admin"))
    assert request.status_code == 404


def test_replay_is_refused_outside_the_token_scope(api: Api) -> None:
    _seed(api)
    logged = api.client.post(
        "/api/v1/decisions",
        headers=api.as_("admin"),
        json={"model": "credit-risk", "version": 1, "inputs": {"x": 1}, "output": None},
    )
    assert logged.status_code == 201, logged.text
    decision_id = logged.json()["decision_id"]
    for scoped in ("fraud-deployer", "fraud-admin"):
        reply = api.client.post(
            f"/api/v1/decisions/{decision_id}/replay", headers=api.as_(scoped), json={}
        )
        assert reply.status_code == 404, reply.text
