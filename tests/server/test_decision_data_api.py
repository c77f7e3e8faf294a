"""Decision data through HTTP: column batches, file imports, stored inputs, the inputs
policy and the retention run, with the roles and model scopes each needs."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from modelrepo.server import create_app

from .conftest import Api

NDJSON = {"Content-Type": "application/x-ndjson"}


def _jsonl(*records: dict[str, object]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _decision(model: str, decision_id: str, **extra: object) -> dict[str, object]:
    return {"model": model, "version": 1, "inputs": {"x": 1}, "output": 0,
            "decision_id": decision_id, **extra}  # fmt: skip


def test_columns_need_log_decision_and_the_model_in_scope(api: Api) -> None:
    api.upload("credit-risk", who="admin")
    api.upload("fraud-cards", who="admin")
    body = {"outputs": [1, 0], "version": 1, "inputs": [[1], [2]], "decision_ids": ["a", "b"]}
    url = "/api/v1/models/{}/decisions/columns"
    viewer = api.client.post(url.format("credit-risk"), headers=api.as_("viewer"), json=body)
    assert (
        viewer.status_code == 403 and viewer.json()["message"] == "role viewer may not log decision"
    )
    scoped = api.client.post(
        url.format("credit-risk"), headers=api.as_("fraud-deployer"), json=body
    )
    assert scoped.status_code == 404
    done = api.client.post(url.format("fraud-cards"), headers=api.as_("fraud-deployer"), json=body)
    assert done.status_code == 201 and done.json() == {"recorded": 2}
    recorded = api.registry.decisions("fraud-cards")
    assert [(d.decision_id, d.inputs, d.flags) for d in recorded] == [
        ("a", [1], ("no_environment",)),
        ("b", [2], ("no_environment",)),
    ]
    entry = api.registry.audit_log("model:fraud-cards")[-1]
    assert (entry["kind"], entry["actor"]) == ("decisions.logged", "fraud-team")
    # Strict types: a boolean is not a version, here as in the SDK.
    bad = api.client.post(
        url.format("fraud-cards"), headers=api.as_("deployer"), json={**body, "version": True}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"


def test_an_import_is_streamed_checked_against_the_scope_and_recorded_whole(api: Api) -> None:
    api.upload("credit-risk", who="admin")
    api.upload("fraud-cards", who="admin")
    url = "/api/v1/decisions/import"
    mixed = _jsonl(_decision("fraud-cards", "f-1"), _decision("credit-risk", "c-1"))
    before = api.registry.ready()
    refused = api.client.post(url, headers={**api.as_("fraud-deployer"), **NDJSON}, content=mixed)
    assert refused.status_code == 404
    assert refused.json()["message"] == "model 'credit-risk' not found"
    assert api.registry.ready() == before and api.registry.decisions("fraud-cards") == []
    viewer = api.client.post(url, headers={**api.as_("viewer"), **NDJSON}, content=mixed)
    assert viewer.status_code == 403
    done = api.client.post(
        url,
        params={"filename": "march.jsonl"},
        headers={**api.as_("deployer"), **NDJSON},
        content=mixed,
    )
    assert done.status_code == 201 and done.json() == {"imported": 2}
    assert api.registry.decision("c-1")["metadata"] == {}
    broken = _jsonl(_decision("credit-risk", "c-2")) + b"{oops\n"
    reply = api.client.post(
        url,
        params={"filename": "april.jsonl"},
        headers={**api.as_("deployer"), **NDJSON},
        content=broken,
    )
    assert reply.status_code == 422
    message = reply.json()["message"]
    assert message.startswith("april.jsonl:2: not JSON") and "/tmp" not in message
    assert [d.decision_id for d in api.registry.decisions("credit-risk")] == ["c-1"]
    empty = api.client.post(url, headers={**api.as_("deployer"), **NDJSON}, content=b"")
    assert empty.status_code == 201 and empty.json() == {"imported": 0}
    csv = api.client.post(
        url, headers={**api.as_("deployer"), "Content-Type": "text/csv"}, content=b"a,b\n"
    )
    assert csv.status_code == 415 and csv.json()["code"] == "unsupported_media_type"


def test_stored_inputs_are_read_in_scope_and_the_policy_is_for_admins(api: Api) -> None:
    api.upload("credit-risk", who="admin")
    api.registry.log_decision("credit-risk", inputs={"income": 5}, output=1, version=1,
                              decision_id="loan/2026/7")  # fmt: skip
    url = "/api/v1/decision-inputs/loan/2026/7"
    reply = api.client.get(url, headers=api.as_("viewer"))
    assert reply.json() == {"decision_id": "loan/2026/7", "inputs": {"income": 5}}
    assert api.client.get(url, headers=api.as_("fraud-admin")).status_code == 404
    shown = api.client.get("/api/v1/decisions/loan%2F2026%2F7", headers=api.as_("viewer"))
    assert shown.status_code == 200 and shown.json()["decision_id"] == "loan/2026/7"

    policy = "/api/v1/models/credit-risk/decisions/policy"
    body = {"inputs": "blob", "retention_days": 30}
    for who in ("viewer", "contributor", "deployer", "approver"):
        assert api.client.put(policy, headers=api.as_(who), json=body).status_code == 403, who
    assert api.client.put(policy, headers=api.as_("fraud-admin"), json=body).status_code == 404
    done = api.client.put(policy, headers=api.as_("admin"), json=body)
    assert done.status_code == 200
    assert done.json() == {"model": "credit-risk", "inputs": "blob", "retention_days": 30}
    assert api.registry.backend.metadata.input_policy("credit-risk") == ("blob", 30)
    entry = api.registry.audit_log("model:credit-risk")[-1]
    assert (entry["kind"], entry["actor"]) == ("decisions.policy_set", "admin-user")
    missing = api.client.put(
        "/api/v1/models/no-such/decisions/policy", headers=api.as_("admin"), json=body
    )
    assert missing.status_code == 404


def test_an_id_ending_in_report_is_that_decision_when_its_slashes_are_escaped(api: Api) -> None:
    api.upload("credit-risk", who="admin")
    for decision_id in ("loan-7", "loan-7/report"):
        api.registry.log_decision("credit-risk", inputs={"id": decision_id}, output=1,
                                  version=1, decision_id=decision_id)  # fmt: skip
    viewer = api.as_("viewer")  # a model-scoped token may read it too: no whole-store report
    api.token("scoped-viewer", "scoped", "viewer", "credit-*")
    for who in ("viewer", "scoped-viewer"):
        shown = api.client.get("/api/v1/decisions/loan-7%2Freport", headers=api.as_(who))
        assert shown.status_code == 200, shown.text
        assert shown.json()["decision_id"] == "loan-7/report"
    report = api.client.get("/api/v1/decisions/loan-7/report", headers=api.as_("admin"))
    assert report.json()["decision"]["decision_id"] == "loan-7"  # unescaped: the report of loan-7
    assert api.client.get("/api/v1/decisions/loan-7", headers=viewer).json()["decision_id"] == (
        "loan-7"
    )


def test_purge_of_every_model_needs_a_token_for_every_model(api: Api) -> None:
    api.upload("fraud-cards", who="admin")
    url = "/api/v1/decisions/purge"
    assert api.client.post(url, headers=api.as_("fraud-admin")).status_code == 403
    one = api.client.post(url, headers=api.as_("fraud-admin"), json={"model": "fraud-cards"})
    assert one.status_code == 200 and one.json() == {"purged": {}}
    other = api.client.post(url, headers=api.as_("fraud-admin"), json={"model": "credit-risk"})
    assert other.status_code == 404
    assert api.client.post(url, headers=api.as_("deployer"), json={}).status_code == 403
    every = api.client.post(url, headers=api.as_("admin"), json={})
    assert every.status_code == 200 and every.json() == {"purged": {}}


def test_an_import_over_its_own_limit_is_refused_before_anything_is_recorded(api: Api) -> None:
    app = create_app(api.registry, json_limit=100_000, import_limit=2_000)
    api.upload("credit-risk", who="admin")
    records = [_decision("credit-risk", f"big-{i}") for i in range(40)]
    with TestClient(app) as client:
        headers = {**api.as_("deployer"), **NDJSON}
        big = client.post("/api/v1/decisions/import", headers=headers, content=_jsonl(*records))
        assert big.status_code == 413 and big.json()["code"] == "too_large"

        def chunks() -> object:  # no Content-Length: counted as it arrives
            yield from (_jsonl(r) for r in records)

        streamed = client.post("/api/v1/decisions/import", headers=headers, content=chunks())
        assert streamed.status_code == 413
        small = client.post(
            "/api/v1/decisions/import", headers=headers, content=_jsonl(*records[:3])
        )
        assert small.status_code == 201, small.text
        # The JSON limit, not the import limit, applies to a column batch.
        columns = {"outputs": list(range(500)), "version": 1, "inputs": list(range(500))}
        assert (
            client.post(
                "/api/v1/models/credit-risk/decisions/columns",
                headers=api.as_("deployer"),
                json=columns,
            ).status_code
            == 201
        )
    assert len(api.registry.decisions("credit-risk")) == 503


def test_every_new_route_is_described_in_the_api_schema(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/api/v1/models/{name}/decisions/columns", "post"),
        ("/api/v1/decisions/import", "post"),
        ("/api/v1/decision-inputs/{decision_id}", "get"),
        ("/api/v1/models/{name}/decisions/policy", "put"),
        ("/api/v1/decisions/purge", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens/{token_id}/revoke", "post"),
        ("/api/v1/audit/log", "get"),
        ("/api/v1/audit/consistency", "get"),
        ("/api/v1/webhooks/deliveries/{delivery_id}/attempts", "get"),
    ]:
        assert method in paths[path], (path, method)
        assert "401" in paths[path][method]["responses"], path
    body = paths["/api/v1/decisions/import"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/x-ndjson", "application/jsonl",
                         "application/vnd.apache.parquet"}  # fmt: skip
