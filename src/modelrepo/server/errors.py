"""Errors as JSON: a stable machine-readable `code`, a human `message`, the HTTP status."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..domain.errors import (
    Conflict,
    Forbidden,
    IntegrityError,
    InvalidInput,
    ModelrepoError,
    NotFound,
    StorageError,
    Unauthenticated,
)
from . import mlflow_errors

STATUS: tuple[tuple[type[ModelrepoError], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (InvalidInput, 422),
    (Conflict, 409),  # ApprovalRequired included
    (StorageError, 503),
    (IntegrityError, 500),
)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
}


def status_of(exc: ModelrepoError) -> int:
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 500)


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    document: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        document["details"] = details
    return document


def error_response(exc: ModelrepoError, path: str = "") -> JSONResponse:
    """The error as JSON: MLflow's shape under the MLflow API's paths, ours elsewhere."""
    if mlflow_errors.is_mlflow_path(path):
        return mlflow_errors.mlflow_error(exc)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body(exc.code, str(exc)), status_code=status, headers=headers)


async def on_modelrepo_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelrepoError)
    recorder = getattr(request.app.state, "denials", None)
    if recorder is not None:  # refusals are recorded (`denials.DenialRecorder`)
        recorder.refused(request.scope, exc)
    return error_response(exc, request.url.path)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"})
    first = details[0] if details else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
    if mlflow_errors.is_mlflow_path(request.url.path):
        return mlflow_errors.http_error(422, message)
    return JSONResponse(body("invalid_input", message, details), status_code=422)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if mlflow_errors.is_mlflow_path(request.url.path):
        return mlflow_errors.http_error(exc.status_code, str(exc.detail), request.url.path)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if mlflow_errors.is_mlflow_path(request.url.path):
        return mlflow_errors.http_error(500, "internal server error")
    return JSONResponse(body("internal_error", "internal server error"), status_code=500)
