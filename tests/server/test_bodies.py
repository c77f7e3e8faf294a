"""The decision bodies read in one pass (plain dicts) accept and refuse exactly what their
documented models do, and give the same values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from modelrepo.server.schemas import (
    DECISION_BATCH,
    DECISION_COLUMNS,
    DecisionBatchIn,
    DecisionColumnsIn,
)

ONE = {"model": "m", "inputs": {"a": 1}, "output": 0.5}
BATCHES: list[Any] = [
    {"decisions": [ONE]},
    {"decisions": [{**ONE, "version": 2, "decision_id": "d", "decided_at": None}]},
    {"decisions": [{**ONE, "environment": "prod", "metadata": {"k": [1]}}]},
    {"decisions": [{**ONE, "version": 0}]},
    {"decisions": [{**ONE, "version": "2"}]},
    {"decisions": [{**ONE, "model": 3}]},
    {"decisions": [{**ONE, "extra": 1}]},
    {"decisions": [{"model": "m", "output": 1}]},
    {"decisions": [{**ONE, "metadata": [1]}]},
    {"decisions": []},
    {"decisions": [ONE] * 10_001},
    {"decisions": [ONE], "more": 1},
    {},
    [],
    "decisions",
]
COLUMNS: list[Any] = [
    {"outputs": [1, 2]},
    {"outputs": [1], "version": 1, "inputs": [[1]], "decision_ids": [None], "decided_at": "t"},
    {"outputs": [1], "environment": "e", "metadata": {"k": 1}, "inputs_digests": ["x"]},
    {"outputs": [1], "metadata": [None], "decided_at": [None, "t"]},
    {"outputs": [1], "version": "1"},
    {"outputs": [1], "version": True},
    {"outputs": [1], "version": 2**62 + 1},
    {"outputs": [1], "environment": "e" * 129},
    {"outputs": [1], "inputs_digests": [None]},
    {"outputs": 1},
    {"outputs": [1], "model": "m"},
    {},
]


def _both(model: type[BaseModel], rows: TypeAdapter[Any], body: Any) -> None:
    raw = json.dumps(body).encode()
    try:
        expected = model.model_validate_json(raw).model_dump(exclude_unset=True)
    except ValidationError as error:
        with pytest.raises(ValidationError) as found:
            rows.validate_json(raw)
        # The same place named (a dict where a model was is the only other difference).
        assert [e["loc"] for e in found.value.errors()] == [e["loc"] for e in error.errors()]
        return
    assert rows.validate_json(raw) == expected


@pytest.mark.parametrize("body", BATCHES)
def test_a_batch_reads_as_its_model(body: Any) -> None:
    _both(DecisionBatchIn, DECISION_BATCH, body)


@pytest.mark.parametrize("body", COLUMNS)
def test_columns_read_as_their_model(body: Any) -> None:
    _both(DecisionColumnsIn, DECISION_COLUMNS, body)
