"""MLflow's registered-model endpoints (`/api/2.0/mlflow/registered-models/...`) over the
registry: a registered model is a model, setting an alias deploys to the environment of that
name and deleting one undeploys it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from ...domain.errors import InvalidInput, NotFound
from ..auth import Caller, needs
from ..mlflow_errors import ERRORS, PENDING
from . import search
from .common import (
    MaxResults,
    Named,
    PageToken,
    VersionValue,
    orders_by,
    page,
    pending,
    scoped,
)
from .entities import (
    LATEST,
    Aliases,
    AliasNotFound,
    check_alias,
    latest_per_stage,
    live_version,
    millis,
    model_doc,
    model_updated_at,
    number,
    version_doc,
)

router = APIRouter(prefix="/api/2.0/mlflow/registered-models", tags=["mlflow"], responses=ERRORS)

ORDER_FIELDS = ("name", "last_updated_timestamp", "creation_timestamp")


class CreateIn(Named):
    description: str | None = None
    tags: list[dict[str, Any]] | None = None


class RenameIn(Named):
    new_name: str | None = None


class UpdateIn(Named):
    description: str | None = None


class TagIn(Named):
    key: str = Field(max_length=256)
    value: str | None = None


class LatestIn(Named):
    stages: list[str] | None = None


class AliasIn(Named):
    alias: str = Field(max_length=256)
    version: VersionValue | None = None


@router.post("/create")
def create(body: CreateIn, caller: Caller = needs("model.create")) -> dict[str, Any]:
    """Create the registered model before its first version, with its description and tags
    (kept as changes of the model); RESOURCE_ALREADY_EXISTS if it exists, as MLflow answers
    (`mlflow.register_model` calls this first and goes on to create the version then)."""
    name = scoped(caller, body.name)
    reg = caller.registry
    created = reg.create_model(name, description=body.description or "", tags=_tags(body.tags))
    return {"registered_model": model_doc(reg, created)}


def _tags(given: list[dict[str, Any]] | None) -> dict[str, str]:
    """MLflow's `[{"key": ..., "value": ...}]` as a mapping."""
    tags = {}
    for tag in given or []:
        key, value = tag.get("key"), tag.get("value")
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInput(f"invalid tag {tag!r}")
        tags[key] = value
    return tags


@router.get("/get")
def get(
    name: Annotated[str, Query(max_length=256)], caller: Caller = needs("model.read")
) -> dict[str, Any]:
    reg = caller.registry
    return {"registered_model": model_doc(reg, reg.model(scoped(caller, name)))}


@router.post("/rename")
def rename(body: RenameIn, caller: Caller = needs("model.rename")) -> dict[str, Any]:
    """Rename the registered model (recorded): its versions, aliases and history follow it;
    the old name answers RESOURCE_DOES_NOT_EXIST from then on, as in MLflow."""
    name = scoped(caller, body.name)
    if not body.new_name:
        raise InvalidInput("give the new name")
    reg = caller.registry
    renamed = reg.rename_model(
        name, scoped(caller, body.new_name), reason="MLflow registered model renamed"
    )
    return {"registered_model": model_doc(reg, renamed)}


@router.patch("/update")
def update(body: UpdateIn, caller: Caller = needs("model.describe")) -> dict[str, Any]:
    """Replace the model's description (recorded with who and when)."""
    reg = caller.registry
    name = scoped(caller, body.name)
    found = reg.describe_model(name, body.description or "")
    return {"registered_model": model_doc(reg, found)}


@router.delete("/delete")
def delete(body: Named, caller: Caller = needs("model.delete")) -> dict[str, Any]:
    """Delete the registered model and its versions (recorded, with the reason `MLflow
    registered model deleted`): they answer RESOURCE_DOES_NOT_EXIST from then on, as in
    MLflow, their records kept for the audit log. Refused with RESOURCE_CONFLICT if any
    version was ever deployed (an alias or stage set) or a decision names it."""
    caller.registry.delete_model(
        scoped(caller, body.name), reason="MLflow registered model deleted"
    )
    return {}


@router.post("/set-tag")
def set_tag(body: TagIn, caller: Caller = needs("model.tag")) -> dict[str, Any]:
    """Set a tag of the model itself (recorded with who and when)."""
    if body.value is None:
        raise InvalidInput("give the tag's value")
    caller.registry.tag_model(scoped(caller, body.name), body.key, body.value)
    return {}


