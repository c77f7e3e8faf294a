"""Deployment commands through the CLI: contracts, protection, time handling, NAME@ENV."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Run


@pytest.fixture
def three(run: Run, artifact: Path) -> None:
    for i in range(3):
        (artifact / "features.csv").write_text(f"v{i}\n")
        run("register", "credit-risk", str(artifact), "--no-code")


def test_deploy_json_contract(run: Run, three: None) -> None:
    doc = run("deploy", "credit-risk@2", "--env", "production", "--reason", "go", "--json").json
    assert doc["status"] == "live"
    assert doc["model"] == "credit-risk"
    assert doc["environment"] == "production"
    assert doc["versions"] == [{"version": 2, "weight": 1.0}]
    assert doc["effective_at"] == doc["recorded_at"]
    assert isinstance(doc["event_id"], int)
    assert doc["request_id"] is None
    split = run(
        "deploy", "credit-risk", "--env", "production", "--split", "2=0.9", "--split", "3=0.1",
        "--json",
    ).json  # fmt: skip
    assert split["versions"] == [{"version": 2, "weight": 0.9}, {"version": 3, "weight": 0.1}]


def test_live_json_contract_and_as_of(run: Run, three: None) -> None:
    first = run("deploy", "credit-risk@1", "--env", "production", "--json").json
    second = run("deploy", "credit-risk@2", "--env", "production", "--json").json
    doc = run("live", "credit-risk", "--env", "production", "--json").json
    assert doc["versions"][0]["version"] == 2
    assert doc["versions"][0]["digest"] == run("show", "credit-risk@2", "--json").json["digest"]
    assert doc["event_id"] == second["event_id"]
    at_first = run(
        "live", "credit-risk", "--env", "production", "--at", first["effective_at"], "--json"
    ).json
    assert [v["version"] for v in at_first["versions"]] == [1]
    before = run(
        "live", "credit-risk", "--env", "production", "--at", "2000-01-01T00:00:00Z", "--json"
    ).json
    assert before["versions"] == []
    assert before["event_id"] is None
    assert (
        "nothing was live"
        in run(
            "live", "credit-risk", "--env", "production", "--at", "2000-01-01T00:00:00+02:00"
        ).out
    )


def test_backfill_and_as_known_at(run: Run, three: None) -> None:
    now = run("deploy", "credit-risk@3", "--env", "production", "--json").json
    back = run(
        "deploy", "credit-risk@1", "--env", "production", "--effective-at",
        "2026-01-01T00:00:00Z", "--reason", "imported from change log", "--json",
    ).json  # fmt: skip
    assert back["backfill"]
    args = ["live", "credit-risk", "--env", "production", "--at", "2026-02-01T00:00:00Z"]
    assert [v["version"] for v in run(*args, "--json").json["versions"]] == [1]
    earlier = run(*args, "--as-known-at", now["recorded_at"], "--json").json
    assert earlier["versions"] == []
    history = run("history", "credit-risk", "--json").json["events"]
    assert [e["event_id"] for e in history] == [back["event_id"], now["event_id"]]
    assert "backfill" in run("history", "credit-risk").out


def test_backfill_needs_a_reason_and_times_need_a_zone(run: Run, three: None) -> None:
    result = run(
        "deploy", "credit-risk@1", "--env", "production", "--effective-at",
        "2026-01-01T00:00:00Z", ok=False,
    )  # fmt: skip
    assert result.code == 1
    assert "needs a reason" in result.err
    for args in (
        ["live", "credit-risk", "--env", "production", "--at", "2026-03-01T10:00:00"],
        ["deploy", "credit-risk@1", "--env", "p", "--effective-at", "2026-03-01 10:00"],
        ["history", "credit-risk", "--since", "yesterday"],
    ):
        result = run(*args, ok=False)
        assert result.code == 1
        assert result.err.count("\n") == 1
        assert "time zone" in result.err or "invalid time" in result.err
    assert run("history", "credit-risk", "--json").json["events"] == []
    assert run("env", "list", "credit-risk", "--json").json["environments"] == []


def test_protected_environment_through_every_command(run: Run, three: None) -> None:
    run("deploy", "credit-risk@1", "--env", "production")
    run("env", "protect", "credit-risk", "--env", "production")
    attempts = [
        ["deploy", "credit-risk@2", "--env", "production"],
        ["deploy", "credit-risk", "--env", "production", "--split", "1=50", "--split", "2=50"],
        ["undeploy", "credit-risk", "--env", "production"],
        ["rollback", "credit-risk", "--env", "production"],
        ["deploy", "credit-risk@3", "--env", "production", "--effective-at",
         "2026-01-01T00:00:00Z", "--reason", "backfill"],
    ]  # fmt: skip
    ids = []
    for args in attempts:
        result = run(*args, "--json", ok=False)
        assert result.code in (0, 1), result
        if result.code == 0:
            doc = result.json
            assert doc["status"] == "pending", args
            ids.append(doc["request_id"])
    assert len(ids) == 4  # rollback has nothing to roll back to: refused outright
    unprotect = run("env", "unprotect", "credit-risk", "--env", "production", "--json").json
    assert unprotect["status"] == "pending"
    live = run("live", "credit-risk", "--env", "production", "--json").json
    assert [v["version"] for v in live["versions"]] == [1]
    for request_id in [*ids, unprotect["request_id"]]:
        own = run("approve", str(request_id), ok=False)
        assert own.code == 1
        assert "cannot also approve" in own.err
        assert run("reject", str(request_id), ok=False).code == 1
    assert run("env", "list", "credit-risk", "--json").json["environments"][0]["protected"]
    approved = run("approve", str(ids[0]), "--json", user="bob").json
    assert approved["status"] == "approved"
    assert approved["decided_by"] == "bob"
    live = run("live", "credit-risk", "--env", "production", "--json").json
    assert [v["version"] for v in live["versions"]] == [2]
    assert live["event"]["approved_by"] == "bob"
    assert live["event"]["actor"] == "alice"
    rejected = run("reject", str(ids[1]), "--reason", "no", "--json", user="bob").json
    assert rejected["status"] == "rejected"
    again = run("approve", str(ids[1]), user="carol", ok=False)
    assert "already rejected" in again.err
    pending = run("requests", "credit-risk", "--status", "pending", "--json").json["requests"]
    assert [r["request_id"] for r in pending] == [ids[2], ids[3], unprotect["request_id"]]


def test_name_at_env_resolves_to_the_live_version(run: Run, three: None, tmp_path: Path) -> None:
    run("deploy", "credit-risk@2", "--env", "production")
    assert run("show", "credit-risk@production", "--json").json["version"] == 2
    run("download", "credit-risk@production", str(tmp_path / "out"))
    assert (tmp_path / "out" / "features.csv").read_text() == "v1\n"
    run("deploy", "credit-risk", "--env", "production", "--split", "2=0.9", "--split", "3=0.1")
    result = run("show", "credit-risk@production", ok=False)
    assert "split between versions 2 (90%), 3 (10%)" in result.err
    assert (
        "environment 'staging' of credit-risk not found"
        in run("show", "credit-risk@staging", ok=False).err
    )
    assert run("deploy", "credit-risk@production", "--env", "staging", ok=False).code == 1
    run("deploy", "credit-risk@1", "--env", "staging")
    run("undeploy", "credit-risk", "--env", "staging")
    assert "nothing is live" in run("show", "credit-risk@staging", ok=False).err


def test_a_misspelt_environment_is_an_error_not_an_empty_answer(run: Run, three: None) -> None:
    run("deploy", "credit-risk@1", "--env", "production")
    result = run("live", "credit-risk", "--env", "prod", ok=False)
    assert result.code == 1
    assert "environment 'prod' of credit-risk not found (known: production)" in result.err
    bad = run("live", "credit-risk", "--env", "Prod!", ok=False)
    assert "invalid environment name" in bad.err


def test_stale_rollback_request_is_refused(run: Run, three: None) -> None:
    run("deploy", "credit-risk@1", "--env", "production")
    run("deploy", "credit-risk@2", "--env", "production")
    run("env", "protect", "credit-risk", "--env", "production")
    deploy3 = run("deploy", "credit-risk@3", "--env", "production", "--json").json
    back = run("rollback", "credit-risk", "--env", "production", "--json", user="carol").json
    assert back["versions"] == [{"version": 1, "weight": 1.0}]
    run("approve", str(deploy3["request_id"]), user="bob")
    stale = run("approve", str(back["request_id"]), user="bob", ok=False)
    assert "is stale" in stale.err
    assert [
        v["version"]
        for v in run("live", "credit-risk", "--env", "production", "--json").json["versions"]
    ] == [3]
    run("reject", str(back["request_id"]), "--reason", "stale", user="bob")
    again = run("rollback", "credit-risk", "--env", "production", "--json", user="carol").json
    assert again["versions"] == [{"version": 2, "weight": 1.0}]
    done = run("approve", str(again["request_id"]), "--json", user="bob").json
    live = run("live", "credit-risk", "--env", "production", "--json").json
    assert [v["version"] for v in live["versions"]] == [2]
    assert live["event"]["approved_at"] == done["decided_at"]


def test_protection_changes_are_listed(run: Run, three: None) -> None:
    run("deploy", "credit-risk@1", "--env", "production")
    run("env", "protect", "credit-risk", "--env", "production")
    request = run("env", "unprotect", "credit-risk", "--env", "production", "--reason", "x",
                  "--json").json  # fmt: skip
    run("approve", str(request["request_id"]), user="bob")
    env = run("env", "list", "credit-risk", "--json").json["environments"][0]
    assert not env["protected"]
    assert [(c["kind"], c["actor"], c["request_id"]) for c in env["changes"]] == [
        ("protected", "alice", None),
        ("unprotected", "bob", request["request_id"]),
    ]


def test_rollback_and_timeline(run: Run, three: None) -> None:
    for n in (1, 2, 3):
        run("deploy", f"credit-risk@{n}", "--env", "production")
    doc = run("rollback", "credit-risk", "--env", "production", "--reason", "bad", "--json").json
    assert doc["kind"] == "rollback"
    assert doc["versions"] == [{"version": 2, "weight": 1.0}]
    run("deploy", "credit-risk@3", "--env", "staging")
    timeline = run("timeline", "credit-risk", "--json").json["intervals"]
    assert [(i["environment"], i["versions"][0]["version"]) for i in timeline] == [
        ("production", 1),
        ("production", 2),
        ("production", 3),
        ("production", 2),
        ("staging", 3),
    ]
    assert timeline[3]["to"] is None
    where = run("timeline", "credit-risk@3", "--json").json["intervals"]
    assert [(i["environment"], i["to"] is None) for i in where] == [
        ("production", False),
        ("staging", True),
    ]
    only = run("timeline", "credit-risk", "--env", "staging", "--json").json["intervals"]
    assert len(only) == 1
    assert "production" in run("timeline", "credit-risk").out


def test_undeploy_and_deployed_versions_cannot_be_deleted(run: Run, three: None) -> None:
    run("deploy", "credit-risk@1", "--env", "canary")
    doc = run("undeploy", "credit-risk", "--env", "canary", "--json").json
    assert doc["versions"] == []
    assert run("live", "credit-risk", "--env", "canary", "--json").json["versions"] == []
    result = run("delete", "credit-risk@1", "--reason", "mistake", ok=False)
    assert "can never be deleted" in result.err
    run("delete", "credit-risk@3", "--reason", "mistake")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "credit-risk@9", "--env", "production"], "credit-risk@9 not found"),
        (["deploy", "credit-risk@1", "--env", "Prod!"], "invalid environment name"),
        (["deploy", "credit-risk", "--env", "p", "--split", "1=0.5"], "sum to"),
        (["deploy", "credit-risk", "--env", "p", "--split", "1=x"], "VERSION=WEIGHT"),
        (["deploy", "credit-risk", "--env", "p"], "NAME@N"),
        (["approve", "42"], "request 42 not found"),
        (["rollback", "credit-risk", "--env", "production"], "nothing to roll back"),
        (
            ["undeploy", "credit-risk", "--env", "staging"],
            "error: nothing was ever deployed to credit-risk@staging",
        ),
        (["live", "nope", "--env", "production"], "model 'nope' not found"),
    ],
)
def test_deployment_errors(run: Run, three: None, args: list[str], message: str) -> None:
    result = run(*args, ok=False)
    assert result.code != 0
    assert message in result.err
    assert run("history", "credit-risk", "--json").json["events"] == []
    assert run("env", "list", "credit-risk", "--json").json["environments"] == []


def test_an_embedded_store_labels_its_actors_as_asserted(run: Run, three: None) -> None:
    """On an embedded store nobody checks `--user`: every line that names an actor says so,
    and an environment that requires single sign-on takes no request from such a name."""
    run("env", "protect", "credit-risk", "--env", "production")
    tightened = run("env", "protect", "credit-risk", "--env", "production", "--require-sso")
    assert tightened.out.strip() == "credit-risk@production is protected (single sign-on required)"
    listed = run("env", "list", "credit-risk").out.splitlines()
    assert listed[0] == "production  (protected, single sign-on)"
    assert listed[1].startswith("  protected at ")
    assert listed[1].endswith("by alice (asserted, not authenticated)")
    assert listed[2].startswith("  sso_required at ")
    refused = run("deploy", "credit-risk@1", "--env", "production", ok=False)
    assert refused.code == 1 and "requires single sign-on" in refused.err
    run("deploy", "credit-risk@1", "--env", "staging")
    history = run("history", "credit-risk", "--env", "staging").out
    assert "by alice (asserted, not authenticated)" in history
    live = run("live", "credit-risk", "--env", "staging").out
    assert "by alice (asserted, not authenticated)" in live
