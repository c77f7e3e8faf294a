"""Decision records: each prediction tied to the exact version that made it.

A decision records its inputs' digest (SHA-256 of their canonical JSON) always, and the
inputs themselves according to the model's policy: `inline` (in the record), `blob` (in the
blob store, by that digest) or `digest` (the digest only, for privacy). How the version was
obtained is recorded (`given` by the caller, or `resolved` from the deployment history at the
decision time), and anything doubtful is flagged, never dropped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .canonical import canonical_bytes, canonical_text, canonical_texts
from .errors import Conflict, HistoryMoved, InvalidInput
from .outputs import canonical_output
from .times import format_time, parse_time, to_micros

INPUT_MODES = ("inline", "blob", "digest")
_DECISION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")

# Flags: what the registry could not vouch for when the decision was logged.
VERSION_UNKNOWN = "version_unknown"  # the version does not exist
NOT_LIVE = "not_live"  # the version was not live in the environment at the decision time
NO_ENVIRONMENT = "no_environment"  # no environment given: liveness could not be checked
# What served the environment at the decision time is unknown (an imported observation
# leaves it so): liveness could not be checked, so the decision is neither live nor not_live.
LIVE_UNKNOWN = "live_unknown"


# The names the stores know the canonical encoder by (`domain.canonical` holds it).
encode_canonical, encode_canonical_each = canonical_text, canonical_texts


def canonical_json(value: Any, what: str = "decision record") -> str:
    """Canonical JSON text of a value, or InvalidInput naming `what` was not JSON."""
    try:
        return encode_canonical(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"{what} is not JSON: {exc}") from None


def canonical_inputs(inputs: Any) -> bytes:
    """The bytes an input payload is hashed and stored as (sorted keys, no whitespace)."""
    try:
        return canonical_bytes(inputs)
    except (TypeError, ValueError, RecursionError) as exc:
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


_DECISION_IDS = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}\n)*")
_HEX = b"0123456789abcdef"


def check_decision_ids(decision_ids: list[str]) -> None:
    """`check_decision_id` on each, in one pass over the ids joined by newlines: with exactly
    one newline per id (so none holds one), the joined text matches if and only if every id
    does."""
    try:
        joined = "\n".join(decision_ids) + "\n"
        if joined.count("\n") == len(decision_ids) and _DECISION_IDS.fullmatch(joined):
            return
    except TypeError:  # an id that is not text
        pass
    for decision_id in decision_ids:
        check_decision_id(decision_id)


def check_inputs_digests(digests: list[str]) -> None:
    """`check_inputs_digest` on each, without a regular expression per digest: all 71
    characters long, `sha256:` at the start of each, and nothing but lowercase hex after it
    (the joined text less its hex digits is then `sh:` once per digest)."""
    count = len(digests)
    try:
        if set(map(len, digests)) <= {71}:
            joined = "".join(digests).encode("ascii")
            if all(joined[k::71] == bytes((c,)) * count for k, c in enumerate(b"sha256:")) and (
                joined.translate(None, _HEX) == b"sh:" * count
            ):
                return
    except (TypeError, UnicodeEncodeError):  # not text, or not ASCII
        pass
    for digest in digests:
        check_inputs_digest(digest)


@dataclass(frozen=True, slots=True)
class DecisionColumns:
    """A checked batch of decisions, column by column, each value in its storage form:
    instants in microseconds since the epoch, inputs/output/metadata/flags as canonical JSON
    text. What the stores append in bulk, without an object per decision."""

    decision_ids: list[str]
    models: list[str]
    environments: list[str | None]
    versions: list[int]
    version_sources: list[str]  # given | resolved
    decided_at: list[int]
    inputs_digests: list[str]
    inputs: list[str | None]  # JSON text when kept inline, else None
    inputs_modes: list[str]
    outputs: list[str]
    metadata: list[str]
    flags: list[str]  # a JSON array of flag names
    # The newest deployment event of each (model, environment) the versions and flags were
    # worked out from (0: none). A store appends the batch only if these are still the newest
    # inside its write transaction; otherwise a deployment got in between: HistoryMoved.
    histories: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.decision_ids)

    @classmethod
    def of(cls, items: Sequence[NewDecision]) -> DecisionColumns:
        """The columns of decisions given one by one."""
        return cls(
            [d.decision_id for d in items],
            [d.model for d in items],
            [d.environment for d in items],
            [d.version for d in items],
            [d.version_source for d in items],
            [to_micros(d.decided_at) for d in items],
            [d.inputs_digest for d in items],
            [None if d.inputs is None else canonical_json(d.inputs) for d in items],
            [d.inputs_mode for d in items],
            [canonical_json(canonical_output(d.output, "decision output")) for d in items],
            [canonical_json(dict(d.metadata)) if d.metadata else "{}" for d in items],
            [flags_json(tuple(d.flags)) for d in items],
        )


@functools.lru_cache(maxsize=64)
def flags_json(flags: tuple[str, ...]) -> str:
    return json.dumps(list(flags))


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

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Decision:
        purged = raw.get("inputs_purged_at")
        return cls(
            decision_id=raw["decision_id"],
            model=raw["model"],
            environment=raw.get("environment"),
            version=int(raw["version"]),
            version_source=raw["version_source"],
            decided_at=parse_time(raw["decided_at"]),
            recorded_at=parse_time(raw["recorded_at"]),
            inputs_digest=raw["inputs_digest"],
            inputs_mode=raw["inputs_mode"],
            inputs=raw.get("inputs"),
            output=raw.get("output"),
            metadata=dict(raw.get("metadata") or {}),
            flags=tuple(raw.get("flags") or ()),
            inputs_purged_at=parse_time(purged) if purged else None,
        )


def check_history_unmoved(
    histories: Mapping[tuple[str, str], int], latest: Callable[[str, str], int | None]
) -> None:
    """Each decision names the environment's newest deployment event its client saw
    (`histories`: (model, environment) -> event id, 0 for none); if `latest` (the store's
    newest now) differs, a deployment slipped in between and the batch is refused."""
    for (model, env), newest in histories.items():
        if (latest(model, env) or 0) != newest:
            raise HistoryMoved(f"{model} in {env} was deployed meanwhile")


def check_new_decision(decision_id: str, taken: bool) -> None:
    """A decision id is recorded once (`taken`: already stored or earlier in the batch)."""
    if taken:
        raise Conflict(f"decision {decision_id!r} is already recorded")


def input_policy_change(
    model: str, mode: str, retention_days: int | None, current: tuple[str, int | None] | None
) -> dict[str, Any] | None:
    """The audit change of setting `model`'s input policy (`current`: None if never set), or
    None when it is already so; a first explicit choice is recorded even if it is the default
    ("inline", kept for ever), so the record shows someone chose it."""
    if current is not None and (current[0], current[1]) == (mode, retention_days):
        return None
    return {
        "model": model,
        "inputs": mode,
        "retention_days": retention_days,
        "was": "inline" if current is None else current[0],
    }
