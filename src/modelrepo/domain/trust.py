"""Trust that travels with a version: the types its files need trusted to load.

A scikit-learn model saved with skops names every type its file holds; skops refuses the ones
it does not know to be safe unless the loader lists them (a `RandomForestClassifier` needs
`sklearn.tree._tree.Tree`). Which types a version needs is decided once, by someone allowed
to, and recorded with the version as evidence: one `trusted` event per type (who, when, why),
and one audit entry per grant. Loading and replaying read that record, so a decision made with
trust replays with the same trust and no one retypes it. Trust only grows: a type once trusted
for a version stays trusted for it (the record of what it was loaded with must not change).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import InvalidInput
from .model import require_reason
from .times import format_time

TRUSTED = "trusted"
"""The kind of version event that records one trusted type."""

REGISTRATION_REASON = "trusted at registration"
"""The reason recorded for types trusted by the version's registration."""

_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_TYPE_MAX = 128


def check_trusted_types(types: Sequence[str] | None) -> tuple[str, ...]:
    """The types asked to be trusted, each once, in the order given: dotted Python names
    (`sklearn.tree._tree.Tree`) of up to 128 characters."""
    if types is None:
        return ()
    if isinstance(types, (str, bytes)) or not isinstance(types, Iterable):
        raise InvalidInput("trusted types are a list of type names, not one string")
    found: dict[str, None] = {}
    for name in types:
        if not isinstance(name, str) or len(name) > _TYPE_MAX or not _TYPE.fullmatch(name):
            raise InvalidInput(
                f"invalid trusted type {name!r}: give its dotted Python name, as skops names "
                "it (sklearn.tree._tree.Tree), up to 128 characters"
            )
        found[name] = None
    return tuple(found)


def trusted_of(events: Iterable[Any]) -> tuple[str, ...]:
    """The types a version's events record as trusted, sorted."""
    return tuple(sorted({e.key for e in events if e.kind == TRUSTED and e.key}))


def trust_record(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Each trusted type of a version with who trusted it, when and why (for reports)."""
    return [
        {"type": e.key, "by": e.actor, "at": format_time(e.at), "reason": e.reason}
        for e in events
        if e.kind == TRUSTED
    ]


def new_trust(trusted: Iterable[str], asked: Sequence[str]) -> list[str]:
    """Of the types `asked`, those not yet `trusted` (nothing to record when empty)."""
    already = set(trusted)
    return [name for name in asked if name not in already]


def trust_change(model: str, version: int, types: Sequence[str], reason: str) -> dict[str, Any]:
    """The audit change of trusting `types` for a version."""
    return {"model": model, "version": version, "types": list(types), "reason": reason}


def check_trust_reason(reason: str | None) -> str:
    """Trusting a type is a decision about code that will run: it needs a reason."""
    return require_reason(reason, "trusting types needs a reason (it is recorded with the version)")
