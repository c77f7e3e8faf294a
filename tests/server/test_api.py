"""The API through HTTP, on the embedded store and on PostgreSQL + S3."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .conftest import Api

COEFFS = b'{"income": 0.25}\n'


def test_health_and_readiness_need_no_token(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["audit_size"] > 0
    assert api.client.get("/openapi.json").json()["info"]["title"] == "modelrepo"
    assert api.client.get("/docs").status_code == 200


def test_register_list_show_download(api: Api) -> None:
    created = api.upload(
        "credit-risk",
        params={"C": 0.5},
        metrics={"auc": 0.91},
        tags={"stage": "candidate"},
        data=["s3://data/train.parquet#sha256:" + "ab" * 32],
        code={"commit": "a" * 40, "dirty": False},
        executable=["score.sh"],
        description="first",
    )
    assert created["version"] == 1 and created["created_by"] == "contributor-user"
    files = {f["path"]: f for f in created["files"]}  # type: ignore[attr-defined]
    assert files["score.sh"]["executable"] and not files["model/coefficients.json"]["executable"]
    api.upload("credit-risk", metrics={"auc": 0.85})
    c = api.client
    models = c.get("/api/v1/models", headers=api.as_("viewer")).json()
    assert [m["model"] for m in models["items"]] == ["credit-risk"]
    page = c.get("/api/v1/models/credit-risk/versions?limit=1", headers=api.as_("viewer")).json()
    assert [v["version"] for v in page["items"]] == [1] and page["next_cursor"] == "1"
    rest = c.get(
        f"/api/v1/models/credit-risk/versions?limit=1&cursor={page['next_cursor']}",
        headers=api.as_("viewer"),
    ).json()
    assert [v["version"] for v in rest["items"]] == [2] and rest["next_cursor"] is None
    good = c.get(
        "/api/v1/models/credit-risk/versions",
        params={"where": "metrics.auc>=0.9"},
        headers=api.as_("viewer"),
    ).json()
    assert [v["version"] for v in good["items"]] == [1]
    shown = c.get("/api/v1/models/credit-risk/versions/1", headers=api.as_("viewer")).json()
    assert shown["lineage"]["code"]["commit"] == "a" * 40
    assert shown["lineage"]["data"][0]["uri"] == "s3://data/train.parquet"
    url = "/api/v1/models/credit-risk/versions/1/files/model/coefficients.json"
    whole = c.get(url, headers=api.as_("viewer"))
    assert whole.status_code == 200 and whole.content == COEFFS
    assert whole.headers["etag"] == f'"sha256:{hashlib.sha256(COEFFS).hexdigest()}"'
    assert whole.headers["accept-ranges"] == "bytes"
    part = c.get(url, headers={**api.as_("viewer"), "Range": "bytes=1-8"})
    assert part.status_code == 206 and part.content == COEFFS[1:9]
    assert part.headers["content-range"] == f"bytes 1-8/{len(COEFFS)}"
    tail = c.get(url, headers={**api.as_("viewer"), "Range": "bytes=-3"})
    assert tail.content == COEFFS[-3:]
    beyond = c.get(url, headers={**api.as_("viewer"), "Range": "bytes=999-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(COEFFS)}"
    missing = c.get("/api/v1/models/credit-risk/versions/1/files/nope", headers=api.as_("viewer"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_uploads_refuse_unsafe_paths_and_local_data(api: Api) -> None:
    for name in ("../escape.txt", "/etc/passwd", "a/../../b", "a//b"):
        reply = api.client.post(
            "/api/v1/models/m/versions",
            headers=api.as_("contributor"),
            files=[("files", (name, b"x"))],
        )
        assert reply.status_code == 422, name
        assert reply.json()["code"] == "invalid_input"
    twice = api.client.post(
        "/api/v1/models/m/versions",
        headers=api.as_("contributor"),
        files=[("files", ("a", b"x")), ("files", ("a", b"y"))],
    )
    assert twice.status_code == 422
    for ref in ("/etc/passwd", "file:///etc/passwd"):
        local = api.client.post(
            "/api/v1/models/m/versions",
            headers=api.as_("contributor"),
            files=[("files", ("a", b"x"))],
            data={"metadata": json.dumps({"data": [ref]})},
        )
        assert local.status_code == 422, ref
    bad = api.client.post(
        "/api/v1/models/m/versions",
        headers=api.as_("contributor"),
        files=[("files", ("a", b"x"))],
        data={"metadata": '{"unknown": 1}'},
    )
    assert bad.status_code == 422
    assert api.client.get("/api/v1/models/m", headers=api.as_("viewer")).status_code == 404


def test_tags_and_deprecation_are_recorded_as_the_token_user(api: Api) -> None:
    api.upload("credit-risk")
    base = "/api/v1/models/credit-risk/versions/1"
    c = api.client
    tagged = c.put(f"{base}/tags/stage", headers=api.as_("contributor"), json={"value": "prod"})
    assert tagged.json()["tags"] == {"stage": "prod"}
    untagged = c.delete(f"{base}/tags/stage", headers=api.as_("contributor"))
    assert untagged.json()["tags"] == {}
    gone = c.delete(f"{base}/tags/stage", headers=api.as_("contributor"))
    assert gone.status_code == 404
    dep = c.post(f"{base}/deprecation", headers=api.as_("contributor"), json={"reason": "old"})
    assert dep.json()["deprecated"] is True
    actors = {(e["kind"], e["actor"]) for e in api.registry.audit_log("model:credit-risk")}
    assert ("version.tag_set", "contributor-user") in actors
    assert ("version.deprecated", "contributor-user") in actors
    assert all(actor != "alice" for kind, actor in actors if kind != "store.created")


def test_deployments_four_eyes_live_history_timeline(api: Api) -> None:
    api.upload("credit-risk")
    api.upload("credit-risk")
    c = api.client
    env = "/api/v1/models/credit-risk/environments"
    first = c.post(f"{env}/production/deploy", headers=api.as_("deployer"), json={"version": 1})
    assert first.status_code == 200 and first.json()["status"] == "live"
    assert first.json()["actor"] == "deployer-user"
    protected = c.post(f"{env}/production/protect", headers=api.as_("admin"))
    assert protected.json()["protected"] is True
    pending = c.post(
        f"{env}/production/deploy", headers=api.as_("deployer"), json={"version": 2, "reason": "Q1"}
    )
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    request_id = pending.json()["request_id"]
    # The same user holding an approver token is still the requester: four eyes means two.
    own = c.post(f"/api/v1/requests/{request_id}/approve", headers=api.as_("deployer-as-approver"))
    assert own.status_code == 403 and own.json()["code"] == "forbidden"
    listed = c.get("/api/v1/requests?status=pending", headers=api.as_("viewer")).json()
    assert [r["request_id"] for r in listed["items"]] == [request_id]
    approved = c.post(
        f"/api/v1/requests/{request_id}/approve", headers=api.as_("approver"), json={"reason": "ok"}
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == (
        "approved",
        "approver-user",
    )
    live = c.get(f"{env}/production/live", headers=api.as_("viewer")).json()
    assert [v["version"] for v in live["versions"]] == [2]
    assert live["event"]["actor"] == "deployer-user"
    assert live["event"]["approved_by"] == "approver-user"
    before = c.get(
        f"{env}/production/live",
        params={"at": first.json()["effective_at"]},
        headers=api.as_("viewer"),
    ).json()
    assert [v["version"] for v in before["versions"]] == [1]
    bad_time = c.get(f"{env}/production/live?at=yesterday", headers=api.as_("viewer"))
    assert bad_time.status_code == 422 and bad_time.json()["code"] == "invalid_input"
    rollback = c.post(f"{env}/production/rollback", headers=api.as_("deployer"), json={})
    assert rollback.status_code == 202
    rejected = c.post(
        f"/api/v1/requests/{rollback.json()['request_id']}/reject",
        headers=api.as_("approver2"),
        json={"reason": "not now"},
    )
    assert rejected.json()["status"] == "rejected"
    staging = c.post(
        f"{env}/staging/deploy", headers=api.as_("deployer"), json={"split": {"1": 0.9, "2": 0.1}}
    )
    assert staging.status_code == 200
    undeploy = c.post(f"{env}/staging/undeploy", headers=api.as_("deployer"), json={})
    assert undeploy.json()["kind"] == "undeploy"
    history = c.get(
        "/api/v1/models/credit-risk/history?env=production", headers=api.as_("viewer")
    ).json()
    assert [e["approved_by"] for e in history["items"]] == [None, "approver-user"]
    timeline = c.get("/api/v1/models/credit-risk/timeline", headers=api.as_("viewer")).json()
    assert {i["environment"] for i in timeline} == {"production", "staging"}
    envs = c.get(f"{env}", headers=api.as_("viewer")).json()
    assert {e["environment"]: e["protected"] for e in envs} == {
        "production": True,
        "staging": False,
    }
    unprotect = c.post(f"{env}/production/unprotect", headers=api.as_("admin"), json={})
    assert unprotect.status_code == 202 and unprotect.json()["kind"] == "unprotect"
    shown = c.get(f"/api/v1/requests/{request_id}", headers=api.as_("viewer")).json()
    assert shown["requested_by"] == "deployer-user"


def test_decisions_one_batch_show_list(api: Api) -> None:
    api.upload("credit-risk")
    c = api.client
    c.post(
        "/api/v1/models/credit-risk/environments/production/deploy",
        headers=api.as_("deployer"),
        json={"version": 1},
    )
    one = c.post(
        "/api/v1/decisions",
        headers=api.as_("deployer"),
        json={
            "model": "credit-risk",
            "environment": "production",
            "inputs": {"income": 1},
            "output": {"refused": True},
            "decision_id": "loan-1",
        },
    )
    assert one.status_code == 201, one.text
    assert one.json()["version"] == 1
    batch = c.post(
        "/api/v1/decisions/batch",
        headers=api.as_("deployer"),
        json={
            "decisions": [
                {"model": "credit-risk", "version": 1, "inputs": [i], "output": i % 2}
                for i in range(5)
            ]
        },
    )
    assert batch.status_code == 201 and batch.json() == {"recorded": 5}
    story = c.get("/api/v1/decisions/loan-1", headers=api.as_("viewer")).json()
    assert story["decision_id"] == "loan-1" and story["model"] == "credit-risk"
    listed = c.get("/api/v1/models/credit-risk/decisions?limit=4", headers=api.as_("viewer")).json()
    assert len(listed["items"]) == 4 and listed["next_cursor"] == "4"
    again = c.post(
        "/api/v1/decisions",
        headers=api.as_("deployer"),
        json={
            "model": "credit-risk",
            "version": 1,
            "inputs": 1,
            "output": 1,
            "decision_id": "loan-1",
        },
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    absent = c.get("/api/v1/decisions/nope", headers=api.as_("viewer"))
    assert absent.status_code == 404
    entries = api.registry.audit_log("model:credit-risk")
    assert {e["actor"] for e in entries if e["kind"].startswith("decision")} == {"deployer-user"}


def test_audit_verify_checkpoint_prove_key_metrics(api: Api) -> None:
    api.upload("credit-risk")
    c = api.client
    verified = c.get("/api/v1/audit/verify", headers=api.as_("viewer")).json()
    assert verified["ok"] is True
    signed = c.post("/api/v1/audit/checkpoints", headers=api.as_("approver"))
    assert signed.status_code == 201 and signed.json()["size"] == verified["size"]
    kept = c.get("/api/v1/audit/checkpoints", headers=api.as_("viewer")).json()
    assert kept[-1]["size"] == verified["size"]
    proof = c.get("/api/v1/audit/proofs/2", headers=api.as_("viewer")).json()
    assert proof["index"] == 1 and proof["checkpoint"]["size"] == verified["size"]
    assert c.get("/api/v1/audit/proofs/9999", headers=api.as_("viewer")).status_code == 404
    key = c.get("/api/v1/audit/key", headers=api.as_("viewer")).json()
    assert "BEGIN PUBLIC KEY" in key["public_key"]
    metrics = c.get("/metrics", headers=api.as_("viewer"))
    assert metrics.status_code == 200
    assert 'route="/api/v1/audit/verify",status="200"' in metrics.text
    scoped = c.get("/api/v1/audit/verify", headers=api.as_("fraud-admin"))
    assert scoped.status_code == 403


def test_errors_are_json_with_a_code(api: Api) -> None:
    c = api.client
    assert c.get("/api/v1/models/nope", headers=api.as_("viewer")).json()["code"] == "not_found"
    assert c.get("/api/v1/models/NOT_A_NAME", headers=api.as_("viewer")).status_code == 404
    bad_name = c.get("/api/v1/models/a%3Ab", headers=api.as_("viewer"))
    assert bad_name.status_code == 422 and bad_name.json()["code"] == "invalid_input"
    assert "cannot contain ':'" in bad_name.json()["message"]
    wrong_method = c.patch("/api/v1/models", headers=api.as_("viewer"))
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    unknown = c.get("/api/v1/nothing-here", headers=api.as_("viewer"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert c.get("/api/v1/models?cursor=x", headers=api.as_("viewer")).status_code == 422


def test_whoami_and_a_version_s_change_events(api: Api) -> None:
    c = api.client
    me = c.get("/api/v1/whoami", headers=api.as_("fraud-deployer")).json()
    assert me["user"] == "fraud-team" and me["role"] == "deployer"
    assert me["model_pattern"] == "fraud-*" and len(me["token_id"]) == 12
    api.upload("credit-risk")
    tag = "/api/v1/models/credit-risk/versions/1/tags/stage"
    c.put(tag, headers=api.as_("contributor"), json={"value": "champion"})
    events = c.get("/api/v1/models/credit-risk/versions/1/events", headers=api.as_("viewer"))
    assert [(e["kind"], e["actor"]) for e in events.json()] == [("tag_set", "contributor-user")]
    hidden = "/api/v1/models/credit-risk/versions/1/events"
    assert c.get(hidden, headers=api.as_("fraud-deployer")).status_code == 404
    assert (
        c.get("/api/v1/models/credit-risk/versions/9/events", headers=api.as_("viewer")).json()[
            "code"
        ]
        == "not_found"
    )


def test_a_part_larger_than_the_memory_spool_arrives_byte_for_byte(api: Api) -> None:
    import hashlib
    import os

    big = os.urandom(3 * 1024 * 1024 + 17)  # spooled to disk by the form parser
    small = b"income,0.25\n"  # kept in memory
    reply = api.client.post(
        "/api/v1/models/big-model/versions",
        headers=api.as_("contributor"),
        files=[("files", ("weights.bin", big)), ("files", ("model/small.csv", small))],
        data={"metadata": "{}"},
    )
    assert reply.status_code == 201, reply.text
    files = {f["path"]: f for f in reply.json()["files"]}
    assert files["weights.bin"]["sha256"] == hashlib.sha256(big).hexdigest()
    assert files["weights.bin"]["size"] == len(big)
    assert files["model/small.csv"]["sha256"] == hashlib.sha256(small).hexdigest()
    got = api.client.get(
        "/api/v1/models/big-model/versions/1/files/weights.bin", headers=api.as_("viewer")
    )
    assert got.status_code == 200 and got.content == big


def test_undeploy_where_nothing_was_ever_deployed_is_refused(api: Api, tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("model\n")
    api.registry.register("score", tmp_path / "m.txt", code=False)
    url = "/api/v1/models/score/environments/staging/undeploy"
    refused = api.client.post(url, headers=api.as_("deployer"), json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"] == "nothing was ever deployed to score@staging"
    assert api.registry.environments("score") == []
