"""`register --dvc`: the data DVC recorded (dvc.lock deps, *.dvc outs) becomes the lineage."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..cli.conftest import Run
from .gitrepo import commit, init

# As DVC 3 writes them (the layout of its example-get-started project).
DVC_LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    deps:
    - path: data/data.xml
      hash: md5
      md5: 22a1a2931c8370d3aeedd7183606fd7f
      size: 14445097
    - path: src/prepare.py
      hash: md5
      md5: f09ea0c15980b43010257ccb9f0055e2
      size: 1576
    params:
      params.yaml:
        prepare.seed: 20170428
        prepare.split: 0.2
    outs:
    - path: data/prepared
      hash: md5
      md5: 153aad06d376b6595932470e459ef42a.dir
      size: 8437363
      nfiles: 2
  train:
    cmd: python src/train.py data/prepared model.pkl
    deps:
    - path: data/prepared
      hash: md5
      md5: 153aad06d376b6595932470e459ef42a.dir
      size: 8437363
      nfiles: 2
    - path: src/train.py
      hash: md5
      md5: 3e03a8e6ed7e2ab48b8e8a5d0e6a3ad1
      size: 967
    outs:
    - path: model.pkl
      hash: md5
      md5: 4b0e1b2c0c0ad1c0e7d0b5b5e4f4f0a7
      size: 1832
"""
DATA_XML_DVC = """\
outs:
- md5: 22a1a2931c8370d3aeedd7183606fd7f
  size: 14445097
  hash: md5
  path: data.xml
"""
EXTRA_DVC = """\
outs:
- md5: 9a3b7ec0b2c47f29e1a0d5f0b8d1a2c3
  size: 120
  hash: md5
  path: holdout.csv
"""


@pytest.fixture
def work_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tree = init(tmp_path / "project")
    commit(
        tree,
        {
            "dvc.lock": DVC_LOCK,
            "data/data.xml.dvc": DATA_XML_DVC,
            "eval/holdout.csv.dvc": EXTRA_DVC,
            "model/coefficients.json": "{}\n",
        },
        "pipeline",
        at="2026-01-02T09:00:00Z",
    )
    monkeypatch.chdir(tree / "model")  # anywhere in the work tree
    return tree


def test_register_dvc_records_the_pipeline_data(work_tree: Path, run: Run) -> None:
    doc = run(
        "register", "churn", str(work_tree / "model"), "--dvc", "--no-code", "--json",
        "--data", "s3://bank/extra.parquet#sha256:" + "ab" * 32,
    ).json  # fmt: skip
    assert doc["lineage"]["data"] == [
        {"uri": "s3://bank/extra.parquet", "digest": "sha256:" + "ab" * 32},
        {"uri": "dvc://data/data.xml", "digest": "md5:22a1a2931c8370d3aeedd7183606fd7f"},
        {"uri": "dvc://data/prepared", "digest": "md5dir:153aad06d376b6595932470e459ef42a"},
        {"uri": "dvc://eval/holdout.csv", "digest": "md5:9a3b7ec0b2c47f29e1a0d5f0b8d1a2c3"},
        {"uri": "dvc://src/prepare.py", "digest": "md5:f09ea0c15980b43010257ccb9f0055e2"},
        {"uri": "dvc://src/train.py", "digest": "md5:3e03a8e6ed7e2ab48b8e8a5d0e6a3ad1"},
    ]
    shown = run("show", "churn@1").out
    assert "dvc://data/prepared  md5dir:153aad06d376b6595932470e459ef42a" in shown


def test_register_dvc_without_dvc_files_is_refused(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = init(tmp_path / "plain")
    (tree / "m.json").write_text("{}")
    monkeypatch.chdir(tree)
    result = run("register", "churn", "m.json", "--dvc", "--no-code", ok=False)
    assert result.code == 1
    assert result.err == f"error: --dvc: no dvc.lock or .dvc file in {tree}\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("dvc.lock", "stages: [unclosed", "dvc.lock is not valid YAML"),
        ("x.dvc", "outs:\n- md5: nothex\n  path: x\n", "x.dvc: 'x' has an invalid md5 'nothex'"),
        (
            "x.dvc",
            "outs:\n- md5: 22a1a2931c8370d3aeedd7183606fd7f\n  path: ../../etc/passwd\n",
            "escapes the repository",
        ),
    ],
)
def test_bad_dvc_files_are_refused(
    tmp_path: Path,
    store_dir: Path,
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: str,
    message: str,
) -> None:
    tree = init(tmp_path / "bad")
    (tree / name).write_text(content)
    (tree / "m.json").write_text("{}")
    monkeypatch.chdir(tree)
    result = run("register", "churn", "m.json", "--dvc", "--no-code", ok=False)
    assert result.code == 1
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not store_dir.exists()  # refused before anything was written
