"""The part of MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts`) an MLflow
client uses to download a registered version: list a folder, fetch a file. Paths are
`models/<name>/versions/<n>/<file>`, as `get-download-uri` answers; nothing is uploaded here."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from ...domain.errors import Conflict, NotFound
from ...domain.manifest import validate_relative_path
from ..auth import Caller, needs
from ..files import send_file
from ..mlflow_errors import ERRORS
from ..params import Name, Number
from .common import scoped

router = APIRouter(prefix="/api/2.0/mlflow-artifacts", tags=["mlflow"], responses=ERRORS)

_VERSION_PATH = re.compile(r"models/([^/]+)/versions/([1-9][0-9]{0,17})/?(.*)", re.DOTALL)
"""A version's folder: a model name holds no `/` (`scoped` checks the rest of the rule)."""


@router.get("/artifacts")
def list_artifacts(
    path: Annotated[str, Query(max_length=4096)] = "", caller: Caller = needs("version.download")
) -> dict[str, Any]:
    """The entries directly inside `path` (a file lists as itself), as MLflow's proxy."""
    match = _VERSION_PATH.fullmatch(path.strip("/"))
    if match is None:
        raise NotFound(f"no artifacts at {path!r}: expected models/<name>/versions/<n>/...")
    # the name is percent-encoded in the URI `get-download-uri` answers, and comes back so
    name, version, inner = unquote(match[1]), int(match[2]), match[3].rstrip("/")
    found = caller.registry.get(scoped(caller, name), version)
    if found.deleted_at is not None:
        raise Conflict(f"version {found.ref} was deleted; its files are no longer kept")
    if inner:
        inner = validate_relative_path(inner)
        exact = next((f for f in found.files if f.path == inner), None)
        if exact is not None:
            name_only = inner.rsplit("/", 1)[-1]
            return {"files": [{"path": name_only, "is_dir": False, "file_size": exact.size}]}
    prefix = f"{inner}/" if inner else ""
    entries: dict[str, dict[str, Any]] = {}
    for entry in found.files:
        if not entry.path.startswith(prefix):
            continue
        head, slash, _ = entry.path[len(prefix) :].partition("/")
        if slash:
            entries.setdefault(head, {"path": head, "is_dir": True})
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": entry.size}
    if inner and not entries:
        raise NotFound(f"version {found.ref} has no file or folder {inner!r}")
    return {"files": [entries[k] for k in sorted(entries)]}


@router.get(
    "/artifacts/models/{name}/versions/{version}/{path:path}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The whole file"},
        206: {"content": {"application/octet-stream": {}}, "description": "A byte range"},
        416: {"description": "The range is outside the file"},
    },
)
def download(
    request: Request,
    name: Name,
    version: Number,
    path: str,
    caller: Caller = needs("version.download"),
) -> Response:
    """One file of a version, as the native download route sends it (verified as it is
    sent, `Range` supported)."""
    return send_file(request, caller.registry, name, version, path, verify=True)
