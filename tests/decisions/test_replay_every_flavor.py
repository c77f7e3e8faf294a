"""Every decision the registry can make can be replayed: a real model of each common kind is
registered (with the types it needs trusted, recorded with the version), deployed, makes a
decision through `load_live`, and `modelrepo decision replay ID` re-runs it with exit 0 and no
trust retyped; a decision recorded with a wrong output still fails."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrepo import InvalidInput, Registry

from ..cli.conftest import Run

TREE = "sklearn.tree._tree.Tree"


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 3))
    return x, (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype(int)


ROWS = [[0.3, -1.2, 0.8], [1.5, 0.2, -0.4]]


def _wrong(output: Any) -> Any:
    """The same shape, one number moved well beyond the tolerance."""
    if isinstance(output, dict):
        first = next(iter(output))
        return {**output, first: _wrong(output[first])}
    if isinstance(output, list):
        return [_wrong(output[0]), *output[1:]]
    return float(output) + 0.25


def _replays(
    run: Run,
    store: Path,
    name: str,
    folder: Path,
    flavor: str,
    inputs: Any,
    *register: str,
    check: Callable[[Any], None] | None = None,
) -> Any:
    """Register through the CLI, deploy, decide through `load_live`, replay through the CLI;
    a wrong recorded output fails. Returns the output the live handle gave."""
    run("register", name, str(folder), "--flavor", flavor, "--no-code", *register)
    run("deploy", f"{name}@1", "--env", "production", "--reason", "first")
    with Registry(store, user="svc") as reg:
        handle = reg.load_live(name, env="production")
        output = handle.predict(inputs, decision_id=f"{name}-live")
        handle.close()
        if check is not None:
            check(output)
        reg.log_decision(
            name, environment="production", inputs=inputs, output=_wrong(output),
            decision_id=f"{name}-wrong",
        )  # fmt: skip
    done = run("decision", "replay", f"{name}-live", "--json")
    assert done.json["match"] is True and done.json["max_abs_diff"] == 0.0, done.json
    assert done.json["recorded"] == done.json["replayed"]
    wrong = run("decision", "replay", f"{name}-wrong", ok=False)
    assert wrong.code == 1 and "does not match the recorded output" in wrong.err
    return output


def _skops(model: Any, folder: Path) -> Path:
    import skops.io as sio

    folder.mkdir()
    sio.dump(model, folder / "model.skops")
    return folder


def test_linear_model_through_skops(run: Run, store_dir: Path, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    output = _replays(run, store_dir, "linear", _skops(model, tmp_path / "lr"), "sklearn", ROWS)
    assert output == pytest.approx(model.predict_proba(np.asarray(ROWS))[:, 1].tolist())


def test_random_forest_with_its_tree_type_trusted_at_registration(
    run: Run, store_dir: Path, tmp_path: Path
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    x, y = _data()
    forest = RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0).fit(x, y)
    folder = _skops(forest, tmp_path / "rf")
    output = _replays(run, store_dir, "forest", folder, "sklearn", ROWS, "--trust", TREE)
    assert output == pytest.approx(forest.predict_proba(np.asarray(ROWS))[:, 1].tolist())
    shown = run("decision", "show", "forest-live", "--json").json
    assert shown["version"] == 1
    assert run("show", "forest@1", "--json").json["trusted_types"] == [TREE]
    described = run("show", "forest@1").out
    assert f"trusts      {TREE}" in described
    assert f"alice: trusted {TREE} (trusted at registration)" in described
    with Registry(store_dir, user="svc") as reg:
        trusted = [(e.kind, e.key, e.actor, e.reason) for e in reg.events("forest", 1)]
        assert trusted == [("trusted", TREE, "alice", "trusted at registration")]
        assert reg.audit_verify().ok


def test_random_forest_trusted_by_a_later_grant(run: Run, store_dir: Path, tmp_path: Path) -> None:
    """The issue's case: a forest registered without trust cannot load; one audited grant
    later, every load and replay uses the record, with nothing retyped."""
    from sklearn.ensemble import RandomForestClassifier

    x, y = _data()
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=1).fit(x, y)
    run("register", "forest", str(_skops(forest, tmp_path / "rf")), "--flavor", "sklearn",
        "--no-code")  # fmt: skip
    with Registry(store_dir, user="svc") as reg:
        with pytest.raises(InvalidInput, match=f"not trusted: {TREE}.*modelrepo trust"):
            reg.load("forest", 1)
        # A caller may still add a type for one load; nothing is recorded by it.
        assert reg.load("forest", 1, trusted_types=[TREE]).predict(ROWS[0], log=False) > 0
        assert reg.events("forest", 1) == []
    refused = run("trust", "forest@1", TREE, ok=False)
    assert refused.code != 0 and "--reason" in refused.err
    bad = run("trust", "forest@1", "not a type", "--reason", "x", ok=False)
    assert bad.code == 1 and "invalid trusted type 'not a type'" in bad.err
    granted = run("trust", "forest@1", TREE, "--reason", "validated by model risk", "--json")
    assert granted.json == {"model": "forest", "version": 1, "trusted_types": [TREE]}
    again = run("trust", "forest@1", TREE, "--reason", "again", "--json", user="bob")
    assert again.json["trusted_types"] == [TREE]
    run("deploy", "forest@1", "--env", "production")
    with Registry(store_dir, user="svc") as reg:
        handle = reg.load_live("forest", env="production")
        handle.predict(ROWS, decision_id="f-1")
        handle.close()
        grants = [e for e in reg.audit_log() if e["kind"] == "version.trusted"]
        assert [(g["actor"], g["change"]) for g in grants] == [
            (
                "alice",
                {
                    "model": "forest",
                    "version": 1,
                    "types": [TREE],
                    "reason": "validated by model risk",
                },
            ),
        ]  # fmt: skip: the repeated grant trusted nothing new, so recorded nothing
    assert run("decision", "replay", "f-1", "--json").json["match"] is True
    page = tmp_path / "f-1.html"
    report = run("report", "decision", "f-1", "--out", str(page), "--json").json
    assert [(t["type"], t["by"], t["reason"]) for t in report["trusted_types"]] == [
        (TREE, "alice", "validated by model risk")
    ]
    assert [t["type"] for t in report["timeline"]["versions"][0]["trusted_types"]] == [TREE]
    assert f"<code>{TREE}</code> by alice" in page.read_text()


def test_neural_network_through_skops(run: Run, store_dir: Path, tmp_path: Path) -> None:
    from sklearn.neural_network import MLPClassifier

    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it has not converged in so few steps: no matter
        net = MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(x, y)
    adam = "sklearn.neural_network._stochastic_optimizers.AdamOptimizer"
    folder = _skops(net, tmp_path / "mlp")
    _replays(run, store_dir, "mlp", folder, "sklearn", ROWS, "--trust", adam)


def test_pytorch_network(run: Run, store_dir: Path, tmp_path: Path) -> None:
    from .test_flavors import _direct, _tiny

    net = _tiny(3, tmp_path / "pt")
    output = _replays(run, store_dir, "torch", tmp_path / "pt", "pytorch", ROWS)
    assert output == pytest.approx(_direct(net, ROWS))


@pytest.mark.parametrize("zipmap", [True, False], ids=["zipmap", "no-zipmap"])
def test_onnx_classifier(run: Run, store_dir: Path, tmp_path: Path, zipmap: bool) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    options = {} if zipmap else {"zipmap": False}  # skl2onnx's default has ZipMap
    onx = to_onnx(model, x[:1].astype(np.float32), options=options)
    folder = tmp_path / "onnx"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(onx.SerializeToString())
    expected = model.predict_proba(np.asarray(ROWS[:1]))[0]

    def check(output: Any) -> None:
        if zipmap:  # {0: p0, 1: p1}: integer keys, recorded as text
            assert set(output) == {0, 1}
            assert [output[0], output[1]] == pytest.approx(expected.tolist(), abs=1e-5)
        else:
            assert output == pytest.approx(expected.tolist(), abs=1e-5)

    _replays(run, store_dir, "onnx", folder, "onnx", ROWS[0], check=check)
    recorded = run("decision", "show", "onnx-live", "--json").json["output"]
    if zipmap:
        assert sorted(recorded) == ["0", "1"]
    else:
        assert isinstance(recorded, list) and len(recorded) == 2


@pytest.mark.parametrize("suffix", ["json", "ubj"])
def test_xgboost(run: Run, store_dir: Path, tmp_path: Path, suffix: str) -> None:
    import xgboost as xgb

    x, y = _data()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2},
                        xgb.DMatrix(x, label=y), num_boost_round=4)  # fmt: skip
    folder = tmp_path / "xgb"
    folder.mkdir()
    booster.save_model(str(folder / f"model.{suffix}"))
    output = _replays(run, store_dir, "xgb", folder, "xgboost", ROWS)
    assert output == pytest.approx(booster.predict(xgb.DMatrix(np.asarray(ROWS))).tolist())


def test_lightgbm(run: Run, store_dir: Path, tmp_path: Path) -> None:
    import lightgbm as lgb

    x, y = _data()
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4,
                         "min_data_in_leaf": 5}, lgb.Dataset(x, label=y),
                        num_boost_round=4)  # fmt: skip
    folder = tmp_path / "lgb"
    folder.mkdir()
    booster.save_model(str(folder / "model.txt"))
    _replays(run, store_dir, "lgb", folder, "lightgbm", ROWS)
