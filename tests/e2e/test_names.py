"""Names as MLflow has them (`Credit Risk`, `CreditRisk`, `risk@v2 (EU)`, `modèle-crédit`),
through every interface: the embedded SDK (SQLite and PostgreSQL), the CLI, HTTP, the remote
SDK and the UI's calls against a real `modelrepo serve`; hostile names are refused."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from modelrepo import InvalidInput, NotFound, Registry
from modelrepo.gitexport import export_git, export_tree

from ..cli.conftest import Run
from ..serving import serve

NAMES = ["Credit Risk", "CreditRisk", "risk@v2 (EU)", "modèle-crédit"]
HOSTILE = ["../x", "a\x00b", "x" * 257, "a/b", "a:b", " ", "..", "rtl\u202eexe.gpj"]


def ui_path(name: str) -> str:
    """A name in a URL as the web UI puts it (JavaScript's encodeURIComponent)."""
    return quote(name, safe="-_.!~*'()")


def test_the_sdk_keeps_each_name_as_given(registry: Registry, artifact: Path) -> None:
    for name in NAMES:
        assert registry.register(name, artifact).ref == f"{name}@1"
        registry.deploy(name, 1, env="production")
        registry.deploy(name, 1, env="Champion")  # an MLflow alias, case kept
    assert [m.name for m in registry.models()] == sorted(NAMES)
    for name in NAMES:
        assert registry.get(name, 1).model == name
        assert registry.live(name, env="production").versions[0].version == 1
        assert registry.resolve(f"{name}@1") == (name, 1)
        assert registry.resolve(f"{name}@Champion") == (name, 1)
        assert registry.history(name, env="Champion")[0].model == name
    with pytest.raises(NotFound):
        registry.model("creditrisk")  # case-sensitive, as MLflow
    registry.register("creditrisk", artifact)
    assert registry.model("creditrisk").name != registry.model("CreditRisk").name
    for name in HOSTILE:
        with pytest.raises(InvalidInput, match="invalid model name"):
            registry.register(name, artifact)
    report = registry.audit_verify()
    assert report.ok, report.problems


def test_the_git_export_gives_every_name_its_own_safe_folder(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    for name in [*NAMES, "creditrisk", "credit-risk"]:
        registry.register(name, artifact)
    tree = export_tree(registry)
    folders = {path.split("/")[1] for path in tree if path.startswith("models/")}
    assert len({f.lower() for f in folders}) == 6  # distinct even ignoring case
    assert "credit-risk" in folders and "creditrisk" in folders
    assert all(f.isascii() and "/" not in f and f not in (".", "..") for f in folders)
    names = {json.loads(tree[f"models/{f}/model.json"])["model"] for f in folders}
    assert names == {*NAMES, "creditrisk", "credit-risk"}
    result = export_git(registry, tmp_path / "export")
    assert result.commit is not None
    assert export_git(registry, tmp_path / "export").commit is None  # nothing changed


def test_the_command_line_takes_quoted_names(
    run: Run, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("init")
    for name in NAMES:
        assert run("register", name, str(artifact), "--json").json["model"] == name
        run("deploy", f"{name}@1", "--env", "production")
        live = run("live", name, "--env", "production", "--json").json
        assert [v["version"] for v in live["versions"]] == [1]
        assert run("show", f"{name}@1", "--json").json["model"] == name
        assert run("show", f"{name}@production", "--json").json["version"] == 1
        run("tag", name, "owner=risk")  # a bare name, even with an '@' in it
        assert run("model", name, "--json").json["tags"] == {"owner": "risk"}
        run("tag", f"{name}@1", "validated=yes")
        assert run("show", f"{name}@1", "--json").json["tags"]["validated"] == "yes"
    listed = [m["model"] for m in run("models", "--json").json["models"]]
    assert listed == sorted(NAMES)
    monkeypatch.chdir(tmp_path)
    for name in ("Credit Risk", "risk@v2 (EU)"):
        assert run("report", "model", name, "--json").json["model"] == name
    reports = sorted(p.name for p in tmp_path.glob("*-report.html"))
    assert [r.split("~")[0] for r in reports] == ["credit-risk", "risk-v2-eu"]
    for name in HOSTILE[:3]:
        refused = run("register", name, str(artifact), ok=False)
        assert refused.code != 0
        assert refused.err.count("\n") == 1 and "invalid model name" in refused.err


def test_http_the_remote_sdk_and_the_ui_against_a_real_server(
    run: Run, store_dir: Path, tmp_path: Path, artifact: Path
) -> None:
    run("init")
    token = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    scoped = run(
        "token", "create", "--user", "risk", "--role", "viewer", "--model", "Credit *", "--json"
    ).json["token"]
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (base, _):
        with Registry(base, token=token) as remote:
            for name in NAMES:
                assert remote.register(name, artifact).model == name
                assert remote.deploy(name, 1, env="production").status == "live"
                assert remote.live(name, env="production").versions[0].version == 1
                assert remote.resolve(f"{name}@production") == (name, 1)
                assert remote.model(name).name == name
                remote.tag_model(name, "owner", "risk")
            assert sorted(m.name for m in remote.models()) == sorted(NAMES)
            for name in HOSTILE:
                with pytest.raises(InvalidInput):
                    remote.model(name)

        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for name in NAMES:
                model = f"/api/v1/models/{quote(name, safe='')}"
                assert http.get(model).json()["model"] == name
                # every call the UI's model page makes, encoded as the UI encodes names
                page = f"/api/v1/models/{ui_path(name)}"
                for path, params in [
                    (page, {}),
                    (f"{page}/versions", {"include_deleted": "true"}),
                    (f"{page}/timeline", {}),
                    (f"{page}/environments", {}),
                    (f"{page}/environments/production/live", {}),
                    (f"{page}/history", {}),
                    (f"{page}/diff", {"a": 1, "b": 1}),
                    (f"{page}/decisions", {}),
                    (f"{page}/report", {}),
                    ("/api/v1/audit/log", {"subject": f"model:{name}"}),
                ]:
                    reply = http.get(path, params=params)
                    assert reply.status_code == 200, (path, reply.text)
                assert http.get(f"/api/v1/resolve/{quote(name + '@1', safe='')}").json() == {
                    "model": name,
                    "version": 1,
                }
            assert http.get("/ui/").status_code == 200
            mine = {"Authorization": f"Bearer {scoped}"}
            assert http.get("/api/v1/models/Credit%20Risk", headers=mine).status_code == 200
            assert http.get("/api/v1/models/CreditRisk", headers=mine).status_code == 404
            listed = http.get("/api/v1/models", headers=mine).json()["items"]
            assert [m["model"] for m in listed] == ["Credit Risk"]
            for name in ["a%00b", "x" * 257, "rtl%E2%80%AEexe", "%20", ".."]:
                reply = http.get(f"/api/v1/models/{name}")
                assert 400 <= reply.status_code < 500, (name, reply.text)
                if reply.status_code == 422:
                    message = reply.json()["message"]
                    assert "invalid model name" in message or "at most 256" in message
            traversal = http.get("/api/v1/models/..%2Fx/versions")
            assert 400 <= traversal.status_code < 500
            assert store_dir.joinpath("x").exists() is False
