"""Refused requests to a real `modelrepo serve`, read back with the remote SDK, the CLI over
HTTP and the CLI on the store itself; the token's secret is nowhere in the store."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from modelrepo import Registry
from modelrepo.cli import cli as main

from ..cli.conftest import Run
from ..serving import serve

pytestmark = pytest.mark.sqlite_only


def test_refusals_through_a_real_server_sdk_and_cli(
    store_dir: Path, tmp_path: Path, run: Run
) -> None:
    run("init")
    admin = run("token", "create", "--user", "alice", "--role", "admin", "--json").json["token"]
    viewer = run("token", "create", "--user", "vic", "--role", "viewer", "--json").json
    forged = "mr_abcdefabcdef_" + "Z" * 43
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        deploy = f"{url}/api/v1/models/credit-risk/environments/production/deploy"
        for _ in range(30):
            reply = httpx.post(deploy, headers={"Authorization": f"Bearer {forged}"}, json={})
            assert reply.status_code == 401
        own = {"Authorization": f"Bearer {viewer['token']}"}
        assert httpx.post(deploy, headers=own, json={"version": 1}).status_code == 403
        assert httpx.get(f"{url}/api/v1/audit/denied", headers=own).status_code == 403

        with Registry(url, token=admin) as remote:
            found = remote.audit_denied()
            assert remote.audit_denied(model="credit-risk", limit=1)[0].model == "credit-risk"
        flood = next(d for d in found if d.token_id == "abcdefabcdef")
        assert (flood.count, flood.status, flood.client, flood.user) == (30, 401, "127.0.0.1", None)
        assert flood.route == "/api/v1/models/{name}/environments/{env}/deploy"
        assert {(d.user, d.operation) for d in found if d.user} == {
            ("vic", "deployment.deploy"),
            ("vic", "audit.denied"),
        }

        over_http = CliRunner().invoke(
            main, ["--store", url, "audit", "denied", "--json", "--model", "credit-risk"],
            env={"MODELREPO_TOKEN": admin}, catch_exceptions=False,
        )  # fmt: skip
        assert over_http.exit_code == 0, over_http.output
        assert [d["count"] for d in json.loads(over_http.stdout)["denied"]] == [1, 30]

    local = run("audit", "denied", "--json").json["denied"]
    assert sorted(d["count"] for d in local) == [1, 1, 30]
    human = run("audit", "denied", "--model", "credit-risk").out.splitlines()
    assert len(human) == 2 and "token abcdefabcdef" in human[1] and "x30" in human[1]
    assert "unknown API token" in human[1]
    assert run("audit", "verify").out.strip().endswith("OK")
    for path in store_dir.rglob("*"):
        if path.is_file():
            assert b"Z" * 43 not in path.read_bytes(), path
            assert viewer["token"].encode() not in path.read_bytes(), path
