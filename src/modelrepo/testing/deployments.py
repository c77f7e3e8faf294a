"""The deployment-history contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ..clock import ManualClock
from ..domain.deployments import (
    Allocation,
    Approval,
    DeploymentChange,
    DeploymentEvent,
    DeploymentRequest,
)
from ..domain.errors import ApprovalRequired, Conflict, Forbidden, InvalidInput, NotFound
from ..ports import Clock, MetadataStore
from .metadata import T0, new_version

V = {n: (Allocation(n, 1.0),) for n in range(1, 6)}


def change(kind: str = "deploy", versions: Any = None, **kw: Any) -> DeploymentChange:
    fields: dict[str, Any] = {
        "model": "credit-risk",
        "environment": "production",
        "kind": kind,
        "versions": V[1] if versions is None and kind == "deploy" else versions,
        "actor": "alice",
    }
    fields.update(kw)
    return DeploymentChange(**fields)


def record(store: MetadataStore, change: DeploymentChange, *, clock: Clock) -> DeploymentEvent:
    """Apply a change the store must record as an event (not open a request for)."""
    done = store.apply_deployment(change, clock=clock)
    assert isinstance(done, DeploymentEvent), done
    return done


def audit_kinds(store: MetadataStore, start: int) -> list[str]:
    return [row[4] for row in store.audit_rows(start)]


class DeploymentStoreContract:
    """Behaviour of the deployment history shared by every metadata store."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(T0, step=timedelta(seconds=1))

    @pytest.fixture
    def seeded(self, store: MetadataStore) -> MetadataStore:
        for i in range(5):
            store.create_version(new_version(seed=i))
        return store

    def test_a_model_ever_deployed_is_not_deleted(
        self, store: MetadataStore, clock: ManualClock
    ) -> None:
        for name in ("deployed", "protected"):
            store.create_version(new_version(name))
        record(store, change(model="deployed"), clock=clock)
        record(store, change("undeploy", model="deployed"), clock=clock)  # ever is enough
        store.protect("protected", "production", actor="bob", clock=clock)
        for name in ("deployed", "protected"):
            with pytest.raises(Conflict, match="were deployed; they are kept as evidence"):
                store.delete_model(name, actor="bob", at=T0, reason=None)
            assert store.get_model(name).deleted_at is None

    def test_live_follows_effective_time(self, seeded: MetadataStore, clock: ManualClock) -> None:
        first = record(seeded, change(versions=V[1]), clock=clock)
        second = record(seeded, change(versions=V[2]), clock=clock)
        assert first.effective_at == first.recorded_at
        assert seeded.live("credit-risk", "production", first.effective_at) == first
        assert seeded.live("credit-risk", "production", second.effective_at) == second
        before = first.effective_at - timedelta(microseconds=1)
        assert seeded.live("credit-risk", "production", before) is None
        with pytest.raises(NotFound, match="environment 'staging' of credit-risk not found"):
            seeded.live("credit-risk", "staging", second.effective_at)

    def test_recording_times_strictly_increase(self, seeded: MetadataStore) -> None:
        frozen = ManualClock(T0)  # every reading is the same instant
        events = [record(seeded, change(), clock=frozen) for _ in range(3)]
        times = [e.recorded_at for e in events]
        assert times == sorted(set(times))
        assert [e.event_id for e in events] == sorted(e.event_id for e in events)

    def test_backfill_changes_only_later_knowledge(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        current = record(seeded, change(versions=V[2]), clock=clock)
        past = current.effective_at - timedelta(days=30)
        backfill = record(
            seeded, change(versions=V[1], effective_at=past, reason="imported"), clock=clock
        )
        assert backfill.backfill
        probe = past + timedelta(days=1)
        assert seeded.live("credit-risk", "production", probe) == backfill
        before = seeded.live("credit-risk", "production", probe, current.recorded_at)
        assert before is None
        assert seeded.live("credit-risk", "production", backfill.recorded_at) == current

    def test_equal_effective_times_order_by_recording(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        at = T0 + timedelta(days=1)
        record(seeded, change(versions=V[1], effective_at=at), clock=clock)
        last = record(seeded, change(versions=V[3], effective_at=at), clock=clock)
        assert seeded.live("credit-risk", "production", at) == last

    def test_split_and_undeploy(self, seeded: MetadataStore, clock: ManualClock) -> None:
        split = (Allocation(2, 0.9), Allocation(3, 0.1))
        e = record(seeded, change(versions=split), clock=clock)
        assert seeded.live("credit-risk", "production", e.effective_at).versions == split  # type: ignore[union-attr]
        gone = record(seeded, change("undeploy", ()), clock=clock)
        assert gone.versions == ()
        assert seeded.live("credit-risk", "production", gone.effective_at) == gone

    def test_rollback_walks_back(self, seeded: MetadataStore, clock: ManualClock) -> None:
        for n in (1, 2, 3):
            record(seeded, change(versions=V[n]), clock=clock)
        assert record(seeded, change("rollback"), clock=clock).versions == V[2]
        assert record(seeded, change("rollback"), clock=clock).versions == V[1]
        with pytest.raises(Conflict, match="nothing to roll back"):
            record(seeded, change("rollback"), clock=clock)
        record(seeded, change("undeploy", ()), clock=clock)
        assert record(seeded, change("rollback"), clock=clock).versions == V[1]

    def test_unknown_and_deleted_versions_are_refused(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        with pytest.raises(NotFound, match="credit-risk@9"):
            record(seeded, change(versions=(Allocation(9, 1.0),)), clock=clock)
        with pytest.raises(NotFound):
            record(seeded, change(model="absent"), clock=clock)
        seeded.delete_version("credit-risk", 5, actor="a", at=T0, reason=None)
        with pytest.raises(Conflict, match="deleted"):
            record(seeded, change(versions=V[5]), clock=clock)
        assert seeded.deployment_events("credit-risk") == []

    def test_deployed_versions_can_never_be_deleted(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        record(seeded, change(versions=V[1]), clock=clock)
        record(seeded, change("undeploy", ()), clock=clock)
        with pytest.raises(Conflict, match="can never be deleted"):
            seeded.delete_version("credit-risk", 1, actor="a", at=T0, reason=None)
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        seeded.request_deployment(change(versions=V[2]), clock=clock)
        with pytest.raises(Conflict, match="can never be deleted"):
            seeded.delete_version("credit-risk", 2, actor="a", at=T0, reason=None)

    def test_protected_environment_needs_another_identity(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        assert seeded.environment("credit-risk", "production").protected
        request = seeded.request_deployment(change(versions=V[2]), clock=clock)
        assert request.status == "pending"
        with pytest.raises(Forbidden):
            seeded.decide_request(
                request.request_id, approve=True, actor="alice", reason=None, clock=clock
            )
        done = seeded.decide_request(
            request.request_id, approve=True, actor="bob", reason="ok", clock=clock
        )
        assert (done.status, done.decided_by) == ("approved", "bob")
        event = seeded.live("credit-risk", "production", clock.now())
        assert event is not None
        assert event.event_id == done.event_id
        assert (event.approved_by, event.request_id, event.actor) == ("bob", 1, "alice")
        with pytest.raises(Conflict, match="already approved"):
            seeded.decide_request(1, approve=False, actor="carol", reason=None, clock=clock)
        with pytest.raises(NotFound):
            seeded.get_request(99)

    def test_apply_records_an_event_or_opens_a_request(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        before = seeded.audit_size()
        for n in (1, 2):
            record(seeded, change(versions=V[n]), clock=clock)
        assert audit_kinds(seeded, before + 1) == ["deployment.recorded"] * 2
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        latest = seeded.deployment_events("credit-risk")[-1]
        before = seeded.audit_size()
        opened = []
        for kind, versions, target in (
            ("deploy", V[3], V[3]),
            ("undeploy", (), ()),
            ("rollback", None, V[1]),  # its target computed when requested
        ):
            r = seeded.apply_deployment(change(kind, versions, reason="why"), clock=clock)
            assert isinstance(r, DeploymentRequest)
            assert (r.kind, r.versions, r.status) == (kind, target, "pending")
            assert (r.requested_by, r.reason, r.base_event_id) == ("alice", "why", latest.event_id)
            opened.append(r)
        assert seeded.deployment_events("credit-risk")[-1] == latest
        assert seeded.list_requests("credit-risk") == opened
        assert audit_kinds(seeded, before + 1) == ["deployment.requested"] * 3
        approved = change(versions=V[3], approval=Approval(opened[0].request_id, "bob"))
        event = record(seeded, approved, clock=clock)
        assert (event.approved_by, event.request_id) == ("bob", opened[0].request_id)

    def test_a_refused_change_writes_nothing(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        record(seeded, change(versions=V[1]), clock=clock)
        seeded.delete_version("credit-risk", 5, actor="a", at=T0, reason=None)
        refusals: list[tuple[DeploymentChange, type[Exception], str]] = [
            (change(versions=(Allocation(9, 1.0),)), NotFound, "version credit-risk@9 not found"),
            (change(versions=V[5]), Conflict, "version credit-risk@5 is deleted and cannot be"),
            (change(model="absent"), NotFound, "model 'absent' not found"),
            (change("rollback"), Conflict, "nothing to roll back to"),
            (
                change("undeploy", (), environment="staging"),
                Conflict,
                "nothing was ever deployed to credit-risk@staging",
            ),
        ]

        def check_refused() -> None:
            size, events = seeded.audit_size(), seeded.deployment_events("credit-risk")
            requests = seeded.list_requests()
            for refused, error, message in refusals:
                with pytest.raises(error, match=message):
                    seeded.apply_deployment(refused, clock=clock)
            assert seeded.audit_size() == size
            assert seeded.deployment_events("credit-risk") == events
            assert seeded.list_requests() == requests
            assert [e.name for e in seeded.environments("credit-risk")] == ["production"]

        check_refused()
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        refusals.append((change("rollback", approval=Approval(1, "bob")), Conflict, "roll back"))
        check_refused()

    def test_rejected_requests_change_nothing(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        r = seeded.request_deployment(change(versions=V[2]), clock=clock)
        done = seeded.decide_request(
            r.request_id, approve=False, actor="bob", reason="no", clock=clock
        )
        assert (done.status, done.event_id, done.decision_reason) == ("rejected", None, "no")
        assert seeded.deployment_events("credit-risk") == []
        assert [x.status for x in seeded.list_requests("credit-risk")] == ["rejected"]
        assert seeded.list_requests(status="pending") == []

    def test_scheduled_request_takes_effect_at_its_time(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        later = T0 + timedelta(days=2)
        r = seeded.request_deployment(change(versions=V[4], effective_at=later), clock=clock)
        seeded.decide_request(r.request_id, approve=True, actor="bob", reason=None, clock=clock)
        assert seeded.live("credit-risk", "production", later - timedelta(seconds=1)) is None
        assert seeded.live("credit-risk", "production", later).versions == V[4]  # type: ignore[union-attr]

    def test_a_schedule_that_passed_while_waiting_starts_at_approval(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        soon = clock.now() + timedelta(minutes=5)
        r = seeded.request_deployment(change(versions=V[2], effective_at=soon), clock=clock)
        clock.advance(timedelta(hours=1))  # bob approves an hour later
        seeded.decide_request(r.request_id, approve=True, actor="bob", reason=None, clock=clock)
        event = seeded.deployment_events("credit-risk")[-1]
        assert event.effective_at == event.recorded_at > soon  # not claimed live before approval
        past = T0 - timedelta(days=3)
        b = seeded.request_deployment(
            change(versions=V[1], effective_at=past, reason="backfill"), clock=clock
        )
        seeded.decide_request(b.request_id, approve=True, actor="bob", reason=None, clock=clock)
        assert seeded.deployment_events("credit-risk")[-1].effective_at == past  # a backfill

    def test_unprotect_needs_approval(self, seeded: MetadataStore, clock: ManualClock) -> None:
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        r = seeded.request_deployment(change("unprotect", ()), clock=clock)
        assert seeded.environment("credit-risk", "production").protected
        seeded.decide_request(r.request_id, approve=True, actor="bob", reason=None, clock=clock)
        assert not seeded.environment("credit-risk", "production").protected
        record(seeded, change(versions=V[1]), clock=clock)

    def test_import_is_all_or_nothing(self, seeded: MetadataStore, clock: ManualClock) -> None:
        good = [
            change(versions=V[n], effective_at=T0 - timedelta(days=10 - n), reason="import")
            for n in (1, 2, 3)
        ]
        assert seeded.import_deployments(good, clock=clock) == 3
        events = seeded.deployment_events("credit-risk")
        assert [e.versions for e in events] == [V[1], V[2], V[3]]
        assert all(e.backfill and e.reason == "import" for e in events)
        assert [e.recorded_at for e in events] == sorted({e.recorded_at for e in events})
        bad = [*good, change(versions=(Allocation(42, 1.0),), effective_at=T0, reason="x")]
        with pytest.raises(NotFound):
            seeded.import_deployments(bad, clock=clock)
        assert len(seeded.deployment_events("credit-risk")) == 3
        with pytest.raises(InvalidInput):
            seeded.import_deployments([change("rollback", effective_at=T0)], clock=clock)
        seeded.protect("credit-risk", "production", actor="alice", clock=clock)
        with pytest.raises(ApprovalRequired):
            seeded.import_deployments(good[:1], clock=clock)
        assert len(seeded.deployment_events("credit-risk")) == 3

    def test_the_history_reads_back_as_its_audit_entries_carry_it(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        """What `audit verify` re-checks: events and imported batches, as each store reads them."""
        from ..auditing import VerifyReport, check_records

        record(seeded, change(versions=V[1], reason="go"), clock=clock)
        record(seeded, change(versions=(Allocation(1, 0.9), Allocation(2, 0.1))),
                                 clock=clock)  # fmt: skip
        seeded.import_deployments(
            [change(versions=V[n], effective_at=T0 - timedelta(days=10 - n), reason="import",
                    environment="legacy") for n in (1, 2, 3)],
            clock=clock,
        )  # fmt: skip
        record(seeded, change("undeploy", versions=()), clock=clock)
        report = VerifyReport()
        check_records(seeded, report)
        assert report.problems == []

    def test_an_observation_leaves_the_time_before_it_unknown(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        """Before an observation (back to its `unknown_from`) the answer is the observation
        itself, effective after the instant asked; at and after it, what it saw."""
        first_at, second_at = T0 - timedelta(days=10), T0 - timedelta(days=5)
        created = T0 - timedelta(days=30)
        seeded.import_deployments(
            [
                change("observe", V[2], effective_at=first_at, earliest_at=created,
                       reason="seen"),
                change("observe", (), effective_at=second_at, unknown_from=first_at,
                       reason="seen again"),
            ],
            clock=clock,
        )  # fmt: skip
        first, second = seeded.deployment_events("credit-risk")
        assert (first.kind, first.unknown_from, first.earliest_at) == ("observe", None, created)
        assert (second.unknown_from, second.earliest_at, second.versions) == (first_at, None, ())

        def answer(at: Any, known: Any = None) -> DeploymentEvent | None:
            return seeded.live("credit-risk", "production", at, known)

        tick = timedelta(microseconds=1)
        assert answer(first_at - timedelta(days=100)) == first  # unknown: before the first
        assert answer(first_at - tick) == first
        assert answer(first_at) == first  # observed: v2
        assert answer(first_at + tick) == second  # unknown again, until the second
        assert answer(second_at - tick) == second
        assert answer(second_at) == second  # observed: nothing
        assert answer(second_at + timedelta(days=1)) == second
        # As known before the second was recorded, the first's answer held on.
        assert answer(first_at + tick, first.recorded_at) == first
        assert answer(first_at - tick, first.recorded_at - tick) is None

    def test_an_observation_after_known_events_hides_them_only_in_its_stretch(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        past = T0 - timedelta(days=1)  # an observation is of the past
        deployed = record(seeded, change(versions=V[1], effective_at=past), clock=clock)
        at = deployed.effective_at
        seeded.import_deployments(
            [change("observe", V[3], effective_at=at + timedelta(hours=2),
                    unknown_from=at + timedelta(hours=1))],
            clock=clock,
        )  # fmt: skip
        observed = seeded.deployment_events("credit-risk")[-1]
        assert seeded.live("credit-risk", "production", at + timedelta(minutes=30)) == deployed
        assert seeded.live("credit-risk", "production", at + timedelta(hours=1)) == deployed
        assert seeded.live("credit-risk", "production", at + timedelta(minutes=90)) == observed
        assert seeded.live("credit-risk", "production", at + timedelta(hours=3)) == observed

    @pytest.mark.parametrize("seed", range(4))
    def test_live_with_observations_is_the_domain_rule(
        self, seeded: MetadataStore, clock: ManualClock, seed: int
    ) -> None:
        """Random imports of observations (chained, each unknown back to the one before, or
        from the beginning of time) and deploys, each effective in the past: every `live`
        answer, at any instant and as known at any recording, is `live_event`'s."""
        import random

        from ..domain.deployments import live_event

        rng = random.Random(seed)  # noqa: S311  (a reproducible history, not a secret)
        minute = timedelta(minutes=1)
        base = T0 - timedelta(days=1)
        for env in ("production", "staging"):
            last: Any = None
            looks = sorted(rng.sample(range(0, 1200), 6))
            for at in looks:
                batch = []
                if rng.random() < 0.4:
                    batch.append(
                        change(
                            versions=V[rng.randint(1, 5)],
                            environment=env,
                            effective_at=base + rng.randint(0, 1200) * minute,
                        )
                    )
                seen = tuple(Allocation(v, 1.0) for v in rng.sample(range(1, 6), rng.randint(0, 1)))
                unknown_from = last if rng.random() < 0.8 else None
                batch.append(
                    change(
                        "observe",
                        seen,
                        environment=env,
                        effective_at=base + at * minute,
                        unknown_from=unknown_from,
                        earliest_at=base - timedelta(days=rng.randint(0, 3)),
                    )
                )
                seeded.import_deployments(batch, clock=clock)
                last = base + at * minute
        events = seeded.deployment_events("credit-risk")
        knowns = [None, *sorted({e.recorded_at for e in events})]
        for env in ("production", "staging"):
            mine = [e for e in events if e.environment == env]
            instants = {e.effective_at for e in mine} | {
                e.unknown_from for e in mine if e.unknown_from is not None
            }
            probes = [base + rng.randint(-60, 1300) * minute for _ in range(40)]
            for t in instants:
                probes += [t - timedelta(microseconds=1), t, t + timedelta(microseconds=1)]
            for known in knowns:
                for t in probes:
                    assert seeded.live("credit-risk", env, t, known) == live_event(
                        mine, t, known
                    ), (env, t, known)

    def test_observations_are_imported_with_their_bounds_checked(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        at = T0 - timedelta(days=1)
        with pytest.raises(InvalidInput, match="unknown_from"):
            seeded.import_deployments(
                [change("observe", V[1], effective_at=at, unknown_from=at)], clock=clock
            )
        with pytest.raises(InvalidInput, match="earliest_at"):
            seeded.import_deployments(
                [change("observe", V[1], effective_at=at, earliest_at=at + timedelta(days=1))],
                clock=clock,
            )
        with pytest.raises(InvalidInput, match="only an observation"):
            seeded.import_deployments(
                [change(versions=V[1], effective_at=at, unknown_from=at - timedelta(days=1))],
                clock=clock,
            )
        with pytest.raises(InvalidInput, match="an observation is of the past"):
            seeded.import_deployments(
                [change("observe", V[1], effective_at=clock.now() + timedelta(days=1))],
                clock=clock,
            )
        assert seeded.deployment_events("credit-risk") == []

    def test_observations_read_back_as_their_audit_entries_carry_them(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        from ..auditing import VerifyReport, check_records

        seeded.import_deployments(
            [
                change("observe", V[1], effective_at=T0 - timedelta(days=3),
                       earliest_at=T0 - timedelta(days=9), reason="seen"),
                change("observe", V[2], effective_at=T0 - timedelta(days=1),
                       unknown_from=T0 - timedelta(days=3), reason="seen"),
                change(versions=V[3], effective_at=T0 - timedelta(hours=1), reason="import"),
            ],
            clock=clock,
        )  # fmt: skip
        report = VerifyReport()
        check_records(seeded, report)
        assert report.problems == []

    def test_events_and_environments_are_listed(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        record(seeded, change(versions=V[1]), clock=clock)
        record(seeded, change(versions=V[2], environment="staging"), clock=clock)
        assert [e.environment for e in seeded.deployment_events("credit-risk")] == [
            "production",
            "staging",
        ]
        assert [e.versions for e in seeded.deployment_events("credit-risk", "staging")] == [V[2]]
        assert [e.name for e in seeded.environments("credit-risk")] == ["production", "staging"]
        assert seeded.environments("credit-risk")[0].created_by == "alice"

    def test_approval_must_be_carried_by_the_store(
        self, seeded: MetadataStore, clock: ManualClock
    ) -> None:
        """A change that claims an approval still needs the environment to exist as protected."""
        e = record(seeded, change(approval=Approval(7, "bob")), clock=clock)
        assert e.approved_by == "bob"
