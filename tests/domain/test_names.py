"""Model and environment names as MLflow has them, and `NAME@N` / `NAME@ENV` references."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from modelrepo import InvalidInput
from modelrepo.domain.access import check_pattern, in_scope
from modelrepo.domain.names import (
    check_environment_name,
    file_name,
    parse_ref,
    parse_version_ref,
    validate_model_name,
)

mlflow_validation = pytest.importorskip("mlflow.utils.validation")
MlflowException = pytest.importorskip("mlflow.exceptions").MlflowException

MLFLOW_NAMES = [
    "Credit Risk",
    "CreditRisk",
    "creditrisk",
    "risk@v2 (EU)",
    "modèle-crédit",
    "信用风险",
    " padded ",
    "a..b",
    "a.",
    "100%",
    "a?b#c&d=e",
    "x" * 256,
    # every name of the earlier rule stays valid
    "credit-risk",
    "m.v2_final",
    "0",
    "a" * 128,
]


def mlflow_accepts(name: str) -> bool:
    try:
        mlflow_validation._validate_model_name(name)
    except MlflowException:
        return False
    return True


@pytest.mark.parametrize("name", MLFLOW_NAMES)
def test_names_mlflow_accepts_are_names(name: str) -> None:
    assert mlflow_accepts(name)
    assert validate_model_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty or only whitespace"),
        ("   ", "empty or only whitespace"),
        ("\t", "empty or only whitespace"),
        ("a/b", "cannot contain '/'"),
        ("../x", "cannot contain '/'"),
        ("a:b", "cannot contain ':'"),
        (".", "cannot be '.' or start with '..'"),
        ("..", "cannot be '.' or start with '..'"),
        ("..a", "cannot be '.' or start with '..'"),
    ],
)
def test_names_mlflow_refuses_are_refused(name: str, why: str) -> None:
    assert not mlflow_accepts(name)
    with pytest.raises(InvalidInput, match="invalid model name") as refused:
        validate_model_name(name)
    assert why in str(refused.value)


@pytest.mark.parametrize(
    "name",
    ["a\x00b", "line\nbreak", "tab\there", "bell\x07", "rtl\u202eoverride", "zero\u200bwidth"],
)
def test_control_and_invisible_characters_are_refused_on_purpose(name: str) -> None:
    """MLflow accepts these; a name that prints as another is refused here (docs/interop.md)."""
    assert mlflow_accepts(name)
    with pytest.raises(InvalidInput, match="control or invisible character U\\+"):
        validate_model_name(name)


def test_names_are_as_wide_as_mlflow_name_columns() -> None:
    """MLflow's validator takes any length; its tables' name columns are 256 wide."""
    from mlflow.store.model_registry.dbmodels.models import SqlRegisteredModel

    assert SqlRegisteredModel.__table__.c.name.type.length == 256
    assert validate_model_name("x" * 256)
    with pytest.raises(InvalidInput, match="at most 256 characters, this one has 257"):
        validate_model_name("x" * 257)


def test_names_are_case_sensitive_and_kept_as_given() -> None:
    assert validate_model_name("CreditRisk") != validate_model_name("creditrisk")
    assert validate_model_name(" Credit Risk ") == " Credit Risk "


def test_a_name_is_a_string() -> None:
    with pytest.raises(InvalidInput, match="a name is a string"):
        validate_model_name(7)  # type: ignore[arg-type]


@given(st.text(max_size=300))
@example("Credit Risk")
@example("risk@v2 (EU)")
@example("\u0085")
def test_every_name_mlflow_accepts_without_control_characters_is_ours(name: str) -> None:
    has_control = any(unicodedata.category(c).startswith("C") for c in name)
    if mlflow_accepts(name) and not has_control and len(name) <= 256:
        assert validate_model_name(name) == name


@given(st.text(max_size=300))
def test_every_name_of_ours_is_one_mlflow_accepts(name: str) -> None:
    try:
        validate_model_name(name)
    except InvalidInput:
        return
    assert mlflow_accepts(name)


@pytest.mark.parametrize(
    ("text", "model", "version", "env"),
    [
        ("credit-risk@3", "credit-risk", 3, None),
        ("credit-risk@production", "credit-risk", None, "production"),
        ("Credit Risk@2", "Credit Risk", 2, None),
        ("Credit Risk@Champion", "Credit Risk", None, "Champion"),
        ("risk@v2 (EU)@12", "risk@v2 (EU)", 12, None),
        ("risk@v2 (EU)@production", "risk@v2 (EU)", None, "production"),
        ("modèle-crédit@prod-été", "modèle-crédit", None, "prod-été"),
    ],
)
def test_references_split_at_the_last_at(
    text: str, model: str, version: int | None, env: str | None
) -> None:
    ref = parse_ref(text)
    assert (ref.model, ref.version, ref.environment) == (model, version, env)
    if version is not None:
        assert parse_version_ref(text).model == model


@pytest.mark.parametrize("text", ["Credit Risk", "a/b@1", "@1", "a@", "x@two words", "a@.hidden"])
def test_bad_references_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_ref(text)


@pytest.mark.parametrize(
    "env", ["production", "Champion", "champion_2", "-dash", "é-prod", "a.b", "x" * 255]
)
def test_environments_take_every_mlflow_alias(env: str) -> None:
    assert check_environment_name(env) == env


@pytest.mark.parametrize("env", ["", "two words", ".", "..", ".hidden", "a/b", "a@b", "x" * 256])
def test_environments_refused(env: str) -> None:
    with pytest.raises(InvalidInput, match="invalid environment name"):
        check_environment_name(env)


@given(st.from_regex(r"[\w-]{1,255}", fullmatch=True))
def test_every_mlflow_alias_is_an_environment(alias: str) -> None:
    mlflow_validation._validate_model_alias_name(alias)
    assert check_environment_name(alias) == alias


@given(st.text(min_size=1, max_size=300))
@example("CreditRisk")
@example("..")
@example("CON")
def test_file_names_are_safe_and_one_per_name(name: str) -> None:
    try:
        validate_model_name(name)
    except InvalidInput:
        return
    found = file_name(name)
    assert found not in (".", "..") and "/" not in found and "\\" not in found
    assert all(c.isascii() and (c.isalnum() or c in "._-~") for c in found)
    assert file_name(name.swapcase()).lower() != found.lower() or name.swapcase() == name


def test_file_names_keep_earlier_names_and_separate_cases() -> None:
    assert file_name("credit-risk") == "credit-risk"
    assert file_name("CreditRisk").startswith("creditrisk~")
    assert file_name("Credit Risk").startswith("credit-risk~")
    assert file_name("modèle-crédit").startswith("mod-le-cr-dit~")
    assert len({file_name(n).lower() for n in ("CreditRisk", "creditrisk", "CREDITRISK")}) == 3


def test_token_scopes_name_any_model() -> None:
    assert check_pattern("Credit*") == "Credit*"
    assert in_scope("Credit*", "Credit Risk") and not in_scope("Credit*", "credit risk")
    for bad in ("a/b*", "a\x00*", "", " ", "x" * 257):
        with pytest.raises(InvalidInput, match="invalid model pattern"):
            check_pattern(bad)
