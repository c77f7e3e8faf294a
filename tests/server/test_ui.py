"""The web UI: its static files, their security headers, no other origin, the diff endpoint
it uses, and a 10,000-event timeline (correctness here; its timing is in benchmarks/)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from modelrepo import Registry
from modelrepo.server import create_app
from modelrepo.server.schemas import IntervalOut

from .conftest import Api

UI = Path(__file__).resolve().parents[2] / "src" / "modelrepo" / "server" / "ui"
FILES = {
    "/ui/": "text/html",
    "/ui/app.css": "text/css",
    "/ui/app.mjs": "text/javascript",
    "/ui/timeline.mjs": "text/javascript",
}
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Registry.in_memory(user="server")))


def test_the_ui_files_are_served_without_a_token_with_security_headers(client: TestClient) -> None:
    for path, media_type in FILES.items():
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["content-type"].startswith(media_type), path
        csp = reply.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
    moved = client.get("/ui", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/ui/"
    # The server's own address leads a person to the UI, not to a 401 in JSON.
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/ui/"
    assert client.get("/").headers["content-type"].startswith("text/html")
    # Anything else under /ui/ is not public: the token gate answers first.
    assert client.get("/ui/secrets.json").status_code == 401
    assert client.get("/ui/app.mjs/").status_code == 401


def test_the_page_has_no_inline_script_or_style_and_loads_only_its_own_files(
    client: TestClient,
) -> None:
    page = client.get("/ui/").text
    assert re.findall(r'<script[^>]*src="([^"]+)"', page) == ["/ui/app.mjs"]
    assert re.findall(r"<script[^>]*>([^<]*)</script>", page) == [""]  # external, empty
    assert "<style" not in page and " style=" not in page and " on" + "click=" not in page
    assert re.findall(r'href="(/[^"]*)"', page) == ["/ui/app.css"]


def test_no_file_of_the_ui_names_another_origin() -> None:
    files = sorted(UI.iterdir())
    assert {f.name for f in files} == {"index.html", "app.css", "app.mjs", "timeline.mjs"}
    for file in files:
        text = file.read_text().replace(SVG_NAMESPACE, "")
        assert re.findall(r"https?://|//[a-z0-9-]+\.[a-z]", text, flags=re.I) == [], file.name
        assert "@import" not in text and "eval(" not in text and "innerHTML" not in text
    script = (UI / "app.mjs").read_text()
    # The token goes to the API of this origin in a header, and is kept for the tab only.
    assert "sessionStorage" in script and "localStorage" not in script
    assert "document.cookie" not in script
    assert re.findall(r"fetch\(([^,]+),", script) == ["url"]
    assert 'const API = "/api/v1"' in script


def test_the_ui_is_in_the_wheel() -> None:
    pyproject = (UI.parents[3] / "pyproject.toml").read_text()
    assert 'packages = ["src/modelrepo"]' in pyproject  # package data: every file under it
    from importlib import resources

    shipped = resources.files("modelrepo.server").joinpath("ui")
    assert shipped.joinpath("app.mjs").read_bytes() == (UI / "app.mjs").read_bytes()


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")
def test_the_ui_scripts_under_node() -> None:
    folder = Path(__file__).parent / "js"
    result = subprocess.run(
        ["node", "--test", *sorted(str(p) for p in folder.glob("*.test.mjs"))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_diff_endpoint(api: Api) -> None:
    api.upload("credit-risk", params={"depth": 3}, metrics={"auc": 0.8}, tags={"team": "risk"})
    api.upload("credit-risk", params={"depth": 4}, metrics={"auc": 0.85}, tags={"team": "risk"})
    url = "/api/v1/models/credit-risk/diff"
    reply = api.client.get(url, params={"a": 1, "b": 2}, headers=api.as_("viewer"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["a"] == "credit-risk@1" and body["b"] == "credit-risk@2"
    assert body["params"] == {"depth": {"old": 3, "new": 4}}
    assert body["metrics"]["auc"]["delta"] == pytest.approx(0.05)
    assert body["tags"] == {}
    assert body["same_content"] is True
    assert body["files"] == {"added": [], "removed": [], "modified": [], "unchanged": 2}
    for who in ("contributor", "deployer", "approver", "admin"):
        assert api.client.get(url, params={"a": 1, "b": 2}, headers=api.as_(who)).status_code == 200
    assert api.client.get(url, params={"a": 1, "b": 2}).status_code == 401
    scoped = api.client.get(url, params={"a": 1, "b": 2}, headers=api.as_("fraud-admin"))
    assert scoped.status_code == 404 and scoped.json()["code"] == "not_found"
    missing = api.client.get(url, params={"a": 1, "b": 9}, headers=api.as_("viewer"))
    assert missing.status_code == 404
    bad = api.client.get(url, params={"a": 0, "b": 1}, headers=api.as_("viewer"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"


def seed_history(reg: Registry, model: str, events: int) -> datetime:
    """`events` backfilled deployments of `model` over 5 environments and 3 versions, some
    of them splits; returns the first effective time."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "coefficients.json").write_text('{"income": 0.25}')
        for _ in range(3):
            reg.register(model, folder, code=False, environment=False)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    envs = ("production", "staging", "canary", "shadow", "eu-production")
    records = []
    for k in range(events):
        split = {1 + k % 3: 1.0} if k % 7 else {1: 0.9, 2: 0.1}
        at = start + timedelta(minutes=37 * k)
        records.append({"environment": envs[k % 5], "effective_at": at, "versions": split})
    reg.import_deployments(model, records, source="the old registry")
    return start


