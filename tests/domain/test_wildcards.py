"""Wildcard patterns: the same answers as the regular expressions they replace, in bounded
time on the patterns that made those expressions backtrack."""

from __future__ import annotations

import fnmatch
import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from modelrepo.domain import wildcards
from modelrepo.domain.access import in_scope
from modelrepo.server.mlflow.search import parse, select


def _like_regex(pattern: str) -> str:
    """The former translation of LIKE: the reference for what a pattern means."""
    return "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)


TEXT = st.text(alphabet="abAB%_\n", max_size=10)
PATTERN = st.text(alphabet="abAB%_\n", max_size=8)


@settings(max_examples=600, deadline=None)
@given(pattern=PATTERN, text=TEXT)
def test_like_means_what_the_regular_expression_meant(pattern: str, text: str) -> None:
    expected = re.fullmatch(_like_regex(pattern), text, re.DOTALL) is not None
    assert wildcards.like(pattern).matches(text) == expected


@settings(max_examples=400, deadline=None)
@given(pattern=PATTERN, text=TEXT)
def test_ilike_ignores_case_as_the_regular_expression_did(pattern: str, text: str) -> None:
    flags = re.DOTALL | re.IGNORECASE
    expected = re.fullmatch(_like_regex(pattern), text, flags) is not None
    assert wildcards.like(pattern, ignore_case=True).matches(text) == expected


GLOB = st.text(alphabet="ab.-*?[]!", max_size=9)
NAME = st.text(alphabet="ab.-[]!", max_size=8)


@settings(max_examples=800, deadline=None)
@given(pattern=GLOB, name=NAME)
def test_globs_mean_what_fnmatch_means(pattern: str, name: str) -> None:
    assert wildcards.glob(pattern).matches(name) == fnmatch.fnmatchcase(name, pattern)


def test_classes_and_ranges() -> None:
    assert in_scope("fraud-[a-c]?", "fraud-b7")
    assert not in_scope("fraud-[!a-c]*", "fraud-b7")
    assert in_scope("[z-a]*", "x") is False  # a reversed range is empty
    assert in_scope("fraud-[", "fraud-[")  # an unclosed bracket is itself


def test_a_pattern_that_backtracks_is_answered_at_once() -> None:
    """`%a%a...%b` on `aaa...`: exponential for a backtracking regular expression (seconds
    for this one, which is far from the longest filter accepted)."""
    pattern = "%a" * 9 + "%b"
    text = "a" * 36
    start = time.perf_counter()
    assert not wildcards.like(pattern).matches(text)
    assert not wildcards.glob(pattern.replace("%", "*")).matches(text)
    conditions = parse(f"name LIKE '{pattern}'", {"name": str})
    assert select([{"name": text}], conditions) == []
    assert time.perf_counter() - start < 1.0
