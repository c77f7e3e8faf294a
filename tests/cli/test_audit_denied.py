"""`modelrepo audit denied`: refused requests, newest first, a page at a time."""

from __future__ import annotations

from pathlib import Path

from modelrepo import Registry
from modelrepo.testing.denials import denial

from .conftest import Run


def test_refused_requests_are_listed_a_page_at_a_time(run: Run, store_dir: Path) -> None:
    run("init")
    with Registry(store_dir, user="server") as reg:
        kept = reg.record_denials(
            [denial(i * 10, model="fraud" if i == 1 else "credit-risk") for i in range(4)]
        )
    newest = [d.id for d in kept[::-1]]
    first = run("audit", "denied", "--limit", "2", "--json")
    assert [d["id"] for d in first.json["denied"]] == newest[:2]
    assert first.json["next_cursor"] == "2" and first.err == ""
    table = run("audit", "denied", "--limit", "2")
    assert len(table.out.splitlines()) == 2
    assert table.err == (
        "note: showing 2 of more; pass --cursor 2 for the next page, or a larger --limit\n"
    )
    rest = run("audit", "denied", "--limit", "2", "--cursor", "2", "--json").json
    assert ([d["id"] for d in rest["denied"]], rest["next_cursor"]) == (newest[2:], None)
    last = run("audit", "denied", "--limit", "2", "--cursor", "2")
    assert len(last.out.splitlines()) == 2 and last.err == ""
    of_model = run("audit", "denied", "--model", "credit-risk", "--json").json
    assert len(of_model["denied"]) == 3 and of_model["next_cursor"] is None
    bad = run("audit", "denied", "--cursor", "nope", ok=False)
    assert bad.code != 0 and "cursor" in bad.err
