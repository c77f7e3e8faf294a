"""The deployment rules every store applies: each rule, each branch, each message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelrepo.domain.deployment_rules import (
    ONE_MICRO,
    UNPROTECT,
    EnvironmentState,
    NewEvent,
    NewRequest,
    approval_required,
    check_deletable,
    check_deployable,
    decide_deployment,
    decide_event,
    decide_import,
    needs_history,
    open_request,
    protection,
    recording_time,
    request_decision,
)
from modelrepo.domain.deployments import (
    Allocation,
    Approval,
    DeploymentChange,
    DeploymentEvent,
    DeploymentRequest,
    EnvironmentChange,
)
from modelrepo.domain.errors import ApprovalRequired, Conflict, Forbidden, InvalidInput, NotFound

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
V = {n: (Allocation(n, 1.0),) for n in range(1, 6)}
VERSIONS = {1: False, 2: False, 3: False, 4: True}  # version 4 is deleted; 5 does not exist


def deleted(number: int) -> bool | None:
    return VERSIONS.get(number)


def change(
    kind: str = "deploy",
    versions: tuple[Allocation, ...] | None = V[1],
    *,
    effective_at: datetime | None = None,
    approval: Approval | None = None,
) -> DeploymentChange:
    return DeploymentChange(
        "credit-risk",
        "production",
        kind,
        versions,
        "alice",
        reason="why",
        effective_at=effective_at,
        approval=approval,
    )


def event(
    event_id: int, versions: tuple[Allocation, ...], at: datetime, kind: str = "deploy"
) -> DeploymentEvent:
    return DeploymentEvent(event_id, "credit-risk", "production", kind, versions, at, at, "a")


HISTORY = (event(1, V[1], T0), event(2, V[2], T0 + HOUR), event(3, V[3], T0 + 2 * HOUR))
LIVE = EnvironmentState(protected=False, events=HISTORY, latest_event_id=3)
PROTECTED = EnvironmentState(protected=True, events=HISTORY, latest_event_id=3)
NOW = T0 + 3 * HOUR


# -- recording time -------------------------------------------------------------------------


def test_recording_time_is_now_when_the_clock_has_moved_on() -> None:
    assert recording_time(NOW, None) == NOW
    assert recording_time(NOW, NOW - ONE_MICRO) == NOW


def test_recording_time_steps_past_the_last_recording_when_the_clock_has_not() -> None:
    assert recording_time(NOW, NOW) == NOW + ONE_MICRO
    assert recording_time(NOW - HOUR, NOW) == NOW + ONE_MICRO


# -- what a store reads ---------------------------------------------------------------------


def test_only_an_undeploy_or_a_rollback_computing_its_target_reads_history() -> None:
    assert not needs_history(change())
    assert needs_history(change("undeploy", ()))
    assert needs_history(change("rollback", None))
    assert not needs_history(change("rollback", V[2]))  # an approved rollback carries it


def test_a_new_environment_is_unprotected_and_empty() -> None:
    state = EnvironmentState()
    assert (state.protected, tuple(state.events), state.latest_event_id) == (False, (), None)


# -- versions -------------------------------------------------------------------------------


def test_deployable_versions_exist_and_are_not_deleted() -> None:
    check_deployable("credit-risk", V[1] + V[2], deleted)
    with pytest.raises(NotFound, match=re.escape("version credit-risk@5 not found")):
        check_deployable("credit-risk", V[5], deleted)
    with pytest.raises(
        Conflict, match=re.escape("version credit-risk@4 is deleted and cannot be deployed")
    ):
        check_deployable("credit-risk", V[4], deleted)


def test_a_version_is_deleted_once_and_never_once_deployed() -> None:
    check_deletable("credit-risk", 3, deleted=False, named=[V[1], V[2]])
    with pytest.raises(Conflict, match=re.escape("version credit-risk@3 is already deleted")):
        check_deletable("credit-risk", 3, deleted=True, named=[])
    with pytest.raises(
        Conflict,
        match=re.escape("version credit-risk@2 has been deployed and can never be deleted"),
    ):
        check_deletable("credit-risk", 2, deleted=False, named=[V[1], (Allocation(2, 0.5),)])


def test_the_delete_check_stops_reading_at_the_first_allocation_naming_the_version() -> None:
    read: list[int] = []

    def named() -> Iterator[tuple[Allocation, ...]]:
        for n in (1, 2, 3):
            read.append(n)
            yield V[n]

    with pytest.raises(Conflict):
        check_deletable("credit-risk", 2, deleted=False, named=named())
    assert read == [1, 2]


# -- an event -------------------------------------------------------------------------------


def test_a_protected_environment_refuses_an_unapproved_change_before_anything_else() -> None:
    message = (
        "environment 'production' of credit-risk is protected: "
        "the change needs approval by a second identity"
    )
    assert str(approval_required(change())) == message
    empty = EnvironmentState(protected=True)
    for refused in (
        change(),
        change("undeploy", ()),
        change("rollback", None),
        change("deploy", V[5]),
    ):
        with pytest.raises(ApprovalRequired, match=re.escape(message)):
            decide_event(refused, empty, deleted, now=NOW, last_recorded=None)


def test_an_approved_change_to_a_protected_environment_is_recorded_approved_when_recorded() -> None:
    new = decide_event(
        change(versions=V[2], approval=Approval(7, "bob")),
        PROTECTED,
        deleted,
        now=NOW,
        last_recorded=None,
    )
    assert (new.request_id, new.approved_by, new.approved_at) == (7, "bob", NOW)
    assert new.actor == "alice"


def test_an_event_takes_effect_when_recorded_unless_told_otherwise() -> None:
    new = decide_event(change(), LIVE, deleted, now=NOW, last_recorded=NOW)
    assert new.recorded_at == new.effective_at == NOW + ONE_MICRO
    assert (new.request_id, new.approved_by, new.approved_at) == (None, None, None)
    later = NOW + HOUR
    scheduled = decide_event(change(effective_at=later), LIVE, deleted, now=NOW, last_recorded=None)
    assert (scheduled.effective_at, scheduled.recorded_at) == (later, NOW)
    assert (scheduled.kind, scheduled.versions, scheduled.reason) == ("deploy", V[1], "why")


def test_a_deploy_refuses_a_missing_or_deleted_version() -> None:
    with pytest.raises(NotFound, match=re.escape("version credit-risk@5 not found")):
        decide_event(change(versions=V[5]), LIVE, deleted, now=NOW, last_recorded=None)
    with pytest.raises(Conflict, match="is deleted and cannot be deployed"):
        decide_event(change(versions=V[4]), LIVE, deleted, now=NOW, last_recorded=None)


def test_a_rollback_restores_the_allocation_before_the_current_one() -> None:
    new = decide_event(change("rollback", None), LIVE, deleted, now=NOW, last_recorded=None)
    assert new.versions == V[2]


def test_a_backfilled_rollback_is_computed_at_its_effective_time() -> None:
    past = T0 + 90 * timedelta(minutes=1)  # v2 was live; before it, v1
    new = decide_event(
        change("rollback", None, effective_at=past), LIVE, deleted, now=NOW, last_recorded=None
    )
    assert (new.versions, new.effective_at) == (V[1], past)


def test_a_rollback_with_nothing_before_is_refused() -> None:
    once = EnvironmentState(events=HISTORY[:1])
    with pytest.raises(
        Conflict,
        match=re.escape("nothing to roll back to: no earlier deployment in this environment"),
    ):
        decide_event(change("rollback", None), once, deleted, now=NOW, last_recorded=None)


def test_a_rollback_to_a_version_deleted_since_is_refused() -> None:
    history = (event(1, V[4], T0), event(2, V[1], T0 + HOUR))
    with pytest.raises(Conflict, match="credit-risk@4 is deleted"):
        decide_event(
            change("rollback", None),
            EnvironmentState(events=history),
            deleted,
            now=NOW,
            last_recorded=None,
        )


def test_an_undeploy_empties_the_environment_and_needs_something_deployed_before() -> None:
    new = decide_event(change("undeploy", ()), LIVE, deleted, now=NOW, last_recorded=None)
    assert new.versions == ()
    with pytest.raises(
        Conflict, match=re.escape("nothing was ever deployed to credit-risk@production")
    ):
        decide_event(
            change("undeploy", ()), EnvironmentState(), deleted, now=NOW, last_recorded=None
        )


def test_a_new_event_is_numbered_by_the_store() -> None:
    new = decide_event(
        change(approval=Approval(7, "bob")), PROTECTED, deleted, now=NOW, last_recorded=None
    )
    stored = new.numbered(12)
    assert stored.event_id == 12
    assert (stored.versions, stored.recorded_at, stored.approved_at) == (V[1], NOW, NOW)
    assert (stored.request_id, stored.approved_by, stored.actor) == (7, "bob", "alice")


# -- a request ------------------------------------------------------------------------------


def test_a_request_names_its_target_now_and_the_event_it_was_based_on() -> None:
    request = open_request(change("rollback", None), PROTECTED, deleted, now=NOW)
    assert (request.versions, request.base_event_id, request.requested_at) == (V[2], 3, NOW)
    assert (request.requested_by, request.reason, request.effective_at) == ("alice", "why", None)
    later = NOW + HOUR
    scheduled = open_request(change(effective_at=later), PROTECTED, deleted, now=NOW)
    assert (scheduled.versions, scheduled.effective_at) == (V[1], later)
    stored = scheduled.numbered(4)
    assert (stored.request_id, stored.status, stored.base_event_id) == (4, "pending", 3)


def test_a_request_is_refused_for_what_its_event_would_be_refused_for() -> None:
    with pytest.raises(NotFound, match=re.escape("version credit-risk@5 not found")):
        open_request(change(versions=V[5]), PROTECTED, deleted, now=NOW)
    with pytest.raises(Conflict, match="nothing to roll back to"):
        open_request(change("rollback", None), EnvironmentState(protected=True), deleted, now=NOW)


def test_an_unprotect_request_names_no_versions() -> None:
    request = open_request(change(UNPROTECT, ()), PROTECTED, lambda n: None, now=NOW)
    assert (request.kind, request.versions) == (UNPROTECT, ())


# -- event or request -----------------------------------------------------------------------


def test_a_change_is_an_event_or_in_a_protected_environment_a_request() -> None:
    assert isinstance(
        decide_deployment(change(), LIVE, deleted, now=NOW, last_recorded=None), NewEvent
    )
    pending = decide_deployment(change(), PROTECTED, deleted, now=NOW, last_recorded=NOW)
    assert isinstance(pending, NewRequest)
    assert (pending.requested_at, pending.base_event_id) == (NOW, 3)
    approved = change(approval=Approval(7, "bob"))
    assert isinstance(
        decide_deployment(approved, PROTECTED, deleted, now=NOW, last_recorded=None), NewEvent
    )
    with pytest.raises(Conflict, match="nothing was ever deployed"):
        decide_deployment(
            change("undeploy", ()),
            EnvironmentState(protected=True),
            deleted,
            now=NOW,
            last_recorded=None,
        )


# -- imported history -----------------------------------------------------------------------


def imported(versions: tuple[Allocation, ...], at: datetime | None = T0) -> DeploymentChange:
    kind = "deploy" if versions else "undeploy"
    return change(kind, versions, effective_at=at)


def test_imported_history_is_recorded_a_microsecond_apart_as_it_was() -> None:
    batch = [imported(V[1]), imported(()), imported(V[2], None)]
    plan = decide_import(
        batch,
        lambda model, env: False,
        lambda model, n: VERSIONS.get(n),
        now=NOW,
        last_recorded=NOW,
    )
    assert (len(plan), list(plan.changes), plan.recorded_from) == (3, batch, NOW + ONE_MICRO)
    assert plan.effective_at == [T0, T0, NOW + 3 * ONE_MICRO]
    events = list(plan.events())
    assert [e.recorded_at for e in events] == [NOW + n * ONE_MICRO for n in (1, 2, 3)]
    assert [e.effective_at for e in events] == [T0, T0, NOW + 3 * ONE_MICRO]
    assert [e.versions for e in events] == [V[1], (), V[2]]  # no undeploy check: as recorded
    assert [(e.kind, e.actor, e.reason, e.approved_by) for e in events] == [
        ("deploy", "alice", "why", None),
        ("undeploy", "alice", "why", None),
        ("deploy", "alice", "why", None),
    ]
    empty = decide_import([], lambda m, e: True, lambda m, n: None, now=NOW, last_recorded=None)
    assert not empty and list(empty.events()) == []


def test_each_environment_is_asked_about_once() -> None:
    asked: list[tuple[str, str]] = []

    def protected(model: str, env: str) -> bool:
        asked.append((model, env))
        return False

    decide_import(
        [imported(V[1]), imported(V[2]), imported(())],
        protected,
        lambda m, n: False,
        now=NOW,
        last_recorded=None,
    )
    assert asked == [("credit-risk", "production")]


def test_imported_history_is_plain_deploys_undeploys_and_observations() -> None:
    for refused in (change("rollback", None), change(approval=Approval(1, "bob"))):
        kind = refused.kind
        with pytest.raises(
            InvalidInput,
            match=re.escape(
                f"cannot import a {kind} event: import deploys, undeploys and observations"
            ),
        ):
            decide_import(
                [refused], lambda m, e: False, lambda m, n: False, now=NOW, last_recorded=None
            )


def test_history_is_never_imported_into_a_protected_environment() -> None:
    with pytest.raises(
        ApprovalRequired,
        match=re.escape(
            "environment 'production' of credit-risk is protected: "
            "history cannot be imported into it"
        ),
    ):
        decide_import(
            [imported(V[1])], lambda m, e: True, lambda m, n: False, now=NOW, last_recorded=None
        )


def test_imported_versions_are_checked_once_each() -> None:
    asked: list[tuple[str, int]] = []

    def lookup(model: str, number: int) -> bool | None:
        asked.append((model, number))
        return VERSIONS.get(number)

    decide_import(
        [imported(V[1]), imported(V[2]), imported(V[1])],
        lambda m, e: False,
        lookup,
        now=NOW,
        last_recorded=None,
    )
    assert asked == [("credit-risk", 1), ("credit-risk", 2)]
    with pytest.raises(NotFound, match=re.escape("version credit-risk@5 not found")):
        decide_import([imported(V[5])], lambda m, e: False, lookup, now=NOW, last_recorded=None)
    with pytest.raises(Conflict, match="credit-risk@4 is deleted and cannot be deployed"):
        decide_import([imported(V[4])], lambda m, e: False, lookup, now=NOW, last_recorded=None)


# -- deciding a request ---------------------------------------------------------------------


def pending(kind: str = "deploy", versions: tuple[Allocation, ...] = V[2]) -> DeploymentRequest:
    return DeploymentRequest(
        9, "credit-risk", "production", kind, versions, None, "alice", T0, "why", base_event_id=3
    )


def test_a_request_is_decided_once_and_never_by_its_requester() -> None:
    with pytest.raises(
        Forbidden,
        match=re.escape(
            "alice requested change 9 and cannot also approve it: a second identity must decide"
        ),
    ):
        request_decision(pending(), approve=True, actor="alice", latest_event_id=3, now=NOW)
    with pytest.raises(Forbidden, match="cannot also reject it"):
        request_decision(pending(), approve=False, actor="alice", latest_event_id=3, now=NOW)
    done = replace(pending(), status="approved")
    with pytest.raises(Conflict, match=re.escape("request 9 is already approved")):
        request_decision(done, approve=False, actor="bob", latest_event_id=3, now=NOW)


def test_a_rejection_changes_nothing_else() -> None:
    decision = request_decision(pending(), approve=False, actor="bob", latest_event_id=5, now=NOW)
    assert (decision.status, decision.change, decision.unprotected) == ("rejected", None, None)


def test_an_approval_carries_out_the_change_as_approved_by_its_approver() -> None:
    decision = request_decision(pending(), approve=True, actor="bob", latest_event_id=5, now=NOW)
    assert decision.status == "approved" and decision.unprotected is None
    assert decision.change == DeploymentChange(
        "credit-risk", "production", "deploy", V[2], "alice", "why", None, Approval(9, "bob")
    )


def test_an_approved_rollback_is_refused_once_the_environment_has_moved_on() -> None:
    rollback = pending("rollback", V[2])
    assert request_decision(rollback, approve=True, actor="bob", latest_event_id=3, now=NOW).change
    with pytest.raises(Conflict, match=re.escape("request 9 is stale")):
        request_decision(rollback, approve=True, actor="bob", latest_event_id=4, now=NOW)
    decision = request_decision(rollback, approve=False, actor="bob", latest_event_id=4, now=NOW)
    assert decision.status == "rejected"


def test_an_approved_unprotect_lifts_protection_and_records_no_event() -> None:
    decision = request_decision(
        pending(UNPROTECT, ()), approve=True, actor="bob", latest_event_id=3, now=NOW
    )
    assert decision.change is None
    assert decision.unprotected == EnvironmentChange("unprotected", "bob", NOW, 9, "why")


def test_protecting_records_a_change_once() -> None:
    assert protection(False, actor="alice", at=NOW) == EnvironmentChange("protected", "alice", NOW)
    assert protection(True, actor="alice", at=NOW) is None
