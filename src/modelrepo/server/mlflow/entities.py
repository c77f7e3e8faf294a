"""modelrepo's records as MLflow's registry entities (RegisteredModel, ModelVersion).

An MLflow registered model is a modelrepo model; a model version is a version; an alias is
an environment that one version serves now; a legacy stage is a version's label (the
reserved tag `mlflow.stage`), and the environment named after a serving stage serves its
highest-numbered holder (`domain.stages`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...domain.errors import Conflict, InvalidInput, NotFound
from ...domain.mlflow_fields import DESCRIPTION_TAG, MODEL_ID_PARAM, RUN_ID_PARAM, SOURCE_PARAM
from ...domain.model import Model, ModelVersion
from ...domain.names import check_version
from ...domain.stages import STAGE_ENVIRONMENTS, STAGE_TAG, STAGES, canonical_stage, stage_of
from ...registry import Registry

RESERVED_TAGS = frozenset({DESCRIPTION_TAG, STAGE_TAG})
"""Version tags kept for MLflow's own fields, hidden from the tags MLflow clients see."""
UPDATING_TAGS = RESERVED_TAGS
"""Changes to these tags are what MLflow counts as updating a version (its description and
its stage), so they move `last_updated_timestamp`; other tags do not, as in MLflow."""


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True)
class Aliases:
    """What each environment of a model serves now, when it is one version (an alias)."""

    by_alias: dict[str, int]

    @classmethod
    def of(cls, registry: Registry, name: str) -> Aliases:
        """The model's aliases. The environment of a serving stage (`staging`,
        `production`) is that stage's while some version holds the stage: it is then no
        alias, as in MLflow, where stages and aliases are apart."""
        environments = registry.environments(name)
        held: set[str] = set()
        if any(e.name in STAGE_ENVIRONMENTS.values() for e in environments):
            held = {
                STAGE_ENVIRONMENTS[stage]
                for v in registry.versions(name)
                if (stage := stage_of(v.tags)) in STAGE_ENVIRONMENTS
            }
        found = {}
        for env in environments:
            if env.name in held:
                continue
            live = registry.live(name, env=env.name).versions
            if len(live) == 1:
                found[env.name] = live[0].version
        return cls(found)

    def of_version(self, version: int) -> list[str]:
        return sorted(a for a, v in self.by_alias.items() if v == version)

    def docs(self) -> list[dict[str, str]]:
        return [{"alias": a, "version": str(v)} for a, v in sorted(self.by_alias.items())]


def updated_at(
    registry: Registry, found: ModelVersion, keys: frozenset[str] = UPDATING_TAGS
) -> datetime:
    """When MLflow would say the version was last updated: its creation, or the latest change
    of its description or stage (of the tags in `keys`)."""
    changes = [
        e.at
        for e in registry.events(found.model, found.version)
        if e.kind in ("tag_set", "tag_removed") and e.key in keys
    ]
    return max([found.created_at, *changes])


def version_doc(registry: Registry, found: ModelVersion, aliases: Aliases) -> dict[str, Any]:
    params = found.params
    description = found.tags.get(DESCRIPTION_TAG, found.description)
    doc: dict[str, Any] = {
        "name": found.model,
        "version": str(found.version),
        "creation_timestamp": millis(found.created_at),
        "last_updated_timestamp": millis(updated_at(registry, found)),
        "user_id": found.created_by,
        "current_stage": stage_of(found.tags),
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
    versions: list[ModelVersion], stages: list[str] | None = None
) -> list[ModelVersion]:
    """The highest-numbered version in each stage (all four, or those in `stages`), as
    MLflow's get-latest-versions answers: the rule `models:/NAME/<stage>` resolves by."""
    wanted = {canonical_stage(s) for s in stages} if stages else set(STAGES)
    latest: dict[str, ModelVersion] = {}
    for v in versions:
        stage = stage_of(v.tags)
        if stage in wanted and (stage not in latest or v.version > latest[stage].version):
            latest[stage] = v
    return sorted(latest.values(), key=lambda v: v.version)


