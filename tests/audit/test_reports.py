"""The model evidence report: self-contained, escaped, and backed by checked audit proofs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from modelrepo import Registry

from ..cli.conftest import Run


def test_model_report(run: Run, artifact: Path, tmp_path: Path, store_dir: Path) -> None:
    for i in range(3):
        (artifact / "features.csv").write_text(f"v{i}\n")
        run("register", "credit-risk", str(artifact), "--no-code", "--description",
            "<script>alert('x')</script>")  # fmt: skip
    run("deploy", "credit-risk@1", "--env", "production", "--effective-at",
        "2026-01-05T08:00:00Z", "--reason", "backfilled")  # fmt: skip
    run("deploy", "credit-risk", "--env", "canary", "--split", "1=0.9", "--split", "2=0.1")
    run("env", "protect", "credit-risk", "--env", "production")
    request = run("deploy", "credit-risk@3", "--env", "production", "--json").json
    run("approve", str(request["request_id"]), user="bob")
    out = tmp_path / "report.html"
    doc = run("report", "model", "credit-risk", "--out", str(out), "--json").json
    assert doc["audit"]["verified"]
    assert {e["event_id"]: e["audit"]["status"] for e in doc["events"]} == {
        1: "proved",
        2: "proved",
        3: "proved",
    }
    approved = next(e for e in doc["events"] if e["approved_by"])
    assert (approved["actor"], approved["approved_by"]) == ("alice", "bob")
    assert [v["version"] for v in doc["versions"]] == [1, 2, 3]
    assert json.loads(out.with_suffix(".json").read_text()) == doc
    page = out.read_text()
    assert "<svg" in page and "production" in page and "canary" in page
    assert "<script" not in page.lower()  # escaped, and no script of our own either
    assert "&lt;script&gt;" in page or "alert" not in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # opens offline
    assert "approved by bob" in page


def test_report_flags_a_tampered_log(run: Run, artifact: Path, tmp_path: Path, store_dir: Path):
    import apsw

    run("register", "credit-risk", str(artifact), "--no-code")
    run("deploy", "credit-risk@1", "--env", "production")
    conn = apsw.Connection(str(store_dir / "modelrepo.db"))
    conn.execute("DROP TRIGGER audit_entries_no_update")
    conn.execute("UPDATE audit_entries SET body = CAST('{}' AS BLOB) WHERE seq = 2")
    conn.close()
    doc = run("report", "model", "credit-risk", "--out", str(tmp_path / "r.html"), "--json").json
    assert not doc["audit"]["verified"]
    assert "FAILED" in (tmp_path / "r.html").read_text()
    with Registry(store_dir) as reg:
        assert not reg.audit_verify().ok
