"""A model's own life through the CLI: numbers given at registration, versions recorded as
deleted."""

from __future__ import annotations

from pathlib import Path

from .conftest import Run


def test_register_with_a_number_and_record_a_deleted_one(run: Run, artifact: Path) -> None:
    gone = run("record-deleted", "credit-risk@2", "--reason", "deleted in MLflow", "--json").json
    assert (gone["version"], gone["files"], gone["deleted_by"]) == (2, [], "alice")
    done = run("record-deleted", "credit-risk@1", "--reason", "again", ok=False)
    assert done.code == 1
    assert done.err.startswith("error: version credit-risk@1 cannot be created")
    assert "never reused" in done.err and done.err.count("\n") == 1
    assert (
        "Registered credit-risk@5"
        in run("register", "credit-risk", str(artifact), "--no-code", "--number", "5").out
    )
    taken = run("register", "credit-risk", str(artifact), "--no-code", "--number", "4", ok=False)
    assert taken.code == 1 and "had version 5" in taken.err
    bad = run("register", "credit-risk", str(artifact), "--number", "0", ok=False)
    assert bad.code == 2 and "--number" in bad.err
    listed = run("versions", "credit-risk", "--include-deleted").out
    assert "(deleted)" in listed.splitlines()[1] and listed.splitlines()[1].split()[0] == "2"
    shown = run("show", "credit-risk@2", "--json").json
    assert [(c["kind"], c["reason"]) for c in shown["changes"]] == [
        ("deleted", "deleted in MLflow")
    ]
    assert run("record-deleted", "credit-risk@x", "--reason", "r", ok=False).code == 1
    assert run("audit", "verify").code == 0
