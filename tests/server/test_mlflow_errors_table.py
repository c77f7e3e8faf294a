"""Each mistake an MLflow client can make is answered with the status and `error_code`
MLflow's own server gives it (`tests/mlflow_cases.py`), but for the deliberate differences
listed there; a mistake, or a call that finds nothing to do, records nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..mlflow_cases import CASES, DELIBERATE, Case, modelrepo_answer
from .conftest import Api
from .test_mlflow_api import MODEL_ID, MV, RM, _ok, ml, sources

__all__ = ["ml", "sources"]  # the fixtures, shared


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.mistake)
def test_a_mistake_is_answered_as_mlflow_answers_it(ml: Api, case: Case) -> None:
    _ok(ml, "admin", "POST", f"{RM}/create", name="probe")
    _ok(ml, "admin", "POST", f"{MV}/create", name="probe", source=f"models:/{MODEL_ID}")
    audited = ml.registry.ready()

    def request(method: str, path: str, **kwargs: Any) -> Any:
        return ml.client.request(method, path, headers=ml.as_("admin"), **kwargs)

    assert case.send(request) == modelrepo_answer(case)
    assert ml.registry.ready() == audited, (
        "a mistake (or a call that finds nothing to do) was recorded"
    )


def test_the_docs_list_every_deliberate_difference_and_no_other() -> None:
    """docs/interop.md's table of deliberate differences is the one the tests hold."""
    docs = (Path(__file__).parents[2] / "docs" / "interop.md").read_text()
    table = docs.split("The deliberate differences:", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.strip().startswith("|")][2:]
    listed = list(dict.fromkeys(DELIBERATE.values()))  # one row for mistakes of one kind
    assert len(rows) == len(listed)
    for row, (status, code, why) in zip(rows, listed, strict=True):
        assert f"`{status} {code}`" in row and row.rstrip().endswith(f"| {why} |"), row
