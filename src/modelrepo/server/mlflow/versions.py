"""MLflow's model-version endpoints (`/api/2.0/mlflow/model-versions/...`) over the registry:
a model version is a version (its files copied from an allowed source and content-addressed),
its tags are version tags, a legacy stage is the reserved version tag `mlflow.stage`, and the
environment named after a serving stage serves its highest-numbered holder."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request

from ...domain.errors import Conflict, InvalidInput, NotFound
from ...domain.mlflow_fields import DESCRIPTION_TAG, MODEL_ID_PARAM, RUN_ID_PARAM, SOURCE_PARAM
from ...domain.model import ModelVersion
from ...domain.stages import (
    ARCHIVED,
    NONE,
    STAGE_ENVIRONMENTS,
    STAGE_TAG,
    canonical_stage,
    serving_in_stage,
    stage_of,
)
from ...registry import Registry
from ..auth import Caller, needs
from ..mlflow_errors import ERRORS, PENDING
from . import copies, search
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
    RESERVED_TAGS,
    Aliases,
    has_environment,
    millis,
    number,
    updated_at,
    version_doc,
)
from .sources import Sources, source_run_id

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
    return {"model_version": version_doc(reg, found, Aliases.of(reg, name))}


@router.post("/create")
def create(
    body: CreateIn, request: Request, caller: Caller = needs("version.register")
) -> dict[str, Any]:
    """Register the files at `source` as the next version: a logged model or folder is
    fetched only from the server's allowed locations; `models:/NAME/N` (or `@alias`, or a
    stage) is a version of this registry, whose files are registered again by digest (MLflow's
    `copy_model_version`). MLflow's source, run id and logged-model id are kept as its
    params; a run id the client does not send is read from the logged model's metadata."""
    name = scoped(caller, body.name)
    caller.registry.model(name)  # as in MLflow: the registered model must exist first
    tags = {}
    for tag in body.tags or []:
        key, value = tag.get("key"), tag.get("value")
        if not isinstance(key, str) or not isinstance(value, str) or key in RESERVED_TAGS:
            raise InvalidInput(f"invalid tag {tag!r}")
        tags[key] = value
    params = {SOURCE_PARAM: body.source}
    if body.model_id:
        params[MODEL_ID_PARAM] = body.model_id
    details: dict[str, Any] = {
        "tags": tags,
        "description": body.description or "",
        "code": False,
        "environment": False,
    }
    if copies.is_registered(body.source):
        found = copies.resolve(caller, body.source)
        run_id = body.run_id or found.params.get(RUN_ID_PARAM)
        if run_id:
            params[RUN_ID_PARAM] = str(run_id)
        created = copies.copy(caller.registry, found, name, params, **details)
    else:
        sources: Sources = request.app.state.mlflow_sources
        folder = sources.resolve(body.source)
        run_id = body.run_id or source_run_id(folder)
        if run_id:
            params[RUN_ID_PARAM] = run_id
        created = caller.registry.register(name, folder, params=params, flavor="mlflow", **details)
    return {
        "model_version": version_doc(caller.registry, created, Aliases.of(caller.registry, name))
    }


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
    _not_reserved(body.key)
    if body.value is None:
        raise InvalidInput("give the tag's value")
    caller.registry.tag(name, number(body.version), body.key, body.value)
    return {}


@router.delete("/delete-tag")
def delete_tag(body: TagIn, caller: Caller = needs("version.tag")) -> dict[str, Any]:
    """Remove a tag of the version (recorded); a tag it does not have is already gone, as
    MLflow answers."""
    name = scoped(caller, body.name)
    _not_reserved(body.key)
    found = _live(caller.registry, name, number(body.version))
    if body.key in found.tags:
        caller.registry.untag(name, found.version, body.key)
    return {}


def _not_reserved(key: str) -> None:
    if key in RESERVED_TAGS:
        what = "its stage (transition-stage)" if key == STAGE_TAG else "its description (update)"
        raise InvalidInput(f"tag {key!r} is reserved: change {what} instead")


def _live(registry: Registry, name: str, version: int) -> ModelVersion:
    """The version, unless deleted (MLflow answers a deleted version as a missing one)."""
    found = registry.get(name, version)
    if found.deleted_at is not None:
        raise NotFound(f"model version {found.ref} was deleted")
    return found


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
    by_update = orders_by(order_by, "last_updated_timestamp")
    rows: list[dict[str, Any]] = []
    for model in sorted(set(models) & names if names else models):
        records = [_record(v) for v in reg.versions(model)]
        rows.extend(
            {
                "name": model,
                "version": r["found"].version,
                "creation_timestamp": millis(r["found"].created_at),
                "last_updated_timestamp": millis(updated_at(reg, r["found"])) if by_update else 0,
                "found": r["found"],
            }
            for r in search.select(records, conditions)
        )
    aliases: dict[str, Aliases] = {}  # of the models on the page only

    def build(row: dict[str, Any]) -> dict[str, Any]:
        if row["name"] not in aliases:
            aliases[row["name"]] = Aliases.of(reg, row["name"])
        return version_doc(reg, row["found"], aliases[row["name"]])

    return page(
        rows, "model_versions", order_by or ["name", "version DESC"], ORDER_FIELDS,
        max_results, page_token, build,
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
    """Give a version a legacy stage, kept as its `mlflow.stage` tag. With
    `archive_existing_versions`, the other versions in that (serving) stage become
    `Archived`. The environment named after each serving stage whose holder changes is
    deployed to its new highest-numbered holder, or undeployed when none is left, through
    the normal deploy path: a protected environment answers that a request awaits approval,
    and then no stage changes (transition again once it is approved)."""
    name = scoped(caller, body.name)
    reg = caller.registry
    version = number(body.version)
    stage = canonical_stage(body.stage)
    if body.archive_existing_versions and stage not in STAGE_ENVIRONMENTS:
        raise InvalidInput(
            "Model version transition cannot archive existing model versions because "
            f"{stage!r} is not an Active stage. Valid stages are "
            f"{', '.join(STAGE_ENVIRONMENTS)}"
        )
    _live(reg, name, version)
    before = {v.version: stage_of(v.tags) for v in reg.versions(name)}
    after = dict(before)
    after[version] = stage
    if body.archive_existing_versions:
        for other, held in before.items():
            if other != version and held == stage:
                after[other] = ARCHIVED
    reason = f"MLflow stage {stage} for version {version}"
    for held, env in STAGE_ENVIRONMENTS.items():
        target = serving_in_stage(after, held)
        if target == serving_in_stage(before, held):
            continue
        live = reg.live(name, env=env).versions if has_environment(reg, name, env) else ()
        if [v.version for v in live] == ([target] if target is not None else []):
            continue
        if target is None:
            outcome = reg.undeploy(name, env=env, reason=reason)
        else:
            outcome = reg.deploy(name, target, env=env, reason=reason)
        if (answer := pending(outcome)) is not None:
            return answer
    for changed, held in sorted(after.items()):
        if held == before[changed]:
            continue
        if held == NONE:
            reg.untag(name, changed, STAGE_TAG)
        else:
            reg.tag(name, changed, STAGE_TAG, held)
    return _one(caller, name, version)
