"""Every flavor round trip: register -> load -> predict (logged) -> replay matches."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelrepo import InvalidInput, Registry

from ..cli.conftest import Run

COEFFICIENTS = {
    "format": "text-coefficients/1",
    "features": ["income", "debt_ratio"],
    "coefficients": {"income": -0.8, "debt_ratio": 1.2},
    "intercept": -1.5,
    "standardization": {"mean": {"income": 50.0, "debt_ratio": 0.3},
                        "scale": {"income": 20.0, "debt_ratio": 0.1}},
}  # fmt: skip


def coefficients_artifact(folder: Path, intercept: float = -1.5) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "coefficients.json").write_text(json.dumps({**COEFFICIENTS, "intercept": intercept}))
    return folder


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "store", user="svc")


def test_text_coefficients_round_trip(reg: Registry, tmp_path: Path) -> None:
    reg.register("score", coefficients_artifact(tmp_path / "a"), flavor="text-coefficients",
                 code=False)  # fmt: skip
    handle = reg.load("score", 1)
    applicant = {"income": 30.0, "debt_ratio": 0.5}
    p = handle.predict(applicant, decision_id="d-1")
    expected = 1 / (1 + np.exp(-(-1.5 + -0.8 * (30 - 50) / 20 + 1.2 * (0.5 - 0.3) / 0.1)))
    assert p == pytest.approx(expected)
    assert handle.predict([applicant, applicant], log=False) == [p, p]
    result = reg.replay("d-1")
    assert result["match"] and result["version"] == 1
    with pytest.raises(InvalidInput, match="missing feature 'debt_ratio'"):
        handle.predict({"income": 1.0})


def test_decisions_across_a_switch_carry_the_version_that_made_them(
    reg: Registry, tmp_path: Path
) -> None:
    for i, intercept in enumerate((-1.5, 0.5)):
        reg.register("score", coefficients_artifact(tmp_path / f"v{i}", intercept),
                     flavor="text-coefficients", code=False)  # fmt: skip
    reg.deploy("score", 1, env="production")
    old = reg.load_live("score", env="production")
    reg.deploy("score", 2, env="production")
    new = reg.load_live("score", env="production")
    applicant = {"income": 40.0, "debt_ratio": 0.2}
    old.predict(applicant, decision_id="from-old")  # a pod that never restarted
    new.predict(applicant, decision_id="from-new")
    assert reg.decision("from-old")["version"] == 1
    assert reg.decision("from-old")["flags"] == ["not_live"]  # v2 was live by then
    assert reg.decision("from-new")["version"] == 2
    assert reg.decision("from-new")["matches_history"]
    assert reg.replay("from-old")["match"] and reg.replay("from-new")["match"]


def test_generic_gives_files_but_does_not_predict(reg: Registry, tmp_path: Path) -> None:
    folder = tmp_path / "g"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00\x01")
    reg.register("g", folder, code=False)
    handle = reg.load("g", 1)
    assert (handle.path / "weights.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(InvalidInput, match="no loader"):
        handle.predict([1])


def _fitted() -> LogisticRegression:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    return LogisticRegression().fit(x, y)


def test_pickle_is_refused_without_explicit_trust(reg: Registry, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(_fitted()))
    reg.register("pickled", folder, flavor="pickle", code=False)
    with pytest.raises(InvalidInput, match="trust_pickle=True"):
        reg.load("pickled", 1)
    assert not [e for e in reg.audit_log() if e["kind"] == "model.pickle_trusted"]
    handle = reg.load("pickled", 1, trust_pickle=True)
    handle.predict([0.1, 0.2, 0.3], decision_id="pk")
    trusted = [e for e in reg.audit_log() if e["kind"] == "model.pickle_trusted"]
    assert [(e["actor"], e["change"]["version"]) for e in trusted] == [("svc", 1)]
    with pytest.raises(InvalidInput, match="trust_pickle"):
        reg.replay("pk")
    assert reg.replay("pk", trust_pickle=True)["match"]


def test_sklearn_through_skops(reg: Registry, tmp_path: Path) -> None:
    import skops.io as sio

    folder = tmp_path / "s"
    folder.mkdir()
    sio.dump(_fitted(), folder / "model.skops")
    reg.register("sk", folder, flavor="sklearn", code=False)
    handle = reg.load("sk", 1)
    p = handle.predict([[0.5, -0.2, 0.1], [-1.0, 0.0, 0.3]], decision_id="sk-1")
    assert len(p) == 2 and all(0 <= v <= 1 for v in p)
    assert reg.replay("sk-1")["match"]


def test_replay_refusals_and_mismatch(run: Run, tmp_path: Path) -> None:
    run("register", "score", str(coefficients_artifact(tmp_path / "a")), "--flavor",
        "text-coefficients", "--no-code")  # fmt: skip
    with Registry(tmp_path / "store", user="svc") as reg:
        reg.log_decision(
            "score",
            version=1,
            inputs={"income": 50.0, "debt_ratio": 0.3},
            output={"prediction": 0.5, "refused": True},
            decision_id="wrong",
        )
        reg.set_decision_inputs("score", "digest")
        reg.load("score", 1).predict({"income": 1.0, "debt_ratio": 0.1}, decision_id="private")
    result = run("decision", "replay", "wrong", "--json", ok=False)
    assert result.code == 1
    assert result.json["match"] is False
    assert result.json["replayed"] == pytest.approx(1 / (1 + np.exp(1.5)))
    assert "does not match" in result.err
    refused = run("decision", "replay", "private", ok=False)
    assert "only a digest" in refused.err


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(300, 3))
    return x, (x[:, 0] - x[:, 2] > 0).astype(int)


def _round_trip(reg: Registry, folder: Path, flavor: str, rows: list[list[float]]) -> None:
    reg.register(flavor, folder, flavor=flavor, code=False)
    handle = reg.load(flavor, 1)
    one = handle.predict(rows[0], decision_id=f"{flavor}-1")
    many = handle.predict(rows, decision_id=f"{flavor}-2")
    assert isinstance(many, list) and len(many) == len(rows)
    assert many[0] == pytest.approx(one)
    assert reg.replay(f"{flavor}-1")["match"] and reg.replay(f"{flavor}-2")["match"]


def test_xgboost_native_json(reg: Registry, tmp_path: Path) -> None:
    import xgboost as xgb

    x, y = _data()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2},
                        xgb.DMatrix(x, label=y, feature_names=["a", "b", "c"]),
                        num_boost_round=5)  # fmt: skip
    folder = tmp_path / "xgb"
    folder.mkdir()
    booster.save_model(str(folder / "model.json"))
    _round_trip(reg, folder, "xgboost", x[:4].tolist())
    by_name = reg.load("xgboost", 1).predict({"a": 1.0, "b": 0.0, "c": -1.0}, log=False)
    assert 0.5 < by_name <= 1


def test_lightgbm_native_text(reg: Registry, tmp_path: Path) -> None:
    import lightgbm as lgb

    x, y = _data()
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
                        lgb.Dataset(x, label=y), num_boost_round=5)  # fmt: skip
    folder = tmp_path / "lgb"
    folder.mkdir()
    booster.save_model(str(folder / "model.txt"))
    _round_trip(reg, folder, "lightgbm", x[:4].tolist())


def test_onnx(reg: Registry, tmp_path: Path) -> None:
    from skl2onnx import to_onnx

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    onx = to_onnx(model, x[:1].astype(np.float32), options={"zipmap": False})
    folder = tmp_path / "onnx"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(onx.SerializeToString())
    _round_trip(reg, folder, "onnx", x[:4].tolist())
    probabilities = reg.load("onnx", 1).predict(x[0].tolist(), log=False)
    assert probabilities == pytest.approx(model.predict_proba(x[:1])[0].tolist(), abs=1e-5)


def _tiny(seed: int, folder: Path) -> Any:
    """A TinyNet with weights drawn from `seed`, saved into `folder`; returns the module."""
    import torch

    from modelrepo.flavors.pytorch import save

    from .torch_nets import TinyNet

    torch.manual_seed(seed)
    net = TinyNet(features=3, hidden=4).eval()
    save(net, folder, kwargs={"features": 3, "hidden": 4}, features=["a", "b", "c"])
    return net


def _direct(net: Any, rows: list[list[float]]) -> list[float]:
    import torch

    with torch.inference_mode():
        return [float(v) for v in net(torch.tensor(rows, dtype=torch.float32))[:, 0]]


ROWS = [[0.5, -1.0, 2.0], [0.0, 0.1, -0.3], [3.0, 2.0, 1.0]]


def test_pytorch_round_trip_through_safetensors(reg: Registry, run: Run, tmp_path: Path) -> None:
    from safetensors import safe_open

    net = _tiny(1, tmp_path / "pt")
    files = sorted(p.name for p in (tmp_path / "pt").iterdir())
    assert files == ["model.safetensors", "pytorch.json"]  # no .pt, .pth or .pkl
    for path in (tmp_path / "pt").iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"
    with safe_open(str(tmp_path / "pt" / "model.safetensors"), framework="pt") as weights:
        assert set(weights.keys()) == set(net.state_dict())
    described = json.loads((tmp_path / "pt" / "pytorch.json").read_text())
    assert described["module"] == "tests.decisions.torch_nets:TinyNet"
    assert described["kwargs"] == {"features": 3, "hidden": 4}
    assert described["dtype"] == "float32"

    reg.register("pt", tmp_path / "pt", flavor="pytorch", code=False)
    handle = reg.load("pt", 1)  # built from the recorded nn.Module subclass
    expected = _direct(net, ROWS)
    one = handle.predict(ROWS[0], decision_id="pt-1")
    many = handle.predict(ROWS, decision_id="pt-2")
    assert one == expected[0] and many == expected
    by_name = handle.predict({"a": 0.5, "b": -1.0, "c": 2.0}, decision_id="pt-3")
    assert by_name == expected[0]
    assert handle.predict(np.asarray(ROWS), log=False) == expected
    for decision_id in ("pt-1", "pt-2", "pt-3"):
        replayed = run("decision", "replay", decision_id, "--json")
        assert replayed.json["match"] is True and replayed.json["version"] == 1
    assert "MATCH: pt@1" in run("decision", "replay", "pt-1").out

    from .torch_nets import TinyNet

    given = reg.load("pt", 1, module=TinyNet(features=3, hidden=4))  # an instance
    assert given.predict(ROWS, log=False) == expected
    factory = reg.load("pt", 1, module=lambda: TinyNet(features=3, hidden=4))
    assert factory.predict(ROWS, log=False) == expected
    assert reg.replay("pt-2", module=TinyNet)["match"]
    with pytest.raises(InvalidInput, match="do not fit TinyNet"):
        reg.load("pt", 1, module=TinyNet(features=3, hidden=5))
    with pytest.raises(InvalidInput, match="shape"):
        handle.predict([1.0, 2.0], log=False)


def test_pytorch_replay_with_different_weights_is_a_mismatch(
    reg: Registry, run: Run, tmp_path: Path
) -> None:
    _tiny(1, tmp_path / "v1")
    other = _tiny(2, tmp_path / "v2")  # same architecture, different weights
    reg.register("pt", tmp_path / "v1", flavor="pytorch", code=False)
    reg.register("pt", tmp_path / "v2", flavor="pytorch", code=False)
    claimed = _direct(other, ROWS[:1])[0]
    assert reg.load("pt", 2).predict(ROWS[0], log=False) == claimed
    # Recorded as version 1, but computed with version 2's weight file.
    reg.log_decision("pt", version=1, inputs=ROWS[0], output=claimed, decision_id="swapped")
    result = run("decision", "replay", "swapped", "--json", ok=False)
    assert result.code == 1
    assert result.json["match"] is False and result.json["max_abs_diff"] > 1e-6
    assert "does not match" in result.err


def test_pytorch_two_outputs_per_row(reg: Registry, run: Run, tmp_path: Path) -> None:
    import torch

    from modelrepo.flavors.pytorch import save

    from .torch_nets import TwoScores

    torch.manual_seed(3)
    net = TwoScores().double()
    save(net, tmp_path / "two")
    assert json.loads((tmp_path / "two" / "pytorch.json").read_text())["dtype"] == "float64"
    reg.register("two", tmp_path / "two", flavor="pytorch", code=False)
    out = reg.load("two", 1).predict([[1.0, 2.0], [0.5, -0.5]], decision_id="two-1")
    with torch.inference_mode():
        expected = net(torch.tensor([[1.0, 2.0], [0.5, -0.5]], dtype=torch.float64)).tolist()
    assert out == expected  # float64 weights stay float64: no rounding through float32
    assert run("decision", "replay", "two-1", "--json").json["match"] is True
    with pytest.raises(InvalidInput, match="cannot run on these inputs"):
        reg.load("two", 1).predict([1.0, 2.0, 3.0], log=False)


@pytest.mark.parametrize(
    ("recorded", "refusal"),
    [
        ("tests.decisions.torch_nets:NotAModule", "not a subclass of torch.nn.Module"),
        ("os:system", "not a subclass of torch.nn.Module"),
        ("builtins:object.__subclasses__", "not a class name"),
        ("__main__:TinyNet", "not a class name"),
        ("os.system('true')", "names no importable module class"),
        (None, "pass module="),
        ("tests.decisions.no_such_module:Net", "cannot import"),
    ],
)
def test_pytorch_recorded_class_must_be_a_module(
    reg: Registry, tmp_path: Path, recorded: str | None, refusal: str
) -> None:
    from .torch_nets import NotAModule

    folder = tmp_path / "pt"
    _tiny(1, folder)
    described = json.loads((folder / "pytorch.json").read_text())
    (folder / "pytorch.json").write_text(json.dumps({**described, "module": recorded}))
    reg.register("pt", folder, flavor="pytorch", code=False)
    with pytest.raises(InvalidInput, match=refusal):
        reg.load("pt", 1)
    assert NotAModule.built == 0


def test_core_and_other_flavors_do_not_import_torch(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "import modelrepo, modelrepo.cli, modelrepo.flavors.pytorch\n"
        "from modelrepo import Registry\n"
        f"reg = Registry({str(tmp_path / 'store')!r}, user='svc')\n"
        f"reg.register('score', {str(coefficients_artifact(tmp_path / 'a'))!r},\n"
        "             flavor='text-coefficients', code=False)\n"
        "reg.load('score', 1).predict({'income': 1.0, 'debt_ratio': 0.1}, decision_id='d')\n"
        "reg.replay('d')\n"
        "loaded = sorted(m for m in ('torch', 'safetensors') if m in sys.modules)\n"
        "assert not loaded, f'imported {loaded}'\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_pytorch_class_that_cannot_be_imported_needs_module(reg: Registry, tmp_path: Path) -> None:
    import torch
    from torch import nn

    from modelrepo.flavors.pytorch import save

    class Local(nn.Module):  # made in a function: not importable by name
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x)

    save(Local(), tmp_path / "local")
    assert json.loads((tmp_path / "local" / "pytorch.json").read_text())["module"] is None
    reg.register("local", tmp_path / "local", flavor="pytorch", code=False)
    with pytest.raises(InvalidInput, match="pass module="):
        reg.load("local", 1)
    assert isinstance(reg.load("local", 1, module=Local).predict([1.0, 2.0], log=False), float)
