"""Flavors: how a version's files become something that predicts, without unsafe loading.

A flavor is a name and a loader. `generic` hands back the files; `text-coefficients` scores a
linear or logistic model kept as JSON; `sklearn` loads a skops file with an explicit list of
trusted types; `xgboost`, `lightgbm` and `onnx` load their native formats; `pytorch` loads
safetensors weights into a module the caller passes (or a recorded nn.Module subclass);
`pickle` is refused unless the caller passes `trust_pickle=True` (and that trust is recorded in
the audit log).
Heavy frameworks are optional extras. To add a flavor, register a loader in `LOADERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..domain.errors import InvalidInput


class Predictor(Protocol):
    """What a loaded version offers: outputs for inputs (one record, or a list of records)."""

    def predict(self, inputs: Any) -> Any: ...


Loader = Callable[[Path, "LoadOptions"], Predictor]


class LoadOptions:
    """What the caller allows or brings: pickle (explicitly), extra skops types, and the
    module (or zero-argument factory) that a pytorch version's weights are loaded into."""

    def __init__(
        self,
        *,
        trust_pickle: bool = False,
        trusted_types: tuple[str, ...] = (),
        module: Any = None,
    ) -> None:
        self.trust_pickle = trust_pickle
        self.trusted_types = trusted_types
        self.module = module


def _generic(folder: Path, options: LoadOptions) -> Predictor:
    from .generic import FilesOnly

    return FilesOnly(folder)


def _text_coefficients(folder: Path, options: LoadOptions) -> Predictor:
    from .coefficients import Coefficients

    return Coefficients.load(folder)


def _sklearn(folder: Path, options: LoadOptions) -> Predictor:
    from .sklearn import load_skops

    return load_skops(folder, options.trusted_types)


def _pickle(folder: Path, options: LoadOptions) -> Predictor:
    from .sklearn import load_pickle

    if not options.trust_pickle:
        raise InvalidInput(
            "this version is a pickle, which can run any code when loaded: pass "
            "trust_pickle=True (--trust-pickle) if you trust its origin; the trust is recorded"
        )
    return load_pickle(folder)


def _xgboost(folder: Path, options: LoadOptions) -> Predictor:
    from .tabular import XGBoostModel

    return XGBoostModel(folder)


def _lightgbm(folder: Path, options: LoadOptions) -> Predictor:
    from .tabular import LightGBMModel

    return LightGBMModel(folder)


def _onnx(folder: Path, options: LoadOptions) -> Predictor:
    from .tabular import OnnxModel

    return OnnxModel(folder)


def _pytorch(folder: Path, options: LoadOptions) -> Predictor:
    from .pytorch import TorchModel

    return TorchModel.load(folder, options.module)


LOADERS: dict[str, Loader] = {
    "generic": _generic,
    "text-coefficients": _text_coefficients,
    "sklearn": _sklearn,
    "pickle": _pickle,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "onnx": _onnx,
    "pytorch": _pytorch,
}


def loader_for(flavor: str) -> Loader:
    try:
        return LOADERS[flavor]
    except KeyError:
        raise InvalidInput(
            f"no loader for flavor {flavor!r}: known flavors are {', '.join(sorted(LOADERS))}"
        ) from None
