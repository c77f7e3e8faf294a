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
