"""The audit log: append-only entries, their hash tree and signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..domain.audit import AuditEntry


class AuditStore(Protocol):
    """The audit log (append-only; entries are written by the mutations themselves)."""

    def record_audit(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        at: datetime,
        change: Mapping[str, Any],
        only_if_empty: bool = False,
    ) -> AuditEntry | None: ...

    def audit_size(self) -> int: ...

    def audit_node(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree (level, index); LookupError if absent."""
        ...

    def audit_entries(
        self, start: int = 1, end: int | None = None
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(seq, canonical entry bytes, stored leaf hash) in sequence order."""
        ...

    def audit_rows(
        self, start: int = 1
    ) -> Iterator[tuple[int, bytes, bytes | None, int, str, str]]:
        """(seq, entry bytes, stored leaf hash, at in microseconds, kind, subject): each entry
        with the columns stored beside it, which entries are selected by."""
        ...

    def audit_tree(self) -> Iterator[tuple[int, bytes]]:
        """(position, hash) of every stored interior node of the tree, by position."""
        ...

    def audit_entry(self, seq: int) -> bytes | None: ...

    def subject_entries(self, subject: str) -> list[tuple[int, bytes]]:
        """(seq, body) of the entries about `subject`, in log order; for `model:NAME`, with
        those filed under several models that name it (`domain.audit.entries_of_subject`)."""
        ...

    def add_checkpoint(self, size: int, at: datetime, body: str) -> None: ...

    def checkpoints(self) -> list[tuple[int, int, str]]:
        """Every stored checkpoint, oldest first: (size, time in microseconds, signed body);
        the size and time are kept beside the body for scheduling, and must say what it says."""
        ...

    def last_checkpoint(self) -> tuple[int, int] | None: ...
