"""The `text-coefficients` flavor: a linear or logistic model kept as diffable JSON.

`coefficients.json`: {"format": "text-coefficients/1", "features": [names],
"coefficients": {name: weight}, "intercept": number, "link": "logistic" | "identity"
(default logistic), "standardization": {"mean": {name: m}, "scale": {name: s}} (optional)}.
The output is `link(intercept + sum(coef[f] * (x[f] - mean[f]) / scale[f]))`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..domain.errors import InvalidInput

FILE = "coefficients.json"


class Coefficients:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        try:
            self.features = [str(f) for f in doc["features"]]
            self.weights = [float(doc["coefficients"][f]) for f in self.features]
            self.intercept = float(doc["intercept"])
            std = doc.get("standardization") or {}
            self.mean = [float((std.get("mean") or {}).get(f, 0.0)) for f in self.features]
            self.scale = [float((std.get("scale") or {}).get(f, 1.0)) for f in self.features]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{FILE} is not a text-coefficients model: {exc}") from None
        self.link = doc.get("link", "logistic")
        if self.link not in ("logistic", "identity"):
            raise InvalidInput(f"{FILE}: unknown link {self.link!r}")

    @classmethod
    def load(cls, folder: Path) -> Coefficients:
        path = folder / FILE
        if not path.is_file():
            raise InvalidInput(f"a text-coefficients version needs {FILE}")
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise InvalidInput(f"{FILE} is not JSON: {exc}") from None

    def _one(self, record: Mapping[str, Any]) -> float:
        try:
            total = self.intercept + sum(
                w * (float(record[f]) - m) / s
                for f, w, m, s in zip(
                    self.features, self.weights, self.mean, self.scale, strict=True
                )
            )
        except KeyError as exc:
            raise InvalidInput(f"input is missing feature {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"input has a non-numeric feature: {exc}") from None
        if self.link == "identity":
            return total
        return 1.0 / (1.0 + math.exp(-total)) if total > -700 else 0.0

    def predict(self, inputs: Any) -> Any:
        if isinstance(inputs, Mapping):
            return self._one(inputs)
        if isinstance(inputs, list):
            return [self._one(r) for r in inputs]
        raise InvalidInput("inputs must be a record {feature: value} or a list of records")
