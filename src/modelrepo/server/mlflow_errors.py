"""Errors in MLflow's shape, `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`, with
the HTTP status MLflow gives each code, so an MLflow client raises the exception it expects."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..domain.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    IntegrityError,
    InvalidInput,
    ModelrepoError,
    NotFound,
    NotSupported,
    StorageError,
    Unauthenticated,
)

API_PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/")
"""Where MLflow serves its REST API (`ajax-api` is the one its web UI calls)."""
PREFIXES = (*API_PREFIXES, "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/")
NOT_SERVED = (
    "{path} is not served: modelrepo serves MLflow's model registry API only "
    "(/api/2.0/mlflow/registered-models/..., /api/2.0/mlflow/model-versions/...); tracking "
    "(runs, experiments, metrics, logged models, traces) is not served here: keep your MLflow "
    "tracking server for it (see docs/interop.md#what-an-mlflow-client-is-answered)"
)

CODES: tuple[tuple[type[ModelrepoError], str, int], ...] = (
    (Unauthenticated, "UNAUTHENTICATED", 401),
    (Forbidden, "PERMISSION_DENIED", 403),
    (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (NotSupported, "NOT_IMPLEMENTED", 400),  # refused for good: never retried
    (InvalidInput, "INVALID_PARAMETER_VALUE", 400),
    (Conflict, "RESOURCE_CONFLICT", 409),
    (StorageError, "TEMPORARILY_UNAVAILABLE", 503),
    (IntegrityError, "DATA_LOSS", 500),
)

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: "RESOURCE_EXHAUSTED",
    422: "INVALID_PARAMETER_VALUE",
}


class MlflowError(BaseModel):
    """MLflow's error body: `error_code` (e.g. RESOURCE_DOES_NOT_EXIST) and a message."""

    error_code: str
    message: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": MlflowError, "description": description}
    for status, description in (
        (
            400,
            "Invalid input or not supported "
            "(INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, NOT_IMPLEMENTED)",
        ),
        (401, "No valid API token (UNAUTHENTICATED)"),
        (403, "The token's role or model scope does not permit this (PERMISSION_DENIED)"),
        (404, "Not found (RESOURCE_DOES_NOT_EXIST, ENDPOINT_NOT_FOUND)"),
        (409, "Conflicts with the store's state (RESOURCE_CONFLICT)"),
        (503, "Storage unavailable (TEMPORARILY_UNAVAILABLE)"),
    )
}
"""The error responses every MLflow route may give, for the API description."""

PENDING: dict[int | str, dict[str, Any]] = {
    202: {"model": MlflowError, "description": "Awaits approval (INVALID_STATE)"}
}


def is_mlflow_path(path: str) -> bool:
    return path.startswith(PREFIXES)


def mlflow_error(exc: ModelrepoError) -> JSONResponse:
    # MLflow's RESOURCE_ALREADY_EXISTS is HTTP 400: `mlflow.register_model` expects it when
    # the registered model is already there.
    if isinstance(exc, AlreadyExists):
        code, status = "RESOURCE_ALREADY_EXISTS", 400
    else:
        code, status = next(
            ((c, s) for kind, c, s in CODES if isinstance(exc, kind)), ("INTERNAL_ERROR", 500)
        )
    return response(code, str(exc), status)


def response(code: str, message: str, status: int) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error_code": code, "message": message}, status_code=status, headers=headers
    )


def http_error(status: int, message: str, path: str = "") -> JSONResponse:
    """A routing or protocol error (no such endpoint, a malformed body) in MLflow's shape;
    validation errors are MLflow's 400 INVALID_PARAMETER_VALUE. An endpoint of MLflow's API
    this server does not serve (tracking) answers `ENDPOINT_NOT_FOUND` with 404, as MLflow
    names an endpoint it lacks (its clients fall back on that code), saying where to go."""
    if status == 404 and path.startswith(API_PREFIXES):
        return response("ENDPOINT_NOT_FOUND", NOT_SERVED.format(path=path), 404)
    code = HTTP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
    return response(code, message, 400 if status == 422 else status)
