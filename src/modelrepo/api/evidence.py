"""The evidence reports' API, as both registries offer it."""

from __future__ import annotations

from typing import Any, Protocol


class EvidenceAPI(Protocol):
    """Evidence reports of a model or a decision, for a reviewer."""

    def report_model(
        self, name: str, *, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        """The evidence report of a model over a period, as a JSON-ready document."""
        ...

    def report_decision(self, decision_id: str) -> dict[str, Any]:
        """The evidence report of one decision, as a JSON-ready document."""
        ...
