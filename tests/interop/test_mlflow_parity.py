"""MLflow's own `mlflow server` and `modelrepo serve`, asked the same mistakes side by side:
each answers with the same status and `error_code`, but for the deliberate differences
`tests/mlflow_cases.py` lists (and MLflow still answers as that table says)."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from .. import serving
from ..cli.conftest import Run
from ..mlflow_cases import CASES, MV, RM, modelrepo_answer
from ..serving import serve

pytest.importorskip("mlflow")

pytestmark = [pytest.mark.slow]


def mlflow_server(folder: Path) -> AbstractContextManager[str]:
    """MLflow's own server, as installed beside this package."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    mlflow = [sys.executable, "-m", "mlflow"]
    return serving.mlflow_server(folder, mlflow, env, (folder / "artifacts").as_uri())


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
