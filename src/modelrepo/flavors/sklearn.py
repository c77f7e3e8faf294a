"""scikit-learn models: skops files with an explicit trusted-type list; pickle only on trust."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..domain.errors import InvalidInput


class _Estimator:
    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, inputs: Any) -> Any:
        import numpy as np

        rows = (
            inputs
            if isinstance(inputs, list) and inputs and isinstance(inputs[0], list)
            else [inputs]
        )
        if hasattr(self.model, "predict_proba"):
            out = self.model.predict_proba(np.asarray(rows, dtype=float))[:, -1]
        else:
            out = self.model.predict(np.asarray(rows, dtype=float))
        values = [float(v) for v in out]
        return values if rows is inputs else values[0]


def _one_file(folder: Path, suffix: str) -> Path:
    found = sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file())
    if len(found) != 1:
        raise InvalidInput(f"expected exactly one {suffix} file, found {len(found)}")
    return found[0]


def load_skops(folder: Path, trusted_types: tuple[str, ...]) -> _Estimator:
    """Load a skops file; any type outside skops' defaults must be listed explicitly."""
    try:
        import skops.io as sio
    except ImportError:
        raise InvalidInput("the sklearn flavor needs the 'sklearn' extra: pip install "
                           "'modelrepo[sklearn]'") from None  # fmt: skip
    path = _one_file(folder, ".skops")
    untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in trusted_types]
    if untrusted:
        raise InvalidInput(
            f"{path.name} contains types that are not trusted: {', '.join(untrusted)}; if you "
            "trust them, record it with the version (modelrepo trust NAME@N TYPE... --reason "
            "WHY, or trusted_types when registering), so every load and replay uses it"
        )
    return _Estimator(sio.load(path, trusted=list(trusted_types) or None))


def load_pickle(folder: Path) -> _Estimator:
    import pickle

    path = _one_file(folder, ".pkl")
    with open(path, "rb") as handle:
        return _Estimator(pickle.load(handle))  # noqa: S301 - only after explicit trust
