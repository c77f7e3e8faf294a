"""Evidence over HTTP: the reports a reviewer reads about a model or one decision."""

from __future__ import annotations

from typing import Any

from ..domain.errors import InvalidInput
from .client import API, ServerClient, _quote, _time_param


class Evidence(ServerClient):
    """Reports assembled by the server from its records."""

    def report_model(
        self, name: str, *, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        return dict(
            self._get(
                f"{self._model_path(name)}/report",
                since=_time_param(since, "since"),
                until=_time_param(until, "until"),
            )
        )

    def report_decision(self, decision_id: str) -> dict[str, Any]:
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        return dict(self._get(f"{API}/decisions/{_quote(decision_id)}/report"))
