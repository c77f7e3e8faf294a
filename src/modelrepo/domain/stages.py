"""MLflow's legacy stages: a label each version carries, and the rule that picks which
version a stage serves.

In MLflow a stage (`None`, `Staging`, `Production`, `Archived`) is a property of a version,
and several versions may hold the same stage at once. `models:/NAME/Production` resolves to
the highest-numbered version in that stage, whatever the order they entered it or were last
edited. Here the stage is kept as a reserved version tag (so every change of it is recorded
and audited like any tag), and the environment named after the stage serves the version this
rule picks.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import InvalidInput

STAGE_TAG = "mlflow.stage"
"""The reserved version tag that holds a version's MLflow stage (absent means `None`)."""

NONE, STAGING, PRODUCTION, ARCHIVED = "None", "Staging", "Production", "Archived"
STAGES = (NONE, STAGING, PRODUCTION, ARCHIVED)

STAGE_ENVIRONMENTS = {STAGING: "staging", PRODUCTION: "production"}
"""The stages that serve, and the environment each one serves in."""


def canonical_stage(text: str) -> str:
    """The stage named by `text`, matched without regard to case as MLflow does."""
    if isinstance(text, str):
        for stage in STAGES:
            if text.strip().lower() == stage.lower():
                return stage
    raise InvalidInput(f"invalid stage {text!r}: use None, Staging, Production or Archived")


def stage_of(tags: Mapping[str, str]) -> str:
    """A version's stage, from its tags."""
    return tags.get(STAGE_TAG, NONE)


def serving_in_stage(stages: Mapping[int, str], stage: str) -> int | None:
    """The version `models:/NAME/<stage>` resolves to: the highest-numbered version whose
    stage is `stage`, or None when no version holds it."""
    holders = [version for version, held in stages.items() if held == stage]
    return max(holders) if holders else None
