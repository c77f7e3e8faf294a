"""Refused requests on record: each kind of refusal, folded repeats, the cap, who may read
them, the audit entry that binds them, the background writer, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.domain.errors import OutOfScope
from modelrepo.server import create_app
from modelrepo.server.auth import Caller, needs
from modelrepo.server.denials import DenialRecorder

from .conftest import Api

DENIED = "/api/v1/audit/denied"


def denied(api: Api, **params: Any) -> list[dict[str, Any]]:
    reply = api.client.get(DENIED, headers=api.as_("admin"), params=params)
    assert reply.status_code == 200, reply.text
    page: dict[str, Any] = reply.json()
    assert set(page) == {"items", "next_cursor"}
    found: list[dict[str, Any]] = page["items"]
    return found


def only(records: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in records if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, records)
    return found[0]


def test_each_kind_of_refusal_is_recorded_never_the_secret(api: Api) -> None:
    viewer = api.registry.tokens()[0]
    assert viewer.user == "viewer-user"
    _, revoked = api.registry.create_token("mallory", "deployer")
    revoked_id = revoked.split("_")[1]
    api.registry.revoke_token(revoked_id)
    unknown = "mr_0123456789ab_" + "s3cr3t" * 6
    c = api.client
    deploy = "/api/v1/models/credit-risk/environments/production/deploy"

    assert c.get("/api/v1/models").status_code == 401
    assert (
        c.get("/api/v1/models", headers={"Authorization": f"Bearer {unknown}"}).status_code == 401
    )
    assert (
        c.get("/api/v1/models", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    )
    late_token = {"Authorization": f"Bearer {revoked}"}
    assert c.post(deploy, headers=late_token, json={"version": 1}).status_code == 401
    assert c.post(deploy, headers=api.as_("viewer"), json={"version": 1}).status_code == 403
    assert c.post(deploy, headers=api.as_("fraud-deployer"), json={"version": 1}).status_code == 404
    assert c.get("/api/v1/audit/verify", headers=api.as_("fraud-admin")).status_code == 403

    found = denied(api)
    no_token = only(found, reason="an API token is required: Authorization: Bearer mr_...")
    assert (no_token["user"], no_token["token_id"], no_token["status"]) == (None, None, 401)
    assert (no_token["method"], no_token["route"]) == ("GET", "/api/v1/models")
    assert no_token["operation"] == "model.list"
    assert no_token["client"] == "testclient" and no_token["count"] == 1
    bad = only(found, reason="unknown API token")
    assert (bad["user"], bad["token_id"], bad["status"]) == (None, "0123456789ab", 401)
    garbage = only(found, reason="not a modelrepo API token")
    assert (garbage["token_id"], garbage["status"]) == (None, 401)
    late = only(found, token_id=revoked_id)
    assert late["reason"] == f"API token {revoked_id} was revoked" and late["status"] == 401
    assert (late["route"], late["operation"], late["model"]) == (
        "/api/v1/models/{name}/environments/{env}/deploy", "deployment.deploy", "credit-risk",
    )  # fmt: skip
    role = only(found, user="viewer-user")
    assert (role["token_id"], role["status"]) == (viewer.token_id, 403)
    assert role["operation"] == "deployment.deploy"
    assert role["reason"] == "role viewer may not deploy" and role["model"] == "credit-risk"
    scope = only(found, user="fraud-team")
    assert scope["reason"] == "outside the token's model scope: model 'credit-risk' not found"
    assert (scope["status"], scope["model"]) == (404, "credit-risk")
    wide = only(found, user="fraud-lead")
    assert (wide["route"], wide["status"], wide["model"]) == ("/api/v1/audit/verify", 403, None)
    assert "whole store" in wide["reason"]
    assert len(found) == 7
    every = json.dumps(found) + json.dumps(api.registry.audit_log())
    assert "s3cr3t" not in every and revoked.split("_", 2)[2] not in every
    assert all(t not in every for t in api.tokens.values())


def test_a_self_approval_is_recorded_with_its_model(api: Api) -> None:
    api.upload("credit-risk", who="admin")
    env = "/api/v1/models/credit-risk/environments/production"
    assert api.client.post(f"{env}/protect", headers=api.as_("admin")).status_code == 200
    asked = api.client.post(f"{env}/deploy", headers=api.as_("deployer"), json={"version": 1})
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["request_id"]
    approve = f"/api/v1/requests/{request_id}/approve"
    reply = api.client.post(approve, headers=api.as_("deployer-as-approver"), json={})
    assert reply.status_code == 403, reply.text
    record = only(denied(api), user="deployer-user")
    assert (record["route"], record["operation"], record["model"], record["status"]) == (
        "/api/v1/requests/{request_id}/approve", "request.approve", "credit-risk", 403,
    )  # fmt: skip
    assert "a second identity must decide" in record["reason"]


def test_an_out_of_scope_answer_is_recorded_as_a_refusal(registry: Registry) -> None:
    """Answered 404 like a missing resource, recorded as what it is."""
    app = create_app(registry)
    extra = APIRouter()

    @extra.get("/api/v1/hidden/{thing}")
    def hidden(thing: str, caller: Caller = needs("model.read")) -> dict[str, str]:
        if not caller.sees(thing):
            raise OutOfScope(f"model {thing} not found", model=thing)
        return {"model": thing}

    app.router.routes.extend(extra.routes)
    _, secret = registry.create_token("scoped", "viewer", model_pattern="fraud-*")
    _, admin = registry.create_token("root", "admin")
    with TestClient(app) as client:
        reply = client.get(
            "/api/v1/hidden/credit-risk", headers={"Authorization": f"Bearer {secret}"}
        )
        assert reply.status_code == 404 and reply.json()["code"] == "not_found"
        root = {"Authorization": f"Bearer {admin}"}
        assert client.get("/api/v1/hidden/x", headers=root).status_code == 200
        found = client.get(DENIED, headers={"Authorization": f"Bearer {admin}"}).json()["items"]
    [record] = found
    assert (record["user"], record["status"], record["model"]) == ("scoped", 404, "credit-risk")
    assert record["reason"].startswith("outside the token's model scope")
    assert (record["route"], record["operation"]) == ("/api/v1/hidden/{thing}", "model.read")


def test_repeats_fold_into_one_record_with_a_count(api: Api) -> None:
    for _ in range(25):
        api.client.get("/api/v1/models/credit-risk", headers={"Authorization": "Bearer nope"})
    api.client.get("/api/v1/models", headers={"Authorization": "Bearer nope"})
    found = denied(api)
    folded = only(found, route="/api/v1/models/{name}")
    assert folded["count"] == 25 and folded["first_at"] < folded["last_at"]
    assert only(found, route="/api/v1/models")["count"] == 1
    assert len(found) == 2
    # The next window starts afresh: a new record, the old one unchanged.
    api.client.get("/api/v1/models/credit-risk", headers={"Authorization": "Bearer nope"})
    again = denied(api, model="credit-risk")
    assert [r["count"] for r in again] == [1, 25]


def test_the_cap_bounds_what_a_flood_of_distinct_refusals_adds(registry: Registry) -> None:
    recorder = DenialRecorder(registry, cap=3)
    _, admin = registry.create_token("root", "admin")
    with TestClient(create_app(registry, denials=recorder)) as client:
        for n in range(40):
            token = f"mr_{n:012x}_whatever"
            client.get("/api/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert len(recorder.pending) == 4
        found = client.get(DENIED, headers={"Authorization": f"Bearer {admin}"}).json()["items"]
    assert len(found) == 4
    other = only(found, route="*")
    assert (other["count"], other["status"], other["token_id"]) == (37, 0, None)
    assert sum(r["count"] for r in found) == 40


def test_only_administrators_read_them_and_a_refused_read_is_recorded(api: Api) -> None:
    for who in ("viewer", "approver", "fraud-admin"):
        assert api.client.get(DENIED, headers=api.as_(who)).status_code == 403
    found = denied(api)
    assert {r["user"] for r in found} == {"viewer-user", "approver-user", "fraud-lead"}
    assert {(r["route"], r["operation"]) for r in found} == {(DENIED, "audit.denied")}
    assert denied(api, model="credit-risk") == []
    assert len(denied(api, limit=1)) == 1
    assert denied(api, since="2999-01-01T00:00:00Z") == []
    bad = api.client.get(DENIED, headers=api.as_("admin"), params={"since": "yesterday"})
    assert bad.status_code == 422


def test_they_are_read_in_pages_that_say_when_more_follow(api: Api) -> None:
    for who in ("viewer", "approver", "fraud-admin"):
        assert api.client.get(DENIED, headers=api.as_(who)).status_code == 403
    whole = denied(api)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(DENIED, headers=api.as_("admin"), params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole and len(whole) == 3
    for wrong in ({"limit": 0}, {"limit": 1001}, {"cursor": "x"}):
        assert api.client.get(DENIED, headers=api.as_("admin"), params=wrong).status_code == 422


def test_each_batch_is_bound_by_an_audit_entry_that_verify_checks(api: Api) -> None:
    api.client.get("/api/v1/models", headers={"Authorization": "Bearer nope"})
    api.client.get("/api/v1/models", headers={"Authorization": "Bearer mr_0123456789ab_zz"})
    records = denied(api)
    [entry] = [e for e in api.registry.audit_log("access") if e["kind"] == "access.denied"]
    assert entry["change"]["records"] == len(records) == 2
    assert entry["change"]["attempts"] == 2
    assert api.registry.audit_verify().ok
    assert denied(api) == records  # nothing pending: no new batch, no new entry
    assert len(api.registry.audit_log("access")) == 1


@pytest.mark.sqlite_only
def test_a_changed_record_fails_verification(api: Api) -> None:
    api.client.get("/api/v1/models", headers={"Authorization": "Bearer nope"})
    assert len(denied(api)) == 1
    engine = api.registry.backend.metadata.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER access_denials_no_update")
        conn.exec_driver_sql("UPDATE access_denials SET count = 1000")
    report = api.registry.audit_verify()
    assert not report.ok and "refused requests recorded by entry" in report.problems[0]


def test_written_in_the_background_without_being_asked(registry: Registry) -> None:
    recorder = DenialRecorder(registry, window=0.05)
    with TestClient(create_app(registry, denials=recorder)) as client:
        client.get("/api/v1/models", headers={"Authorization": "Bearer nope"})
        deadline = time.monotonic() + 10
        while not registry.audit_denied() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [d.reason for d in registry.audit_denied()] == ["not a modelrepo API token"]
        client.get("/api/v1/tokens", headers={"Authorization": "Bearer nope"})
    # the rest is written when the application stops
    assert registry.audit_denied()[0].route == "/api/v1/tokens"


def test_the_denied_page_is_served(api: Api) -> None:
    page = api.client.get("/ui/")
    assert 'href="#/denied"' in page.text
    script = api.client.get("/ui/app.mjs").text
    assert "async function deniedPage" in script and '"/audit/denied"' in script
