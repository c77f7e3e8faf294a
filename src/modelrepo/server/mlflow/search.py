"""MLflow's search filter syntax (`name LIKE 'fraud-%' AND tags.team = 'risk'`) as a
predicate over a flat record; pure, no I/O.

Supported: comparisons joined by AND; `=`, `!=`, `<`, `<=`, `>`, `>=`, `LIKE`, `ILIKE`,
`IN (...)`, `NOT IN (...)`; quoted strings, numbers, backquoted keys (``tags.`my key` ``).
OR and parentheses are not MLflow syntax either and are refused.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...domain import wildcards
from ...domain.errors import InvalidInput

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<paren>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:`[^`]+`|[A-Za-z0-9_][A-Za-z0-9_.:/-]*))?)
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison: `field` is an attribute name or `tags.<key>`. A LIKE pattern is
    compiled once, to a matcher that cannot backtrack (`domain.wildcards`)."""

    field: str
    op: str
    value: Any
    _like: wildcards.Wildcard | None = dataclasses.field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.op in ("LIKE", "ILIKE"):
            matcher = wildcards.like(str(self.value), ignore_case=self.op == "ILIKE")
            object.__setattr__(self, "_like", matcher)

    def matches(self, record: Mapping[str, Any]) -> bool:
        if self.field.startswith("tags."):
            actual = record.get("tags", {}).get(self.field[5:])
        else:
            actual = record.get(self.field)
        if actual is None:  # an absent tag equals nothing (MLflow's prompt filter needs this)
            return self.op in ("!=", "<>", "NOT IN")
        if self.op in ("IN", "NOT IN"):
            return (actual in self.value) == (self.op == "IN")
        if self._like is not None:
            return self._like.matches(str(actual))
        try:
            return bool(_COMPARE[self.op](actual, self.value))
        except TypeError:
            return False


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidInput(f"invalid filter {text!r}: cannot read {text[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        found.append((kind, match[kind]))
        position = match.end()
    return found


def parse(text: str | None, fields: Mapping[str, type]) -> list[Condition]:
    """The conditions of a filter; `fields` names the attributes that may be compared and
    their type (`str` or `int`); `tags.<key>` is always allowed."""
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    conditions: list[Condition] = []
    i = 0

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise InvalidInput(f"invalid filter {text!r}: it ends too early")
        i += 1
        return tokens[i - 1]

    while True:
        kind, word = take()
        if kind != "word":
            raise InvalidInput(f"invalid filter {text!r}: expected a field, got {word!r}")
        field, kind_of = _field(word, fields, text)
        kind, op = take()
        if kind == "word" and op.upper() == "NOT":
            kind, follow = take()
            op = "NOT " + follow
        op = op.upper() if kind == "word" else op
        if op in ("IN", "NOT IN"):
            if take() != ("paren", "("):
                raise InvalidInput(f"invalid filter {text!r}: IN needs a (list)")
            values = []
            while True:
                values.append(_value(take(), kind_of, text))
                separator = take()
                if separator == ("paren", ")"):
                    break
                if separator != ("paren", ","):
                    raise InvalidInput(f"invalid filter {text!r}: expected , or ) in a list")
            conditions.append(Condition(field, op, tuple(values)))
        elif op in ("LIKE", "ILIKE") or op in _COMPARE:
            if op in ("LIKE", "ILIKE") and kind_of is not str:
                raise InvalidInput(f"invalid filter {text!r}: {op} compares strings")
            conditions.append(Condition(field, op, _value(take(), kind_of, text)))
        else:
            raise InvalidInput(f"invalid filter {text!r}: unknown comparison {op!r}")
        if i == len(tokens):
            return conditions
        kind, word = take()
        if kind != "word" or word.upper() != "AND":
            raise InvalidInput(f"invalid filter {text!r}: conditions are joined with AND")


def _field(word: str, fields: Mapping[str, type], text: str) -> tuple[str, type]:
    prefix, dot, key = word.partition(".")
    if dot and prefix.lower() in ("tags", "tag"):
        return "tags." + key.strip("`"), str
    name = key if dot and prefix.lower() in ("attributes", "attribute", "attr") else word
    if name not in fields:
        known = ", ".join([*fields, "tags.<key>"])
        raise InvalidInput(f"invalid filter {text!r}: cannot search by {word!r} (use {known})")
    return name, fields[name]


def _value(token: tuple[str, str], kind_of: type, text: str) -> Any:
    kind, raw = token
    if kind == "string":
        value: Any = _unquote(raw)
    elif kind == "number":
        value = raw
    else:
        raise InvalidInput(f"invalid filter {text!r}: expected a value, got {raw!r}")
    if kind_of is int:
        try:
            return int(value)
        except ValueError:
            raise InvalidInput(f"invalid filter {text!r}: {raw} is not a number") from None
    if kind == "number":
        raise InvalidInput(f"invalid filter {text!r}: quote the string {raw}")
    return value


def select(records: list[dict[str, Any]], conditions: list[Condition]) -> list[dict[str, Any]]:
    return [r for r in records if all(c.matches(r) for c in conditions)]
