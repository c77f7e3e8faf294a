"""Evidence reports of a model or of a decision, for a reviewer, over an embedded store."""

from __future__ import annotations

from typing import Any

from ..api.evidence import EvidenceAPI
from ..domain.names import validate_model_name
from .core import Core


class Evidence(Core, EvidenceAPI):
    def report_model(
        self, name: str, *, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        from ..reports import model_report

        self.model(name)
        return model_report(self, validate_model_name(name), since=since, until=until)

    def report_decision(self, decision_id: str) -> dict[str, Any]:
        from ..reports import decision_report

        return decision_report(self, decision_id)
