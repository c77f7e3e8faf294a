"""MLflow's search filter syntax, as the MLflow routes read it."""

from __future__ import annotations

import pytest

from modelrepo.domain.errors import InvalidInput
from modelrepo.server.mlflow.search import parse, select

FIELDS = {"name": str, "run_id": str, "version_number": int}
RECORDS = [
    {"name": "credit", "run_id": "r1", "version_number": 1, "tags": {"team": "risk"}},
    {"name": "credit", "run_id": "r2", "version_number": 2, "tags": {"my key": "it's"}},
    {"name": "Fraud_cards", "run_id": "r3", "version_number": 3, "tags": {}},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [1, 2, 3]),
        ("name = 'credit'", [1, 2]),
        ('name = "credit" AND version_number >= 2', [2]),
        ("name like 'cred%'", [1, 2]),
        ("name LIKE 'fraud%'", []),
        ("name ILIKE 'fraud\\_%'", [3]),
        ("name LIKE 'credi_'", [1, 2]),
        ("run_id IN ('r1', 'r3')", [1, 3]),
        ("run_id NOT IN ('r1')", [2, 3]),
        ("tags.team = 'risk'", [1]),
        ("tags.team != 'risk'", [2, 3]),
        ("tag.`my key` = 'it\\'s'", [2]),
        ("attributes.name != 'credit'", [3]),
        ("version_number < 2 AND tags.team LIKE 'r%'", [1]),
    ],
)
def test_filters_select_what_mlflow_would(text: str, expected: list[int]) -> None:
    found = select(RECORDS, parse(text, FIELDS))
    assert [r["version_number"] for r in found] == expected


@pytest.mark.parametrize(
    "text",
    [
        "name",
        "name =",
        "name = credit",
        "name = 'a' OR name = 'b'",
        "(name = 'a')",
        "owner = 'x'",
        "version_number = 'two'",
        "version_number LIKE '1%'",
        "run_id IN 'r1'",
        "run_id IN ('r1' 'r2')",
        "name ~ 'x'",
        "name = 'unterminated",
    ],
)
def test_malformed_filters_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="invalid filter"):
        parse(text, FIELDS)
