"""`modelrepo role grant|list|revoke` on an embedded store: bindings as granted, by whom and
how (asserted, on the command line), revoked once, each change audited and verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrepo import Registry

from .conftest import Run

pytestmark = pytest.mark.sqlite_only

IDP = "https://idp.bank.example"


def test_roles_are_granted_listed_and_revoked_with_audit_entries(run: Run, store_dir: Path) -> None:
    run("init")
    made = run(
        "role", "grant", "erin@bank.example", "--role", "deployer", "--model", "fraud-*",
        "--issuer", IDP, "--json",
    ).json  # fmt: skip
    assert {k: made[k] for k in ("principal", "role", "model_pattern", "issuer")} == {
        "principal": "erin@bank.example", "role": "deployer", "model_pattern": "fraud-*",
        "issuer": IDP,
    }  # fmt: skip
    assert (made["granted_by"], made["granted_auth"], made["revoked_at"]) == (
        "alice", {"method": "local"}, None,
    )  # fmt: skip
    human = run("role", "grant", "frank@bank.example", "--role", "viewer", "--issuer", IDP)
    assert "frank@bank.example is viewer on models *" in human.out
    listed = run("role", "list").out
    assert "erin@bank.example" in listed and "asserted, not authenticated" in listed

    revoked = run("role", "revoke", made["binding_id"], user="bob")
    assert f"revoked {made['binding_id']}" in revoked.out
    again = run("role", "revoke", made["binding_id"], ok=False)
    assert again.code == 1 and "already revoked" in again.err
    active = run("role", "list", "--active", "--json").json
    assert [b["principal"] for b in active] == ["frank@bank.example"]
    everything = run("role", "list", "--json").json
    assert [(b["principal"], b["revoked_by"]) for b in everything] == [
        ("erin@bank.example", "bob"), ("frank@bank.example", None),
    ]  # fmt: skip

    log = run("audit", "log", "--json").json
    entries = [e for e in log["entries"] if e["subject"] == f"role:{made['binding_id']}"]
    assert [(e["kind"], e["actor"]) for e in entries] == [
        ("role.granted", "alice"), ("role.revoked", "bob"),
    ]  # fmt: skip
    assert entries[0]["change"]["auth"] == {"method": "local"}
    assert run("audit", "verify", "--json").json["ok"] is True
    with Registry(store_dir, user="alice") as reg:
        assert reg.grants_for(IDP, "frank@bank.example")[0].role == "viewer"
        assert reg.grants_for(IDP, "erin@bank.example") == ()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["svc:scorer", "--role", "viewer", "--issuer", IDP], "service account"),
        (["erin@bank.example", "--role", "viewer"], "issuer URL (--issuer)"),
        (["erin@bank.example", "--role", "viewer", "--issuer", " x"], "invalid issuer"),
        (["erin@bank.example", "--role", "viewer", "--issuer", IDP, "--model", "a/b"],
         "invalid model pattern"),
    ],
)  # fmt: skip
def test_what_cannot_be_bound_is_refused_in_one_line(
    run: Run, args: list[str], message: str
) -> None:
    run("init")
    refused = run("role", "grant", *args, ok=False)
    assert refused.code == 1 and message in refused.err and refused.err.count("\n") == 1
    assert run("role", "list").out.strip() == "no role bindings"


def test_an_equal_active_grant_is_refused_and_a_bad_id_named(run: Run) -> None:
    run("init")
    run("role", "grant", "erin@bank.example", "--role", "viewer", "--issuer", IDP)
    twice = run("role", "grant", "erin@bank.example", "--role", "viewer", "--issuer", IDP, ok=False)
    assert "already holds role viewer on every model" in twice.err
    assert "12 hexadecimal digits" in run("role", "revoke", "../x", ok=False).err
    assert "not found" in run("role", "revoke", "ffffffffffff", ok=False).err
    assert len(json.loads(run("role", "list", "--json").out)) == 1
