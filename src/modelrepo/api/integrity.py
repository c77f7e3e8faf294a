"""The API that checks the stored bytes and collects what nothing references, as both
registries offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .types import FsckReport, GcReport, ProgressFactory


class IntegrityAPI(Protocol):
    """Checking the stored bytes, and collecting what nothing references."""

    def fsck(self, *, progress: ProgressFactory | None = None) -> FsckReport:
        """Re-hash every referenced blob; report missing, corrupt and orphaned blobs, and
        the files of an embedded store that are more open than its mode allows."""
        ...

    def gc(self, *, dry_run: bool = False) -> GcReport:
        """Remove blobs no live version references, and abandoned uploads.

        Holds the store lock exclusively, so no upload can be in flight while it runs.
        """
        ...
