"""The API the web UI leans on: the diff of two versions, and a 10,000-event timeline
(correctness here; its timing is in benchmarks/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from modelrepo import Registry
from modelrepo.server import create_app
from modelrepo.server.schemas import IntervalOut

from .conftest import Api


def test_the_diff_endpoint(api: Api) -> None:
    api.upload("credit-risk", params={"depth": 3}, metrics={"auc": 0.8}, tags={"team": "risk"})
    api.upload("credit-risk", params={"depth": 4}, metrics={"auc": 0.85}, tags={"team": "risk"})
    url = "/api/v1/models/credit-risk/diff"
    reply = api.client.get(url, params={"a": 1, "b": 2}, headers=api.as_("viewer"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["a"] == "credit-risk@1" and body["b"] == "credit-risk@2"
    assert body["params"] == {"depth": {"old": 3, "new": 4}}
    assert body["metrics"]["auc"]["delta"] == pytest.approx(0.05)
    assert body["tags"] == {}
    assert body["same_content"] is True
    assert body["files"] == {"added": [], "removed": [], "modified": [], "unchanged": 2}
    for who in ("contributor", "deployer", "approver", "admin"):
        assert api.client.get(url, params={"a": 1, "b": 2}, headers=api.as_(who)).status_code == 200
    assert api.client.get(url, params={"a": 1, "b": 2}).status_code == 401
    scoped = api.client.get(url, params={"a": 1, "b": 2}, headers=api.as_("fraud-admin"))
    assert scoped.status_code == 403 and scoped.json()["code"] == "forbidden"
    missing = api.client.get(url, params={"a": 1, "b": 9}, headers=api.as_("viewer"))
    assert missing.status_code == 404
    bad = api.client.get(url, params={"a": 0, "b": 1}, headers=api.as_("viewer"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"


def seed_history(reg: Registry, model: str, events: int) -> datetime:
    """`events` backfilled deployments of `model` over 5 environments and 3 versions, some
    of them splits; returns the first effective time."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "coefficients.json").write_text('{"income": 0.25}')
        for _ in range(3):
            reg.register(model, folder, code=False, environment=False)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    envs = ("production", "staging", "canary", "shadow", "eu-production")
    records = []
    for k in range(events):
        split = {1 + k % 3: 1.0} if k % 7 else {1: 0.9, 2: 0.1}
        at = start + timedelta(minutes=37 * k)
        records.append({"environment": envs[k % 5], "effective_at": at, "versions": split})
    reg.import_deployments(model, records, source="the old registry")
    return start


def test_a_10000_event_timeline_through_the_api() -> None:
    reg = Registry.in_memory(user="server")
    seed_history(reg, "credit-risk", 10_000)
    _, secret = reg.create_token("viewer", "viewer")
    client = TestClient(create_app(reg))
    reply = client.get(
        "/api/v1/models/credit-risk/timeline",
        headers={"Authorization": f"Bearer {secret}", "Accept-Encoding": "gzip"},
    )
    assert reply.status_code == 200
    assert reply.headers["content-encoding"] == "gzip"
    assert int(reply.headers["content-length"]) < len(reply.content) / 5
    intervals = reply.json()
    assert len(intervals) == 10_000
    # The JSON is written directly (not through the response model), so check its shape.
    fields = {f.alias or name for name, f in IntervalOut.model_fields.items()}
    assert all(set(i) == fields for i in intervals)
    TypeAdapter(list[IntervalOut]).validate_python(intervals)
    plain = client.get(
        "/api/v1/models/credit-risk/timeline?env=production",
        headers={"Authorization": f"Bearer {secret}", "Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in plain.headers
    assert plain.json() == [i for i in intervals if i["environment"] == "production"]
    assert {i["environment"] for i in intervals} == {
        "production", "staging", "canary", "shadow", "eu-production"
    }  # fmt: skip
    assert all(i["backfill"] for i in intervals)
    assert sum(i["to"] is None for i in intervals) == 5
    assert any(len(i["versions"]) == 2 for i in intervals)
