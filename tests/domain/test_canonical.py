"""Canonical JSON's bytes are pinned: every digest, signature and stored row depends on them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrepo.domain.canonical import (
    canonical_ascii,
    canonical_bytes,
    canonical_text,
    canonical_texts,
)
from modelrepo.verifier import canonical_json as verifier_canonical_json

AWKWARD = [
    (
        {"é": "ü✓", "日本": "語"},
        '{"é":"ü✓","日本":"語"}',
        '{"\\u00e9":"\\u00fc\\u2713","\\u65e5\\u672c":"\\u8a9e"}',
    ),
    ('\n\t\x1f"\\/\u2028', '"\\n\\t\\u001f\\"\\\\/\u2028"', '"\\n\\t\\u001f\\"\\\\/\\u2028"'),
    ("🙂", '"🙂"', '"\\ud83d\\ude42"'),
    (
        [1.0, 0.1, -0.0, 1e20, 1e-7, 2.5e-300, 123456789.125],
        "[1.0,0.1,-0.0,1e+20,1e-07,2.5e-300,123456789.125]",
        None,
    ),
    (
        [10**30, -(2**63), 2**53 + 1, 0],
        "[1000000000000000000000000000000,-9223372036854775808,9007199254740993,0]",
        None,
    ),
    (
        {"b": [1, {"d": 2, "c": [None, True, False]}], "a": {}, "A": [], "_": ""},
        '{"A":[],"_":"","a":{},"b":[1,{"c":[null,true,false],"d":2}]}',
        None,
    ),
    (
        {"z": 1, "é": 2, "e": 3, "~": 4},
        '{"e":3,"z":1,"~":4,"é":2}',
        '{"e":3,"z":1,"~":4,"\\u00e9":2}',
    ),
    ((1, "x"), '[1,"x"]', None),
]


@pytest.mark.parametrize(("value", "text", "ascii"), AWKWARD)
def test_awkward_values_have_pinned_bytes(value: Any, text: str, ascii: str | None) -> None:
    assert canonical_text(value) == text
    assert canonical_texts([value, value]) == [text, text]
    assert canonical_bytes(value) == text.encode("utf-8")
    assert canonical_ascii(value) == (text if ascii is None else ascii)
    assert verifier_canonical_json(value) == text.encode("utf-8")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"x": [float("-inf")]}])
def test_the_utf8_form_refuses_nan_and_infinities(bad: Any) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_text(bad)
    with pytest.raises(ValueError):
        canonical_bytes(bad)


def test_the_webhook_form_writes_nan_as_it_always_has() -> None:
    # Webhook bodies re-encode entries already in the log, which are never refused.
    assert canonical_ascii({"m": float("nan"), "n": float("inf")}) == '{"m":NaN,"n":Infinity}'


def test_what_is_not_json_is_refused() -> None:
    circular: list[Any] = []
    circular.append(circular)
    for bad, error in (({1, 2}, TypeError), (object(), TypeError), (circular, RecursionError)):
        with pytest.raises(error):
            canonical_text(bad)
    with pytest.raises(TypeError):  # mixed key types cannot be sorted
        canonical_text({1: "x", "a": 1})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_the_bytes_are_those_every_earlier_copy_wrote(value: Any) -> None:
    """The expressions the manifest, record, audit, decision and SQL-column digests and the
    webhook bodies were written with before the module existed."""
    utf8 = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_text(value) == utf8
    assert canonical_bytes(value) == utf8.encode()
    assert verifier_canonical_json(value) == utf8.encode()
    assert canonical_ascii(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


numbers = st.integers() | st.floats(allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.text(max_size=6), min_size=1, max_size=4, unique=True),
    st.lists(st.lists(numbers, min_size=4, max_size=4), min_size=32, max_size=64),
    st.sampled_from([None, True, "x", float("nan"), 1.5, 7, "drop", "extra"]),
)
def test_records_of_numbers_are_written_as_the_encoder_writes_them(
    keys: list[str], rows: list[list[Any]], odd: Any
) -> None:
    """A column of records of numbers is written column-wise (see `_number_records`); one odd
    record (another type, NaN, a key missing or added) sends the column back to the encoder,
    with the same text or the same refusal."""
    values: list[Any] = [dict(zip(keys, row, strict=False)) for row in rows]
    last = dict(values[-1])
    if odd == "drop":
        last.pop(keys[0])
    elif odd == "extra":
        last["\x00%extra"] = 1
    else:
        last[keys[0]] = odd
    for column in (values, [*values[:-1], last]):
        try:
            expected: Any = [
                json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False)
                for v in column
            ]  # fmt: skip
        except ValueError as exc:
            expected = str(exc)
        try:
            found: Any = canonical_texts(column)
        except ValueError as exc:
            found = str(exc)
        assert found == expected
