"""/api/v1/webhooks: admins only, with an unscoped token; secrets shown once."""

from __future__ import annotations

import json
from datetime import timedelta

from modelrepo.domain.access import ROLE_ACTIONS
from modelrepo.domain.webhooks import Attempt

from .conftest import Api

BODY = {"url": "https://hooks.example/mr", "model_pattern": "fraud-*", "events": ["deployed"]}


def test_only_an_unscoped_admin_manages_webhooks(api: Api) -> None:
    for role in [r for r, actions in ROLE_ACTIONS.items() if "webhooks" not in actions]:
        reply = api.client.post("/api/v1/webhooks", headers=api.as_(role), json=BODY)
        assert reply.status_code == 403, role
        assert api.client.get("/api/v1/webhooks", headers=api.as_(role)).status_code == 403
    reply = api.client.post("/api/v1/webhooks", headers=api.as_("fraud-admin"), json=BODY)
    assert reply.status_code == 403
    assert api.client.post("/api/v1/webhooks", json=BODY).status_code == 401


def test_add_list_disable_and_the_delivery_log(api: Api) -> None:
    reply = api.client.post("/api/v1/webhooks", headers=api.as_("admin"), json=BODY)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert created["secret"].startswith("whsec_")
    assert created["created_by"] == "admin-user"
    listed = api.client.get("/api/v1/webhooks", headers=api.as_("admin")).json()
    assert [h["webhook_id"] for h in listed] == [created["webhook_id"]]
    assert "secret" not in listed[0]
    assert created["secret"] not in str(api.registry.audit_log())

    api.upload("fraud-a", who="admin")
    api.client.post(
        "/api/v1/models/fraud-a/environments/prod/deploy",
        headers=api.as_("admin"),
        json={"version": 1},
    )
    assert api.registry.deliverer().fan_out() == 1
    log = api.client.get(
        "/api/v1/webhooks/deliveries",
        params={"webhook_id": created["webhook_id"]},
        headers=api.as_("admin"),
    ).json()
    assert log["next_cursor"] is None
    assert [(d["kind"], d["status"], d["attempts_log"]) for d in log["items"]] == [
        ("deployed", "pending", [])
    ]

    path = f"/api/v1/webhooks/{created['webhook_id']}/disable"
    disabled = api.client.post(path, headers=api.as_("admin"))
    assert disabled.status_code == 200 and disabled.json()["disabled_by"] == "admin-user"
    assert api.client.post(path, headers=api.as_("admin")).json()["code"] == "conflict"
    missing = api.client.post("/api/v1/webhooks/wh_ffffffffffff/disable", headers=api.as_("admin"))
    assert missing.status_code == 404


def test_targets_are_checked(api: Api) -> None:
    for url in ["http://hooks.example/", "https://u:p@hooks.example/", "https://127.1/", "x"]:
        reply = api.client.post(
            "/api/v1/webhooks", headers=api.as_("admin"), json={**BODY, "url": url}
        )
        assert reply.status_code == 422, url
        assert reply.json()["code"] == "invalid_input"
    bad_kind = api.client.post(
        "/api/v1/webhooks", headers=api.as_("admin"), json={**BODY, "events": ["deleted"]}
    )
    assert bad_kind.status_code == 422
    assert api.client.get("/api/v1/webhooks", headers=api.as_("admin")).json() == []


def test_each_delivery_has_its_payload_and_its_attempts(api: Api) -> None:
    created = api.client.post("/api/v1/webhooks", headers=api.as_("admin"), json=BODY).json()
    api.upload("fraud-a", who="admin")
    api.client.post(
        "/api/v1/models/fraud-a/environments/prod/deploy",
        headers=api.as_("admin"),
        json={"version": 1},
    )
    assert api.registry.deliverer().fan_out() == 1
    store = api.registry.backend.metadata
    now = api.registry.clock.now()
    (claimed,) = store.claim_deliveries("t", now=now, lease_until=now + timedelta(1), limit=5)
    failed = Attempt(claimed.delivery_id, 1, now, False, 503, "HTTP 503", 7)
    store.record_delivery_attempt(failed, owner="t", next_attempt_at=now + timedelta(1))
    (delivery,) = api.client.get(
        "/api/v1/webhooks/deliveries",
        params={"webhook_id": created["webhook_id"], "attempts": False},
        headers=api.as_("admin"),
    ).json()["items"]
    assert "attempts_log" not in delivery
    assert json.loads(delivery["payload"])["kind"] == "deployed"
    url = f"/api/v1/webhooks/deliveries/{delivery['delivery_id']}/attempts"
    attempts = api.client.get(url, headers=api.as_("admin")).json()
    assert [(a["attempt"], a["ok"]) for a in attempts] == [(1, False)]
    assert api.client.get(url, headers=api.as_("fraud-admin")).status_code == 403
    assert api.client.get(url, headers=api.as_("deployer")).status_code == 403
    hidden = api.client.get(
        "/api/v1/webhooks", headers=api.as_("admin"), params={"include_disabled": False}
    )
    assert [h["webhook_id"] for h in hidden.json()] == [created["webhook_id"]]


def test_the_delivery_log_is_read_in_pages_that_say_when_more_follow(api: Api) -> None:
    api.client.post("/api/v1/webhooks", headers=api.as_("admin"), json=BODY)
    api.upload("fraud-a", who="admin")
    for env in ("prod", "staging", "dev"):
        api.client.post(
            f"/api/v1/models/fraud-a/environments/{env}/deploy",
            headers=api.as_("admin"),
            json={"version": 1},
        )
    assert api.registry.deliverer().fan_out() == 3
    url = "/api/v1/webhooks/deliveries"
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "attempts": False, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(url, headers=api.as_("admin"), params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [d["delivery_id"] for d in seen]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    for wrong in ({"limit": 0}, {"limit": 1001}, {"cursor": "x"}):
        assert api.client.get(url, headers=api.as_("admin"), params=wrong).status_code == 422
