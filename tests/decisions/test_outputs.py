"""An output survives its own record: whatever shape a framework returns, the decision keeps its
canonical JSON form, and that record compares equal with the output it was made from, while a
different output still does not."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrepo import InvalidInput, Registry
from modelrepo.domain.outputs import canonical_output, compare

FINITE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**62), max_value=2**62),
    FINITE,
    st.text(max_size=8),
    FINITE.map(np.float64),
    FINITE.map(lambda x: np.float32(x)),
    st.integers(min_value=-(2**31), max_value=2**31).map(np.int64),
    st.integers(min_value=0, max_value=255).map(np.uint8),
    st.booleans().map(np.bool_),
)
ARRAYS = st.one_of(
    st.lists(FINITE, max_size=5).map(lambda xs: np.asarray(xs, dtype=np.float64)),
    st.lists(FINITE, min_size=2, max_size=6).map(
        lambda xs: np.asarray(xs[: len(xs) // 2 * 2], dtype=np.float32).reshape(-1, 2)
    ),
    st.lists(st.integers(-1000, 1000), max_size=5).map(lambda xs: np.asarray(xs, np.int64)),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
        # ZipMap-like: class labels as integer keys, Python's or NumPy's
        st.dictionaries(st.integers(-5, 50), children, max_size=4),
        st.dictionaries(st.integers(0, 50).map(np.int64), children, max_size=4),
    )


OUTPUTS = st.recursive(st.one_of(LEAVES, ARRAYS), _containers, max_leaves=12)


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return _registry(tmp_path_factory.mktemp("outputs"))


def _registry(folder: Path) -> Registry:
    reg = Registry(folder / "store", user="svc")
    (folder / "files").mkdir()
    (folder / "files" / "weights.bin").write_bytes(b"w")
    reg.register("m", folder / "files", code=False, environment=False)
    return reg


def _different(value: Any) -> Any:
    """An output that is not `value`, in any form (the canonical form of `value` changed)."""
    plain = canonical_output(value)
    if isinstance(plain, bool):
        return not plain
    if isinstance(plain, (int, float)):
        return plain + max(1.0, abs(plain))
    if isinstance(plain, str):
        return plain + "x"
    if plain is None:
        return 0
    if isinstance(plain, list):
        return [*plain, None]
    return {**plain, "a key no output has": 1}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(output=OUTPUTS)
def test_a_recorded_output_replays_to_itself_and_a_wrong_one_does_not(
    reg: Registry, output: Any
) -> None:
    decision = reg.log_decision("m", version=1, inputs={"x": 1}, output=output)
    recorded = reg.decision(decision.decision_id)["output"]
    assert recorded == decision.output
    assert compare(recorded, output, 0.0) == (True, 0.0)  # exactly, not within a tolerance
    match, _ = compare(recorded, _different(output), 1e-9)
    assert not match


@settings(max_examples=60, deadline=None)
@given(
    output=OUTPUTS,
    bad=st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("-inf")]),
)
def test_nan_and_infinities_are_refused_naming_where(reg: Registry, output: Any, bad: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^decision output 1\[0\]\['score'\] is .*JSON cannot"):
        reg.log_decision("m", version=1, inputs={}, output=[{"score": bad}, output])


def test_zipmap_output_is_recorded_with_text_keys() -> None:
    assert canonical_output({0: np.float32(0.25), 1: 0.75}) == {"0": 0.25, "1": 0.75}
    assert canonical_output((np.int64(3), np.array([[1, 2]]))) == [3, [[1, 2]]]
    assert compare({"0": 0.25}, {0: np.float32(0.25)}, 0.0) == (True, 0.0)
    assert compare([1, 2], (1, 2), 0.0)[0]
    assert not compare({"0": 0.25}, {1: 0.25}, 0.0)[0]
    assert not compare([True], [1], 0.0)[0]  # a boolean is not the number 1


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ({1: "a", "1": "b"}, "two keys that both read '1'"),
        ({1.5: "a"}, "key 1.5 .float.: keys must be text or integers"),
        ({True: "a"}, "key True .bool."),
        ({"a": {1, 2}}, r"output\['a'\] is a set, which is not JSON"),
        (object(), "is a object, which is not JSON"),
    ],
)
def test_outputs_json_cannot_hold_are_refused(output: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        canonical_output(output)


def test_a_batch_of_numpy_outputs_is_recorded_in_json_form(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    outputs = np.asarray([0.5, 0.25], dtype=np.float32)
    assert (
        reg.log_decision_columns(
            "m", version=1, inputs=[[1], [2]], outputs=outputs, decision_ids=["a", "b"]
        )
        == 2
    )
    assert [reg.decision(d)["output"] for d in "ab"] == [0.5, 0.25]
    with pytest.raises(InvalidInput, match="^decision output 2 is nan"):
        reg.log_decision_columns("m", version=1, inputs=[[1], [2]], outputs=[0.5, math.nan])
    deep: Any = 1.0
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidInput, match="nested"):
        reg.log_decision("m", version=1, inputs=[1], output=deep)
