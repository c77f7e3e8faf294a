"""The SDK end to end on the embedded store (SQLite + local blob folder)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo import (
    CodeRef,
    Conflict,
    CorruptBlobError,
    InvalidInput,
    MissingBlobError,
    NotFound,
    Registry,
    StoreNotFound,
    manifest_digest,
)
from modelrepo.domain.manifest import FileEntry

from .conftest import T0
from .rawdb import raw_execute


def blob_path(store_dir: Path, sha: str) -> Path:
    return store_dir / "blobs" / "sha256" / sha[:2] / sha[2:]


def test_register_a_folder(registry: Registry, artifact: Path) -> None:
    v = registry.register(
        "credit-risk",
        artifact,
        params={"C": 0.5, "solver": "lbfgs"},
        metrics={"auc": 0.91},
        tags={"team": "risk"},
        description="first",
        signature={"inputs": [{"name": "income", "type": "double"}], "outputs": []},
        code=False,
    )
    assert (v.model, v.version) == ("credit-risk", 1)
    assert [f.path for f in v.files] == ["features.csv", "model/coefficients.json", "score.sh"]
    assert [f.executable for f in v.files] == [False, False, True]
    content = (artifact / "model" / "coefficients.json").read_bytes()
    assert v.files[1].sha256 == hashlib.sha256(content).hexdigest()
    assert v.files[1].size == len(content)
    assert v.digest == manifest_digest(v.files)
    assert v.created_at == T0 + timedelta(seconds=1)  # the genesis entry read the clock first
    assert v.created_by == "alice"
    assert registry.get("credit-risk", 1) == v
    assert v.lineage.environment is not None
    assert v.lineage.environment.python.startswith("3.")
    assert any(p.lower().startswith("sqlalchemy==") for p in v.lineage.environment.packages)


def test_register_a_single_file(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "weights.json"
    path.write_text("[1, 2]")
    v = registry.register("m", path, code=False)
    assert [f.path for f in v.files] == ["weights.json"]


def test_versions_count_up_and_content_is_stored_once(
    registry: Registry, artifact: Path, store_dir: Path
) -> None:
    a = registry.register("one", artifact, code=False)
    b = registry.register("one", artifact, code=False)
    c = registry.register("two", artifact, code=False)
    assert [a.version, b.version, c.version] == [1, 2, 1]
    assert a.digest == b.digest == c.digest
    # Small files live in the database, once each; nothing went to the blob store.
    assert len(list(registry.backend.metadata.inline_blobs())) == 3
    assert list(registry.backend.blobs.list()) == []
    big = artifact / "weights.bin"
    big.write_bytes(bytes(range(256)) * 1024)  # 256 KiB: a blob file
    registry.register("one", artifact, code=False)
    registry.register("two", artifact, code=False)
    assert len(list(registry.backend.blobs.list())) == 1


def test_the_inline_size_boundary(registry: Registry, tmp_path: Path, store_dir: Path) -> None:
    from modelrepo.registry.core import INLINE_MAX

    tree = tmp_path / "edge"
    tree.mkdir()
    (tree / "at.bin").write_bytes(b"a" * INLINE_MAX)
    (tree / "over.bin").write_bytes(b"b" * (INLINE_MAX + 1))
    (tree / "empty").write_bytes(b"")
    v = registry.register("edge", tree, code=False)
    sizes = {sha: size for sha, size in registry.backend.metadata.inline_blobs()}
    files = {f.path: f for f in v.files}
    assert files["at.bin"].sha256 in sizes
    assert files["empty"].sha256 in sizes
    assert files["over.bin"].sha256 not in sizes
    assert registry.backend.blobs.exists(files["over.bin"].sha256)
    out = registry.download("edge", 1, tmp_path / "out")
    assert (out / "at.bin").read_bytes() == b"a" * INLINE_MAX
    assert (out / "over.bin").read_bytes() == b"b" * (INLINE_MAX + 1)
    assert (out / "empty").read_bytes() == b""
    assert registry.fsck().ok


def test_data_lineage_digests_local_files(registry: Registry, artifact: Path, tmp_path: Path):
    data = tmp_path / "train.csv"
    data.write_bytes(b"a,b\n1,2\n")
    remote = "s3://bucket/holdout.parquet#sha256:" + "AB" * 32
    v = registry.register("m", artifact, data=[str(data), remote, "s3://bucket/raw"], code=False)
    refs = [(d.uri, d.digest) for d in v.lineage.data]
    assert refs == [
        (data.resolve().as_uri(), "sha256:" + hashlib.sha256(b"a,b\n1,2\n").hexdigest()),
        ("s3://bucket/holdout.parquet", "sha256:" + "ab" * 32),
        ("s3://bucket/raw", None),
    ]
    with pytest.raises(InvalidInput, match="no such file"):
        registry.register("m", artifact, data=[str(tmp_path / "missing.csv")])
    with pytest.raises(InvalidInput, match="does not match"):
        registry.register("m", artifact, data=[f"{data}#sha256:{'0' * 64}"])
    with pytest.raises(InvalidInput, match="invalid digest"):
        registry.register("m", artifact, data=["s3://b/k#not-hex!"])
    assert registry.model("m").latest_version == 1


def test_code_lineage_from_the_git_work_tree(
    registry: Registry, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "a",
    }
    env["GIT_COMMITTER_EMAIL"] = "a@x"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('train')\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "train")
    git("remote", "add", "origin", "https://user:s3cret@git.example/team/models.git")
    monkeypatch.chdir(repo)
    clean = registry.register("m", artifact)
    assert clean.lineage.code == CodeRef(
        commit=git("rev-parse", "HEAD"),
        dirty=False,
        remote="https://git.example/team/models.git",
        branch="main",
    )
    (repo / "train.py").write_text("print('changed')\n")
    assert registry.register("m", artifact).lineage.code.dirty  # type: ignore[union-attr]
    assert registry.register("m", artifact, code=False).lineage.code is None


def test_bad_input_is_refused_and_nothing_is_written(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    cases = [
        ({"name": "team/model"}, "invalid model name"),
        ({"params": {"C": float("nan")}}, "finite"),
        ({"metrics": {"auc": "high"}}, "not a number"),
        ({"tags": {"k": 3}}, "must be a string"),
        ({"flavor": "Not A Flavor"}, "invalid flavor"),
        ({"flavor": "sklern"}, "unknown flavor 'sklern': known flavors are generic, lightgbm"),
        ({"flavor": "sklearn"}, r"a sklearn version needs exactly one \.skops file, found 0"),
        ({"flavor": "pytorch"}, "a pytorch version needs pytorch.json and model.safetensors"),
        ({"flavor": "text-coefficients"}, "needs coefficients.json at the top"),
        ({"signature": {"inputs": "x"}}, "signature inputs"),
        ({"signature": {"extra": []}}, "unknown keys"),
        ({"path": tmp_path / "missing"}, "does not exist"),
    ]
    for overrides, message in cases:
        kwargs = {"name": "m", "path": artifact, "code": False, **overrides}
        with pytest.raises(InvalidInput, match=message):
            registry.register(**kwargs)  # type: ignore[arg-type]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInput, match="contains no files"):
        registry.register("m", empty)
    link = tmp_path / "link"
    link.symlink_to(artifact / "features.csv")
    with pytest.raises(InvalidInput, match="symbolic link"):
        registry.register("m", link)
    (artifact / "escape").symlink_to("/etc/passwd")
    with pytest.raises(InvalidInput, match="symbolic link"):
        registry.register("m", artifact)
    assert registry.models() == []


def test_filters_on_params_metrics_and_tags(registry: Registry, artifact: Path) -> None:
    for c, auc, stage in ((0.1, 0.80, "old"), (1.0, 0.90, "candidate"), (10.0, 0.85, "candidate")):
        registry.register(
            "m", artifact, params={"C": c}, metrics={"auc": auc}, tags={"stage": stage}, code=False
        )

    def numbers(*where: str) -> list[int]:
        return [v.version for v in registry.versions("m", where)]

    assert numbers() == [1, 2, 3]
    assert numbers("metrics.auc>=0.85") == [2, 3]
    assert numbers("metrics.auc>=0.85", "params.C<5") == [2]
    assert numbers("tags.stage=candidate") == [2, 3]
    assert numbers("tags.stage!=candidate") == [1]
    assert numbers("metrics.missing>0") == []
    with pytest.raises(InvalidInput):
        numbers("metrics.auc>>1")


def test_download_verifies_and_materialises(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    registry.register("m", artifact, code=False)
    dest = registry.download("m", 1, tmp_path / "out")
    for rel in ("features.csv", "model/coefficients.json", "score.sh"):
        assert (dest / rel).read_bytes() == (artifact / rel).read_bytes()
    assert os.access(dest / "score.sh", os.X_OK)
    with pytest.raises(Conflict, match="already exists"):
        registry.download("m", 1, tmp_path / "out")
    (tmp_path / "empty").mkdir()
    registry.download("m", 1, tmp_path / "empty")
    with pytest.raises(NotFound):
        registry.download("m", 2, tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def _corrupt(
    registry: Registry, store_dir: Path, sha: str, inline: bool, data: bytes | None
) -> None:
    """Change (or with data None, remove) a stored file's bytes behind the registry's back."""
    if inline:
        raw_execute(registry, "DROP TRIGGER IF EXISTS inline_blobs_no_update ON inline_blobs"
                    if registry.backend.metadata.dialect != "sqlite"  # type: ignore[attr-defined]
                    else "DROP TRIGGER IF EXISTS inline_blobs_no_update")  # fmt: skip
        if data is None:
            raw_execute(registry, "DELETE FROM inline_blobs WHERE sha256 = ?", (sha,))
        else:
            raw_execute(registry, "UPDATE inline_blobs SET data = ? WHERE sha256 = ?", (data, sha))
        return
    blobs: Any = registry.backend.blobs
    if hasattr(blobs, "client"):  # S3: overwrite or remove the object itself
        key = blobs._key(sha)
        if data is None:
            blobs.client.delete_object(Bucket=blobs.bucket, Key=key)
        else:
            blobs.client.put_object(Bucket=blobs.bucket, Key=key, Body=data)
        return
    path = blob_path(store_dir, sha)
    if data is None:
        path.unlink()
    else:
        path.chmod(0o644)
        path.write_bytes(data)


@pytest.mark.parametrize("inline", [True, False])
def test_corruption_is_named_and_nothing_is_left_behind(
    registry: Registry, artifact: Path, tmp_path: Path, store_dir: Path, inline: bool
) -> None:
    target_file = artifact / "model" / "coefficients.json"
    if not inline:
        target_file.write_text('{"income": 0.25, "pad": "' + "x" * 70_000 + '"}\n')
    v = registry.register("m", artifact, code=False)
    target = next(f for f in v.files if f.path == "model/coefficients.json")
    _corrupt(registry, store_dir, target.sha256, inline, b'{"income": 9.99}\n')
    with pytest.raises(CorruptBlobError, match="model/coefficients.json"):
        registry.download("m", 1, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    report = registry.fsck()
    assert not report.ok
    assert [(r.model, r.version, r.path) for r in report.corrupt] == [
        ("m", 1, "model/coefficients.json")
    ]
    _corrupt(registry, store_dir, target.sha256, inline, None)
    with pytest.raises(MissingBlobError, match="model/coefficients.json"):
        registry.download("m", 1, tmp_path / "out")
    assert [r.path for r in registry.fsck().missing] == ["model/coefficients.json"]


def test_diff_shows_text_changes(registry: Registry, artifact: Path) -> None:
    registry.register("m", artifact, params={"C": 1}, metrics={"auc": 0.8}, code=False)
    (artifact / "model" / "coefficients.json").write_text('{\n  "income": 0.5\n}\n')
    (artifact / "new.txt").write_text("new\n")
    (artifact / "features.csv").unlink()
    registry.register("m", artifact, params={"C": 2}, metrics={"auc": 0.9}, code=False)
    result = registry.diff(("m", 1), ("m", 2)).to_dict()
    assert result["params"] == {"C": {"old": 1, "new": 2}}
    assert result["metrics"]["auc"]["delta"] == pytest.approx(0.1)
    assert result["files"] == {
        "added": ["new.txt"],
        "removed": ["features.csv"],
        "modified": ["model/coefficients.json"],
        "unchanged": 1,
    }
    text = result["text_diffs"]["model/coefficients.json"]
    assert '-  "income": 0.25' in text
    assert '+  "income": 0.5' in text
    assert registry.diff(("m", 1), ("m", 1)).same_content


def test_tags_deprecation_and_their_history(registry: Registry, artifact: Path) -> None:
    registry.register("m", artifact, tags={"team": "risk"}, code=False)
    registry.tag("m", 1, "stage", "validated")
    registry.untag("m", 1, "team")
    v = registry.deprecate("m", 1, reason="superseded")
    assert v.tags == {"stage": "validated"}
    assert v.deprecated
    events = registry.events("m", 1)
    assert [(e.kind, e.key, e.actor) for e in events] == [
        ("tag_set", "stage", "alice"),
        ("tag_removed", "team", "alice"),
        ("deprecated", None, "alice"),
    ]
    assert events[0].at < events[1].at < events[2].at
    with pytest.raises(NotFound):
        registry.untag("m", 1, "team")


def test_immutable_fields_cannot_be_changed(registry: Registry, artifact: Path) -> None:
    v = registry.register("m", artifact, params={"C": 1}, code=False)
    with pytest.raises(AttributeError):
        v.params = {"C": 2}  # type: ignore[misc]
    engine = registry.backend.metadata.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert registry.get("m", 1).params == {"C": 1}


def test_delete_then_gc(registry: Registry, artifact: Path, tmp_path: Path, store_dir: Path):
    registry.register("m", artifact, code=False)
    (artifact / "features.csv").write_text("changed\n")
    v2 = registry.register("m", artifact, code=False)
    registry.delete("m", 2, reason="mistake")
    with pytest.raises(Conflict, match="deleted"):
        registry.download("m", 2, tmp_path / "out")
    assert [v.version for v in registry.versions("m")] == [1]
    assert [v.version for v in registry.versions("m", include_deleted=True)] == [1, 2]
    report = registry.fsck()
    assert report.ok
    assert len(report.orphaned) == 1
    assert registry.gc(dry_run=True).blobs_removed == 1
    assert registry.gc().blobs_removed == 1
    changed = next(f for f in v2.files if f.path == "features.csv")
    assert changed.sha256 not in dict(registry.backend.metadata.inline_blobs())
    assert registry.fsck().orphaned == []
    registry.download("m", 1, tmp_path / "v1")
    assert registry.register("m", artifact, code=False).version == 3


def test_reading_a_missing_store_does_not_create_it(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound):
        Registry(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


def test_a_registry_on_a_path_with_no_store_refuses_reads_and_creates_on_first_write(
    tmp_path: Path, artifact: Path
) -> None:
    typo = tmp_path / "stroe"
    reg = Registry(typo, user="alice")
    for read in (
        reg.models,
        lambda: reg.versions("m"),
        lambda: reg.live("m", env="production"),
        lambda: reg.history("m"),
        reg.audit_verify,
        reg.audit_key,
    ):
        with pytest.raises(
            StoreNotFound, match=f"no modelrepo store at {typo}: run 'modelrepo init'"
        ):
            read()
    with pytest.raises(InvalidInput, match="does not exist"):
        reg.register("m", tmp_path / "missing", code=False)
    with pytest.raises(InvalidInput, match="unknown flavor"):
        reg.register("m", artifact, code=False, flavor="sklern")
    assert not typo.exists(), "a read or a refused register must not create a store"
    assert not reg.created_store
    assert reg.register("m", artifact, code=False).version == 1
    assert reg.created_store and (typo / "audit-signing-key.pem").is_file()
    assert [v.version for v in reg.versions("m")] == [1]
    reg.close()
    with Registry(typo, user="bob") as again:
        assert not again.created_store and again.audit_verify().ok
        assert [e["kind"] for e in again.audit_log()][:2] == ["store.created", "version.registered"]


def test_create_store_makes_the_store_now(tmp_path: Path) -> None:
    with Registry(tmp_path / "s", user="alice") as reg:
        assert reg.create_store() is True
        assert reg.models() == [] and reg.created_store
        assert reg.create_store() is False
    with Registry(tmp_path / "s", create=False) as reg:
        assert reg.create_store() is False and reg.audit_verify().ok
    waiting = Registry(tmp_path / "t", user="alice")
    with Registry(tmp_path / "t", user="bob") as other:
        assert other.create_store() is True
    assert waiting.models() == [], "a store made since by another is found by a read"
    assert not waiting.created_store and waiting.create_store() is False
    waiting.close()


def test_store_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifact: Path
) -> None:
    monkeypatch.setenv("MODELREPO_STORE", str(tmp_path / "envstore"))
    monkeypatch.setenv("MODELREPO_USER", "carol")
    with Registry() as reg:
        assert reg.register("m", artifact, code=False).created_by == "carol"
    assert (tmp_path / "envstore" / "modelrepo.db").exists()


def test_in_memory_registry(artifact: Path, tmp_path: Path) -> None:
    reg = Registry.in_memory(user="x")
    v = reg.register("m", artifact, code=False)
    reg.download("m", 1, tmp_path / "mem")
    assert json.loads((tmp_path / "mem" / "model" / "coefficients.json").read_text())
    assert reg.fsck().ok
    assert v.digest == manifest_digest(
        [FileEntry(f.path, f.size, f.sha256, f.executable) for f in v.files]
    )


def test_undeploy_where_nothing_was_ever_deployed_is_refused(
    registry: Registry, artifact: Path
) -> None:
    for reg in (registry, Registry.in_memory(user="alice")):
        reg.register("credit-risk", artifact, code=False)
        size = reg.ready()
        with pytest.raises(Conflict, match="nothing was ever deployed to credit-risk@staging"):
            reg.undeploy("credit-risk", env="staging")
        assert reg.environments("credit-risk") == [] and reg.history("credit-risk") == []
        assert reg.ready() == size, "a refused undeploy wrote to the audit log"
        reg.deploy("credit-risk", 1, env="staging")
        assert reg.undeploy("credit-risk", env="staging").event.versions == ()  # type: ignore[union-attr]
        reg.undeploy("credit-risk", env="staging")  # once deployed, undeploying again is harmless


def test_if_changed_returns_the_latest_version_when_it_holds_the_same_files(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    first = registry.register("m", artifact, code=False, if_changed=True)
    assert first.version == 1
    assert registry.register("m", artifact, code=False, if_changed=True) == first
    archive = shutil.make_archive(str(tmp_path / "m"), "gztar", artifact)
    assert registry.register_archive("m", archive, code=False, if_changed=True) == first
    again = registry.register("m", artifact, code=False)  # without it: a version, same files
    assert (again.version, again.digest) == (2, first.digest)
    (artifact / "features.csv").write_text("other\n")
    changed = registry.register("m", artifact, code=False, if_changed=True)
    assert changed.version == 3
    registry.delete("m", 3, reason="mistake")  # a deleted latest holds nothing
    assert registry.register("m", artifact, code=False, if_changed=True).version == 4


def test_a_store_is_never_seen_half_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database is built under a temporary name and linked into place complete: a
    reader meanwhile finds no store, and of two creators at once the first link wins."""
    import modelrepo.stores as stores

    store = tmp_path / "s"
    real_link = os.link
    rival: list[Registry] = []

    def link(source: object, target: object) -> None:
        if not rival:
            with pytest.raises(StoreNotFound):
                Registry(store, create=False)
            assert not (store / "modelrepo.db").exists()
            rival.append(Registry(store, user="bob"))
            assert rival[0].create_store() is True  # links its own database first
        real_link(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(stores.os, "link", link)
    with Registry(store, user="alice") as reg:
        assert reg.create_store() is False and not reg.created_store
        assert [e["actor"] for e in reg.audit_log()] == ["bob"]
        assert reg.audit_verify().ok
    rival[0].close()
    assert sorted(p.name for p in store.iterdir()) == [
        "audit-signing-key.pem", "blobs", "modelrepo.db",
    ], "nothing half-made is left beside the store"  # fmt: skip


def test_a_store_whose_creation_fails_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifact: Path
) -> None:
    from modelrepo.domain.errors import StoreFull
    from modelrepo.stores.sql import SqlMetadataStore

    def migrate(self: object) -> None:
        raise StoreFull("the disk holding the store is full")

    monkeypatch.setattr(SqlMetadataStore, "migrate", migrate)
    store = tmp_path / "a" / "b" / "s"
    with Registry(store) as reg, pytest.raises(StoreFull):
        reg.register("m", artifact, code=False)
    assert not (tmp_path / "a").exists()
    monkeypatch.undo()
    with Registry(store) as reg:
        assert reg.register("m", artifact, code=False).version == 1


