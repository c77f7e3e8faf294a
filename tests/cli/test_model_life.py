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


def test_create_a_model_then_show_it(run: Run, artifact: Path) -> None:
    made = run("model", "create", "fraud", "--description", "flags card fraud",
               "--tag", "team=risk", "--tag", "tier=1", "--json").json  # fmt: skip
    assert (made["model"], made["created_by"], made["latest_version"]) == ("fraud", "alice", 0)
    assert made["tags"] == {"team": "risk", "tier": "1"}
    assert run("model", "create", "plain").out == "Created model plain\n"
    again = run("model", "create", "fraud", ok=False)
    assert again.code == 1 and again.err == "error: model 'fraud' already exists\n"
    bad = run("model", "create", "fraud2", "--tag", "no-equals", ok=False)
    assert bad.code != 0 and bad.err.count("\n") == 1
    shown = run("model", "fraud").out
    assert shown.startswith("fraud  latest 0, 0 live\n") and "description flags card fraud" in shown
    assert "alice: created" in shown and "alice: tag_set team=risk" in shown
    assert run("model", "show", "fraud", "--json").json["changes"][0]["kind"] == "created"
    assert run("model", "fraud", "--json").json["description"] == "flags card fraud"
    listed = run("models", "--json").json["models"]
    assert [m["model"] for m in listed] == ["fraud", "plain"]
    run("register", "fraud", str(artifact), "--no-code")
    assert run("model", "fraud", "--json").json["latest_version"] == 1
    assert run("model", "nope", ok=False).err == "error: model 'nope' not found\n"
    assert run("audit", "verify").code == 0


def test_delete_a_model_never_deployed(run: Run, artifact: Path) -> None:
    run("register", "scratch", str(artifact), "--no-code")
    run("register", "served", str(artifact), "--no-code")
    run("deploy", "served@1", "--env", "staging")
    refused = run("model", "delete", "served", "--reason", "unused", ok=False)
    assert refused.code == 1 and refused.err == (
        "error: model 'served' cannot be deleted: versions of this model were deployed; "
        "they are kept as evidence\n"
    )
    assert run("model", "delete", "scratch", ok=False).code == 2  # --reason is required
    gone = run("model", "delete", "scratch", "--reason", "a trial", "--json").json
    assert gone["model"] == "scratch" and gone["version_count"] == 0
    assert run("model", "scratch", ok=False).err == "error: model 'scratch' not found\n"
    assert run("versions", "scratch", ok=False).err == "error: model 'scratch' not found\n"
    assert [m["model"] for m in run("models", "--json").json["models"]] == ["served"]
    assert "Registered scratch@2" in run("register", "scratch", str(artifact), "--no-code").out
    assert run("audit", "verify").code == 0


def test_rename_a_model(run: Run, artifact: Path) -> None:
    run("register", "credit", str(artifact), "--no-code")
    run("deploy", "credit@1", "--env", "production")
    done = run("model", "rename", "credit", "credit-retail", "--reason", "split by segment")
    assert done.out == "Renamed model credit to credit-retail\n"
    assert (
        run("live", "credit-retail", "--env", "production", "--json").json["versions"][0]["version"]
        == 1
    )
    assert run("model", "credit", ok=False).err == "error: model 'credit' not found\n"
    kinds = [e["kind"] for e in run("audit", "log", "--model", "credit-retail", "--json").json[
        "entries"
    ]]  # fmt: skip
    assert kinds[:2] == ["version.registered", "deployment.recorded"] and "model.renamed" in kinds
    taken = run("model", "rename", "credit-retail", "credit-retail", ok=False)
    assert taken.code == 1 and taken.err.count("\n") == 1
    assert run("audit", "verify").code == 0
