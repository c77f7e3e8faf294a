"""`export --git`: a stable text tree, committed only when the registry changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ..cli.conftest import Run
from .gitrepo import git

COEFFICIENTS_V1 = (
    '{"format": "text-coefficients/1", "features": ["income"],\n'
    ' "coefficients": {"income": 0.25}, "intercept": -1.0}\n'
)
COEFFICIENTS_V2 = COEFFICIENTS_V1.replace("0.25", "0.3")


@pytest.fixture
def populated(run: Run, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for text in (COEFFICIENTS_V1, COEFFICIENTS_V2):
        (model / "coefficients.json").write_text(text)
        run("register", "credit", str(model), "--flavor", "text-coefficients", "--no-code")
    blob = tmp_path / "weights.bin"
    blob.write_bytes(bytes(range(256)))
    run("register", "fraud", str(blob), "--no-code", "--tag", "team=risk")
    run("deploy", "credit@1", "--env", "production", "--reason", "first",
        "--effective-at", "2026-01-05T09:00:00Z")  # fmt: skip
    run("deploy", "credit@2", "--env", "staging")
    run("deprecate", "fraud@1", "--reason", "superseded")


def export(run: Run, dest: Path, *extra: str) -> dict:
    return run("export", "--git", str(dest), "--json", *extra).json


def test_export_writes_one_folder_per_model_as_stable_text(
    run: Run, populated: None, tmp_path: Path
) -> None:
    dest = tmp_path / "history"
    doc = export(run, dest, "--author", "Model Risk <mrm@bank.example>")
    assert doc["commit"] == git(dest, "rev-parse", "HEAD")
    assert git(dest, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        "Model Risk <mrm@bank.example>|Model Risk <mrm@bank.example>"
    )
    tracked = git(dest, "ls-files").splitlines()
    assert tracked == [
        "modelrepo-export.json",
        "models/credit/deployments.json",
        "models/credit/environments.json",
        "models/credit/model.json",
        "models/credit/requests.json",
        "models/credit/versions/1.json",
        "models/credit/versions/1/coefficients.json",
        "models/credit/versions/2.json",
        "models/credit/versions/2/coefficients.json",
        "models/fraud/deployments.json",
        "models/fraud/environments.json",
        "models/fraud/model.json",
        "models/fraud/requests.json",
        "models/fraud/versions/1.json",
    ]
    credit = dest / "models" / "credit"
    assert (credit / "versions" / "1" / "coefficients.json").read_text() == COEFFICIENTS_V1
    assert (credit / "versions" / "2" / "coefficients.json").read_text() == COEFFICIENTS_V2
    history = run("history", "credit", "--json").json["events"]
    assert json.loads((credit / "deployments.json").read_text()) == history
    version = json.loads((dest / "models" / "fraud" / "versions" / "1.json").read_text())
    assert version["digest"] == run("show", "fraud@1", "--json").json["digest"]
    assert [c["kind"] for c in version["changes"]] == ["deprecated"]
    text = (credit / "versions" / "1.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_export_round_trip_and_exactly_the_next_change(
    run: Run, populated: None, tmp_path: Path
) -> None:
    dest = tmp_path / "history"
    first = export(run, dest)
    assert first["commit"] is not None
    again = export(run, dest)
    assert again["commit"] is None and again["changed"] == []
    assert git(dest, "status", "--porcelain") == ""
    assert git(dest, "diff", "HEAD") == ""
    assert git(dest, "rev-list", "--count", "HEAD") == "1"

    run("deploy", "credit@2", "--env", "production", "--reason", "Q1 refresh")
    after = export(run, dest)
    assert after["changed"] == ["models/credit/deployments.json"]
    assert git(dest, "rev-list", "--count", "HEAD") == "2"
    assert git(dest, "show", "--name-only", "--format=", "HEAD").splitlines() == [
        "models/credit/deployments.json"
    ]
    before = json.loads(git(dest, "show", "HEAD~1:models/credit/deployments.json"))
    now = json.loads(git(dest, "show", "HEAD:models/credit/deployments.json"))
    assert now[: len(before)] == before
    assert [(e["kind"], e["reason"]) for e in now[len(before) :]] == [("deploy", "Q1 refresh")]
    assert export(run, dest)["commit"] is None


def test_deleted_version_loses_its_text_and_nothing_else_is_touched(
    run: Run, populated: None, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    (model / "coefficients.json").write_text(COEFFICIENTS_V1.replace("0.25", "9.9"))
    run("register", "credit", str(model), "--flavor", "text-coefficients", "--no-code")
    dest = tmp_path / "history"
    export(run, dest)
    assert (dest / "models/credit/versions/3/coefficients.json").is_file()
    (dest / "NOTES.md").write_text("kept by hand\n")
    run("delete", "credit@3", "--reason", "bad fit")
    doc = export(run, dest)
    assert doc["changed"] == [
        "models/credit/model.json",  # its version count
        "models/credit/versions/3.json",
        "models/credit/versions/3/coefficients.json",
    ]
    assert not (dest / "models/credit/versions/3").exists()
    assert json.loads((dest / "models/credit/versions/3.json").read_text())["deleted_at"]
    assert (dest / "NOTES.md").read_text() == "kept by hand\n"
    assert "NOTES.md" not in git(dest, "ls-files")


def test_bad_author_is_refused(run: Run, populated: None, tmp_path: Path) -> None:
    result = run("export", "--git", str(tmp_path / "x"), "--author", "nobody", ok=False)
    assert result.code == 1
    assert result.err == "error: invalid author 'nobody': expected 'NAME <EMAIL>'\n"
    assert not (tmp_path / "x").exists()


def test_a_link_planted_in_the_export_is_not_followed(
    run: Run, populated: None, tmp_path: Path
) -> None:
    dest = tmp_path / "history"
    export(run, dest)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me\n")
    credit = dest / "models" / "credit"
    shutil.rmtree(credit)
    credit.symlink_to(outside)
    result = run("export", "--git", str(dest), ok=False)
    assert result.code == 1
    assert "is a symbolic link; the export does not follow links" in result.err
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
