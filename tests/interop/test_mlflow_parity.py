"""MLflow's own `mlflow server` and `modelrepo serve`, asked the same mistakes side by side:
each answers with the same status and `error_code`, but for the deliberate differences
`tests/mlflow_cases.py` lists (and MLflow still answers as that table says)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from modelrepo.testing.s3server import free_port

from ..cli.conftest import Run
from ..mlflow_cases import CASES, MV, RM, modelrepo_answer
from ..serving import serve

pytest.importorskip("mlflow")

pytestmark = [pytest.mark.slow]


@contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """A real `mlflow server` on a free loopback port, SQLite-backed, in `folder`."""
    port = free_port()
    log = open(folder / "mlflow.log", "wb")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", (folder / "artifacts").as_uri()],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder,
        env={**os.environ, "MLFLOW_TRACKING_URI": ""},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (folder / "mlflow.log").read_text()
            assert time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_both_servers_answer_each_mistake_alike(run: Run, store_dir: Path, tmp_path: Path) -> None:
    run("init")
    token = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json["token"]
    model = tmp_path / "artifacts-root" / "model"
    model.mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "mlflow").mkdir()
    sources = ["--mlflow-source", (tmp_path / "artifacts-root").as_uri()]
    bearer = {"Authorization": f"Bearer {token}"}
    with (
        mlflow_server(tmp_path / "mlflow") as reference,
        serve(["--store", str(store_dir)], {}, tmp_path / "log", sources) as (ours, _),
        httpx.Client(base_url=reference, timeout=30) as theirs_client,
        httpx.Client(base_url=ours, timeout=30, headers=bearer) as ours_client,
    ):
        # The same registry on both: `probe` with version 1, the model created first.
        for client in (theirs_client, ours_client):
            assert client.post(f"{RM}/create", json={"name": "probe"}).is_success
        made = theirs_client.post(f"{MV}/create", json={"name": "probe", "source": "s3://b/m"})
        assert made.is_success, made.text
        made = ours_client.post(f"{MV}/create", json={"name": "probe", "source": model.as_uri()})
        assert made.is_success, made.text

        differences = []
        for case in CASES:
            theirs, mine = case.send(theirs_client.request), case.send(ours_client.request)
            assert theirs == (case.status, case.code), f"MLflow changed: {case.mistake}"
            if mine != modelrepo_answer(case):
                differences.append((case.mistake, theirs, mine))
        assert differences == []
