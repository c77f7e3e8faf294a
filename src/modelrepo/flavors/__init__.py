"""Flavors: how a version's files become something that predicts, without unsafe loading.

A flavor is a name and a loader. `generic` hands back the files; `text-coefficients` scores a
linear or logistic model kept as JSON; `sklearn` loads a skops file with an explicit list of
trusted types (those recorded with the version, see `domain.trust`, and any the caller
adds); `xgboost`, `lightgbm` and `onnx` load their native formats; `pytorch` loads
safetensors weights into a module the caller passes (or a recorded nn.Module subclass);
`pickle` is refused unless the caller passes `trust_pickle=True` (and that trust is recorded in
the audit log).
`mlflow` (versions made through the MLflow API) hands back the files as `generic` does.
Heavy frameworks are optional extras. To add a flavor, add a `Flavor` to `FLAVORS`: its loader,
and the check that a version's file names hold what that loader needs (run when a version is
registered, so a typo or a folder without the model is refused before it is recorded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple, Protocol

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


def _anything(paths: Sequence[str]) -> str | None:
    return None


def _exactly_one(*suffixes: str) -> Callable[[Sequence[str]], str | None]:
    """The loader takes the one file with one of these suffixes, anywhere in the version."""

    def check(paths: Sequence[str]) -> str | None:
        found = [p for p in paths if PurePosixPath(p).suffix in suffixes]
        if len(found) == 1:
            return None
        listed = f" ({', '.join(sorted(found)[:5])})" if found else ""
        return f"needs exactly one {' or '.join(suffixes)} file, found {len(found)}{listed}"

    return check


def _all_of(*names: str) -> Callable[[Sequence[str]], str | None]:
    """The loader reads these files at the top of the version."""

    def check(paths: Sequence[str]) -> str | None:
        missing = [n for n in names if n not in paths]
        return f"needs {' and '.join(missing)} at the top of its files" if missing else None

    return check


class Flavor(NamedTuple):
    """A flavor: how its versions load, what its files must hold to be loadable, and whether
    its loader reads the types trusted for the version (`LoadOptions.trusted_types`)."""

    load: Loader
    check: Callable[[Sequence[str]], str | None]
    trusts: bool = False


FLAVORS: dict[str, Flavor] = {
    "generic": Flavor(_generic, _anything),
    "text-coefficients": Flavor(_text_coefficients, _all_of("coefficients.json")),
    "sklearn": Flavor(_sklearn, _exactly_one(".skops"), trusts=True),
    "pickle": Flavor(_pickle, _exactly_one(".pkl")),
    "xgboost": Flavor(_xgboost, _exactly_one(".json", ".ubj")),
    "lightgbm": Flavor(_lightgbm, _exactly_one(".txt")),
    "onnx": Flavor(_onnx, _exactly_one(".onnx")),
    "pytorch": Flavor(_pytorch, _all_of("pytorch.json", "model.safetensors")),
    "mlflow": Flavor(_generic, _anything),
}
LOADERS: dict[str, Loader] = {name: flavor.load for name, flavor in FLAVORS.items()}


def _known(flavor: str) -> Flavor:
    try:
        return FLAVORS[flavor]
    except KeyError:
        raise InvalidInput(
            f"unknown flavor {flavor!r}: known flavors are {', '.join(sorted(FLAVORS))}"
        ) from None


def check_files(flavor: str, paths: Sequence[str]) -> None:
    """Refuse a new version whose flavor is unknown or whose files its loader cannot load:
    a flavor is recorded for ever, so a typo or a folder without the model is caught here."""
    problem = _known(flavor).check(paths)
    if problem:
        raise InvalidInput(
            f"a {flavor} version {problem}; register it as "
            "flavor 'generic' to keep the files without a loader"
        )


def loader_for(flavor: str) -> Loader:
    return _known(flavor).load


def reads_trust(flavor: str) -> bool:
    """Whether loading a version of `flavor` needs the types trusted for it."""
    return _known(flavor).trusts
