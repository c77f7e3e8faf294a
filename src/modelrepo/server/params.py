"""Path and header parameters shared by the native routes and MLflow's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi import Path as PathParam

from ..domain.names import IDEMPOTENCY_KEY_PATTERN, MODEL_NAME_PATTERN

Name = Annotated[str, PathParam(pattern=f"^{MODEL_NAME_PATTERN}$", description="Model name.")]
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
