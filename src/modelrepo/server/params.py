"""Path and header parameters shared by the native routes and MLflow's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi import Path as PathParam
from pydantic import AfterValidator

from ..domain.errors import InvalidInput
from ..domain.names import (
    IDEMPOTENCY_KEY_PATTERN,
    MAX_ENVIRONMENT_LENGTH,
    MAX_NAME_LENGTH,
    check_environment_name,
    model_name_problem,
    shown,
)


def model_name(value: str) -> str:
    """A model name from a request, checked by the one rule (`domain/names.py`)."""
    problem = model_name_problem(value)
    if problem is not None:
        raise ValueError(f"invalid model name {shown(value)}: {problem}")
    return value


def environment_name(value: str) -> str:
    """An environment name from a request, checked by the one rule (`domain/names.py`)."""
    try:
        return check_environment_name(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


NAME_HELP = (
    "Model name, percent-encoded in a path (`Credit%20Risk`): as MLflow allows, up to "
    f"{MAX_NAME_LENGTH} characters, case-sensitive, no '/' or ':'."
)
Name = Annotated[
    str,
    PathParam(min_length=1, max_length=MAX_NAME_LENGTH, description=NAME_HELP),
    AfterValidator(model_name),
]
Env = Annotated[
    str,
    PathParam(min_length=1, max_length=MAX_ENVIRONMENT_LENGTH, description="Environment."),
    AfterValidator(environment_name),
]
Number = Annotated[int, PathParam(ge=1, le=2**62, description="Version number.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=f"^{IDEMPOTENCY_KEY_PATTERN}$",
        description="A key the client chose for this registration (1-128 printable ASCII "
        "characters, no spaces). Sent again with the same key by the same user, the request "
        "answers 201 with the version the first one made, and nothing is written; with "
        "other files or for another model, 409. Lets a client retry a register whose "
        "answer it lost.",
    ),
]
