"""The decision-log contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ..clock import ManualClock
from ..domain.audit import purge_change, rows_digest
from ..domain.decisions import DecisionColumns, NewDecision, inputs_digest
from ..domain.errors import Conflict, NotFound
from ..domain.times import to_micros
from ..ports import MetadataStore
from .metadata import T0, new_version


def decision(decision_id: str, minutes: int = 0, **overrides: Any) -> NewDecision:
    fields: dict[str, Any] = {
        "decision_id": decision_id,
        "model": "credit-risk",
        "environment": "production",
        "version": 1,
        "version_source": "given",
        "decided_at": T0 + timedelta(minutes=minutes),
        "inputs_digest": inputs_digest({"income": minutes}),
        "inputs": {"income": minutes},
        "inputs_mode": "inline",
        "output": {"refused": minutes % 2 == 0},
        "metadata": {"channel": "web"},
        "flags": (),
    }
    fields.update(overrides)
    return NewDecision(**fields)


class DecisionStoreContract:
    """Behaviour of the decision log shared by every metadata store."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    @pytest.fixture
    def seeded(self, store: MetadataStore) -> MetadataStore:
        store.create_version(new_version())
        return store

    def test_a_model_a_decision_names_is_not_deleted(self, seeded: MetadataStore) -> None:
        clock = ManualClock(T0)
        seeded.record_decisions([decision("d-1")], actor="bob", clock=clock)
        with pytest.raises(Conflict, match="decisions were logged with its versions"):
            seeded.delete_model("credit-risk", actor="bob", at=T0, reason=None)
        assert seeded.get_model("credit-risk").deleted_at is None

    def test_decisions_read_back(self, seeded: MetadataStore) -> None:
        clock = ManualClock(T0 + timedelta(days=1))
        recorded = seeded.record_decisions(
            [decision("a", 2), decision("b", 1, flags=("not_live",))], actor="svc", clock=clock
        )
        a = seeded.get_decision("a")
        assert (a.version, a.inputs, a.output, a.recorded_at) == (
            1,
            {"income": 2},
            {"refused": True},
            recorded,
        )
        assert seeded.get_decision("b").flags == ("not_live",)
        assert [d.decision_id for d in seeded.list_decisions("credit-risk", None, None, 10)] == [
            "b",
            "a",
        ]
        window = seeded.list_decisions("credit-risk", T0 + timedelta(minutes=2), None, 10)
        assert [d.decision_id for d in window] == ["a"]
        with pytest.raises(NotFound):
            seeded.get_decision("zzz")

    def test_the_store_filters_by_environment_and_version_and_pages(
        self, seeded: MetadataStore
    ) -> None:
        """Filters apply before the limit: matches far down the log are never missed."""
        seeded.create_version(new_version(seed=2))
        many = [decision(f"s{i}", i, environment="staging") for i in range(30)]
        late = [decision(f"p{i}", 100 + i, version=2) for i in range(3)]
        seeded.record_decisions([*many, *late], actor="svc", clock=ManualClock(T0))

        def ids(**query: Any) -> list[str]:
            limit = query.pop("limit", 10)
            found = seeded.list_decisions("credit-risk", None, None, limit, **query)
            return [d.decision_id for d in found]

        assert ids(env="production") == ["p0", "p1", "p2"]
        assert ids(env="production", limit=2) == ["p0", "p1"]
        assert ids(env="production", limit=2, offset=2) == ["p2"]
        assert ids(version=2, env="staging") == []
        assert ids(version=1, limit=3, offset=28) == ["s28", "s29"]
        assert ids(env="nowhere") == []
        assert ids(limit=2, offset=33) == []

    def test_duplicates_refuse_the_whole_batch(self, seeded: MetadataStore) -> None:
        clock = ManualClock(T0)
        seeded.record_decisions([decision("a")], actor="svc", clock=clock)
        with pytest.raises(Conflict, match="'a'"):
            seeded.record_decisions([decision("b"), decision("a")], actor="svc", clock=clock)
        with pytest.raises(NotFound):
            seeded.get_decision("b")

    def test_a_batch_reads_back_as_its_entry_hashed_it(self, seeded: MetadataStore) -> None:
        clock = ManualClock(T0 + timedelta(days=1))
        seeded.record_decisions([decision("x")], actor="svc", clock=clock)
        items = [decision(f"b-{i}", i, environment=None if i == 2 else "production",
                          output=[i / 3, "é"]) for i in range(5)]  # fmt: skip
        seeded.record_decisions(items, actor="svc", clock=clock)
        seeded.record_decisions([decision("y")], actor="svc", clock=clock)
        change = json.loads(list(seeded.audit_entries())[-2][1])["change"]
        pages = list(seeded.decision_rows("b-0", "b-4"))
        rows = [row for page in pages for row in page]
        assert [row[:5] for row in rows] == [
            (f"b-{i}", "credit-risk", None if i == 2 else "production", 1,
             to_micros(T0 + timedelta(minutes=i))) for i in range(5)
        ]  # fmt: skip
        assert rows_digest([row[:9] for row in rows]) == change["rows_sha256"]
        assert {row[9] for row in rows} == {to_micros(clock.now())}  # each one's recorded_at
        assert [row[0] for page in seeded.decision_rows("b-3", "b-3") for row in page] == ["b-3"]
        assert [row for page in seeded.decision_rows("b-0", "absent") for row in page] == []

    def test_input_mode(self, seeded: MetadataStore) -> None:
        assert seeded.input_mode("credit-risk") == "inline"
        seeded.set_input_mode("credit-risk", "digest", actor="dpo", at=T0)
        assert seeded.input_mode("credit-risk") == "digest"
        with pytest.raises(NotFound):
            seeded.input_mode("absent")

    def test_columns_are_the_same_decisions(self, seeded: MetadataStore) -> None:
        clock = ManualClock(T0 + timedelta(days=1))
        items = [decision("a", 2), decision("b", 1, environment=None, flags=("no_environment",))]
        recorded = seeded.record_decision_columns(
            DecisionColumns.of(items), actor="svc", clock=clock
        )
        a, b = seeded.get_decision("a"), seeded.get_decision("b")
        assert (a.inputs, a.output, a.metadata, a.decided_at, a.recorded_at) == (
            {"income": 2},
            {"refused": True},
            {"channel": "web"},
            T0 + timedelta(minutes=2),
            recorded,
        )
        assert (b.environment, b.flags) == (None, ("no_environment",))
        with pytest.raises(Conflict, match="'c'"):
            seeded.record_decision_columns(
                DecisionColumns.of([decision("c"), decision("d"), decision("c")]),
                actor="svc",
                clock=clock,
            )
        with pytest.raises(NotFound):
            seeded.get_decision("d")
        seeded.record_decision_columns(DecisionColumns.of([]), actor="svc", clock=clock)
        assert len(seeded.list_decisions("credit-risk", None, None, 10)) == 2

    def test_a_batch_checked_against_an_older_history_is_refused_whole(
        self, seeded: MetadataStore
    ) -> None:
        from dataclasses import replace

        from ..domain.deployments import Allocation, DeploymentChange
        from ..domain.errors import HistoryMoved
        from .deployments import record

        clock = ManualClock(T0 + timedelta(days=1))
        first = record(
            seeded,
            DeploymentChange("credit-risk", "production", "deploy", (Allocation(1, 1.0),), "a"),
            clock=clock,
        )
        checked = replace(
            DecisionColumns.of([decision("x"), decision("y", 1)]),
            histories={("credit-risk", "production"): first.event_id},
        )
        seeded.record_decision_columns(checked, actor="svc", clock=clock)  # still the newest
        record(
            seeded,
            DeploymentChange("credit-risk", "production", "deploy", (Allocation(1, 1.0),), "a"),
            clock=clock,
        )
        stale = replace(
            DecisionColumns.of([decision("z")]),
            histories={("credit-risk", "production"): first.event_id},
        )
        with pytest.raises(HistoryMoved):
            seeded.record_decision_columns(stale, actor="svc", clock=clock)
        with pytest.raises(NotFound):
            seeded.get_decision("z")
        never = replace(
            DecisionColumns.of([decision("w")]), histories={("credit-risk", "staging"): 0}
        )
        seeded.record_decision_columns(never, actor="svc", clock=clock)  # no events: 0
        assert seeded.get_decision("w").decision_id == "w"

    def test_a_batch_reads_back_whole_from_its_first_to_its_last(
        self, seeded: MetadataStore
    ) -> None:
        clock = ManualClock(T0 + timedelta(days=1))
        seeded.record_decisions([decision("x")], actor="svc", clock=clock)
        seeded.record_decisions([decision(f"b-{i}", i) for i in range(4)], actor="svc", clock=clock)
        seeded.record_decisions([decision("y")], actor="svc", clock=clock)
        batch = seeded.decision_batch("b-0", "b-3")
        assert [d.decision_id for d in batch] == ["b-0", "b-1", "b-2", "b-3"]
        assert batch == [seeded.get_decision(d.decision_id) for d in batch]
        assert [d.decision_id for d in seeded.decision_batch("b-1", "b-2")] == ["b-1", "b-2"]
        assert seeded.decision_batch("b-0", "absent") == []

    def test_the_input_policy_is_kept_with_its_retention(self, seeded: MetadataStore) -> None:
        assert seeded.input_policy("credit-risk") == ("inline", None)
        size = seeded.audit_size()
        seeded.set_input_mode("credit-risk", "blob", actor="dpo", at=T0, retention_days=30)
        assert seeded.input_policy("credit-risk") == ("blob", 30)
        assert seeded.input_mode("credit-risk") == "blob"
        seeded.set_input_mode("credit-risk", "blob", actor="dpo", at=T0, retention_days=30)
        assert seeded.audit_size() == size + 1  # the same policy again records nothing
        entry = json.loads(seeded.audit_entry(size + 1) or b"{}")
        assert (entry["kind"], entry["actor"], entry["change"]["retention_days"]) == (
            "decisions.policy_set",
            "dpo",
            30,
        )
        seeded.set_input_mode("credit-risk", "inline", actor="dpo", at=T0)
        assert seeded.input_policy("credit-risk") == ("inline", None)
        with pytest.raises(NotFound):
            seeded.input_policy("absent")

    def test_purging_drops_old_inputs_and_keeps_the_records(self, seeded: MetadataStore) -> None:
        blob = "sha256:" + "b" * 64
        items = [
            decision("old-inline", 0),
            decision("old-blob", 1, inputs_mode="blob", inputs=None, inputs_digest=blob),
            decision("old-digest", 2, inputs_mode="digest", inputs=None),
            decision("new-blob", 60, inputs_mode="blob", inputs=None, inputs_digest="sha256:"
                     + "c" * 64),
        ]  # fmt: skip
        seeded.record_decisions(items, actor="svc", clock=ManualClock(T0 + timedelta(days=1)))
        assert seeded.decision_input_blobs() == {"b" * 64, "c" * 64}
        size = seeded.audit_size()
        at = T0 + timedelta(days=2)
        cutoff = T0 + timedelta(minutes=30)
        purged = seeded.purge_inputs("credit-risk", cutoff, actor="dpo", at=at)
        assert sorted(purged) == [
            ("old-blob", "blob", blob),
            ("old-inline", "inline", inputs_digest({"income": 0})),
        ]
        old = seeded.get_decision("old-inline")
        assert (old.inputs, old.inputs_purged_at, old.inputs_digest, old.output) == (
            None,
            at,
            inputs_digest({"income": 0}),
            {"refused": True},
        )
        assert seeded.get_decision("old-digest").inputs_purged_at is None
        assert seeded.decision_input_blobs() == {"c" * 64}  # gc may now collect the old one
        entry = json.loads(seeded.audit_entry(size + 1) or b"{}")
        assert (entry["kind"], entry["actor"]) == ("decisions.inputs_purged", "dpo")
        assert entry["change"] == purge_change("credit-risk", cutoff, ["old-inline", "old-blob"])
        assert seeded.purge_inputs("credit-risk", cutoff, actor="dpo", at=at) == []
        assert seeded.audit_size() == size + 1  # nothing purged, nothing recorded
        with pytest.raises(NotFound):
            seeded.purge_inputs("absent", cutoff, actor="dpo", at=at)
