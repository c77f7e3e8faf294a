"""The batch checks and encodings of the decision bulk path agree with the one-by-one ones."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from modelrepo import InvalidInput
from modelrepo.domain.audit import DecisionsDigest, decisions_change, rows_digest
from modelrepo.domain.canonical import CANONICAL
from modelrepo.domain.decisions import (
    DecisionColumns,
    canonical_json,
    check_decision_id,
    check_decision_ids,
    check_inputs_digest,
    check_inputs_digests,
    encode_canonical,
)

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
def test_the_one_shot_encoder_writes_canonical_json(value: Any) -> None:
    assert encode_canonical(value) == CANONICAL.encode(value)


def test_values_that_are_not_json_are_refused() -> None:
    circular: list[Any] = []
    circular.append(circular)
    for bad in (float("nan"), {"x": float("inf")}, {1, 2}, object(), circular):
        with pytest.raises(InvalidInput, match="not JSON"):
            canonical_json(bad)


def _valid(check: Any, value: Any) -> bool:
    try:
        check(value)
    except InvalidInput:
        return False
    return True


ids = st.one_of(
    st.text(alphabet="Aaz09._:/-\n é", max_size=6),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}", fullmatch=True),
    st.just("a" * 129),
    st.integers(),
)


@given(st.lists(ids, max_size=6))
@example(["a\nb"])
@example(["ok", "a\n"])
def test_batch_id_check_agrees_with_one_by_one(values: list[Any]) -> None:
    every = all(_valid(check_decision_id, v) for v in values)
    assert _valid(check_decision_ids, values) == every


def _digest(seed: int) -> str:
    return "sha256:" + hashlib.sha256(str(seed).encode()).hexdigest()


digests = st.one_of(
    st.integers(0, 99).map(_digest),
    st.integers(0, 99).map(lambda s: _digest(s).upper()),
    st.integers(0, 99).map(lambda s: _digest(s)[:-1]),
    st.integers(0, 99).map(lambda s: _digest(s) + "0"),
    st.integers(0, 99).map(lambda s: "sha512" + _digest(s)[6:]),
    st.integers(0, 99).map(lambda s: _digest(s)[:20] + "g" + _digest(s)[21:]),
    st.integers(0, 99).map(lambda s: _digest(s)[:20] + "é" + _digest(s)[21:]),
    st.integers(0, 99).map(lambda s: _digest(s)[:-4] + "sh:0"),
    st.text(max_size=80),
    st.none(),
)


@given(st.lists(digests, max_size=6))
@example(["sha256:" + "0" * 63 + "\n"])
@example([_digest(1)[:-1], _digest(2) + "0"])
def test_batch_digest_check_agrees_with_one_by_one(values: list[Any]) -> None:
    every = all(_valid(check_inputs_digest, v) for v in values)
    assert _valid(check_inputs_digests, values) == every


def test_the_batch_audit_digest_is_the_rows_digest() -> None:
    columns = DecisionColumns(
        ["a", "b-2", "c"], ["m", "m", "other"], ["prod", None, "prod"], [1, 12, 1],
        ["given", "resolved", "given"], [1, 1_772_323_200_000_000, -5],
        [_digest(1), _digest(2), _digest(3)], [None, None, "{}"], ["digest"] * 3,
        ['{"p":0.5}', "[]", '"é"'], ["{}"] * 3, ["[]"] * 3,
    )  # fmt: skip
    columns.metadata[1], columns.flags[2] = '{"channel":"web"}', '["not_live"]'
    rows = list(
        zip(columns.decision_ids, columns.models, columns.environments, columns.versions,
            columns.decided_at, columns.inputs_digests, columns.outputs, columns.metadata,
            columns.flags, strict=True)
    )  # fmt: skip
    assert decisions_change(columns)["rows_sha256"] == rows_digest(rows)
    assert decisions_change(columns)["rows"] == 2
    uniform = DecisionColumns(*(column[:2] for column in vars_of(columns)))
    uniform.models[1], uniform.environments[1], uniform.versions[1] = "m", "prod", 1
    rows = [(r[0], "m", "prod", 1, *r[4:]) for r in rows[:2]]
    assert decisions_change(uniform)["rows_sha256"] == rows_digest(rows)


def test_layout_1_batches_are_still_hashed_without_metadata_and_flags() -> None:
    """Entries written before flags and metadata were evidence keep verifying as they were."""
    row = ("a", "m", None, 1, 5, _digest(1), "0", '{"k":1}', '["not_live"]', 5, None)
    old = DecisionsDigest(layout=1)
    old.update_rows([row])
    assert old.hexdigest() == rows_digest([row[:7]])
    new = DecisionsDigest()
    new.update_rows([row])
    assert new.hexdigest() == rows_digest([row[:9]])
    unflagged = DecisionsDigest()
    unflagged.update_rows([(*row[:8], "[]", *row[9:])])
    assert unflagged.hexdigest() != new.hexdigest()


def vars_of(columns: DecisionColumns) -> list[list[Any]]:
    return [list(getattr(columns, name)) for name in DecisionColumns.__slots__]


@pytest.mark.parametrize("count", [1, 2048, 2049, 5000])
def test_the_batch_audit_digest_is_the_rows_digest_across_chunks(count: int) -> None:
    """The digest text is hashed a few thousand lines at a time: the lines at the seams are
    neither lost nor doubled, whatever the lengths of ids, times and outputs."""
    ids = [f"d{i:0{1 + i % 5}d}" for i in range(count)]
    models = ["m" if i % 3 else "other" for i in range(count)] if count > 1 else ["m"]
    environments = [None if i % 4 == 0 else "prod" for i in range(count)]
    versions = [1 + i % 2 for i in range(count)]
    times = [(-1) ** i * 10 ** (i % 17) for i in range(count)]
    outputs = [canonical_json({"p": i / 3, "e": "é" * (i % 3)}) for i in range(count)]
    metadata = ["{}" if i % 2 else f'{{"i":{i}}}' for i in range(count)]
    flags = ['["not_live"]' if i % 7 == 0 else "[]" for i in range(count)]
    columns = DecisionColumns(
        ids, models, environments, versions, ["given"] * count, times,
        [_digest(i) for i in range(count)], [None] * count, ["digest"] * count, outputs,
        metadata, flags,
    )  # fmt: skip
    rows = list(zip(ids, models, environments, versions, times,
                    columns.inputs_digests, outputs, metadata, flags, strict=True))  # fmt: skip
    assert decisions_change(columns)["rows_sha256"] == rows_digest(rows)
    # Read back a page at a time (as verification does), the pages meet at any row.
    read: list[Any] = [(*row, 0, None) for row in rows]
    for page in (1, 7, 2048, 3000):
        paged = DecisionsDigest()
        for start in range(0, count, page):
            paged.update_rows(read[start : start + page])
        assert (paged.count, paged.hexdigest()) == (count, rows_digest(rows))
