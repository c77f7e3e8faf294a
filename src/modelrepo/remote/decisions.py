"""Decisions over HTTP: logging them (one, a batch, columns, an uploaded file), reading
them back, and the policy for their stored inputs."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..api.decisions import DecisionsAPI
from ..domain.decisions import Decision
from ..domain.deployments import check_environment_name
from ..domain.errors import InvalidInput
from ..domain.names import validate_model_name
from ..domain.outputs import canonical_output, canonical_outputs
from ..domain.pages import Page
from .client import API, ServerClient, _quote, _time_param, _wire_time

_IMPORT_TYPES = {
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".json": "application/x-ndjson",
    ".parquet": "application/vnd.apache.parquet",
    ".pq": "application/vnd.apache.parquet",
}
"""How a decisions file is sent, by its suffix (as `Registry.import_decisions` reads it)."""


class Decisions(ServerClient, DecisionsAPI):
    """What each model decided, with which version, and what is kept of its inputs."""

    @staticmethod
    def _decision_body(record: Mapping[str, Any]) -> dict[str, Any]:
        body = dict(record)
        if "output" in body:  # in its JSON form here: NumPy values cannot travel otherwise
            body["output"] = canonical_output(body["output"], "decision output")
        body["decided_at"] = _time_param(body.get("decided_at"), "decision time")
        return {k: v for k, v in body.items() if v is not None or k in ("inputs", "output")}

    def log_decision(
        self,
        model: str,
        *,
        inputs: Any,
        output: Any,
        environment: str | None = None,
        version: int | None = None,
        decision_id: str | None = None,
        decided_at: datetime | str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Decision:
        body = self._decision_body(
            {
                "model": model,
                "inputs": inputs,
                "output": output,
                "environment": environment,
                "version": version,
                "decision_id": decision_id,
                "decided_at": decided_at,
                "metadata": dict(metadata) if metadata is not None else None,
            }
        )
        return Decision.from_dict(self._post(f"{API}/decisions", body))

    def log_decisions(self, records: Iterable[Mapping[str, Any]]) -> int:
        # One request, so one transaction on the server; it takes up to 10 000 at a time.
        batch = [self._decision_body(r) for r in records]
        if not batch:
            return 0
        return int(self._post(f"{API}/decisions/batch", {"decisions": batch})["recorded"])

    def decision(self, decision_id: str) -> dict[str, Any]:
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        return dict(self._get(f"{API}/decisions/{_quote(decision_id)}"))

    def decisions(
        self,
        model: str,
        *,
        env: str | None = None,
        version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 1000,
    ) -> list[Decision]:
        found = self._pages(
            f"{self._model_path(model)}/decisions",
            limit,
            env=env,
            version=version,
            since=_time_param(since, "since"),
            until=_time_param(until, "until"),
        )
        return [Decision.from_dict(d) for d in found]

    def decisions_page(
        self,
        model: str,
        *,
        env: str | None = None,
        version: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Decision]:
        return self._page(
            f"{self._model_path(model)}/decisions",
            Decision.from_dict,
            limit,
            cursor,
            env=env,
            version=version,
            since=_time_param(since, "since"),
            until=_time_param(until, "until"),
        )

    # -- decision data: columns, imports, stored inputs, policy ---------------------------

    def log_decision_columns(
        self,
        model: str,
        *,
        outputs: Sequence[Any],
        environment: str | None = None,
        version: int | None = None,
        decided_at: Sequence[datetime | str] | datetime | str | None = None,
        inputs: Sequence[Any] | None = None,
        inputs_digests: Sequence[str] | None = None,
        decision_ids: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | Mapping[str, Any] | None = None,
    ) -> int:
        # The columns travel as one JSON document (no key repeated per decision) in one
        # request, so one transaction on the server, checked and flagged there. The server's
        # JSON body limit (64 MiB by default) bounds a batch.
        from ..decisioning import as_column

        validate_model_name(model)
        if inputs is not None and inputs_digests is not None:
            raise InvalidInput("send the decisions' inputs or their digests, not both")
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
        body: dict[str, Any] = {
            "outputs": canonical_outputs(as_column(outputs, "outputs"), "decision output")
        }
        if environment is not None:
            body["environment"] = check_environment_name(environment)
        if version is not None:
            body["version"] = int(version)
        if isinstance(decided_at, (str, datetime)):
            body["decided_at"] = _wire_time(decided_at)
        elif decided_at is not None:
            body["decided_at"] = [_wire_time(t) for t in as_column(decided_at, "decided_at")]
        for name, column in (
            ("inputs", inputs),
            ("inputs_digests", inputs_digests),
            ("decision_ids", decision_ids),
        ):
            if column is not None:
                body[name] = as_column(column, name)
        if isinstance(metadata, Mapping):
            body["metadata"] = dict(metadata)
        elif metadata is not None:
            body["metadata"] = [
                dict(m) if isinstance(m, Mapping) else m for m in as_column(metadata, "metadata")
            ]
        try:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInput(f"decision record is not JSON: {exc}") from None

        def send(_stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            return {"content": content, "headers": {"Content-Type": "application/json"}}

        path = f"{self._model_path(model)}/decisions/columns"
        return int(self._request("POST", path, send=send).json()["recorded"])

    def import_decisions(
        self,
        path: str | os.PathLike[str],
        *,
        check: Callable[[Sequence[Any]], None] | None = None,
    ) -> int:
        # The file is uploaded, streamed from disk (never held whole here); the server reads
        # it and records every decision in one transaction. The server checks the scope
        # itself, so `check` is refused here.
        if check is not None:
            raise InvalidInput("check= is for a server's own use; the server checks the scope")
        source = Path(path)
        kind = _IMPORT_TYPES.get(source.suffix.lower())
        if kind is None:
            raise InvalidInput(f"{source}: expected a .jsonl or .parquet file")
        with open(source, "rb"):  # a missing file is an OSError here, as on the store
            pass
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in source.name)[:128]

        def send(stack: contextlib.ExitStack[Any]) -> dict[str, Any]:
            stream = stack.enter_context(open(source, "rb"))  # noqa: SIM115
            return {"content": stream, "headers": {"Content-Type": kind}}

        reply = self._request(
            "POST", f"{API}/decisions/import", params={"filename": name or "upload"}, send=send
        )
        return int(reply.json()["imported"])

    def decision_inputs(self, decision_id: str) -> Any:
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        return self._get(f"{API}/decision-inputs/{_quote(decision_id)}")["inputs"]

    def set_decision_inputs(
        self, model: str, mode: str, *, retention_days: int | None = None
    ) -> None:
        from ..domain.decisions import check_input_mode

        validate_model_name(model)
        check_input_mode(mode)
        if retention_days is not None and (
            isinstance(retention_days, bool) or not isinstance(retention_days, int)
            or retention_days < 1
        ):  # fmt: skip
            raise InvalidInput("retention must be a positive number of days")
        body = {"inputs": mode, "retention_days": retention_days}
        self._request("PUT", f"{self._model_path(model)}/decisions/policy", body=body)

    def purge_decision_inputs(self, model: str | None = None) -> dict[str, int]:
        if model:
            validate_model_name(model)
        found = self._post(f"{API}/decisions/purge", {"model": model or None})["purged"]
        return {str(k): int(v) for k, v in found.items()}
