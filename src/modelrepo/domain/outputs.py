"""The one canonical form of a model's output: what a decision records, and what a replay
compares.

Frameworks return outputs whose Python value differs from their JSON text: an ONNX
classifier's ZipMap gives `{0: p0, 1: p1}` (integer keys), NumPy gives scalars and arrays,
code returns tuples. A decision's output is therefore put in its JSON form once, when it is
recorded, and a replay puts the re-run output in the same form before comparing, so an
output always equals its own record:

- a mapping's keys are text; integer keys (Python or NumPy, never `bool`) become their
  decimal text (`0` -> `"0"`); two keys that would read the same are refused;
- tuples become lists; NumPy (or any array-like with `tolist()`, such as a PyTorch tensor)
  scalars and arrays become Python numbers, booleans and lists;
- NaN and infinities are refused, with where they were found: JSON has no number for them,
  and a decision the registry cannot write down exactly is not recorded at all (return
  `None` or a label for "no score" instead);
- text, integers, finite floats, booleans and `None` are kept; anything else (a set, a
  date, an object) is refused, naming its type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import chain
from typing import Any

from .errors import InvalidInput

_SCALARS = (str, int, bool, type(None))


def canonical_output(value: Any, what: str = "output") -> Any:
    """`value` in its canonical JSON form (see the module), or InvalidInput naming where in
    `what` it cannot be written as JSON."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise InvalidInput(f"{what} is {value!r}, which JSON cannot hold: {_FINITE}")
    return _normal(value, what, 0)


def canonical_outputs(values: list[Any], what: str = "output") -> list[Any]:
    """`canonical_output` of each value. A column already in canonical form (the usual one:
    numbers, or objects or lists of numbers and text) is checked with a few passes in C and
    returned as it is; only a column that needs changing is walked value by value."""
    if _already_plain(values):
        return values
    return [
        v if _plain(v) else canonical_output(v, f"{what} {n + 1}") for n, v in enumerate(values)
    ]


def _plain(value: Any) -> bool:
    """Whether `value` is its own canonical form (checked without building anything)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all([type(k) is str and _plain(v) for k, v in value.items()])
    if kind is list:
        return all(map(_plain, value))
    return False


def _already_plain(values: list[Any]) -> bool:
    """Whether every value is a plain scalar, or every value a dict (text keys) or every value
    a list, of plain scalars, finite floats only: then each is its own canonical form."""
    kinds = set(map(type, values))
    if kinds <= _PLAIN:
        return _finite(values, kinds)
    if kinds == {dict}:
        if not set(map(type, chain.from_iterable(values))) <= {str}:
            return False
        values = list(chain.from_iterable(map(dict.values, values)))
    elif kinds == {list}:
        values = list(chain.from_iterable(values))
    else:
        return False
    kinds = set(map(type, values))
    return kinds <= _PLAIN and _finite(values, kinds)


def _finite(values: list[Any], kinds: set[type]) -> bool:
    if float not in kinds:
        return True
    return all(map(math.isfinite, values if kinds == {float} else _floats(values)))


def _floats(values: list[Any]) -> list[float]:
    return [v for v in values if type(v) is float]


_PLAIN = frozenset({str, int, bool, float, type(None)})
_FINITE = "record a finite number, or None for no score"
_DEPTH = 200


def _normal(value: Any, where: str, depth: int) -> Any:
    if depth > _DEPTH:
        raise InvalidInput(f"{where} is nested more than {_DEPTH} levels deep")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value if type(value) in _SCALARS else _builtin(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidInput(f"{where} is {number!r}, which JSON cannot hold: {_FINITE}")
        return number
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            text = _key(key, where)
            if text in out:
                raise InvalidInput(f"{where} has two keys that both read {text!r} as JSON")
            out[text] = _normal(item, f"{where}[{text!r}]", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_normal(item, f"{where}[{n}]", depth + 1) for n, item in enumerate(value)]
    convert = getattr(value, "tolist", None)  # NumPy scalars and arrays, tensors, Series
    if callable(convert) and not isinstance(value, type):
        try:
            plain = convert()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InvalidInput(f"{where} ({type(value).__name__}) cannot be read: {exc}") from None
        if type(plain) is type(value):
            raise InvalidInput(f"{where} is a {type(value).__name__}, which is not JSON")
        return _normal(plain, where, depth + 1)
    raise InvalidInput(
        f"{where} is a {type(value).__name__}, which is not JSON: return numbers, text, "
        "booleans, None, lists or mappings"
    )


def _builtin(value: Any) -> Any:
    """A subclass of str, bool or None's type as the plain value (an enum of text, say)."""
    return str(value) if isinstance(value, str) else bool(value)


def _key(key: Any, where: str) -> str:
    if isinstance(key, str):
        return str(key)
    if not isinstance(key, bool):
        if isinstance(key, int):
            return str(int(key))
        index = getattr(key, "__index__", None)  # NumPy integers
        if callable(index) and not isinstance(key, float):
            number = index()
            if isinstance(number, int):
                return str(number)
    raise InvalidInput(
        f"{where} has the key {key!r} ({type(key).__name__}): keys must be text or integers"
    )


def compare(recorded: Any, replayed: Any, tolerance: float) -> tuple[bool, float]:
    """Whether a replayed output (put in canonical form here) equals the recorded one, with
    numbers within `tolerance` (absolute or relative); returns (match, largest difference).

    A recorded output that is an object with a `prediction` key, beside a replayed output that
    is not an object, is compared on that key, so applications can wrap the model's output in
    their own record."""
    replayed = canonical_output(replayed, "the replayed output")
    if (
        isinstance(recorded, Mapping)
        and "prediction" in recorded
        and not isinstance(replayed, Mapping)
    ):
        recorded = recorded["prediction"]
    worst = 0.0

    def same(a: Any, b: Any) -> bool:
        nonlocal worst
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            diff = abs(float(a) - float(b))
            worst = max(worst, diff)
            return math.isclose(float(a), float(b), rel_tol=tolerance, abs_tol=tolerance)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all([same(x, y) for x, y in zip(a, b, strict=True)])
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            return a.keys() == b.keys() and all([same(a[k], b[k]) for k in a])
        return bool(a == b) and type(a) is type(b)

    return same(recorded, replayed), worst
