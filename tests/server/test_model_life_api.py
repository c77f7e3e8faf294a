"""A model's own life through HTTP: numbers given at registration, versions recorded as
deleted; on the embedded store and on PostgreSQL + S3."""

from __future__ import annotations

from .conftest import Api


def test_numbers_given_and_deleted_versions_recorded(api: Api) -> None:
    c = api.client
    path = "/api/v1/models/credit-risk/deleted-versions"
    gone = c.post(
        path, json={"number": 2, "reason": "deleted in MLflow"}, headers=api.as_("contributor")
    )
    assert gone.status_code == 201, gone.text
    assert (gone.json()["version"], gone.json()["files"]) == (2, [])
    assert gone.json()["deleted_by"] == "contributor-user"
    again = c.post(path, json={"number": 2, "reason": "again"}, headers=api.as_("contributor"))
    assert again.status_code == 409 and "never reused" in again.json()["message"]
    for bad in ({"number": 3}, {"number": 0, "reason": "r"}, {"number": 3, "reason": ""}):
        assert c.post(path, json=bad, headers=api.as_("contributor")).status_code == 422
    assert (
        c.post(path, json={"number": 3, "reason": "r"}, headers=api.as_("viewer")).status_code
        == 403
    )
    assert api.upload("credit-risk", number=7)["version"] == 7
    files = [("files", ("a.txt", b"x"))]
    taken = c.post(
        "/api/v1/models/credit-risk/versions",
        headers=api.as_("contributor"),
        files=files,
        data={"metadata": '{"number": 5}'},
    )
    assert taken.status_code == 409 and "had version 7" in taken.json()["message"]
    listed = c.get(
        "/api/v1/models/credit-risk/versions?include_deleted=true", headers=api.as_("viewer")
    ).json()
    assert [(v["version"], v["deleted_at"] is not None) for v in listed["items"]] == [
        (2, True),
        (7, False),
    ]
    events = c.get("/api/v1/models/credit-risk/versions/2/events", headers=api.as_("viewer"))
    assert [(e["kind"], e["reason"]) for e in events.json()] == [("deleted", "deleted in MLflow")]
    assert c.get("/api/v1/audit/verify", headers=api.as_("viewer")).json()["ok"]


def test_a_model_is_created_before_its_first_version(api: Api) -> None:
    c = api.client
    body = {"name": "fraud", "description": "flags card fraud", "tags": {"team": "risk"}}
    made = c.post("/api/v1/models", json=body, headers=api.as_("contributor"))
    assert made.status_code == 201, made.text
    assert (made.json()["model"], made.json()["created_by"]) == ("fraud", "contributor-user")
    assert made.json()["tags"] == {"team": "risk"} and made.json()["latest_version"] == 0
    again = c.post("/api/v1/models", json={"name": "fraud"}, headers=api.as_("contributor"))
    assert again.status_code == 409 and again.json()["code"] == "already_exists"
    assert (
        c.post("/api/v1/models", json={"name": "x"}, headers=api.as_("viewer")).status_code == 403
    )
    outside = c.post("/api/v1/models", json={"name": "credit"}, headers=api.as_("fraud-admin"))
    assert outside.status_code == 404
    for bad in ({"name": "bad/name"}, {"name": "x", "tags": {"a b": "v"}}, {"name": "x", "y": 1}):
        reply = c.post("/api/v1/models", json=bad, headers=api.as_("contributor"))
        assert reply.status_code == 422, reply.text
    shown = c.get("/api/v1/models/fraud", headers=api.as_("viewer")).json()
    assert shown == made.json()
    events = c.get("/api/v1/models/fraud/events", headers=api.as_("viewer")).json()
    assert [e["kind"] for e in events] == ["created", "described", "tag_set"]
    assert c.get("/api/v1/audit/verify", headers=api.as_("viewer")).json()["ok"]


def test_a_model_is_deleted_unless_it_was_deployed(api: Api) -> None:
    c = api.client
    api.upload("scratch")
    api.upload("served")
    deployed = c.post("/api/v1/models/served/environments/staging/deploy", json={"version": 1},
                      headers=api.as_("deployer"))  # fmt: skip
    assert deployed.status_code == 200, deployed.text
    refused = c.delete("/api/v1/models/served?reason=unused", headers=api.as_("admin"))
    assert refused.status_code == 409 and "kept as evidence" in refused.json()["message"]
    assert c.delete("/api/v1/models/scratch", headers=api.as_("admin")).status_code == 422
    denied = c.delete("/api/v1/models/scratch?reason=r", headers=api.as_("contributor"))
    assert denied.status_code == 403
    gone = c.delete("/api/v1/models/scratch?reason=a%20trial", headers=api.as_("admin"))
    assert gone.status_code == 200 and gone.json()["version_count"] == 0
    for url in ("/api/v1/models/scratch", "/api/v1/models/scratch/versions",
                "/api/v1/models/scratch/versions/1", "/api/v1/models/scratch/events"):  # fmt: skip
        assert c.get(url, headers=api.as_("viewer")).status_code == 404, url
    missing = c.delete("/api/v1/models/scratch?reason=r", headers=api.as_("admin"))
    assert missing.status_code == 404
    assert c.get("/api/v1/audit/verify", headers=api.as_("viewer")).json()["ok"]
