"""Metadata in a relational database (SQLite now, PostgreSQL through the same migrations).

Public names: the store, and what copying an embedded store into a PostgreSQL one needs
(`modelrepo.transfer`); those load SQLAlchemy, so they are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .store import SqlMetadataStore, redact_url

if TYPE_CHECKING:
    from .copying import SCHEMA, DecisionLog, write_transaction

__all__ = ["SCHEMA", "DecisionLog", "SqlMetadataStore", "redact_url", "write_transaction"]

_COPYING = ("SCHEMA", "DecisionLog", "write_transaction")


def __getattr__(name: str) -> Any:
    if name in _COPYING:
        from . import copying

        return getattr(copying, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
