"""Every command through the CLI, human and --json output, on a real store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
import pytest

from modelrepo.cli import cli

from .conftest import Run


def register(run: Run, path: Path, *extra: str, name: str = "credit-risk") -> dict:
    return run("register", name, str(path), "--no-code", "--json", *extra).json


def test_register_json_contract(run: Run, artifact: Path, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("x\n1\n")
    sig = tmp_path / "sig.json"
    sig.write_text(json.dumps({"inputs": [{"name": "x", "type": "double"}], "outputs": []}))
    (artifact / "coefficients.json").write_text('{"format": "text-coefficients/1"}')
    doc = register(
        run,
        artifact,
        "--param", "C=0.5",
        "--param", "solver=lbfgs",
        "--param", "balanced=true",
        "--metric", "auc=0.91",
        "--tag", "team=risk",
        "--data", str(data),
        "--data", "s3://bucket/holdout#sha256:" + "ab" * 32,
        "--flavor", "text-coefficients",
        "--description", "first cut",
        "--signature", str(sig),
    )  # fmt: skip
    assert doc["model"] == "credit-risk"
    assert doc["version"] == 1
    assert doc["digest"].startswith("sha256:")
    assert doc["params"] == {"C": 0.5, "solver": "lbfgs", "balanced": True}
    assert doc["metrics"] == {"auc": 0.91}
    assert doc["tags"] == {"team": "risk"}
    assert doc["flavor"] == "text-coefficients"
    assert doc["signature"]["inputs"][0]["name"] == "x"
    assert doc["lineage"]["data"][0]["digest"] == "sha256:" + hashlib.sha256(b"x\n1\n").hexdigest()
    assert doc["lineage"]["code"] is None
    assert doc["created_by"] == "alice"


def test_register_again_with_the_same_idempotency_key(run: Run, artifact: Path) -> None:
    first = register(run, artifact, "--idempotency-key", "pipeline-81")
    again = register(run, artifact, "--idempotency-key", "pipeline-81", "--metric", "auc=1")
    assert again == first and first["version"] == 1
    (artifact / "features.csv").write_text("other\n")
    refused = run("register", "credit-risk", str(artifact), "--no-code",
                  "--idempotency-key", "pipeline-81", ok=False)  # fmt: skip
    assert refused.code == 1
    assert "'pipeline-81' was already used for credit-risk@1 with other files" in refused.err
    bad = run("register", "credit-risk", str(artifact), "--idempotency-key", "a b", ok=False)
    assert bad.code == 1 and "invalid idempotency key" in bad.err
    assert register(run, artifact)["version"] == 2


def test_show_json_contract(run: Run, artifact: Path) -> None:
    created = register(run, artifact, "--param", "C=1")
    doc = run("show", "credit-risk@1", "--json").json
    for key in ("model", "version", "digest", "created_at", "params", "metrics", "tags", "lineage"):
        assert doc[key] == created[key]
    assert doc["files"] == created["files"]
    assert {"path", "size", "sha256"} <= set(doc["files"][0])
    assert doc["created_at"].endswith("Z")
    human = run("show", "credit-risk@1").out
    assert "credit-risk@1" in human
    assert created["digest"] in human
    assert "model/coefficients.json" in human


def test_models_and_versions(run: Run, artifact: Path) -> None:
    register(run, artifact, "--metric", "auc=0.8")
    register(run, artifact, "--metric", "auc=0.9", "--tag", "stage=candidate")
    register(run, artifact, name="fraud")
    models = run("models", "--json").json["models"]
    assert [(m["model"], m["latest_version"]) for m in models] == [("credit-risk", 2), ("fraud", 1)]
    assert "credit-risk" in run("models").out
    listed = run("versions", "credit-risk", "--json").json["versions"]
    assert [v["version"] for v in listed] == [1, 2]
    found = run("versions", "credit-risk", "--where", "metrics.auc>0.85", "--json").json
    assert [v["version"] for v in found["versions"]] == [2]
    found = run("versions", "credit-risk", "--where", "tags.stage=candidate", "--json").json
    assert [v["version"] for v in found["versions"]] == [2]
    assert "auc=0.9" in run("versions", "credit-risk").out


def test_download_and_diff(run: Run, artifact: Path, tmp_path: Path) -> None:
    register(run, artifact, "--param", "C=1")
    (artifact / "model" / "coefficients.json").write_text('{\n  "income": 0.75\n}\n')
    register(run, artifact, "--param", "C=2")
    doc = run("download", "credit-risk@2", str(tmp_path / "out"), "--json").json
    assert doc["path"] == str(tmp_path / "out")
    assert (tmp_path / "out" / "model" / "coefficients.json").read_text().count("0.75") == 1
    diff = run("diff", "credit-risk@1", "credit-risk@2", "--json").json
    assert diff["params"] == {"C": {"old": 1, "new": 2}}
    assert diff["files"]["modified"] == ["model/coefficients.json"]
    human = run("diff", "credit-risk@1", "credit-risk@2").out
    assert '+  "income": 0.75' in human
    assert "params.C: 1 -> 2" in human


def test_tag_untag_deprecate_delete_and_history(run: Run, artifact: Path) -> None:
    register(run, artifact)
    assert run("tag", "credit-risk@1", "stage=validated", "--json").json["tags"] == {
        "stage": "validated"
    }
    run("untag", "credit-risk@1", "stage", user="bob")
    assert run("deprecate", "credit-risk@1", "--reason", "old", "--json").json["deprecated"]
    assert not run("deprecate", "credit-risk@1", "--undo", "--json").json["deprecated"]
    changes = run("show", "credit-risk@1", "--json").json["changes"]
    assert [(c["kind"], c["actor"]) for c in changes] == [
        ("tag_set", "alice"),
        ("tag_removed", "bob"),
        ("deprecated", "alice"),
        ("undeprecated", "alice"),
    ]
    deleted = run("delete", "credit-risk@1", "--reason", "mistake", "--json").json
    assert deleted["deleted_by"] == "alice"
    assert run("versions", "credit-risk", "--json").json["versions"] == []


def test_model_tags_and_description(run: Run, artifact: Path) -> None:
    register(run, artifact, "--tag", "team=risk")
    assert run("tag", "credit-risk", "owner=risk-team", "--json").json["tags"] == {
        "owner": "risk-team"
    }
    assert "Tagged credit-risk tier=1" in run("tag", "credit-risk", "tier=1").out
    run("untag", "credit-risk", "tier", user="bob")
    described = run("describe", "credit-risk", "Scores loans.", "--json", user="carol").json
    assert described["description"] == "Scores loans."
    shown = run("model", "credit-risk", "--json").json
    assert (shown["tags"], shown["description"]) == ({"owner": "risk-team"}, "Scores loans.")
    assert [(c["kind"], c["actor"]) for c in shown["changes"]] == [
        ("tag_set", "alice"),
        ("tag_set", "alice"),
        ("tag_removed", "bob"),
        ("described", "carol"),
    ]
    human = run("model", "credit-risk").out
    assert "description Scores loans." in human and 'owner = "risk-team"' in human
    assert run("show", "credit-risk@1", "--json").json["tags"] == {"team": "risk"}
    listed = run("models", "--json").json["models"]
    assert listed[0]["tags"] == {"owner": "risk-team"}
    missing = run("untag", "credit-risk", "tier", ok=False)
    assert missing.code != 0 and "no tag 'tier'" in missing.err
    bad = run("tag", "nowhere", "k=v", ok=False)
    assert bad.code != 0 and "not found" in bad.err


def test_fsck_and_gc(run: Run, artifact: Path, store_dir: Path) -> None:
    (artifact / "weights.bin").write_bytes(bytes(range(256)) * 1024)  # a blob file
    register(run, artifact)
    assert run("fsck", "--json").json["ok"]
    (artifact / "features.csv").write_text("other\n")  # inline
    (artifact / "weights.bin").write_bytes(bytes(range(255, -1, -1)) * 1024)  # a blob file
    register(run, artifact)
    run("delete", "credit-risk@2", "--reason", "superseded")
    report = run("fsck", "--json").json
    assert report["ok"]
    assert len(report["orphaned"]) == 2
    assert run("gc", "--dry-run", "--json").json["blobs_removed"] == 2
    assert run("gc", "--json").json["blobs_removed"] == 2
    assert run("fsck", "--json").json["orphaned"] == []
    blob = next((store_dir / "blobs" / "sha256").rglob("*/*"))
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    result = run("fsck", "--json", ok=False)
    assert result.code == 1
    assert len(result.json["corrupt"]) == 1
    assert result.err.startswith("error: store is damaged")


def test_init(run: Run, store_dir: Path) -> None:
    doc = run("init", "--json").json
    assert doc["store"] == str(store_dir)
    assert (store_dir / "modelrepo.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "credit-risk@9"], "version credit-risk@9 not found"),
        (["show", "nope@1"], "model 'nope' not found"),
        (["show", "credit-risk"], "expected NAME@VERSION"),
        (["show", "credit-risk@0"], "invalid version"),
        (["register", "a:b", "ARTIFACT"], "invalid model name"),
        (["register", "m", "ARTIFACT", "--metric", "auc=high"], "not a number"),
        (["register", "m", "ARTIFACT", "--param", "novalue"], "expected KEY=VALUE"),
        (["register", "m", "ARTIFACT", "--param", "C=1", "--param", "C=2"], "given twice"),
        (["register", "m", "/does/not/exist"], "does not exist"),
        (["versions", "credit-risk", "--where", "auc>1"], "invalid filter"),
        (["download", "credit-risk@1", "EXISTING"], "already exists"),
        (["untag", "credit-risk@1", "absent"], "has no tag"),
    ],
)
def test_errors_are_one_line_on_stderr(
    run: Run, artifact: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    register(run, artifact)
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "f").write_text("x")
    args = [
        str(artifact) if a == "ARTIFACT" else str(existing) if a == "EXISTING" else a for a in args
    ]
    before = run("show", "credit-risk@1", "--json").out
    result = run(*args, ok=False)
    assert result.code != 0
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert message in result.err
    assert len([line for line in lines if line.startswith("error") or "Error" in line]) == 1
    assert run("show", "credit-risk@1", "--json").out == before
    assert [m["model"] for m in run("models", "--json").json["models"]] == ["credit-risk"]


def all_commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the top group loads its commands on first use
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found.update(all_commands(command, f"{prefix}{name} "))
        else:
            found[prefix + name] = command
    return found


def test_every_command_takes_json_and_has_examples() -> None:
    commands = all_commands(cli)
    assert "env protect" in commands
    for name, command in commands.items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert "--json" in options, name
        assert command.help and "Example" in command.help, name