def test_files_staged_for_register_stored_outlive_a_gc_that_starts_meanwhile(
    tmp_path: Path,
) -> None:
    """`gc` removes abandoned uploads, so it waits while files are being staged."""
    import threading

    from modelrepo.api.types import StagedFile

    big = os.urandom(200_000)
    with Registry(tmp_path / "s", user="alice") as reg:
        reports = []
        with reg.staging() as open_writer:
            writer = open_writer()
            writer.write(big[:1000])
            sweeper = threading.Thread(target=lambda: reports.append(reg.gc()))
            sweeper.start()
            sweeper.join(timeout=0.5)
            assert sweeper.is_alive(), "gc must wait for the staging to end"
            writer.write(big[1000:])
            version = reg.register_stored("m", [StagedFile("weights.bin", writer)])
        sweeper.join()
        assert reports[0].partials_removed == 0
        with reg.open_file("m", version.version, "weights.bin")[1] as stream:
            assert stream.read() == big


def test_changing_what_does_not_exist_on_a_mistyped_path_makes_no_store(tmp_path: Path) -> None:
    """Only a write that makes something new (a version, a token, a webhook) creates a store;
    deploying, tagging or logging a decision on a path with no store names the path."""
    typo = tmp_path / "stroe"
    with Registry(typo, user="alice") as reg:
        for change in (
            lambda: reg.deploy("m", 1, env="production"),
            lambda: reg.rollback("m", env="production"),
            lambda: reg.tag("m", 1, "stage", "qa"),
            lambda: reg.describe_model("m", "a model"),
            lambda: reg.delete("m", 1, reason="typo"),
            lambda: reg.log_decision("m", inputs={"x": 1}, output=1, version=1),
            lambda: reg.protect("m", env="production"),
        ):
            with pytest.raises(StoreNotFound, match=f"no modelrepo store at {typo}"):
                change()
        assert not typo.exists() and not reg.created_store


def test_a_models_audit_log_shows_bulk_imports_and_batches_that_touched_it(
    tmp_path: Path,
) -> None:
    artifact = tmp_path / "m.json"
    artifact.write_text("{}")
    with Registry(tmp_path / "s", user="alice") as reg:
        for name in ("a", "b"):
            reg.register(name, artifact, code=False)
        reg.import_deployments(
            "a",
            [{"environment": "production", "effective_at": "2026-01-05T00:00:00Z",
              "versions": {1: 100}}],
            source="mlflow",
        )  # fmt: skip
        reg.log_decisions(
            [{"model": m, "inputs": {"x": 1}, "output": 1, "version": 1} for m in ("a", "b")]
        )
        kinds = {m: [e["kind"] for e in reg.audit_log(f"model:{m}")] for m in ("a", "b")}
        assert "deployment.imported" in kinds["a"] and "deployment.imported" not in kinds["b"]
        assert all(any(k.startswith("decision") for k in kinds[m]) for m in ("a", "b")), kinds