def test_a_10000_event_timeline_through_the_api() -> None:
    reg = Registry.in_memory(user="server")
    seed_history(reg, "credit-risk", 10_000)
    _, secret = reg.create_token("viewer", "viewer")
    client = TestClient(create_app(reg))
    reply = client.get(
        "/api/v1/models/credit-risk/timeline",
        headers={"Authorization": f"Bearer {secret}", "Accept-Encoding": "gzip"},
    )
    assert reply.status_code == 200
    assert reply.headers["content-encoding"] == "gzip"
    assert int(reply.headers["content-length"]) < len(reply.content) / 5
    intervals = reply.json()
    assert len(intervals) == 10_000
    # The JSON is written directly (not through the response model), so check its shape.
    fields = {f.alias or name for name, f in IntervalOut.model_fields.items()}
    assert all(set(i) == fields for i in intervals)
    TypeAdapter(list[IntervalOut]).validate_python(intervals)
    plain = client.get(
        "/api/v1/models/credit-risk/timeline?env=production",
        headers={"Authorization": f"Bearer {secret}", "Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in plain.headers
    assert plain.json() == [i for i in intervals if i["environment"] == "production"]
    assert {i["environment"] for i in intervals} == {
        "production", "staging", "canary", "shadow", "eu-production"
    }  # fmt: skip
    assert all(i["backfill"] for i in intervals)
    assert sum(i["to"] is None for i in intervals) == 5
    assert any(len(i["versions"]) == 2 for i in intervals)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")
def test_the_ui_says_unknown_from_the_real_timeline_and_live_answers(
    api: Api, tmp_path: Path
) -> None:
    """The page's own functions (timeline.mjs, under Node) on what the real API answers for
    history imported from a registry that keeps none: the chart's answer before the first
    observation, and the registry's, both read "unknown before …", never a version."""
    api.upload("credit-risk")
    now = api.registry.clock.now()
    seen = now - timedelta(days=3)
    api.registry.import_deployments(
        "credit-risk",
        [{"kind": "observe", "environment": "production", "versions": {1: 1.0},
          "effective_at": seen, "earliest_at": seen - timedelta(days=2)}],
        source="MLflow (sqlite:///mlflow.db)",
    )  # fmt: skip
    headers = api.as_("viewer")
    intervals = api.client.get("/api/v1/models/credit-risk/timeline", headers=headers).json()
    before = (seen - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    live = api.client.get(
        "/api/v1/models/credit-risk/environments/production/live",
        params={"at": before},
        headers=headers,
    ).json()
    (tmp_path / "timeline.json").write_text(json.dumps(intervals))
    (tmp_path / "live.json").write_text(json.dumps(live))
    script = tmp_path / "check.mjs"
    spans, answer = (
        json.dumps(str(tmp_path / "timeline.json")),
        json.dumps(str(tmp_path / "live.json")),
    )
    script.write_text(
        f"import {{ readFileSync }} from 'node:fs';\n"
        f"import {{ describeServing, lanes, liveAt, parseInstant }} from "
        f"{json.dumps((UI / 'timeline.mjs').as_uri())};\n"
        f"const intervals = JSON.parse(readFileSync({spans}));\n"
        f"const live = JSON.parse(readFileSync({answer}));\n"
        f"const data = lanes(intervals, Date.now());\n"
        f"const prod = data.byEnv.get('production');\n"
        f"const chart = liveAt(prod, parseInstant({json.dumps(before)}));\n"
        f"console.log(JSON.stringify([describeServing(chart), describeServing(live),\n"
        f"  describeServing(liveAt(prod, Date.now())), data.start]));\n"
    )
    done = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    chart, registry, current, start = json.loads(done.stdout)
    told = "unknown before {} (imported from MLflow (sqlite:///mlflow.db), which keeps no history)"
    assert chart == registry == told.format(intervals[0]["to"])
    assert current == "v1"
    assert start == int((seen - timedelta(days=2)).timestamp() * 1000)  # drawn from its bound
