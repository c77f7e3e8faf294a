"""Tree and graph models in their native, non-executable formats: XGBoost JSON/UBJ,
LightGBM text, ONNX. Inputs are one row (a list of numbers, or {feature: value} when the
model knows its feature names) or a list of rows; outputs mirror that shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..domain.errors import InvalidInput


def _rows(inputs: Any, features: Sequence[str] | None) -> tuple[list[list[float]], bool]:
    """(rows, whether one row was given)."""
    single = isinstance(inputs, Mapping) or (
        isinstance(inputs, list) and bool(inputs) and not isinstance(inputs[0], (list, Mapping))
    )
    records = [inputs] if single else list(inputs)
    rows = []
    for record in records:
        if isinstance(record, Mapping):
            if not features:
                raise InvalidInput("this model has no feature names: give rows as lists")
            try:
                rows.append([float(record[f]) for f in features])
            except KeyError as exc:
                raise InvalidInput(f"input is missing feature {exc.args[0]!r}") from None
        else:
            rows.append([float(v) for v in record])
    return rows, single


def _need(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidInput(
            f"this flavor needs the '{extra}' extra: pip install 'modelrepo[{extra}]'"
        ) from None


def _one(folder: Path, suffixes: tuple[str, ...]) -> Path:
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)
    if len(found) != 1:
        raise InvalidInput(f"expected exactly one {' or '.join(suffixes)} file, found {len(found)}")
    return found[0]


class XGBoostModel:
    def __init__(self, folder: Path) -> None:
        xgb = _need("xgboost", "xgboost")
        self._xgb = xgb
        self.booster = xgb.Booster()
        self.booster.load_model(str(_one(folder, (".json", ".ubj"))))

    def predict(self, inputs: Any) -> Any:
        import numpy as np

        rows, single = _rows(inputs, self.booster.feature_names)
        matrix = self._xgb.DMatrix(np.asarray(rows), feature_names=self.booster.feature_names)
        out = [float(v) for v in np.ravel(self.booster.predict(matrix))]
        return out[0] if single else out


class LightGBMModel:
    def __init__(self, folder: Path) -> None:
        lgb = _need("lightgbm", "lightgbm")
        self.booster = lgb.Booster(model_file=str(_one(folder, (".txt",))))

    def predict(self, inputs: Any) -> Any:
        import numpy as np

        rows, single = _rows(inputs, self.booster.feature_name())
        out = [float(v) for v in np.ravel(self.booster.predict(np.asarray(rows)))]
        return out[0] if single else out


class OnnxModel:
    """The model's last output (for a converted classifier: the class probabilities)."""

    def __init__(self, folder: Path) -> None:
        ort = _need("onnxruntime", "onnx")
        self.session = ort.InferenceSession(
            str(_one(folder, (".onnx",))), providers=["CPUExecutionProvider"]
        )

    def predict(self, inputs: Any) -> Any:
        import numpy as np

        rows, single = _rows(inputs, None)
        feed = {self.session.get_inputs()[0].name: np.asarray(rows, dtype=np.float32)}
        last = self.session.run(None, feed)[-1]
        out = np.asarray(last).tolist()
        return out[0] if single else out