@router.delete("/delete-tag")
def delete_tag(body: TagIn, caller: Caller = needs("model.tag")) -> dict[str, Any]:
    """Remove a tag of the model itself (the removal is recorded); a tag the model does not
    have is already gone, as MLflow answers."""
    name = scoped(caller, body.name)
    if body.key in caller.registry.model(name).tags:
        caller.registry.untag_model(name, body.key)
    return {}


@router.get("/search")
def search_models(
    filter: Annotated[str | None, Query(max_length=4096)] = None,
    max_results: MaxResults = 100,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: PageToken = None,
    caller: Caller = needs("model.list"),
) -> dict[str, Any]:
    """Models the token may see, filtered with MLflow's syntax (`name LIKE 'fraud-%' AND
    tags.team = 'risk'`)."""
    conditions = search.parse(filter, {"name": str})
    reg = caller.registry
    records = [
        {"name": m.name, "tags": m.tags, "model": m} for m in reg.models() if caller.sees(m.name)
    ]
    by_update = orders_by(order_by, "last_updated_timestamp")
    rows = [
        {
            "name": r["model"].name,
            "creation_timestamp": millis(r["model"].created_at),
            "last_updated_timestamp": millis(model_updated_at(reg, r["model"])) if by_update else 0,
            "model": r["model"],
        }
        for r in search.select(records, conditions)
    ]
    return page(rows, "registered_models", order_by, ORDER_FIELDS, max_results, page_token,
                build=lambda row: model_doc(reg, row["model"]))  # fmt: skip


@router.post("/get-latest-versions")
def latest_versions(body: LatestIn, caller: Caller = needs("model.read")) -> dict[str, Any]:
    """The newest version in each legacy stage (or in the `stages` asked for)."""
    return _latest(caller, body.name, body.stages)


@router.get("/get-latest-versions")
def latest_versions_get(
    name: Annotated[str, Query(max_length=256)],
    stages: Annotated[list[str] | None, Query()] = None,
    caller: Caller = needs("model.read"),
) -> dict[str, Any]:
    return _latest(caller, name, stages)


def _latest(caller: Caller, name: str, stages: list[str] | None) -> dict[str, Any]:
    reg = caller.registry
    reg.model(scoped(caller, name))
    aliases = Aliases.of(reg, name)
    found = latest_per_stage(reg.versions(name), stages)
    return {"model_versions": [version_doc(reg, v, aliases) for v in found]}


@router.post("/alias", responses=PENDING)
def set_alias(body: AliasIn, caller: Caller = needs("deployment.deploy")) -> Any:
    """Point `alias` at a version: deploy it to the environment of that name (recorded in
    the deployment history and the audit trail as the token's user)."""
    name = scoped(caller, body.name)
    check_alias(body.alias, setting=True)
    if body.version is None:
        raise InvalidInput("give the version the alias points at")
    outcome = caller.registry.deploy(
        name, number(body.version), env=body.alias, reason="MLflow alias set"
    )
    return pending(outcome) or {}


@router.delete("/alias", responses=PENDING)
def delete_alias(body: AliasIn, caller: Caller = needs("deployment.undeploy")) -> Any:
    """Remove `alias`: undeploy the environment of that name. An alias the model does not
    have is already gone, as MLflow answers."""
    name = scoped(caller, body.name)
    check_alias(body.alias)
    try:
        live_version(caller.registry, name, body.alias)
    except AliasNotFound:
        return {}
    outcome = caller.registry.undeploy(name, env=body.alias, reason="MLflow alias deleted")
    return pending(outcome) or {}


@router.get("/alias")
def get_by_alias(
    name: Annotated[str, Query(max_length=256)],
    alias: Annotated[str, Query(max_length=256)],
    caller: Caller = needs("version.resolve"),
) -> dict[str, Any]:
    """The version the environment `alias` serves now; `latest` is the highest-numbered
    version, as in MLflow."""
    reg = caller.registry
    name = scoped(caller, name)
    if check_alias(alias).lower() == LATEST:
        versions = reg.versions(name)
        if not versions:
            raise NotFound(f"Latest version not found for model {name}.")
        found = max(versions, key=lambda v: v.version)
    else:
        found = reg.get(name, live_version(reg, name, alias))
    return {"model_version": version_doc(reg, found, Aliases.of(reg, name))}
