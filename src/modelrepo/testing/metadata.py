"""The contract every `MetadataStore` passes. Subclass and provide a `store` fixture."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ..domain.errors import AlreadyExists, Conflict, NotFound
from ..domain.manifest import FileEntry, manifest_digest
from ..domain.model import CodeRef, DataRef, Lineage, NewVersion, PythonEnvironment
from ..domain.times import to_micros
from ..ports import MetadataStore

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def new_version(model: str = "credit-risk", seed: int = 0, **overrides: Any) -> NewVersion:
    """A complete NewVersion with distinct content per `seed`."""
    files = (
        FileEntry("model/coefficients.json", 120 + seed, f"{seed:064x}", False),
        FileEntry("run.sh", 10, f"{seed + 1:064x}", True),
    )
    fields: dict[str, Any] = {
        "model": model,
        "digest": manifest_digest(files),
        "files": files,
        "created_at": T0 + timedelta(microseconds=seed),
        "created_by": "alice",
        "params": {"C": 0.5, "solver": "lbfgs", "layers": [3, 4], "nested": {"ü": None}},
        "metrics": {"auc": 0.91, "ks": 0.4},
        "tags": {"team": "risk"},
        "description": "baseline — first try",
        "flavor": "text-coefficients",
        "signature": {"inputs": [{"name": "income", "type": "double"}], "outputs": []},
        "lineage": Lineage(
            data=(DataRef("s3://bucket/train.parquet", "sha256:" + "ab" * 32),),
            code=CodeRef("c" * 40, dirty=True, remote="https://git.example/r.git", branch="main"),
            environment=PythonEnvironment("3.11.7", "cpython", "Linux", ("numpy==2.0.0",)),
        ),
    }
    fields.update(overrides)
    return NewVersion(**fields)


class MetadataStoreContract:
    """Behaviour shared by every metadata store."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_versions_are_numbered_from_one_per_model(self, store: MetadataStore) -> None:
        assert [store.create_version(new_version("a", i)).version for i in range(3)] == [1, 2, 3]
        assert store.create_version(new_version("b", 9)).version == 1

    def test_a_version_reads_back_exactly(self, store: MetadataStore) -> None:
        created = store.create_version(new_version())
        assert store.get_version("credit-risk", 1) == created
        assert store.list_versions("credit-risk") == [created]

    def test_missing_things_raise_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFound, match="model 'nope'"):
            store.get_version("nope", 1)
        with pytest.raises(NotFound, match="model 'nope'"):
            store.list_versions("nope")
        with pytest.raises(NotFound):
            store.get_model("nope")
        store.create_version(new_version())
        with pytest.raises(NotFound, match="credit-risk@2"):
            store.get_version("credit-risk", 2)

    def test_models_are_listed_by_name_with_counts(self, store: MetadataStore) -> None:
        for name, n in (("zeta", 1), ("alpha", 2)):
            for i in range(n):
                store.create_version(new_version(name, i))
        found = store.list_models()
        assert [(m.name, m.latest_version, m.version_count) for m in found] == [
            ("alpha", 2, 2),
            ("zeta", 1, 1),
        ]
        assert store.get_model("alpha").created_by == "alice"
        assert store.get_model("alpha").created_at == T0

    def test_tags_change_and_every_change_is_recorded(self, store: MetadataStore) -> None:
        store.create_version(new_version())
        at = T0 + timedelta(days=1)
        v = store.set_tag("credit-risk", 1, "stage", "candidate", actor="bob", at=at)
        assert v.tags == {"team": "risk", "stage": "candidate"}
        store.set_tag("credit-risk", 1, "stage", "candidate", actor="bob", at=at)  # no change
        store.set_tag("credit-risk", 1, "stage", "approved", actor="carol", at=at)
        v = store.set_tag("credit-risk", 1, "team", None, actor="carol", at=at)
        assert v.tags == {"stage": "approved"}
        events = store.version_events("credit-risk", 1)
        assert [(e.kind, e.key, e.value, e.actor) for e in events] == [
            ("tag_set", "stage", "candidate", "bob"),
            ("tag_set", "stage", "approved", "carol"),
            ("tag_removed", "team", None, "carol"),
        ]
        assert all(e.at == at for e in events)
        with pytest.raises(NotFound):
            store.set_tag("credit-risk", 1, "absent", None, actor="bob", at=at)

    def test_model_tags_and_description_change_and_every_change_is_recorded(
        self, store: MetadataStore
    ) -> None:
        store.create_version(new_version())
        fresh = store.get_model("credit-risk")
        assert (fresh.tags, fresh.description) == ({}, "")
        at = T0 + timedelta(days=1)
        m = store.set_model_tag("credit-risk", "owner", "risk-team", actor="bob", at=at)
        assert m.tags == {"owner": "risk-team"}
        store.set_model_tag("credit-risk", "owner", "risk-team", actor="bob", at=at)  # no change
        store.set_model_tag("credit-risk", "owner", "fraud-team", actor="carol", at=at)
        store.set_model_tag("credit-risk", "tier", "1", actor="carol", at=at)
        m = store.set_model_tag("credit-risk", "tier", None, actor="carol", at=at)
        assert m.tags == {"owner": "fraud-team"}
        m = store.set_model_description("credit-risk", "Scores loans.", actor="dave", at=at)
        store.set_model_description("credit-risk", "Scores loans.", actor="dave", at=at)
        assert m.description == "Scores loans."
        store.create_version(new_version(seed=1))  # a new version keeps the model's own state
        found = store.get_model("credit-risk")
        assert (found.tags, found.description, found.latest_version) == (
            {"owner": "fraud-team"},
            "Scores loans.",
            2,
        )
        assert [m for m in store.list_models() if m.name == "credit-risk"] == [found]
        assert store.get_version("credit-risk", 1).tags == {"team": "risk"}  # versions apart
        events = store.model_events("credit-risk")
        assert [(e.kind, e.key, e.value, e.actor) for e in events] == [
            ("tag_set", "owner", "risk-team", "bob"),
            ("tag_set", "owner", "fraud-team", "carol"),
            ("tag_set", "tier", "1", "carol"),
            ("tag_removed", "tier", None, "carol"),
            ("described", None, "Scores loans.", "dave"),
        ]
        assert all(e.at == at and e.model == "credit-risk" for e in events)
        assert [e.seq for e in events] == sorted({e.seq for e in events})
        audited = [json.loads(body) for _, body in store.subject_entries("model:credit-risk")]
        assert [(a["kind"], a["actor"]) for a in audited if a["kind"].startswith("model.")] == [
            ("model.tag_set", "bob"),
            ("model.tag_set", "carol"),
            ("model.tag_set", "carol"),
            ("model.tag_removed", "carol"),
            ("model.described", "dave"),
        ]
        with pytest.raises(NotFound):
            store.set_model_tag("credit-risk", "absent", None, actor="bob", at=at)
        with pytest.raises(NotFound):
            store.set_model_tag("nowhere", "k", "v", actor="bob", at=at)
        with pytest.raises(NotFound):
            store.set_model_description("nowhere", "x", actor="bob", at=at)
        with pytest.raises(NotFound):
            store.model_events("nowhere")

    def test_deprecation_toggles_and_is_recorded(self, store: MetadataStore) -> None:
        store.create_version(new_version())
        v = store.set_deprecated("credit-risk", 1, True, actor="bob", at=T0, reason="old data")
        assert v.deprecated
        store.set_deprecated("credit-risk", 1, True, actor="bob", at=T0, reason=None)
        v = store.set_deprecated("credit-risk", 1, False, actor="bob", at=T0, reason=None)
        assert not v.deprecated
        kinds = [(e.kind, e.reason) for e in store.version_events("credit-risk", 1)]
        assert kinds == [("deprecated", "old data"), ("undeprecated", None)]

    def test_trusted_types_are_recorded_once_each_with_one_entry_per_grant(
        self, store: MetadataStore
    ) -> None:
        store.create_version(new_version())
        at = T0 + timedelta(hours=2)
        tree = "sklearn.tree._tree.Tree"
        new = store.trust_types("credit-risk", 1, [tree], actor="ann", at=at, reason="a forest")
        assert new == [tree]
        again = store.trust_types(
            "credit-risk", 1, [tree, "numpy.dtype"], actor="bob", at=at, reason="dtypes"
        )
        assert again == ["numpy.dtype"]  # the tree was already trusted
        assert store.trust_types("credit-risk", 1, [tree], actor="bob", at=at, reason="x") == []
        events = store.version_events("credit-risk", 1)
        assert [(e.kind, e.key, e.value, e.actor, e.at, e.reason) for e in events] == [
            ("trusted", tree, None, "ann", at, "a forest"),
            ("trusted", "numpy.dtype", None, "bob", at, "dtypes"),
        ]
        audited = [json.loads(body) for _, body in store.subject_entries("model:credit-risk")]
        assert [(a["actor"], a["change"]) for a in audited if a["kind"] == "version.trusted"] == [
            ("ann", {"model": "credit-risk", "version": 1, "types": [tree], "reason": "a forest"}),
            ("bob", {"model": "credit-risk", "version": 1, "types": ["numpy.dtype"],
                     "reason": "dtypes"}),
        ]  # fmt: skip
        with pytest.raises(NotFound):
            store.trust_types("credit-risk", 9, [tree], actor="ann", at=at, reason="r")
        store.create_version(new_version(seed=1))
        store.delete_version("credit-risk", 2, actor="ann", at=at, reason="mistake")
        with pytest.raises(Conflict):
            store.trust_types("credit-risk", 2, [tree], actor="ann", at=at, reason="r")

    def test_delete_tombstones_and_never_reuses_numbers(self, store: MetadataStore) -> None:
        store.create_version(new_version(seed=1))
        store.create_version(new_version(seed=2))
        at = T0 + timedelta(hours=1)
        gone = store.delete_version("credit-risk", 2, actor="bob", at=at, reason="mistake")
        assert gone.deleted_at == at
        assert gone.deleted_by == "bob"
        assert store.get_version("credit-risk", 2).deleted_at == at
        assert {r.version for r in store.file_references()} == {1}
        assert store.get_model("credit-risk").version_count == 1
        with pytest.raises(Conflict):
            store.delete_version("credit-risk", 2, actor="bob", at=at, reason=None)
        with pytest.raises(Conflict):
            store.set_tag("credit-risk", 2, "k", "v", actor="bob", at=at)
        assert store.create_version(new_version(seed=3)).version == 3

    def test_a_model_is_created_before_its_first_version(self, store: MetadataStore) -> None:
        at = T0 + timedelta(hours=1)
        made = store.create_model(
            "fraud", actor="bob", at=at, description="flags card fraud", tags={"b": "2", "a": "1"}
        )
        assert (made.name, made.created_at, made.created_by) == ("fraud", at, "bob")
        assert (made.latest_version, made.version_count) == (0, 0)
        assert (made.description, dict(made.tags)) == ("flags card fraud", {"a": "1", "b": "2"})
        assert store.get_model("fraud") == made and store.list_models() == [made]
        assert store.list_versions("fraud") == []
        events = [(e.kind, e.key, e.value, e.actor) for e in store.model_events("fraud")]
        assert events == [
            ("created", None, None, "bob"), ("described", None, "flags card fraud", "bob"),
            ("tag_set", "a", "1", "bob"), ("tag_set", "b", "2", "bob"),
        ]  # fmt: skip
        with pytest.raises(AlreadyExists, match="model 'fraud' already exists"):
            store.create_model("fraud", actor="bob", at=at)
        assert store.create_version(new_version("fraud")).version == 1
        store.create_version(new_version())
        with pytest.raises(AlreadyExists):
            store.create_model("credit-risk", actor="bob", at=at)
        plain = store.create_model("plain", actor="bob", at=at)
        assert (plain.description, dict(plain.tags)) == ("", {})
        assert [e.kind for e in store.model_events("plain")] == ["created"]

    def test_a_model_never_deployed_is_deleted_and_kept(self, store: MetadataStore) -> None:
        store.create_model("fraud", actor="bob", at=T0, description="d", tags={"k": "v"})
        store.create_version(new_version("fraud", 1))
        store.create_version(new_version("fraud", 2))
        store.delete_version("fraud", 1, actor="bob", at=T0, reason="first")
        at = T0 + timedelta(hours=1)
        gone = store.delete_model("fraud", actor="carol", at=at, reason="a test model")
        assert (gone.deleted_at, gone.deleted_by, gone.version_count) == (at, "carol", 0)
        assert (dict(gone.tags), gone.description, gone.latest_version) == ({}, "", 2)
        assert store.get_model("fraud") == gone and store.list_models() == [gone]
        versions = store.list_versions("fraud")  # kept, as evidence
        assert [(v.deleted_at, v.deleted_by) for v in versions] == [(T0, "bob"), (at, "carol")]
        assert [e.reason for e in store.version_events("fraud", 2)] == ["a test model"]
        assert [(e.kind, e.value) for e in store.model_events("fraud")][-1] == (
            "deleted", "a test model",
        )  # fmt: skip
        with pytest.raises(NotFound, match="model 'fraud' not found"):
            store.set_model_tag("fraud", "k", "v", actor="bob", at=at)
        with pytest.raises(NotFound):
            store.delete_model("fraud", actor="bob", at=at, reason=None)
        with pytest.raises(NotFound):
            store.delete_model("nope", actor="bob", at=at, reason=None)
        assert list(store.file_references()) == []
        # the name taken again: a new model whose numbers follow the deleted one's
        again = store.create_model("fraud", actor="dave", at=at, tags={"new": "1"})
        assert (again.created_by, again.deleted_at, dict(again.tags)) == (
            "dave",
            None,
            {"new": "1"},
        )
        assert store.create_version(new_version("fraud", 3)).version == 3
        assert [e.kind for e in store.model_events("fraud")][-3:] == [
            "deleted",
            "created",
            "tag_set",
        ]
        store.delete_model("fraud", actor="carol", at=at, reason=None)
        assert store.create_version(new_version("fraud", 4)).version == 4  # made again by it
        assert store.get_model("fraud").deleted_at is None
        store.delete_model("fraud", actor="carol", at=at, reason=None)
        store.record_deleted_version("fraud", 6, actor="erin", at=at, reason="elsewhere")
        assert (store.get_model("fraud").deleted_at, store.get_model("fraud").created_by) == (
            None, "erin",
        )  # fmt: skip
        assert [e.kind for e in store.model_events("fraud")][-2:] == ["deleted", "created"]

    def test_a_renamed_model_takes_its_records_along(self, store: MetadataStore) -> None:
        store.create_model("fraud", actor="bob", at=T0, tags={"k": "v"})
        first = store.create_version(new_version("fraud", 1), key="run-1")
        store.set_tag("fraud", 1, "stage", "gold", actor="bob", at=T0)
        at = T0 + timedelta(hours=1)
        renamed = store.rename_model("fraud", "fraud-cards", actor="carol", at=at, reason="r")
        assert (renamed.name, renamed.latest_version, dict(renamed.tags)) == (
            "fraud-cards", 1, {"k": "v"},
        )  # fmt: skip
        with pytest.raises(NotFound):
            store.set_model_tag("fraud", "k", "w", actor="bob", at=at)
        moved = store.get_version("fraud-cards", 1)
        assert (moved.ref, moved.digest, dict(moved.tags)) == (
            "fraud-cards@1", first.digest, {"team": "risk", "stage": "gold"},
        )  # fmt: skip
        assert store.digest("fraud-cards", 1) == first.digest
        assert [e.model for e in store.version_events("fraud-cards", 1)] == ["fraud-cards"]
        events = [(e.kind, e.key, e.value, e.actor) for e in store.model_events("fraud-cards")]
        assert events[-1] == ("renamed", "fraud", "fraud-cards", "carol")
        assert store.create_version(new_version("fraud-cards", 1), key="run-1").ref == (
            "fraud-cards@1"
        )  # a retry with the key answers the version under its new name
        assert store.create_version(new_version("fraud", 2)).ref == "fraud@1"  # the name is free
        with pytest.raises(AlreadyExists):
            store.rename_model("fraud-cards", "fraud", actor="carol", at=at, reason=None)
        store.delete_model("fraud", actor="carol", at=at, reason=None)
        with pytest.raises(AlreadyExists, match="was deleted and keeps its name"):
            store.rename_model("fraud-cards", "fraud", actor="carol", at=at, reason=None)
        with pytest.raises(NotFound):
            store.rename_model("nope", "other", actor="carol", at=at, reason=None)

    def test_a_given_number_is_kept_and_never_reused(self, store: MetadataStore) -> None:
        assert store.create_version(new_version(seed=1), number=3).version == 3
        assert store.get_model("credit-risk").latest_version == 3
        assert store.create_version(new_version(seed=2)).version == 4  # after the highest
        assert store.create_version(new_version(seed=3), number=9).version == 9
        for taken in (9, 4, 5):  # kept, or skipped below the highest: never given again
            with pytest.raises(Conflict, match="never reused"):
                store.create_version(new_version(seed=4), number=taken)
        assert [v.version for v in store.list_versions("credit-risk")] == [3, 4, 9]
        assert store.get_model("credit-risk").version_count == 3
        store.delete_version("credit-risk", 9, actor="bob", at=T0, reason=None)
        with pytest.raises(Conflict):  # a deleted number stays taken
            store.create_version(new_version(seed=4), number=9)
        assert store.create_version(new_version(seed=4)).version == 10

    def test_a_number_given_with_a_used_key_answers_the_first_registration(
        self, store: MetadataStore
    ) -> None:
        first = store.create_version(new_version(seed=1), key="run-1", number=5)
        assert store.create_version(new_version(seed=1), key="run-1", number=5) == first
        assert store.get_model("credit-risk").latest_version == 5

    def test_a_deleted_version_is_recorded_with_its_number(self, store: MetadataStore) -> None:
        at = T0 + timedelta(hours=1)
        gone = store.record_deleted_version(
            "fraud", 2, actor="bob", at=at, reason="deleted in MLflow"
        )  # the model is made by it
        assert (gone.model, gone.version, gone.files, gone.deleted_at, gone.deleted_by) == (
            "fraud", 2, (), at, "bob",
        )  # fmt: skip
        assert store.get_version("fraud", 2) == gone
        model = store.get_model("fraud")
        assert (model.latest_version, model.version_count, model.created_by) == (2, 0, "bob")
        events = store.version_events("fraud", 2)
        assert [(e.kind, e.actor, e.at, e.reason) for e in events] == [
            ("deleted", "bob", at, "deleted in MLflow")
        ]
        assert list(store.file_references()) == []
        with pytest.raises(Conflict, match="never reused"):
            store.record_deleted_version("fraud", 2, actor="bob", at=at, reason="again")
        with pytest.raises(Conflict, match="never reused"):
            store.create_version(new_version("fraud"), number=1)
        with pytest.raises(Conflict):  # a tombstone takes no tags
            store.set_tag("fraud", 2, "k", "v", actor="bob", at=at)
        assert store.create_version(new_version("fraud")).version == 3
        store.create_version(new_version("fraud", seed=1), number=5)
        store.record_deleted_version("fraud", 7, actor="bob", at=at, reason=None)
        assert [(v.version, v.deleted_at is None) for v in store.list_versions("fraud")] == [
            (2, False), (3, True), (5, True), (7, False),
        ]  # fmt: skip
        assert store.get_model("fraud").latest_version == 7
        assert store.get_model("fraud").version_count == 2

    def test_file_references_name_every_live_file(self, store: MetadataStore) -> None:
        store.create_version(new_version("a", 1))
        store.create_version(new_version("b", 2))
        refs = sorted((r.model, r.version, r.path, r.sha256) for r in store.file_references())
        assert refs == [
            ("a", 1, "model/coefficients.json", f"{1:064x}"),
            ("a", 1, "run.sh", f"{2:064x}"),
            ("b", 1, "model/coefficients.json", f"{2:064x}"),
            ("b", 1, "run.sh", f"{3:064x}"),
        ]

    def test_a_version_without_optional_parts(self, store: MetadataStore) -> None:
        created = store.create_version(
            new_version(files=(), digest=manifest_digest(()), signature=None, lineage=Lineage())
        )
        assert store.get_version("credit-risk", 1) == created

    def test_concurrent_registrations_are_gap_free(self, store: MetadataStore) -> None:
        numbers: list[int] = []
        errors: list[BaseException] = []

        def work(offset: int) -> None:
            try:
                for i in range(15):
                    numbers.append(store.create_version(new_version(seed=offset + i)).version)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k * 100,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert sorted(numbers) == list(range(1, 61))

    def test_a_key_answers_a_retry_with_the_version_it_made(self, store: MetadataStore) -> None:
        first = store.create_version(new_version(), inline={"a" * 64: b"x"}, key="run-1")
        size = store.audit_size()
        again = new_version(created_at=T0 + timedelta(hours=1), params={"C": 9})
        replayed = store.create_version(again, inline={"b" * 64: b"y"}, key="run-1")
        assert replayed == first == store.get_version("credit-risk", 1)
        # Nothing written: no version, no audit entry, no inline file.
        assert store.list_versions("credit-risk") == [first]
        assert store.audit_size() == size
        assert store.inline_blob("b" * 64) is None
        assert store.inline_blob("a" * 64) == b"x"
        # A key belongs to its actor; without a key every call is a new version.
        other = store.create_version(new_version(created_by="bob"), key="run-1")
        assert (other.version, other.created_by) == (2, "bob")
        assert store.create_version(new_version()).version == 3
        assert store.create_version(new_version()).version == 4
        assert store.create_version(new_version(), key="run-1") == first
        assert store.get_model("credit-risk").latest_version == 4

    def test_a_key_used_for_other_files_or_another_model_is_refused(
        self, store: MetadataStore
    ) -> None:
        store.create_version(new_version(seed=1), key="run-1")
        size = store.audit_size()
        with pytest.raises(Conflict, match="'run-1' was already used for credit-risk@1 with other"):
            store.create_version(new_version(seed=2), key="run-1")
        with pytest.raises(Conflict, match="'run-1' was already used for credit-risk@1, not"):
            store.create_version(new_version("fraud", seed=1), key="run-1")
        assert [m.name for m in store.list_models()] == ["credit-risk"]
        assert store.get_model("credit-risk").latest_version == 1
        assert store.audit_size() == size
        # A deleted version is still what its key made.
        store.delete_version("credit-risk", 1, actor="bob", at=T0, reason=None)
        replayed = store.create_version(new_version(seed=1), key="run-1")
        assert (replayed.version, replayed.deleted_by) == (1, "bob")

    def test_concurrent_requests_with_one_key_make_one_version(self, store: MetadataStore) -> None:
        """The losers wait for the winner's lock, then find its key: for a new model too."""
        barrier = threading.Barrier(4)
        made: list[int] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                barrier.wait()
                made.append(store.create_version(new_version("fresh"), key="k").version)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert made == [1, 1, 1, 1]
        assert [v.version for v in store.list_versions("fresh")] == [1]

    def test_inline_files_are_kept_listed_and_removed(self, store: MetadataStore) -> None:
        store.create_version(new_version(), inline={"b" * 64: b"z", "a" * 64: b"xy"})
        assert store.inline_blob("a" * 64) == b"xy"
        assert sorted(store.inline_blobs()) == [("a" * 64, 2), ("b" * 64, 1)]
        store.delete_inline_blob("a" * 64)
        assert store.inline_blob("a" * 64) is None
        assert list(store.inline_blobs()) == [("b" * 64, 1)]
        store.delete_inline_blob("a" * 64)  # gone already: gc may run twice
        assert store.inline_blob("b" * 64) == b"z"

    def test_a_digest_reads_alone(self, store: MetadataStore) -> None:
        created = store.create_version(new_version(seed=4))
        assert store.digest("credit-risk", 1) == created.digest
        with pytest.raises(NotFound):
            store.digest("credit-risk", 2)
        with pytest.raises(NotFound):
            store.digest("nope", 1)

    def test_registration_keys_name_what_each_key_made(self, store: MetadataStore) -> None:
        assert store.registration_keys() == []
        first = store.create_version(new_version(seed=1), key="run-1")
        store.create_version(new_version(seed=2))  # no key: nothing to answer a retry with
        other = store.create_version(new_version("fraud", 3, created_by="bob"), key="run-1")
        store.create_version(new_version(seed=1), key="run-1")  # a retry adds nothing
        assert sorted(store.registration_keys()) == [
            ("alice", "run-1", "credit-risk", 1, first.digest, to_micros(first.created_at)),
            ("bob", "run-1", "fraud", 1, other.digest, to_micros(other.created_at)),
        ]

    def test_closing_releases_the_store_once(self, store: MetadataStore) -> None:
        store.create_version(new_version())
        store.close()
        store.close()  # again: harmless
