"""The SDK and the CLI against a real `modelrepo serve` process on a free port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from modelrepo import Registry
from modelrepo.remote import RemoteRegistry

from ..cli.conftest import MODELREPO, Run
from ..serving import serve

pytestmark = pytest.mark.sqlite_only


def test_sdk_and_cli_through_a_real_server(
    store_dir: Path, tmp_path: Path, run: Run, artifact: Path
) -> None:
    run("init")
    # Minted on the server's host by an operator: a token alice minted for bob would make him
    # no second pair of eyes on her requests.
    mint = ("token", "create", "--role", "admin", "--json")
    alice = run(*mint, "--user", "alice", user="ops").json["token"]
    bob = run(*mint, "--user", "bob", user="ops").json["token"]
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        with Registry(url, token=alice) as reg, Registry(url, token=bob) as second:
            assert isinstance(reg, RemoteRegistry) and reg.user == "alice"
            created = reg.register("credit-risk", artifact, metrics={"auc": 0.9}, code=False)
            reg.protect("credit-risk", env="production")
            asked = reg.deploy("credit-risk", 1, env="production")
            assert asked.request is not None
            second.approve(asked.request.request_id)
            live = reg.live("credit-risk", env="production")
            assert [v.digest for v in live.versions] == [created.digest]
            out = reg.download("credit-risk", 1, tmp_path / "copy")
            assert (out / "features.csv").read_bytes() == (artifact / "features.csv").read_bytes()

        env = {**os.environ, "MODELREPO_TOKEN": alice}

        def cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                [MODELREPO, "--store", url, *args], capture_output=True, text=True, env=env
            )
            assert (done.returncode == 0) == ok, done
            return done

        listed = cli("versions", "credit-risk", "--json")
        assert '"created_by": "alice"' in listed.stdout
        cli("tag", "credit-risk@1", "stage=champion")
        shown = cli("live", "credit-risk", "--env", "production", "--json")
        assert '"approved_by": "bob"' in shown.stdout
        assert "stage=champion" in cli("show", "credit-risk@1").stdout
        missing = cli("show", "credit-risk@9", ok=False)
        assert "not found" in missing.stderr

        # Commands that need the store's own machinery run on the server.
        score = tmp_path / "score"
        score.mkdir()
        (score / "coefficients.json").write_text(
            '{"features": ["x"], "coefficients": {"x": 1.0}, "intercept": 0.0}'
        )
        cli("register", "score", str(score), "--flavor", "text-coefficients", "--no-code")
        with Registry(url, token=alice, cache_dir=tmp_path / "cache") as reg:
            reg.load("score", 1).predict({"x": 0.0}, decision_id="d-1")
        replayed = cli("decision", "replay", "d-1")
        assert replayed.stdout.startswith("MATCH: score@1")
        viewer = run("token", "create", "--user", "vic", "--role", "viewer", "--json").json
        as_viewer = {**env, "MODELREPO_TOKEN": viewer["token"]}
        refused = subprocess.run(
            [MODELREPO, "--store", url, "delete", "score@1", "--reason", "withdrawn"],
            capture_output=True,
            text=True,
            env=as_viewer,
        )
        assert refused.returncode != 0 and refused.stderr.count("\n") == 1
        assert refused.stderr.startswith("error: role viewer may not delete")
        kept = cli("delete", "credit-risk@1", "--reason", "withdrawn", ok=False)
        assert "can never be deleted" in kept.stderr
        deleted = cli("delete", "score@1", "--reason", "withdrawn", "--json")
        assert '"deleted_by": "alice"' in deleted.stdout
        assert "Removed 1 blobs" in cli("gc").stdout  # its coefficients are no longer needed
        assert "OK" in cli("fsck").stdout


def test_a_client_that_hangs_up_mid_upload_leaves_nothing(store_dir: Path, tmp_path: Path) -> None:
    import socket
    import time

    with Registry(store_dir, user="ops") as reg:
        _, token = reg.create_token("ops", "admin")
    staging = store_dir / "blobs" / "tmp"
    with serve(["--store", str(store_dir)], {}, tmp_path / "server.log") as (url, _):
        port = int(url.rsplit(":", 1)[1])
        head = b'--x\r\nContent-Disposition: form-data; name="files"; filename="w.bin"\r\n\r\n'
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(
                b"POST /api/v1/models/cut/versions HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: Bearer {token}\r\n".encode()
                + b"Content-Type: multipart/form-data; boundary=x\r\n"
                + f"Content-Length: {64 << 20}\r\n\r\n".encode()
                + head
            )
            for _ in range(12):  # 12 MiB of 64: the file is being written when the client goes
                conn.sendall(os.urandom(1 << 20))
            deadline = time.monotonic() + 30
            while not any(staging.iterdir()):
                assert time.monotonic() < deadline, "nothing was staged"
                time.sleep(0.05)
        deadline = time.monotonic() + 30
        while any(staging.iterdir()):  # the staged file goes once the server sees the hang-up
            assert time.monotonic() < deadline, list(staging.iterdir())
            time.sleep(0.05)
        with Registry(url, token=token) as remote:
            assert remote.models() == []
    with Registry(store_dir, user="ops") as reg:
        assert list(reg.backend.blobs.list()) == [] and reg.audit_verify().ok
