"""Decision records: each prediction tied to the exact version that made it.

A decision records its inputs' digest (SHA-256 of their canonical JSON) always, and the
inputs themselves according to the model's policy: `inline` (in the record), `blob` (in the
blob store, by that digest) or `digest` (the digest only, for privacy). How the version was
obtained is recorded (`given` by the caller, or `resolved` from the deployment history at the
decision time), and anything doubtful is flagged, never dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from .errors import InvalidInput
from .times import format_time

INPUT_MODES = ("inline", "blob", "digest")
_DECISION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")

# Flags: what the registry could not vouch for when the decision was logged.
VERSION_UNKNOWN = "version_unknown"  # the version does not exist
NOT_LIVE = "not_live"  # the version was not live in the environment at the decision time
NO_ENVIRONMENT = "no_environment"  # no environment given: liveness could not be checked


CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""One encoder, made once: building one per call costs more than encoding a small record."""


def canonical_inputs(inputs: Any) -> bytes:
    """The bytes an input payload is hashed and stored as (sorted keys, no whitespace)."""
    try:
        return CANONICAL.encode(inputs).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"decision inputs are not JSON: {exc}") from None


def inputs_digest(inputs: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_inputs(inputs)).hexdigest()


def check_decision_id(decision_id: str) -> str:
    if not isinstance(decision_id, str) or not _DECISION_ID.fullmatch(decision_id):
        raise InvalidInput(
            f"invalid decision id {decision_id!r}: 1-128 characters of letters, digits and "
            "'.', '_', ':', '/', '-'"
        )
    return decision_id


def check_input_mode(mode: str) -> str:
    if mode not in INPUT_MODES:
        raise InvalidInput(f"invalid inputs mode {mode!r}: use inline, blob or digest")
    return mode


class NewDecision(NamedTuple):
    """A decision as the caller states it, before the store records it (a tuple: cheap to
    make by the hundred thousand)."""

    decision_id: str
    model: str
    environment: str | None
    version: int
    version_source: str  # given | resolved
    decided_at: datetime
    inputs_digest: str
    inputs: Any  # None unless kept inline
    inputs_mode: str
    output: Any
    metadata: Mapping[str, Any] = {}
    flags: tuple[str, ...] = ()


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def check_inputs_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidInput(f"invalid inputs digest {digest!r}: expected sha256:<64 hex>")
    return digest


@dataclass(frozen=True, slots=True)
class Decision:
    """A recorded decision."""

    decision_id: str
    model: str
    environment: str | None
    version: int
    version_source: str
    decided_at: datetime
    recorded_at: datetime
    inputs_digest: str
    inputs_mode: str
    inputs: Any
    output: Any
    metadata: Mapping[str, Any]
    flags: tuple[str, ...]
    inputs_purged_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "model": self.model,
            "environment": self.environment,
            "version": self.version,
            "version_source": self.version_source,
            "decided_at": format_time(self.decided_at),
            "recorded_at": format_time(self.recorded_at),
            "inputs_digest": self.inputs_digest,
            "inputs_mode": self.inputs_mode,
            "inputs": self.inputs,
            "output": self.output,
            "metadata": dict(self.metadata),
            "flags": list(self.flags),
            "inputs_purged_at": format_time(self.inputs_purged_at)
            if self.inputs_purged_at
            else None,
        }
