"""The other rules every store applies to a write: tags, deleted versions, tokens, webhooks,
decision ids and the deployment history a batch of decisions was made against."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from modelrepo.domain.access import ApiToken, check_new_token, revoked_token
from modelrepo.domain.decisions import (
    check_history_unmoved,
    check_new_decision,
    input_policy_change,
)
from modelrepo.domain.errors import Conflict, HistoryMoved, NotFound
from modelrepo.domain.model import check_not_deleted, model_tag_change, version_tag_change
from modelrepo.domain.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    Attempt,
    Delivery,
    Webhook,
    after_attempt,
    check_new_webhook,
    disabled_webhook,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def test_a_version_tag_change_is_a_set_a_removal_or_nothing() -> None:
    assert version_tag_change("m", 1, "stage", None, "prod") == "tag_set"
    assert version_tag_change("m", 1, "stage", "dev", "prod") == "tag_set"
    assert version_tag_change("m", 1, "stage", "prod", "prod") is None
    assert version_tag_change("m", 1, "stage", "prod", None) == "tag_removed"
    with pytest.raises(NotFound, match=re.escape("version m@1 has no tag 'stage'")):
        version_tag_change("m", 1, "stage", None, None)


def test_a_model_tag_change_is_a_set_a_removal_or_nothing() -> None:
    assert model_tag_change("m", "team", None, "risk") == "tag_set"
    assert model_tag_change("m", "team", "risk", "risk") is None
    assert model_tag_change("m", "team", "risk", None) == "tag_removed"
    with pytest.raises(NotFound, match=re.escape("model 'm' has no tag 'team'")):
        model_tag_change("m", "team", None, None)


def test_a_deleted_version_takes_no_more_changes() -> None:
    check_not_deleted("m", 2, False)
    with pytest.raises(Conflict, match=re.escape("version m@2 is deleted")):
        check_not_deleted("m", 2, True)


def token() -> ApiToken:
    return ApiToken("0123456789ab", "bob", "deployer", None, T0, "admin")


def test_a_token_is_created_once_and_revoked_once() -> None:
    check_new_token(token(), False)
    with pytest.raises(Conflict, match=re.escape("token 0123456789ab already exists")):
        check_new_token(token(), True)
    revoked = revoked_token(token(), "0123456789ab", actor="carol", at=T1)
    assert (revoked.revoked_at, revoked.revoked_by, revoked.active) == (T1, "carol", False)
    with pytest.raises(Conflict, match=re.escape("token 0123456789ab is already revoked")):
        revoked_token(revoked, "0123456789ab", actor="carol", at=T1)
    with pytest.raises(NotFound, match=re.escape("token ffffffffffff not found")):
        revoked_token(None, "ffffffffffff", actor="carol", at=T1)


def hook() -> Webhook:
    return Webhook("wh1", "https://example.com/hook", "*", ("deployment.recorded",), T0, "admin")


def test_a_webhook_is_added_once_and_disabled_once() -> None:
    check_new_webhook("wh1", False)
    with pytest.raises(Conflict, match=re.escape("webhook wh1 already exists")):
        check_new_webhook("wh1", True)
    disabled = disabled_webhook(hook(), "wh1", actor="carol", at=T1)
    assert (disabled.disabled_at, disabled.disabled_by, disabled.active) == (T1, "carol", False)
    with pytest.raises(Conflict, match=re.escape("webhook wh1 is already disabled")):
        disabled_webhook(disabled, "wh1", actor="carol", at=T1)
    with pytest.raises(NotFound, match=re.escape("webhook wh2 not found")):
        disabled_webhook(None, "wh2", actor="carol", at=T1)


def test_a_decision_id_is_recorded_once() -> None:
    check_new_decision("d-1", False)
    with pytest.raises(Conflict, match=re.escape("decision 'd-1' is already recorded")):
        check_new_decision("d-1", True)


def test_decisions_are_refused_when_a_deployment_slipped_in_since_they_were_made() -> None:
    latest = {("m", "prod"): 7}
    check_history_unmoved({("m", "prod"): 7, ("m", "staging"): 0}, lambda m, e: latest.get((m, e)))
    with pytest.raises(HistoryMoved, match=re.escape("m in prod was deployed meanwhile")):
        check_history_unmoved({("m", "prod"): 6}, lambda m, e: latest.get((m, e)))
    with pytest.raises(HistoryMoved, match=re.escape("m in staging was deployed meanwhile")):
        check_history_unmoved({("m", "staging"): 3}, lambda m, e: None)


def test_an_input_policy_is_recorded_when_first_chosen_and_when_it_changes() -> None:
    first = input_policy_change("m", "inline", None, None)
    assert first == {"model": "m", "inputs": "inline", "retention_days": None, "was": "inline"}
    assert input_policy_change("m", "inline", None, ("inline", None)) is None
    assert input_policy_change("m", "digest", None, ("inline", 30)) == {
        "model": "m",
        "inputs": "digest",
        "retention_days": None,
        "was": "inline",
    }
    assert input_policy_change("m", "inline", 30, ("inline", None)) is not None


def test_a_delivery_after_an_attempt_is_delivered_pending_a_retry_or_failed() -> None:
    queued = Delivery(3, "wh1", 12, "e-12", "deployment.recorded", "{}", PENDING, 1, T0, T0)
    ok = Attempt(3, 2, T1, True, 200, None, 40)
    delivered = after_attempt(queued, ok, None)
    assert (delivered.status, delivered.attempts, delivered.delivered_at) == (DELIVERED, 2, T1)
    assert (delivered.next_attempt_at, delivered.last_error) == (T1, None)
    refused = Attempt(3, 2, T1, False, 503, "HTTP 503", 40)
    retry = datetime(2026, 1, 3, tzinfo=UTC)
    pending = after_attempt(queued, refused, retry)
    assert (pending.status, pending.next_attempt_at, pending.last_error) == (
        PENDING,
        retry,
        "HTTP 503",
    )
    assert pending.delivered_at is None
    failed = after_attempt(queued, refused, None)
    assert (failed.status, failed.next_attempt_at) == (FAILED, T1)
    late = after_attempt(replace(queued, attempts=5), refused, None)  # an attempt logged late
    assert late.attempts == 5
