"""`modelrepo token ...` and `modelrepo serve`, including a real server process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..cli.conftest import Run
from ..serving import serve


def test_token_create_list_revoke(run: Run) -> None:
    run("init")
    created = run(
        "token", "create", "--user", "bob@bank.example", "--role", "deployer",
        "--model", "fraud-*", "--json",
    ).json  # fmt: skip
    assert created["token"].startswith("mr_" + created["token_id"] + "_")
    assert (created["role"], created["model_pattern"], created["created_by"]) == (
        "deployer",
        "fraud-*",
        "alice",
    )
    human = run("token", "create", "--user", "carol", "--role", "viewer")
    assert human.out.strip().startswith("mr_") and "not shown again" in human.err
    listed = run("token", "list", "--json").json
    assert [t["user"] for t in listed] == ["bob@bank.example", "carol"]
    assert all("token" not in t for t in listed)
    assert created["token"] not in run("token", "list").out
    run("token", "revoke", created["token_id"], user="root")
    assert [t["user"] for t in run("token", "list", "--active", "--json").json] == ["carol"]
    again = run("token", "revoke", created["token_id"], ok=False)
    assert again.code == 1 and "already revoked" in again.err
    bad = run("token", "create", "--user", "x", "--role", "boss", ok=False)
    assert bad.code == 2
    log = run("audit", "log", "--json").json["entries"]
    assert [(e["kind"], e["actor"]) for e in log if e["kind"].startswith("token.")] == [
        ("token.created", "alice"),
        ("token.created", "alice"),
        ("token.revoked", "root"),
    ]


def test_serve_refuses_no_auth_off_loopback_and_a_store_without_tokens(run: Run) -> None:
    run("init")
    refused = run("serve", "--host", "0.0.0.0", "--no-auth", ok=False)
    assert refused.code == 1 and "loopback" in refused.err
    no_token = run("serve", "--port", "1", ok=False)
    assert no_token.code == 1 and "modelrepo token create" in no_token.err
    for source in ("s3://models/mlflow", "file:///no/such/folder"):
        bad = run("serve", "--port", "1", "--mlflow-source", source, ok=False)
        assert bad.code == 1 and f"MLflow source {source!r}" in bad.err


def test_a_real_server_answers_health_and_an_authenticated_request(
    store_dir: Path, tmp_path: Path, run: Run
) -> None:
    run("init")
    secret = run("token", "create", "--user", "ops", "--role", "viewer", "--json").json["token"]
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (base, _):
        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.json() == {"status": "ok"}
        assert httpx.get(f"{base}/api/v1/models").status_code == 401
        reply = httpx.get(f"{base}/api/v1/models", headers={"Authorization": f"Bearer {secret}"})
        assert reply.status_code == 200 and reply.json() == {"items": [], "next_cursor": None}


def test_the_cli_does_not_import_the_server() -> None:
    probe = (
        "import sys, modelrepo, modelrepo.cli\n"
        "assert not {'fastapi', 'uvicorn', 'pydantic'} & set(sys.modules), 'server imported'\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_serve_checks_its_source_prefixes_before_starting(run: Run) -> None:
    run("init")
    run("token", "create", "--user", "ops", "--role", "admin")
    for prefix in ("http://ci.example/artifacts/", "https://ci.example/../", "file:///srv/"):
        refused = run("serve", "--port", "1", "--allow-source", prefix, ok=False)
        assert refused.code == 1 and refused.err.startswith("error: --allow-source"), refused.err


def test_the_server_settings_reach_each_worker(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    """`serve` hands its options to the workers through the environment."""
    from modelrepo.server.app import from_environment

    run("init")
    monkeypatch.setenv("MODELREPO_STORE", str(store_dir))
    monkeypatch.setenv("MODELREPO_SERVER_TRUST_PICKLE", "1")
    monkeypatch.setenv("MODELREPO_SERVER_ALLOW_SOURCE", "s3://inbox/a/\nhttps://ci.example/b/")
    app = from_environment()
    assert app.state.trust_pickle
    assert app.state.sources.check("s3://inbox/a/v.tar").uri == "s3://inbox/a/v.tar"
    assert app.state.sources.check("https://ci.example/b/c").host == "ci.example"
    monkeypatch.setenv("MODELREPO_SERVER_TRUST_PICKLE", "")
    monkeypatch.setenv("MODELREPO_SERVER_ALLOW_SOURCE", "")
    plain = from_environment()
    assert not plain.state.trust_pickle and plain.state.sources.prefixes == ()
    app.state.registry.close()
    plain.state.registry.close()


def test_serve_checks_its_body_limits(run: Run) -> None:
    from modelrepo.cli.server import byte_size

    run("init")
    for value, why in [("0", "outside 1KiB..1PiB"), ("12XB", "not a size"), ("2PiB", "outside"),
                       ("-5MiB", "not a size"), ("1023", "outside")]:  # fmt: skip
        refused = run("serve", "--import-limit", value, ok=False)
        assert refused.code == 2 and why in refused.err, refused
    sizes = {"65536": 65536, "64KiB": 65536, "1.5 GiB": 3 << 29, "64MB": 64_000_000, "1kib": 1024}
    for text, size in sizes.items():
        assert byte_size(None, None, text) == size  # type: ignore[arg-type]


def test_serve_hands_its_public_url_to_the_workers(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    """--public-url (or $MODELREPO_PUBLIC_URL), by default the address bound: the base of
    every absolute URL the workers hand out."""
    import os

    from modelrepo.cli import server as server_cli
    from modelrepo.server.app import from_environment

    run("init")
    run("token", "create", "--user", "ops", "--role", "admin")
    started: list[str] = []
    monkeypatch.setattr(
        server_cli, "run_server", lambda *_: started.append(os.environ["MODELREPO_PUBLIC_URL"])
    )
    monkeypatch.delenv("MODELREPO_PUBLIC_URL", raising=False)
    given = run("serve", "--port", "9000", "--public-url", "https://models.bank.example/", "--json")
    assert given.json["public_url"] == "https://models.bank.example"
    assert given.json["ui_url"] == "https://models.bank.example/ui/"
    assert given.json["api_url"] == "https://models.bank.example/api/v1"
    told = run("serve", "--port", "9000", "--public-url", "https://models.bank.example/").out
    assert "serving on http://127.0.0.1:9000 (tokens)" in told
    site = "https://models.bank.example"
    assert f"API: {site}/api/v1 (docs: {site}/docs)" in told
    assert "web UI: https://models.bank.example/ui/" in told
    monkeypatch.delenv("MODELREPO_PUBLIC_URL")  # what `serve` set for its workers
    run("serve", "--host", "::1", "--port", "9001")
    monkeypatch.setenv("MODELREPO_PUBLIC_URL", "https://env.example")
    run("serve", "--port", "9002")
    assert started == [
        "https://models.bank.example", "https://models.bank.example", "http://[::1]:9001",
        "https://env.example",
    ]  # fmt: skip
    refused = run("serve", "--public-url", "ftp://models.example", ok=False)
    assert refused.code == 1 and "public URL" in refused.err
    monkeypatch.setenv("MODELREPO_STORE", str(store_dir))
    app = from_environment()
    assert app.state.public_url == "https://env.example"
    app.state.registry.close()