def model_updated_at(
    registry: Registry, model: Model, versions: list[ModelVersion] | None = None
) -> datetime:
    """When MLflow would say the model was last updated: its creation, a description, a new
    version or a stage change (not a version's description, nor a tag)."""
    if versions is None:
        versions = registry.versions(model.name)
    described = [e.at for e in registry.model_events(model.name) if e.kind == "described"]
    staged = (updated_at(registry, v, frozenset({STAGE_TAG})) for v in versions)
    return max([model.created_at, *described, *staged])


def model_doc(registry: Registry, model: Model) -> dict[str, Any]:
    versions = registry.versions(model.name)
    aliases = Aliases.of(registry, model.name)
    updated = model_updated_at(registry, model, versions)
    latest = latest_per_stage(versions)
    return {
        "name": model.name,
        "creation_timestamp": millis(model.created_at),
        "last_updated_timestamp": millis(updated),
        "user_id": model.created_by,
        "description": model.description,
        "latest_versions": [version_doc(registry, v, aliases) for v in latest],
        "tags": [{"key": k, "value": v} for k, v in sorted(model.tags.items())],
        "aliases": aliases.docs(),
    }


def has_environment(registry: Registry, name: str, env: str) -> bool:
    return any(e.name == env for e in registry.environments(name))


_NOT_POSITIVE = re.compile(r"-[0-9]{1,19}|0+")


def number(version: str | int) -> int:
    """MLflow sends version numbers as strings. An integer below 1 names no version: MLflow
    answers it as a missing one (404), anything else that is not an integer as invalid."""
    if isinstance(version, str) and _NOT_POSITIVE.fullmatch(version):
        raise NotFound(f"model version {version} not found")
    if isinstance(version, int) and not isinstance(version, bool) and version < 1:
        raise NotFound(f"model version {version} not found")
    if isinstance(version, str) and not (version.isascii() and version.isdigit()):
        raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
    if isinstance(version, str) and len(version) > 19:
        raise InvalidInput(f"invalid version {version[:20]!r}...: expected a positive integer")
    return check_version(int(version) if isinstance(version, str) else version)


LATEST = "latest"
_ALIAS = re.compile(r"[\w\-]*")
_VERSION_ALIAS = re.compile(r"[vV][0-9]+")


def check_alias(alias: str, *, setting: bool = False) -> str:
    """An alias name as MLflow checks it: word characters and dashes, at most 255; when
    `setting` one, `latest` (in any case) and `v<digits>` (`V` too) are reserved, as they
    name versions in `models:/NAME@...`."""
    if not alias:
        raise InvalidInput("Registered model alias name cannot be empty.")
    if not _ALIAS.fullmatch(alias):
        raise InvalidInput(
            f"Invalid alias name: {alias!r}. Names may only contain alphanumerics, "
            "underscores (_), and dashes (-)."
        )
    if len(alias) > 255:
        raise InvalidInput("Registered model alias name exceeds the maximum length of 255")
    if setting and alias.lower() == LATEST:
        raise InvalidInput("'latest' alias name (case insensitive) is reserved.")
    if setting and _VERSION_ALIAS.fullmatch(alias):
        raise InvalidInput(f"Version alias name {alias!r} is reserved.")
    return alias


class AliasNotFound(InvalidInput):
    """MLflow answers a missing alias as an invalid parameter (400), not a missing
    resource."""


def live_version(registry: Registry, name: str, alias: str) -> int:
    """The one version the environment `alias` serves now."""
    registry.model(name)
    live = registry.live(name, env=alias).versions if has_environment(registry, name, alias) else ()
    if not live:
        raise AliasNotFound(f"Registered model alias {alias} not found.")
    if len(live) > 1:
        raise Conflict(f"{name}@{alias} splits its traffic between versions; it is no alias")
    return live[0].version
