"""MLflow's model-version endpoints (`/api/2.0/mlflow/model-versions/...`) over the registry:
a model version is a version (its files copied from an allowed source and content-addressed),
its tags are version tags, a legacy stage is the environment of that name."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request

from ...domain.errors import Conflict, InvalidInput, NotFound
from ...domain.model import ModelVersion
from ..auth import Caller, needs
from ..mlflow_errors import ERRORS, PENDING
from . import search
from .common import MaxResults, Named, PageToken, VersionValue, page, pending, scoped
from .entities import (
    DESCRIPTION_TAG,
    MODEL_ID_PARAM,
    RESERVED_TAGS,
    RUN_ID_PARAM,
    SOURCE_PARAM,
    STAGES,
    Aliases,
    number,
    version_doc,
)
from .sources import Sources

router = APIRouter(prefix="/api/2.0/mlflow/model-versions", tags=["mlflow"], responses=ERRORS)

Name = Annotated[str, Query(max_length=256)]
Version = Annotated[str, Query(max_length=20)]
ORDER_FIELDS = ("last_updated_timestamp", "creation_timestamp", "name", "version")
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


class CreateIn(Named):
    source: str = ""
    run_id: str | None = None
    model_id: str | None = None
    description: str | None = None
    tags: list[dict[str, Any]] | None = None


class VersionIn(Named):
    version: VersionValue


class UpdateIn(VersionIn):
    description: str | None = None


class TagIn(VersionIn):
    key: str
    value: str | None = None


class StageIn(VersionIn):
    stage: str
    archive_existing_versions: bool = False


def _one(caller: Caller, name: str, version: str | int) -> dict[str, Any]:
    reg = caller.registry
    found = reg.get(scoped(caller, name), number(version))
    if found.deleted_at is not None:
        raise NotFound(f"model version {found.ref} was deleted")
    return {"model_version": version_doc(found, Aliases.of(reg, name))}


@router.post("/create")
def create(
    body: CreateIn, request: Request, caller: Caller = needs("version.register")
) -> dict[str, Any]:
    """Register the files at `source` (fetched only from the server's allowed locations) as
    the next version; MLflow's source, run id and logged-model id are kept as its params."""
    name = scoped(caller, body.name)
    sources: Sources = request.app.state.mlflow_sources
    folder = sources.resolve(body.source)
    params = {SOURCE_PARAM: body.source}
    if body.run_id:
        params[RUN_ID_PARAM] = body.run_id
    if body.model_id:
        params[MODEL_ID_PARAM] = body.model_id
    tags = {}
    for tag in body.tags or []:
        key, value = tag.get("key"), tag.get("value")
        if not isinstance(key, str) or not isinstance(value, str) or key in RESERVED_TAGS:
            raise InvalidInput(f"invalid tag {tag!r}")
        tags[key] = value
    created = caller.registry.register(
        name,
        folder,
        params=params,
        tags=tags,
        description=body.description or "",
        flavor="mlflow",
        code=False,
        environment=False,
    )
    return {"model_version": version_doc(created, Aliases.of(caller.registry, name))}


@router.get("/get")
def get(name: Name, version: Version, caller: Caller = needs("version.read")) -> dict[str, Any]:
    return _one(caller, name, version)


@router.patch("/update")
def update(body: UpdateIn, caller: Caller = needs("version.describe")) -> dict[str, Any]:
    """Describe a version anew (kept as a recorded tag change; the first description stays
    in the version's immutable record)."""
    name = scoped(caller, body.name)
    if body.description is not None:
        caller.registry.tag(name, number(body.version), DESCRIPTION_TAG, body.description)
    return _one(caller, name, body.version)


@router.delete("/delete")
def delete(body: VersionIn, caller: Caller = needs("version.delete")) -> dict[str, Any]:
    """Tombstone the version (its record stays; refused if it was ever deployed)."""
    name = scoped(caller, body.name)
    caller.registry.delete(name, number(body.version), reason="deleted through the MLflow API")
    return {}


@router.post("/set-tag")
def set_tag(body: TagIn, caller: Caller = needs("version.tag")) -> dict[str, Any]:
    name = scoped(caller, body.name)
    if body.key in RESERVED_TAGS:
        raise InvalidInput(f"tag {body.key!r} is reserved: update the description instead")
    if body.value is None:
        raise InvalidInput("give the tag's value")
    caller.registry.tag(name, number(body.version), body.key, body.value)
    return {}


@router.delete("/delete-tag")
def delete_tag(body: TagIn, caller: Caller = needs("version.tag")) -> dict[str, Any]:
    name = scoped(caller, body.name)
    if body.key in RESERVED_TAGS:
        raise InvalidInput(f"tag {body.key!r} is reserved: update the description instead")
    caller.registry.untag(name, number(body.version), body.key)
    return {}


@router.get("/search")
def search_versions(
    filter: Annotated[str | None, Query(max_length=4096)] = None,
    max_results: MaxResults = 1000,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: PageToken = None,
    caller: Caller = needs("version.search"),
) -> dict[str, Any]:
    """Versions of the models the token may see, filtered with MLflow's syntax
    (`name = 'credit' AND tags.team = 'risk'`, `run_id IN ('a', 'b')`)."""
    fields = {"name": str, "run_id": str, "source_path": str, "version_number": int}
    conditions = search.parse(filter, fields)
    reg = caller.registry
    names = {c.value for c in conditions if c.field == "name" and c.op == "="}
    models = [m.name for m in reg.models() if caller.sees(m.name)]
    docs: list[dict[str, Any]] = []
    for model in sorted(set(models) & names if names else models):
        aliases = Aliases.of(reg, model)
        records = [_record(v) for v in reg.versions(model)]
        docs.extend(version_doc(r["found"], aliases) for r in search.select(records, conditions))
    return page(
        docs, "model_versions", order_by or ["name", "version DESC"], ORDER_FIELDS,
        max_results, page_token,
    )  # fmt: skip


def _record(found: ModelVersion) -> dict[str, Any]:
    return {
        "name": found.model,
        "run_id": found.params.get(RUN_ID_PARAM),
        "source_path": found.params.get(SOURCE_PARAM),
        "version_number": found.version,
        "tags": found.tags,
        "found": found,
    }


@router.get("/get-download-uri")
def download_uri(
    name: Name, version: Version, request: Request, caller: Caller = needs("version.download")
) -> dict[str, Any]:
    """Where an MLflow client downloads the version's files: this server's artifact routes,
    with the same token."""
    found = caller.registry.get(scoped(caller, name), number(version))
    if found.deleted_at is not None:
        raise Conflict(f"version {found.ref} was deleted; its files are no longer kept")
    base = request.app.state.public_url  # never the request's Host header
    folder = f"models/{quote(name, safe='')}/versions/{found.version}"
    return {"artifact_uri": f"{base}{ARTIFACTS}/{folder}"}


@router.post("/transition-stage", responses=PENDING)
def transition_stage(body: StageIn, caller: Caller = needs("deployment.deploy")) -> Any:
    """Legacy stages: `Staging` and `Production` deploy to the environment of that name
    (replacing what served there); `Archived` and `None` undeploy the version from the stage
    it serves."""
    name = scoped(caller, body.name)
    reg = caller.registry
    version = number(body.version)
    stage = body.stage.strip().lower()
    if stage in STAGES:
        outcome = reg.deploy(name, version, env=stage, reason=f"MLflow stage {STAGES[stage]}")
    elif stage in ("archived", "none"):
        reg.get(name, version)
        current = Aliases.of(reg, name).stage(version).lower()
        if current not in STAGES:
            return _one(caller, name, version)
        outcome = reg.undeploy(name, env=current, reason=f"MLflow stage {body.stage}")
    else:
        raise InvalidInput(
            f"invalid stage {body.stage!r}: use None, Staging, Production or Archived"
        )
    return pending(outcome) or _one(caller, name, version)
