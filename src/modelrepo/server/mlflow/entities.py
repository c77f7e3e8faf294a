"""modelrepo's records as MLflow's registry entities (RegisteredModel, ModelVersion).

An MLflow registered model is a modelrepo model; a model version is a version; an alias is
an environment that one version serves now; a legacy stage is the environment named by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...domain.errors import Conflict, InvalidInput, NotFound
from ...domain.model import Model, ModelVersion
from ...domain.names import check_version
from ...registry import Registry

DESCRIPTION_TAG = "mlflow.description"
"""A version's description as last set through MLflow (the one given at registration is part
of the immutable record; later ones are a tag, so each change is recorded)."""
SOURCE_PARAM = "mlflow.source"
RUN_ID_PARAM = "mlflow.run_id"
MODEL_ID_PARAM = "mlflow.model_id"
RESERVED_TAGS = frozenset({DESCRIPTION_TAG})

STAGES = {"staging": "Staging", "production": "Production"}
"""Legacy stages that are environments; `None` and `Archived` mean serving in neither."""


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True)
class Aliases:
    """What each environment of a model serves now, when it is one version (an alias)."""

    by_alias: dict[str, int]

    @classmethod
    def of(cls, registry: Registry, name: str) -> Aliases:
        found = {}
        for env in registry.environments(name):
            live = registry.live(name, env=env.name).versions
            if len(live) == 1:
                found[env.name] = live[0].version
        return cls(found)

    def of_version(self, version: int) -> list[str]:
        return sorted(a for a, v in self.by_alias.items() if v == version)

    def stage(self, version: int) -> str:
        for env in ("production", "staging"):
            if self.by_alias.get(env) == version:
                return STAGES[env]
        return "None"

    def docs(self) -> list[dict[str, str]]:
        return [{"alias": a, "version": str(v)} for a, v in sorted(self.by_alias.items())]


def version_doc(found: ModelVersion, aliases: Aliases) -> dict[str, Any]:
    params = found.params
    description = found.tags.get(DESCRIPTION_TAG, found.description)
    doc: dict[str, Any] = {
        "name": found.model,
        "version": str(found.version),
        "creation_timestamp": millis(found.created_at),
        "last_updated_timestamp": millis(found.created_at),
        "user_id": found.created_by,
        "current_stage": aliases.stage(found.version),
        "description": description,
        "source": str(params.get(SOURCE_PARAM, "")),
        "run_id": str(params.get(RUN_ID_PARAM, "")),
        "status": "READY",
        "tags": [
            {"key": k, "value": v} for k, v in sorted(found.tags.items()) if k not in RESERVED_TAGS
        ],
        "aliases": aliases.of_version(found.version),
    }
    if params.get(MODEL_ID_PARAM):
        doc["model_id"] = str(params[MODEL_ID_PARAM])
    return doc


def latest_per_stage(
    versions: list[ModelVersion], aliases: Aliases, stages: list[str] | None = None
) -> list[ModelVersion]:
    """The newest version in each stage (`None`, `Staging`, `Production`), as MLflow's
    get-latest-versions answers; `Archived` is never held."""
    wanted = {s.lower() for s in stages} if stages else {"none", "staging", "production"}
    latest: dict[str, ModelVersion] = {}
    for v in versions:
        stage = aliases.stage(v.version).lower()
        if stage in wanted and (stage not in latest or v.version > latest[stage].version):
            latest[stage] = v
    return sorted(latest.values(), key=lambda v: v.version)


def model_doc(registry: Registry, model: Model) -> dict[str, Any]:
    versions = registry.versions(model.name)
    aliases = Aliases.of(registry, model.name)
    updated = max([model.created_at, *(v.created_at for v in versions)])
    return {
        "name": model.name,
        "creation_timestamp": millis(model.created_at),
        "last_updated_timestamp": millis(updated),
        "user_id": model.created_by,
        "description": model.description,
        "latest_versions": [version_doc(v, aliases) for v in latest_per_stage(versions, aliases)],
        "tags": [{"key": k, "value": v} for k, v in sorted(model.tags.items())],
        "aliases": aliases.docs(),
    }


def number(version: str | int) -> int:
    """MLflow sends version numbers as strings."""
    if isinstance(version, str) and not (version.isascii() and version.isdigit()):
        raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
    if isinstance(version, str) and len(version) > 19:
        raise InvalidInput(f"invalid version {version[:20]!r}...: expected a positive integer")
    return check_version(int(version) if isinstance(version, str) else version)


def live_version(registry: Registry, name: str, alias: str) -> int:
    """The one version the environment `alias` serves now."""
    live = registry.live(name, env=alias).versions
    if not live:
        raise NotFound(f"registered model {name!r} has no alias {alias!r}")
    if len(live) > 1:
        raise Conflict(f"{name}@{alias} splits its traffic between versions; it is no alias")
    return live[0].version
