"""The store's integrity over HTTP: checks and collection run on the server (admin tokens
only), and whether it answers at all."""

from __future__ import annotations

from ..api.types import FsckReport, GcReport, ProgressFactory
from .client import API, ServerClient


class Integrity(ServerClient):
    """The server's store checked, cleaned and asked whether it is ready."""

    def fsck(self, *, progress: ProgressFactory | None = None) -> FsckReport:
        """Run on the server (admin tokens only); no progress is reported meanwhile."""
        return FsckReport.from_dict(self._post(f"{API}/admin/fsck"))

    def gc(self, *, dry_run: bool = False) -> GcReport:
        return GcReport.from_dict(self._post(f"{API}/admin/gc", {"dry_run": bool(dry_run)}))

    def ready(self) -> int:
        return int(self._get("/readyz")["audit_size"])
