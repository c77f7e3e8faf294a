"""The SDK contract for a model's own life, the same embedded and through a server: versions
with given numbers, versions recorded as deleted. Mixed into `RegistryContract`; uses its
`reg` and `model_dir`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..domain.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from ..registry import Registry
from .lifecycle import tar_of


class ModelLifeContract:
    """Models created before their first version; numbers kept from another registry;
    tombstones of versions deleted there."""

    def test_a_model_is_created_before_its_first_version(
        self, reg: Registry, bob: Registry, model_dir: Path
    ) -> None:
        made = reg.create_model("fraud", description="flags card fraud", tags={"team": "risk"})
        assert (made.name, made.created_by, made.latest_version, made.version_count) == (
            "fraud", "alice", 0, 0,
        )  # fmt: skip
        assert (made.description, dict(made.tags)) == ("flags card fraud", {"team": "risk"})
        assert reg.model("fraud") == made and reg.models() == [made]
        assert reg.versions("fraud") == []
        with pytest.raises(AlreadyExists, match="model 'fraud' already exists"):
            bob.create_model("fraud")
        assert reg.tag_model("fraud", "tier", "1").tags == {"team": "risk", "tier": "1"}
        assert reg.describe_model("fraud", "v2").description == "v2"
        assert reg.register("fraud", model_dir, code=False).version == 1
        assert reg.model("fraud").tags == {"team": "risk", "tier": "1"}
        for bad in ({"name": "bad/name"}, {"name": "x", "tags": {"two words": "v"}}):
            with pytest.raises(InvalidInput):
                reg.create_model(**bad)
        kinds = [e["kind"] for e in reg.audit_log("model:fraud")]
        assert kinds[:3] == ["model.created", "model.described", "model.tag_set"]
        report = reg.audit_verify()
        assert report.ok, report.problems

    def test_a_version_takes_the_number_it_is_given(
        self, reg: Registry, model_dir: Path, tmp_path: Path
    ) -> None:
        five = reg.register("credit-risk", model_dir, code=False, number=5)
        assert five.ref == "credit-risk@5"
        assert reg.get("credit-risk", 5) == five
        model = reg.model("credit-risk")
        assert (model.latest_version, model.version_count) == (5, 1)
        assert reg.register("credit-risk", model_dir, code=False).version == 6
        packed = reg.register_archive(
            "credit-risk", tar_of(model_dir, tmp_path / "v.tar.gz"), code=False, number=9
        )
        assert packed.version == 9
        for taken in (9, 7, 1):
            with pytest.raises(Conflict, match=r"had version 9.*never reused"):
                reg.register("credit-risk", model_dir, code=False, number=taken)
        for bad in (0, -1, True, 2**31):
            with pytest.raises(InvalidInput):
                reg.register("credit-risk", model_dir, code=False, number=bad)
        assert [v.version for v in reg.versions("credit-risk")] == [5, 6, 9]
        assert reg.audit_verify().ok

    def test_a_deleted_version_is_recorded_with_its_number(
        self, reg: Registry, model_dir: Path
    ) -> None:
        gone = reg.record_deleted_version("fraud", 1, reason="deleted in MLflow")
        assert (gone.ref, gone.files, gone.deleted_by) == ("fraud@1", (), "alice")
        assert gone.deleted_at is not None
        assert reg.versions("fraud") == []
        assert reg.versions("fraud", include_deleted=True) == [gone]
        assert [(e.kind, e.reason) for e in reg.events("fraud", 1)] == [
            ("deleted", "deleted in MLflow")
        ]
        assert (reg.model("fraud").latest_version, reg.model("fraud").version_count) == (1, 0)
        assert reg.register("fraud", model_dir, code=False, number=2).version == 2
        reg.record_deleted_version("fraud", 4, reason="deleted in MLflow too")
        with pytest.raises(Conflict, match="never reused"):
            reg.record_deleted_version("fraud", 3, reason="below the highest")
        with pytest.raises(Conflict, match="never reused"):
            reg.register("fraud", model_dir, code=False, number=4)
        with pytest.raises(InvalidInput, match="needs a reason"):
            reg.record_deleted_version("fraud", 5, reason=" ")
        assert reg.register("fraud", model_dir, code=False).version == 5
        assert [(v.version, v.deleted_at is not None) for v in reg.versions(
            "fraud", include_deleted=True
        )] == [(1, True), (2, False), (4, True), (5, False)]  # fmt: skip
        kinds = [e["kind"] for e in reg.audit_log("model:fraud")]
        assert kinds == [
            "version.recorded_deleted", "version.registered", "version.recorded_deleted",
            "version.registered",
        ]  # fmt: skip
        report = reg.audit_verify()
        assert report.ok, report.problems

    def test_a_model_never_deployed_is_deleted_and_its_name_may_be_taken_again(
        self, reg: Registry, model_dir: Path
    ) -> None:
        reg.create_model("scratch", description="a trial", tags={"k": "v"})
        reg.register("scratch", model_dir, code=False)
        reg.register("scratch", model_dir, code=False)
        gone = reg.delete_model("scratch", reason="a trial run")
        assert gone.name == "scratch" and gone.version_count == 0
        for read in (
            lambda: reg.model("scratch"),
            lambda: reg.versions("scratch", include_deleted=True),
            lambda: reg.get("scratch", 1),
            lambda: reg.events("scratch", 1),
            lambda: reg.model_events("scratch"),
            lambda: reg.tag_model("scratch", "k", "w"),
            lambda: reg.delete_model("scratch", reason="again"),
        ):
            with pytest.raises(NotFound, match="model 'scratch' not found"):
                read()
        assert "scratch" not in [m.name for m in reg.models()]
        with pytest.raises(InvalidInput, match="deleting a model needs a reason"):
            reg.delete_model("nope", reason=" ")
        again = reg.create_model("scratch")
        assert (again.latest_version, dict(again.tags), again.description) == (2, {}, "")
        assert reg.register("scratch", model_dir, code=False).version == 3
        assert [(v.version, v.deleted_at is not None) for v in reg.versions(
            "scratch", include_deleted=True
        )] == [(1, True), (2, True), (3, False)]  # fmt: skip
        assert [e.reason for e in reg.events("scratch", 2)] == ["a trial run"]
        kinds = [e.kind for e in reg.model_events("scratch")]
        assert kinds == ["created", "described", "tag_set", "deleted", "created"]
        report = reg.audit_verify()
        assert report.ok, report.problems

    def test_a_model_ever_deployed_is_not_deleted(self, reg: Registry, model_dir: Path) -> None:
        reg.register("served", model_dir, code=False)
        reg.deploy("served", 1, env="staging")
        reg.undeploy("served", env="staging")
        with pytest.raises(Conflict, match="versions of this model were deployed; they are kept"):
            reg.delete_model("served", reason="no longer needed")
        assert reg.model("served").version_count == 1

    def test_a_renamed_model_keeps_its_whole_history(
        self, reg: Registry, bob: Registry, model_dir: Path
    ) -> None:
        reg.create_model("credit", description="scores", tags={"team": "risk"})
        reg.register("credit", model_dir, code=False, tags={"stage": "candidate"})
        reg.register("credit", model_dir, code=False)
        reg.deploy("credit", 1, env="production", reason="first")
        reg.protect("credit", env="production")
        pending = reg.deploy("credit", 2, env="production", reason="better").request
        assert pending is not None
        reg.log_decision("credit", environment="staging", version=1, inputs={"x": 1}, output=1,
                         decision_id="before-rename")  # fmt: skip
        before = [e["seq"] for e in reg.audit_log("model:credit")]
        renamed = reg.rename_model("credit", "credit-retail", reason="split by segment")
        assert (renamed.name, renamed.latest_version, dict(renamed.tags)) == (
            "credit-retail", 2, {"team": "risk"},
        )  # fmt: skip
        with pytest.raises(NotFound, match="model 'credit' not found"):
            reg.model("credit")
        assert [v.ref for v in reg.versions("credit-retail")] == [
            "credit-retail@1", "credit-retail@2",
        ]  # fmt: skip
        assert reg.get("credit-retail", 1).tags == {"stage": "candidate"}
        live = reg.live("credit-retail", env="production")
        assert [v.version for v in live.versions] == [1]
        assert [e.model for e in reg.history("credit-retail")] == ["credit-retail"]
        assert reg.environments("credit-retail")[0].protected
        assert reg.requests("credit-retail")[0].request_id == pending.request_id
        bob.approve(pending.request_id, reason="four eyes")  # approved under the new name
        assert [v.version for v in reg.live("credit-retail", env="production").versions] == [2]
        assert reg.decision("before-rename")["model"] == "credit-retail"
        audit = reg.report_decision("before-rename")["audit"]
        assert audit["decision_batch"]["rows_match"] and audit["verified"], audit
        kinds = [e.kind for e in reg.model_events("credit-retail")]
        assert kinds[0] == "created" and "renamed" in kinds
        record = [e["seq"] for e in reg.audit_log("model:credit-retail")]
        assert record[: len(before)] == before and len(record) > len(before)
        # the old name is free: a new model takes it, with a record of its own
        reg.register("credit", model_dir, code=False)
        assert reg.model("credit").latest_version == 1
        assert [e["kind"] for e in reg.audit_log("model:credit")] == ["version.registered"]
        with pytest.raises(AlreadyExists):
            reg.rename_model("credit-retail", "credit")
        with pytest.raises(NotFound):
            reg.rename_model("nope", "other")
        report = reg.audit_verify()
        assert report.ok, report.problems
