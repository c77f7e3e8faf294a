"""The SDK contract for a version's life after upload, the same embedded and through a
server: archives, deleting, resolving, streamed files, loading and serving, replay, reports,
backfills, fsck and gc. Mixed into `RegistryContract`; uses its `reg` and `model_dir`."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ..domain.errors import Conflict, InvalidInput, NotFound
from ..registry import Registry


def coefficients(root: Path, intercept: float) -> Path:
    """A text-coefficients model: score = logistic(intercept + x)."""
    root.mkdir(parents=True, exist_ok=True)
    doc = {"features": ["x"], "coefficients": {"x": 1.0}, "intercept": intercept}
    (root / "coefficients.json").write_text(json.dumps(doc))
    return root


def tar_of(folder: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return target


def zip_of(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder).as_posix())
    return target


class LifecycleContract:
    """Mixed into `RegistryContract`."""

    @pytest.fixture
    def scored(self, reg: Registry, tmp_path: Path) -> Registry:
        """score@1 (intercept -1) and score@2 (intercept 1), text-coefficients."""
        for n, intercept in ((1, -1.0), (2, 1.0)):
            folder = coefficients(tmp_path / f"score-{n}", intercept)
            reg.register("score", folder, flavor="text-coefficients", code=False)
        return reg

    def test_an_archive_registers_the_same_files_as_the_folder(
        self, reg: Registry, model_dir: Path, tmp_path: Path
    ) -> None:
        folder = reg.register("credit-risk", model_dir, code=False)
        packed = reg.register_archive(
            "credit-risk", tar_of(model_dir, tmp_path / "v.tar.gz"), code=False
        )
        zipped = reg.register_archive(
            "credit-risk", zip_of(model_dir, tmp_path / "v.zip"), metrics={"auc": 0.8}, code=False
        )
        assert packed.digest == folder.digest == zipped.digest
        assert {f.path: f.executable for f in zipped.files} == {
            f.path: f.executable for f in folder.files
        }
        assert zipped.metrics == {"auc": 0.8}
        with pytest.raises(InvalidInput, match="not a tar or zip"):
            reg.register_archive("credit-risk", model_dir / "features.csv", code=False)
        assert reg.model("credit-risk").version_count == 3

    def test_delete_keeps_the_record_and_drops_the_files(self, two: Registry) -> None:
        gone = two.delete("credit-risk", 1, reason="leaked training data")
        assert gone.deleted_at is not None and gone.deleted_by == "alice"
        assert two.get("credit-risk", 1) == gone
        assert [v.version for v in two.versions("credit-risk")] == [2]
        assert len(two.versions("credit-risk", include_deleted=True)) == 2
        with pytest.raises(Conflict, match="deleted"):
            two.read_file("credit-risk", 1, "features.csv")
        with pytest.raises(Conflict):
            two.delete("credit-risk", 1, reason="again")
        with pytest.raises(NotFound):
            two.delete("credit-risk", 9, reason="no such version")
        for empty in ("", "  "):
            with pytest.raises(InvalidInput, match="deleting a version needs a reason"):
                two.delete("credit-risk", 2, reason=empty)
        assert two.get("credit-risk", 2).deleted_at is None
        assert two.events("credit-risk", 1)[-1].actor == "alice"

    def test_resolve_names_one_version(self, two: Registry) -> None:
        assert two.resolve("credit-risk@1") == ("credit-risk", 1)
        two.deploy("credit-risk", 2, env="production")
        assert two.resolve("credit-risk@production") == ("credit-risk", 2)
        two.deploy_split("credit-risk", {1: 0.5, 2: 0.5}, env="production")
        with pytest.raises(Conflict, match="split"):
            two.resolve("credit-risk@production")
        with pytest.raises(NotFound):
            two.resolve("credit-risk@staging")
        with pytest.raises(InvalidInput):
            two.resolve("not a ref")

    def test_diff_across_models(self, two: Registry, model_dir: Path) -> None:
        two.register("credit-risk-challenger", model_dir, code=False)
        found = two.diff(("credit-risk", 1), ("credit-risk-challenger", 1))
        assert found.b == "credit-risk-challenger@1"
        assert found.files_modified == ["model/coefficients.json"]
        assert found.to_dict()["metrics"] == {"auc": {"old": 0.81, "new": None, "delta": None}}

    def test_open_file_streams(self, two: Registry, model_dir: Path) -> None:
        whole = (model_dir / "weights.bin").read_bytes()
        entry, stream = two.open_file("credit-risk", 2, "weights.bin")
        with stream:
            assert entry.size == len(whole)
            assert stream.read(10) == whole[:10]
            assert stream.read(1000) == whole[10:1010]
            if stream.seekable():  # a local file, or through a server; not S3's body
                stream.seek(-5, io.SEEK_END)
                assert stream.read() == whole[-5:]
                stream.seek(1010)
            assert stream.read() == whole[1010:]
        with pytest.raises(NotFound, match="no file"):
            two.open_file("credit-risk", 2, "missing.bin")

    def test_load_predict_and_replay(self, scored: Registry) -> None:
        handle = scored.load("score", 2)
        assert (handle.version, handle.flavor) == (2, "text-coefficients")
        assert handle.digest == scored.get("score", 2).digest
        assert json.loads((handle.path / "coefficients.json").read_text())["intercept"] == 1.0
        output = handle.predict({"x": 0.5}, decision_id="d-1")
        assert 0.8 < output < 0.82
        assert scored.decision("d-1")["version"] == 2
        again = scored.load("score", 2)  # from the cache, checked again
        assert again.predict({"x": 0.5}, log=False) == output
        result = scored.replay("d-1")
        assert result["match"] and result["version"] == 2 and result["replayed"] == output
        assert result["digest"] == handle.digest
        with pytest.raises(NotFound):
            scored.replay("no-such-decision")

    def test_load_live_reports_serving_and_stamps_its_version(self, scored: Registry) -> None:
        scored.deploy("score", 1, env="production")
        handle = scored.load_live("score", env="production", instance_id="pod-a")
        assert (handle.version, handle.environment) == (1, "production")
        scored.deploy("score", 2, env="production")
        handle.predict({"x": 0.0}, decision_id="stale-1")  # still serving v1
        assert scored.decision("stale-1")["version"] == 1
        handle.heartbeat()
        report = scored.serving("score", env="production")
        assert report["expected"] == [2]
        serving: list[dict[str, Any]] = report["serving"]
        assert [(s["instance_id"], s["version"], s["drift"]) for s in serving] == [
            ("pod-a", 1, True)
        ]
        assert [d["instance_id"] for d in report["drift"]] == ["pod-a"]
        assert handle.reload() and handle.version == 2
        handle.close()
        after = scored.serving("score", env="production")
        assert after["serving"] == [] and after["expected"] == [2]
        with pytest.raises(NotFound):
            scored.serving("score", env="nowhere")

    def test_backfilled_deployments(self, two: Registry) -> None:
        count = two.import_deployments(
            "credit-risk",
            [
                {
                    "environment": "production",
                    "effective_at": "2025-01-01T00:00:00Z",
                    "versions": {1: 1.0},
                    "reason": "go-live",
                },
                {
                    "environment": "production",
                    "effective_at": "2025-02-01T00:00:00Z",
                    "versions": {"2": 0.5, "1": 0.5},
                },
                {
                    "environment": "production",
                    "effective_at": "2025-03-01T00:00:00Z",
                    "versions": {},
                },
            ],
            source="old-system",
        )
        assert count == 3
        history = two.history("credit-risk", env="production")
        assert [e.kind for e in history] == ["deploy", "deploy", "undeploy"]
        assert history[0].reason == "imported from old-system: go-live"
        at = two.live("credit-risk", env="production", at="2025-02-15T00:00:00Z")
        assert sorted(v.version for v in at.versions) == [1, 2]
        with pytest.raises(InvalidInput, match="effective_at"):
            two.import_deployments("credit-risk", [{"environment": "x"}], source="s")

    def test_reports(self, scored: Registry) -> None:
        scored.deploy("score", 2, env="production")
        scored.log_decision("score", inputs={"x": 1}, output=0.5, decision_id="r-1",
                            environment="production")  # fmt: skip
        model = scored.report_model("score")
        assert model["model"] == "score" and model["audit"]["verified"]
        decision = scored.report_decision("r-1")
        assert decision["decision"]["decision_id"] == "r-1"
        assert decision["decision"]["version"] == 2
        with pytest.raises(NotFound):
            scored.report_decision("no-such-decision")

    def test_fsck_and_gc(self, two: Registry) -> None:
        report = two.fsck()
        assert report.ok and report.blobs_checked >= 4 and not report.missing
        assert two.gc(dry_run=True).blobs_removed == 0
        two.delete("credit-risk", 1, reason="superseded")
        # weights.bin of @1 is the same blob as @2's; the old coefficients are not needed.
        dry = two.gc(dry_run=True)
        assert dry.dry_run and dry.blobs_removed == 1
        done = two.gc()
        assert (done.blobs_removed, done.bytes_freed) == (1, dry.bytes_freed)
        assert two.gc(dry_run=True).blobs_removed == 0
        assert two.fsck().ok
        assert two.read_file("credit-risk", 2, "model/coefficients.json") == b'{"income": 0.3}\n'
