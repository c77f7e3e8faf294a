"""`modelrepo webhook ...`."""

from __future__ import annotations

from .conftest import Run


def test_the_cli_adds_lists_delivers_and_disables(run: Run) -> None:
    run("init")
    created = run(
        "webhook",
        "add",
        "http://127.0.0.1:9/hook",
        "--event",
        "registered",
        "--allow-private",
        "--json",
    ).json
    assert created["secret"].startswith("whsec_")
    refused = run("webhook", "add", "http://hooks.example/", "--event", "registered", ok=False)
    assert refused.code == 1 and "https" in refused.err
    listed = run("webhook", "list", "--json").json
    assert [h["webhook_id"] for h in listed] == [created["webhook_id"]]
    assert created["secret"] not in run("webhook", "list").out
    run("token", "create", "--user", "bob", "--role", "viewer")  # not an event: not sent
    assert run("webhook", "deliver", "--once", "--json").json["enqueued"] == 0
    run("webhook", "disable", created["webhook_id"])
    assert run("webhook", "list", "--active", "--json").json == []
    assert run("webhook", "deliveries", "--json").json == []
