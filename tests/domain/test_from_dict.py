"""`from_dict` inverts `to_dict` for every record the API sends (the remote registry's
parsing rests on it)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from modelrepo import ManualClock, Registry
from modelrepo.auditing import VerifyReport
from modelrepo.domain.decisions import Decision
from modelrepo.domain.deployments import (
    DeploymentEvent,
    DeploymentOutcome,
    DeploymentRequest,
    Environment,
    LiveState,
)
from modelrepo.domain.manifest import FileEntry
from modelrepo.domain.model import CodeRef, Model, ModelVersion, VersionEvent

from ..conftest import T0


def test_records_survive_a_round_trip_through_their_documents(artifact: Path) -> None:
    reg = Registry.in_memory(user="alice", clock=ManualClock(T0, step=timedelta(seconds=1)))
    version = reg.register(
        "credit-risk",
        artifact,
        params={"C": 0.5, "layers": [1, 2], "opts": {"a": None}},
        metrics={"auc": 0.9},
        tags={"stage": "candidate"},
        data=["s3://bucket/train.parquet#sha256:" + "0f" * 32, "https://example.com/x"],
        signature={"inputs": [{"name": "income", "type": "double"}]},
        code=CodeRef("abc123", dirty=True, remote="git@host:repo", branch="main"),
    )
    reg.deprecate("credit-risk", 1, reason="old")
    deprecated = reg.get("credit-risk", 1)
    deleted = reg.delete("credit-risk", 1, reason="gone")
    second = reg.register("credit-risk", artifact, code=False, environment=False)
    for record in (version, deprecated, deleted, second):
        assert ModelVersion.from_dict(record.to_dict()) == record
    for entry in version.files:
        assert FileEntry.from_dict(entry.to_dict()) == entry
    reg.tag("credit-risk", 2, "stage", "x")
    for event in reg.events("credit-risk", 1) + reg.events("credit-risk", 2):
        assert VersionEvent.from_dict(event.to_dict()) == event
    model = reg.model("credit-risk")
    assert Model.from_dict(model.to_dict()) == model

    live = reg.deploy("credit-risk", 2, env="staging", reason="try")
    scheduled = reg.deploy("credit-risk", 2, env="canary", effective_at=T0 + timedelta(days=1))
    reg.protect("credit-risk", env="production")
    pending = reg.deploy("credit-risk", 2, env="production")
    assert pending.request is not None
    for outcome in (live, scheduled, pending):
        assert DeploymentOutcome.from_dict(outcome.to_dict()) == outcome
    approved = reg.as_user("bob").approve(pending.request.request_id, reason="ok")
    rejected_request = reg.unprotect("credit-risk", env="production", reason="relax")
    rejected = reg.as_user("bob").reject(rejected_request.request_id)
    for request in (pending.request, approved, rejected):
        assert DeploymentRequest.from_dict(request.to_dict()) == request
    for event in reg.history("credit-risk"):
        assert DeploymentEvent.from_dict(event.to_dict()) == event
    for environment in reg.environments("credit-risk"):
        assert Environment.from_dict(environment.to_dict()) == environment
    state = reg.live("credit-risk", env="production")
    assert state.event is not None and state.event.approved_by == "bob"
    nothing = reg.live("credit-risk", env="staging", at=T0, as_known_at=T0)
    for answer in (state, nothing):
        assert LiveState.from_dict(answer.to_dict()) == answer

    decision = reg.log_decision(
        "credit-risk", inputs={"x": [1, 2.5]}, output="approve", environment="production",
        metadata={"channel": "web"},
    )  # fmt: skip
    assert Decision.from_dict(decision.to_dict()) == decision

    report = reg.audit_verify()
    assert VerifyReport.from_dict(report.to_dict()) == report
    broken = VerifyReport(size=3, root_hash="ab", problems=["entry 2 altered"], first_bad_seq=2)
    assert VerifyReport.from_dict(broken.to_dict()) == broken


def test_tokens_webhooks_and_deliveries_survive_a_round_trip() -> None:
    from dataclasses import replace

    from modelrepo.domain.access import ApiToken
    from modelrepo.domain.webhooks import Attempt, Delivery, Webhook

    reg = Registry.in_memory(user="alice", clock=ManualClock(T0, step=timedelta(seconds=1)))
    token, _ = reg.create_token("bob", "deployer", model_pattern="fraud-*")
    revoked = reg.revoke_token(reg.create_token("carol", "viewer")[0].token_id)
    for record in (token, revoked):
        assert ApiToken.from_dict(record.to_dict()) == record
    from modelrepo.domain.roles import RoleBinding

    idp = "https://idp.bank.example"
    granted = reg.grant_role("erin@bank.example", "deployer", issuer=idp, model_pattern="f*")
    ended = reg.revoke_role(reg.grant_role("frank@bank.example", "viewer", issuer=idp).binding_id)
    for binding in (granted, ended):
        assert RoleBinding.from_dict(binding.to_dict()) == binding
    hook, _ = reg.add_webhook("https://hooks.example/", events=["deployed"], model_pattern="a*")
    disabled = reg.disable_webhook(hook.webhook_id)
    for record in (hook, disabled):  # the document leaves out the secret and the audit place
        assert Webhook.from_dict(record.to_dict()) == replace(record, after_seq=0)
    delivery = Delivery(7, hook.webhook_id, 3, "s:3", "deployed", "{}", "pending", 1, T0, T0)
    delivered = replace(delivery, status="delivered", delivered_at=T0, last_error=None)
    for record in (delivery, delivered):
        document = {**record.to_dict(), "payload": record.payload}
        assert Delivery.from_dict(document) == record
    for attempt in (
        Attempt(7, 1, T0, False, None, "refused", 3),
        Attempt(7, 2, T0, True, 204, None, 1),
    ):
        assert Attempt.from_dict(attempt.to_dict()) == attempt
