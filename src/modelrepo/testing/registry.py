"""The SDK contract every way of opening a `Registry` passes: the embedded store, the
scale-out store, a server through `Registry("http://...", token=...)`.

Subclass with two fixtures: `reg`, the registry acting as `alice`, and `bob`, the same
store acting as `bob`; both may change anything (admin). Nothing here reads a clock: every
instant used comes from what the registry answered."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ..domain.denials import Denial
from ..domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
)
from ..domain.manifest import manifest_digest
from ..registry import Registry
from .lifecycle import LifecycleContract, tar_of
from .model_life import ModelLifeContract
from .registry_records import RecordsContract


def make_artifact(root: Path) -> Path:
    """A small model folder: coefficients as JSON, a CSV and an executable script."""
    (root / "model").mkdir(parents=True)
    (root / "model" / "coefficients.json").write_text('{\n  "income": 0.25\n}\n')
    (root / "features.csv").write_text("name,type\nincome,double\n")
    script = root / "score.sh"
    script.write_text("#!/bin/sh\necho scoring\n")
    script.chmod(0o755)
    (root / "weights.bin").write_bytes(os.urandom(200_000))  # bigger than an inline file
    return root


class RegistryContract(LifecycleContract, ModelLifeContract, RecordsContract):
    """What a registry user can count on, whichever store or transport is behind it."""

    @pytest.fixture
    def reg(self, *args: Any) -> Registry:
        raise NotImplementedError

    @pytest.fixture
    def bob(self, *args: Any) -> Registry:
        raise NotImplementedError

    @pytest.fixture
    def behind(self, reg: Registry) -> Registry:
        """The embedded registry on the store behind `reg` (`reg` itself unless it is reached
        through a transport), to arrange what `reg` only reads: refused requests and webhook
        deliveries."""
        return reg

    @pytest.fixture
    def model_dir(self, tmp_path: Path) -> Path:
        return make_artifact(tmp_path / "artifact")

    @pytest.fixture
    def two(self, reg: Registry, model_dir: Path) -> Registry:
        """credit-risk@1 and @2."""
        reg.register("credit-risk", model_dir, metrics={"auc": 0.81}, code=False)
        (model_dir / "model" / "coefficients.json").write_text('{"income": 0.3}\n')
        reg.register("credit-risk", model_dir, metrics={"auc": 0.86}, code=False)
        return reg

    def test_identity_is_recorded(self, reg: Registry, bob: Registry, model_dir: Path) -> None:
        assert reg.user == "alice" and bob.user == "bob"
        assert bob.register("by-bob", model_dir, code=False).created_by == "bob"

    def test_a_registration_repeated_with_its_key_is_made_once(
        self, reg: Registry, bob: Registry, model_dir: Path, tmp_path: Path
    ) -> None:
        first = reg.register("credit-risk", model_dir, code=False, idempotency_key="ci-run-7")
        again = reg.register(
            "credit-risk", model_dir, metrics={"auc": 0.5}, code=False, idempotency_key="ci-run-7"
        )
        assert again == first and again.metrics == {}
        assert [v.version for v in reg.versions("credit-risk")] == [1]
        (model_dir / "features.csv").write_text("changed\n")
        with pytest.raises(Conflict, match="'ci-run-7' was already used for credit-risk@1 with"):
            reg.register("credit-risk", model_dir, code=False, idempotency_key="ci-run-7")
        with pytest.raises(Conflict, match="'ci-run-7' was already used for credit-risk@1, not"):
            reg.register("fraud", model_dir, code=False, idempotency_key="ci-run-7")
        assert (
            bob.register("credit-risk", model_dir, code=False, idempotency_key="ci-run-7").version
            == 2
        )
        for bad in ("", "two words", "tab\there", "x" * 129, "caf\u00e9"):
            with pytest.raises(InvalidInput, match="invalid idempotency key"):
                reg.register("credit-risk", model_dir, code=False, idempotency_key=bad)
        packed = reg.register_archive(
            "credit-risk", tar_of(model_dir, tmp_path / "v.tar.gz"), code=False,
            idempotency_key="~!" * 64,
        )  # fmt: skip
        assert packed.version == 3
        assert reg.register_archive(
            "credit-risk", tar_of(model_dir, tmp_path / "v.tar.gz"), code=False,
            idempotency_key="~!" * 64,
        ) == packed  # fmt: skip
        assert [v.version for v in reg.versions("credit-risk")] == [1, 2, 3]
        registered = [e for e in reg.audit_log("model:credit-risk")
                      if e["kind"] == "version.registered"]  # fmt: skip
        assert len(registered) == 3

    def test_register_get_versions_round_trip(
        self, reg: Registry, model_dir: Path, tmp_path: Path
    ) -> None:
        created = reg.register(
            "credit-risk",
            model_dir,
            params={"C": 0.5, "solver": "lbfgs"},
            metrics={"auc": 0.91},
            tags={"stage": "candidate"},
            data=["s3://bucket/train.parquet#sha256:" + "ab" * 32],
            description="first",
            code=False,
        )
        assert created.ref == "credit-risk@1" and created.created_by == "alice"
        assert created.digest == manifest_digest(created.files)
        assert {f.path for f in created.files} == {
            "features.csv",
            "model/coefficients.json",
            "score.sh",
            "weights.bin",
        }
        assert reg.get("credit-risk", 1) == created
        assert reg.versions("credit-risk") == [created]
        assert reg.versions("credit-risk", ["metrics.auc>=0.95"]) == []
        model = reg.model("credit-risk")
        assert (model.latest_version, model.version_count) == (1, 1)
        assert reg.models() == [model]
        assert created.lineage.data[0].uri == "s3://bucket/train.parquet"
        assert created.params == {"C": 0.5, "solver": "lbfgs"} and created.tags == {
            "stage": "candidate"
        }

    def test_download_is_verified_and_identical(
        self, reg: Registry, model_dir: Path, tmp_path: Path
    ) -> None:
        created = reg.register("credit-risk", model_dir, code=False)
        out = reg.download("credit-risk", 1, tmp_path / "out")
        for entry in created.files:
            local = out.joinpath(*entry.path.split("/"))
            assert hashlib.sha256(local.read_bytes()).hexdigest() == entry.sha256
            assert local.read_bytes() == model_dir.joinpath(*entry.path.split("/")).read_bytes()
        assert os.access(out / "score.sh", os.X_OK)
        assert not os.access(out / "features.csv", os.X_OK)
        assert reg.read_file("credit-risk", 1, "features.csv").startswith(b"name,type")
        with pytest.raises(Conflict, match="already exists"):
            reg.download("credit-risk", 1, out)
        with pytest.raises(InvalidInput, match="no file"):
            reg.read_file("credit-risk", 1, "missing.txt")

    def test_diff_reads_both_versions(self, two: Registry) -> None:
        found = two.diff(("credit-risk", 1), ("credit-risk", 2))
        assert found.files_modified == ["model/coefficients.json"]
        assert '+{"income": 0.3}' in found.text_diffs["model/coefficients.json"]

    def test_errors_keep_their_classes(self, reg: Registry, model_dir: Path) -> None:
        reg.register("credit-risk", model_dir, code=False)
        with pytest.raises(NotFound):
            reg.model("no-such-model")
        with pytest.raises(NotFound):
            reg.get("credit-risk", 99)
        with pytest.raises(InvalidInput):
            reg.get("not/a name", 1)
        with pytest.raises(NotFound):
            reg.live("credit-risk", env="nowhere")
        with pytest.raises(Conflict):
            reg.rollback("credit-risk", env="production")
        with pytest.raises(InvalidInput, match="sum"):
            reg.deploy_split("credit-risk", {1: 0.5}, env="production")

    def test_tags_and_deprecation(self, two: Registry) -> None:
        tagged = two.tag("credit-risk", 2, "stage", "champion")
        assert tagged.tags == {"stage": "champion"}
        assert two.get("credit-risk", 2).tags == {"stage": "champion"}
        assert two.versions("credit-risk", ["tags.stage=champion"]) == [tagged]
        assert two.untag("credit-risk", 2, "stage").tags == {}
        events = two.events("credit-risk", 2)
        assert [(e.kind, e.key, e.value, e.actor) for e in events] == [
            ("tag_set", "stage", "champion", "alice"),
            ("tag_removed", "stage", None, "alice"),
        ]
        flagged = two.deprecate("credit-risk", 1, reason="superseded")
        assert flagged.deprecated
        assert not two.deprecate("credit-risk", 1, deprecated=False).deprecated

    def test_trusted_types_are_recorded_with_the_version(
        self, reg: Registry, bob: Registry, model_dir: Path
    ) -> None:
        tree = "sklearn.tree._tree.Tree"
        made = reg.register("forest", model_dir, code=False, trusted_types=[tree, tree])
        assert [(e.kind, e.key, e.actor, e.reason) for e in reg.events("forest", 1)] == [
            ("trusted", tree, "alice", "trusted at registration")
        ]
        assert bob.trust("forest", 1, ["numpy.dtype", tree], reason="its dtypes") == [
            "numpy.dtype", tree,
        ]  # fmt: skip
        assert bob.trust("forest", 1, [tree], reason="again") == ["numpy.dtype", tree]
        events = bob.events("forest", 1)
        assert [(e.key, e.actor, e.reason) for e in events] == [
            (tree, "alice", "trusted at registration"),
            ("numpy.dtype", "bob", "its dtypes"),
        ]  # a repeated grant records nothing
        grants = [e for e in reg.audit_log("model:forest") if e["kind"] == "version.trusted"]
        assert [(g["actor"], g["change"]["types"]) for g in grants] == [
            ("alice", [tree]), ("bob", ["numpy.dtype"]),
        ]  # fmt: skip
        assert reg.get("forest", 1).digest == made.digest  # the version itself is unchanged
        with pytest.raises(InvalidInput, match="needs a reason"):
            reg.trust("forest", 1, [tree], reason=" ")
        with pytest.raises(InvalidInput, match="invalid trusted type"):
            reg.trust("forest", 1, ["rm -rf"], reason="r")
        with pytest.raises(InvalidInput, match="at least one type"):
            reg.trust("forest", 1, [], reason="r")
        with pytest.raises(NotFound):
            reg.trust("forest", 7, [tree], reason="r")
        assert reg.audit_verify().ok

    def test_model_tags_and_description(self, two: Registry) -> None:
        tagged = two.tag_model("credit-risk", "owner", "risk-team")
        assert tagged.tags == {"owner": "risk-team"}
        two.describe_model("credit-risk", "Scores loan applications.")
        two.tag_model("credit-risk", "tier", "1")
        found = two.model("credit-risk")
        assert found.tags == {"owner": "risk-team", "tier": "1"}
        assert found.description == "Scores loan applications."
        assert [m for m in two.models() if m.name == "credit-risk"] == [found]
        assert two.untag_model("credit-risk", "tier").tags == {"owner": "risk-team"}
        assert two.get("credit-risk", 2).tags == {}  # versions keep their own tags
        events = two.model_events("credit-risk")
        assert [(e.kind, e.key, e.value, e.actor) for e in events] == [
            ("tag_set", "owner", "risk-team", "alice"),
            ("described", None, "Scores loan applications.", "alice"),
            ("tag_set", "tier", "1", "alice"),
            ("tag_removed", "tier", None, "alice"),
        ]
        kinds = [e["kind"] for e in two.audit_log("model:credit-risk")]
        assert kinds[-4:] == [
            "model.tag_set",
            "model.described",
            "model.tag_set",
            "model.tag_removed",
        ]
        with pytest.raises(NotFound):
            two.untag_model("credit-risk", "tier")
        with pytest.raises(NotFound):
            two.tag_model("nowhere", "owner", "x")
        with pytest.raises(InvalidInput):
            two.tag_model("credit-risk", "bad key!", "x")
        with pytest.raises(InvalidInput):
            two.describe_model("credit-risk", "x" * 70000)

    def test_deploy_live_as_of_history_and_timeline(self, two: Registry) -> None:
        first = two.deploy("credit-risk", 1, env="production", reason="launch")
        assert first.status == "live" and first.event is not None
        second = two.deploy("credit-risk", 2, env="production")
        assert second.event is not None
        now = two.live("credit-risk", env="production")
        assert [v.version for v in now.versions] == [2]
        assert now.versions[0].digest == two.get("credit-risk", 2).digest
        before = two.live("credit-risk", env="production", at=first.event.effective_at)
        assert [v.version for v in before.versions] == [1] and before.event == first.event
        # A backfill: version 2 was in fact live an hour before the launch. The past changes,
        # but only for questions asked after it was recorded.
        an_hour_earlier = first.event.effective_at - timedelta(hours=1)
        backfill = two.deploy(
            "credit-risk", 2, env="production", effective_at=an_hour_earlier, reason="late record"
        )
        assert backfill.event is not None and backfill.event.backfill
        asked_now = two.live("credit-risk", env="production", at=an_hour_earlier)
        asked_before = two.live(
            "credit-risk",
            env="production",
            at=an_hour_earlier,
            as_known_at=second.event.recorded_at,
        )
        assert [v.version for v in asked_now.versions] == [2] and asked_before.versions == ()
        history = two.history("credit-risk", env="production")
        assert [e.event_id for e in history] == [
            backfill.event.event_id,
            first.event.event_id,
            second.event.event_id,
        ]
        assert history[1] == first.event
        spans = two.timeline("credit-risk", env="production")
        assert [[a.version for a in s.versions] for s in spans] == [[2], [1], [2]]
        assert two.timeline("credit-risk", env="production", version=1)[0].event == first.event
        rolled = two.rollback("credit-risk", env="production", reason="regression")
        assert rolled.event is not None and [a.version for a in rolled.event.versions] == [1]
        split = two.deploy_split("credit-risk", {1: 0.9, 2: 0.1}, env="production")
        assert split.event is not None
        live = two.live("credit-risk", env="production")
        assert [(v.version, v.weight) for v in live.versions] == [(1, 0.9), (2, 0.1)]
        gone = two.undeploy("credit-risk", env="production")
        assert gone.event is not None and two.live("credit-risk", env="production").versions == ()
        assert two.resolve("credit-risk@2") == ("credit-risk", 2)

    def test_four_eyes_in_a_protected_environment(self, two: Registry, bob: Registry) -> None:
        environment = two.protect("credit-risk", env="production")
        assert environment.protected and two.environments("credit-risk") == [environment]
        asked = two.deploy("credit-risk", 2, env="production", reason="promote")
        assert asked.status == "pending" and asked.request is not None
        assert two.live("credit-risk", env="production").versions == ()
        with pytest.raises(Forbidden, match="second identity"):
            two.approve(asked.request.request_id)
        assert two.requests("credit-risk", status="pending") == [asked.request]
        approved = bob.approve(asked.request.request_id, reason="checked")
        assert approved.status == "approved" and approved.decided_by == "bob"
        assert two.request(asked.request.request_id) == approved
        event = two.live("credit-risk", env="production").event
        assert event is not None and event.approved_by == "bob" and event.actor == "alice"
        with pytest.raises(Conflict, match="already approved"):
            bob.reject(asked.request.request_id)
        again = two.deploy("credit-risk", 1, env="production")
        assert again.request is not None
        rejected = bob.reject(again.request.request_id, reason="no")
        assert rejected.status == "rejected"
        assert [v.version for v in two.live("credit-risk", env="production").versions] == [2]

    def test_decisions_are_logged_and_explained(self, two: Registry) -> None:
        two.deploy("credit-risk", 2, env="production")
        logged = two.log_decision(
            "credit-risk",
            inputs={"income": 52000},
            output={"score": 0.12},
            environment="production",
            decision_id="loan-0001",
            metadata={"channel": "web"},
        )
        assert (logged.version, logged.environment, logged.decision_id) == (
            2,
            "production",
            "loan-0001",
        )
        assert logged.inputs == {"income": 52000} and logged.metadata == {"channel": "web"}
        story = two.decision("loan-0001")
        assert story["version"] == 2 and story["digest"] == two.get("credit-risk", 2).digest
        count = two.log_decisions(
            [{"model": "credit-risk", "version": 1, "inputs": [i], "output": i} for i in range(5)]
        )
        assert count == 5
        found = two.decisions("credit-risk")
        assert len(found) == 6 and logged in found
        assert [d.version for d in two.decisions("credit-risk", version=1)] == [1] * 5
        with pytest.raises(NotFound):
            two.decision("no-such-decision")

    def test_the_audit_trail_verifies(self, two: Registry) -> None:
        two.deploy("credit-risk", 1, env="staging")
        report = two.audit_verify()
        assert report.ok and report.size >= 3 and report.problems == []

    def test_refused_requests_are_read_with_checked_filters(self, two: Registry) -> None:
        found = two.audit_denied(since="2020-01-01T00:00:00Z", model="credit-risk", limit=5)
        assert isinstance(found, list) and len(found) <= 5
        assert all(isinstance(d, Denial) for d in found)
        wrongs: list[dict[str, Any]] = [
            {"limit": 0}, {"limit": 10_001}, {"since": "yesterday"}, {"model": "a/b"},
        ]  # fmt: skip
        for wrong in wrongs:
            with pytest.raises(InvalidInput):
                two.audit_denied(**wrong)
