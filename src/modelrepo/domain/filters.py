"""Version filters such as `metrics.auc>=0.8`, `params.C=1.0` or `tags.stage=candidate`."""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput
from .model import ModelVersion

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
_FILTER = re.compile(r"(params|metrics|tags)\.([A-Za-z0-9_][A-Za-z0-9_.:/-]*)(>=|<=|!=|=|>|<)(.*)")


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition on a version's params, metrics or tags."""

    field: str
    key: str
    op: str
    value: Any

    def __str__(self) -> str:
        return f"{self.field}.{self.key}{self.op}{self.value}"

    def matches(self, version: ModelVersion) -> bool:
        source: Any = getattr(version, self.field)
        if self.key not in source:
            return False
        actual = source[self.key]
        try:
            return bool(_OPS[self.op](actual, self.value))
        except TypeError:
            return False


def parse_value(text: str) -> Any:
    """Interpret CLI text as JSON where it parses (numbers, booleans, null), else a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_filter(text: str) -> Filter:
    """Parse `FIELD.KEY OP VALUE` where FIELD is params, metrics or tags."""
    match = _FILTER.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(
            f"invalid filter {text!r}: expected e.g. metrics.auc>=0.8, params.C=1.0 "
            "or tags.stage=candidate"
        )
    field, key, op, raw = match.groups()
    if field == "tags":
        value: Any = raw
    else:
        value = parse_value(raw)
    if field == "metrics" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InvalidInput(f"invalid filter {text!r}: metrics compare with numbers")
    return Filter(field, key, op, value)


def select(versions: Iterable[ModelVersion], filters: Iterable[Filter]) -> list[ModelVersion]:
    """The versions that satisfy every filter."""
    conditions = list(filters)
    return [v for v in versions if all(c.matches(v) for c in conditions)]


def missing_keys(versions: Iterable[ModelVersion], filters: Iterable[Filter]) -> list[str]:
    """Why filters can match nothing: a key no version has (often a typo), with the keys
    there are, e.g. "no version has metric 'acu'; known metrics: auc, f1"."""
    listed = list(versions)
    notes = []
    for condition in filters:
        known = sorted({k for v in listed for k in getattr(v, condition.field)})
        if condition.key not in known:
            kind = condition.field.removesuffix("s")
            notes.append(
                f"no version has {kind} {condition.key!r}; "
                f"known {condition.field}: {', '.join(known) or 'none'}"
            )
    return notes
