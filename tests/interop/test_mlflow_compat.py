"""The stock MLflow client, call by call, against a real `mlflow server` and against
`modelrepo serve`: every difference must be one tests/interop/mlflow_differences.toml lists,
with why, and every listed difference must still occur.

The client and `mlflow server` come from the pinned side environment `.compat-venv`
(tests/interop/mlflow-compat.txt, built by `make compat-venv`, which `make test` runs).
The run's results go to tests/interop/mlflow_compat_results.json, from which
scripts/mlflow_compat_table.py writes the table of docs/interop.md.
It also fails on a difference still marked `TODO` (`MODELREPO_COMPAT_STRICT=0` lets those
pass while a change is in progress).
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from .. import serving
from ..cli.conftest import Run
from ..serving import serve

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("MODELREPO_COMPAT_VENV", ROOT / ".compat-venv"))
SCENARIO = Path(__file__).with_name("mlflow_scenario.py")
TABLE = runpy.run_path(str(ROOT / "scripts" / "mlflow_compat_table.py"))


def _clean_environment() -> dict[str, str]:
    """This process's environment without MLflow settings that would redirect the client."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}


def mlflow_server(folder: Path) -> AbstractContextManager[str]:
    """The pinned `mlflow server` (SQLite store, artifacts in a local folder)."""
    mlflow = [str(VENV / "bin" / "mlflow")]
    return serving.mlflow_server(folder, mlflow, _clean_environment(), str(folder / "artifacts"))


def _scenario(uri: str, work: Path, token: str | None = None) -> subprocess.Popen[str]:
    env = _clean_environment()
    if token is not None:
        env["MLFLOW_TRACKING_TOKEN"] = token
    with open(work.with_suffix(".log"), "wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [str(VENV / "bin" / "python"), str(SCENARIO), "--uri", uri, "--work", str(work)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=work.parent,
        )


def _document(process: subprocess.Popen[str], work: Path) -> dict[str, Any]:
    try:
        out, _ = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, work.with_suffix(".log").read_text()
    document: dict[str, Any] = json.loads(out)
    return document


@pytest.mark.slow
def test_the_mlflow_client_finds_only_the_listed_differences(
    run: Run, store_dir: Path, tmp_path: Path
) -> None:
    if not (VENV / "bin" / "mlflow").exists():
        pytest.fail(f"no MLflow side environment at {VENV}: run `make compat-venv`")
    run("init")
    admin = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json
    for name in ("mlflow", "modelrepo"):
        (tmp_path / name).mkdir()
    # The scenario logs runs to a local store when the server serves no tracking; the server
    # may fetch version files from there.
    mlruns = tmp_path / "modelrepo" / "work" / "mlruns"
    mlruns.mkdir(parents=True)
    sources = ["--mlflow-source", mlruns.as_uri()]
    with (
        mlflow_server(tmp_path / "mlflow") as reference,
        serve(["--store", str(store_dir)], {}, tmp_path / "serve.log", sources) as (ours, _),
    ):
        theirs = _scenario(reference, tmp_path / "mlflow" / "work")
        mine = _scenario(ours, tmp_path / "modelrepo" / "work", admin["token"])
        results = {
            "mlflow": _document(theirs, tmp_path / "mlflow" / "work"),
            "modelrepo": _document(mine, tmp_path / "modelrepo" / "work"),
        }
    # Whatever the MLflow client did, the store's evidence is intact.
    run("audit", "verify")
    assert results["mlflow"]["tracking_served"], "the reference run logged no runs to MLflow"
    failed = [
        step
        for step in results["mlflow"]["steps"]
        if step["step"].startswith(("create model version ", "download ", "register_model "))
        and "missing" not in step["step"]
        and "result" not in step
    ]
    assert not failed, f"the reference run could not create or download versions: {failed}"

    current = TABLE["dump_results"](results)
    if not TABLE["RESULTS"].exists() or TABLE["RESULTS"].read_text() != current:
        TABLE["RESULTS"].write_text(current)
    strict = os.environ.get("MODELREPO_COMPAT_STRICT", "1") != "0"
    problems = TABLE["compare"](results, TABLE["load_differences"](), strict)
    assert not problems, "\n".join(problems)
    doc = TABLE["DOC"].read_text()
    assert TABLE["generated"](doc) == TABLE["render"](results, TABLE["load_differences"]()), (
        "the table in docs/interop.md is stale: run python scripts/mlflow_compat_table.py --write"
    )


def _steps(*outcomes: tuple[str, Any]) -> dict[str, Any]:
    return {"steps": [{"step": name, "result": result} for name, result in outcomes]}


def test_the_comparison_fails_on_unlisted_stale_unknown_and_strict_todo_differences() -> None:
    compare = TABLE["compare"]
    results = {
        "mlflow": _steps(("a", 1), ("b", 2), ("c", 3)),
        "modelrepo": _steps(("a", 1), ("b", 20), ("c", 30)),
    }
    listed = {"b": "deliberate: why", "c": "TODO: fix it"}
    assert compare(results, listed, False) == []
    strict = compare(results, listed, True)
    assert len(strict) == 1 and "'c' still differs (TODO: fix it)" in strict[0]
    unlisted = compare(results, {"b": "why"}, False)
    assert len(unlisted) == 1 and "step 'c' differs and is not listed" in unlisted[0]
    assert '"result": 30' in unlisted[0] and '"result": 3' in unlisted[0]
    stale = compare(results, {**listed, "a": "why"}, False)
    assert stale == ["step 'a' no longer differs: remove it from mlflow_differences.toml"]
    unknown = compare(results, {**listed, "z": "why"}, False)
    assert unknown == ["mlflow_differences.toml lists 'z', which is no step of the scenario"]
    shifted = {**results, "modelrepo": _steps(("a", 1), ("c", 30), ("b", 20))}
    assert compare(shifted, listed, False) == ["the two runs did not run the same steps"]


def test_the_differences_file_needs_a_step_and_a_why_once_each(tmp_path: Path) -> None:
    load = TABLE["load_differences"]
    path = tmp_path / "differences.toml"
    path.write_text('[[difference]]\nstep = "a"\nwhy = "because"\n')
    assert load(path) == {"a": "because"}
    path.write_text('[[difference]]\nstep = "a"\n')
    with pytest.raises(ValueError, match="needs a step and a why"):
        load(path)
    path.write_text(
        '[[difference]]\nstep = "a"\nwhy = "x"\n[[difference]]\nstep = "a"\nwhy = "y"\n'
    )
    with pytest.raises(ValueError, match="listed twice"):
        load(path)
