"""`modelrepo webhook ...`."""

from __future__ import annotations

from pathlib import Path

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


def test_deliveries_are_listed_a_page_at_a_time(run: Run, artifact: Path) -> None:
    run("init")
    run("webhook", "add", "http://127.0.0.1:9/hook", "--event", "registered", "--allow-private")
    for i in range(3):
        (artifact / "features.csv").write_text(f"v{i}\n")
        run("register", "credit-risk", str(artifact), "--no-code")
    run("webhook", "deliver", "--once")  # port 9 refuses: three deliveries to retry later
    first = run("webhook", "deliveries", "--limit", "2", "--json")
    assert len(first.json) == 2
    assert first.err == (
        "note: showing 2 of more; pass --cursor 2 for the next page, or a larger --limit\n"
    )
    rest = run("webhook", "deliveries", "--limit", "2", "--cursor", "2")
    assert len(rest.out.splitlines()) == 1 and rest.err == ""
    assert len(run("webhook", "deliveries", "--json").json) == 3
