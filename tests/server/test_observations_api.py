"""Observed history over HTTP and through the remote SDK: the import route takes
observations, and the live, history and timeline routes say "unknown" where it is."""

from __future__ import annotations

from datetime import timedelta

from modelrepo.domain.times import format_time
from modelrepo.remote import RemoteRegistry

from .conftest import Api

SOURCE = "MLflow (http://mlflow.internal:5000)"
REASON = f"imported from {SOURCE}, which keeps no history"


def test_observations_over_http(api: Api) -> None:
    api.upload("credit-risk")
    api.upload("credit-risk")
    c = api.client
    now = api.registry.clock.now()
    first, second = now - timedelta(days=7), now - timedelta(days=1)
    records = [
        {"kind": "observe", "environment": "production", "versions": {"2": 1.0},
         "effective_at": format_time(first), "earliest_at": format_time(now - timedelta(days=8))},
        {"kind": "observe", "environment": "production", "versions": {"1": 1.0},
         "effective_at": format_time(second), "unknown_from": format_time(first),
         "reason": "alias champion"},
    ]  # fmt: skip
    path = "/api/v1/models/credit-risk/deployments/import"
    imported = c.post(path, headers=api.as_("admin"), json={"source": SOURCE, "records": records})
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"imported": 2}

    live = "/api/v1/models/credit-risk/environments/production/live"
    early = c.get(live, params={"at": format_time(first - timedelta(days=1))},
                  headers=api.as_("viewer")).json()  # fmt: skip
    assert early["versions"] == []
    assert early["unknown"] == {
        "since": None,
        "until": format_time(first),
        "reason": REASON,
        "earliest_at": format_time(now - timedelta(days=8)),
    }
    assert early["event"]["kind"] == "observe" and early["event"]["unknown_from"] is None
    middle = c.get(live, params={"at": format_time(first + timedelta(days=1))},
                   headers=api.as_("viewer")).json()  # fmt: skip
    assert middle["unknown"]["since"] == format_time(first)
    assert middle["unknown"]["reason"] == f"{REASON}: alias champion"
    current = c.get(live, headers=api.as_("viewer")).json()
    assert current["unknown"] is None and [v["version"] for v in current["versions"]] == [1]

    history = c.get("/api/v1/models/credit-risk/history", headers=api.as_("viewer")).json()
    assert [e["unknown_from"] for e in history["items"]] == [None, format_time(first)]
    spans = c.get("/api/v1/models/credit-risk/timeline", headers=api.as_("viewer")).json()
    assert [(s["from"], s["unknown"] is not None) for s in spans] == [
        (None, True),
        (format_time(first), True),
        (format_time(second), False),
    ]

    wrong = [{**records[1], "unknown_from": format_time(second)}]
    refused = c.post(path, headers=api.as_("admin"), json={"source": SOURCE, "records": wrong})
    assert refused.status_code == 422 and "unknown_from" in refused.json()["message"]
    odd = [{**records[0], "kind": "promote"}]
    refused = c.post(path, headers=api.as_("admin"), json={"source": SOURCE, "records": odd})
    assert refused.status_code == 422
    assert len(c.get("/api/v1/models/credit-risk/history", headers=api.as_("viewer"))
               .json()["items"]) == 2  # fmt: skip

    schema = c.get("/openapi.json").json()["components"]["schemas"]
    assert "unknown" in schema["LiveOut"]["properties"]
    assert set(schema["UnknownOut"]["properties"]) == {"since", "until", "reason", "earliest_at"}
    assert {"kind", "unknown_from", "earliest_at"} <= set(schema["ImportRecordIn"]["properties"])


def test_observations_through_the_remote_sdk(api: Api) -> None:
    api.upload("credit-risk")
    remote = RemoteRegistry(
        "http://testserver", token=api.tokens["admin"], client=api.client,
        allow_insecure_http=True,
    )  # fmt: skip
    now = api.registry.clock.now()
    first = now - timedelta(days=2)
    count = remote.import_deployments(
        "credit-risk",
        [{"kind": "observe", "environment": "production", "versions": {1: 1.0},
          "effective_at": first, "earliest_at": first - timedelta(days=1)}],
        source=SOURCE,
    )  # fmt: skip
    assert count == 1
    state = remote.live("credit-risk", env="production", at=first - timedelta(hours=1))
    assert state.versions == () and state.unknown is not None
    assert state.unknown.describe() == f"unknown before {format_time(first)} ({REASON})"
    assert state.unknown.earliest_at == first - timedelta(days=1)
    assert state == api.registry.live(
        "credit-risk", env="production", at=first - timedelta(hours=1)
    )
    event = remote.history("credit-risk")[0]
    assert (event.kind, event.earliest_at) == ("observe", first - timedelta(days=1))
    assert remote.timeline("credit-risk") == api.registry.timeline("credit-risk")
    assert remote.timeline("credit-risk")[0].unknown is not None
    assert remote.load_live("credit-risk", env="production").version == 1
