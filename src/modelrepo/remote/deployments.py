"""Deployments over HTTP: deploy, split, undeploy, roll back, four-eyes requests, protected
environments, what is live, history and timelines."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..api.arguments import optional_time
from ..api.deployments import DeploymentsAPI
from ..domain.deployments import (
    DeploymentOutcome,
    DeploymentRequest,
    Environment,
    Interval,
    LiveState,
    check_environment_name,
    normalise_split,
    timeline,
)
from ..domain.errors import InvalidInput
from ..domain.names import check_version, validate_model_name
from .client import API, ServerClient, _time_param

if TYPE_CHECKING:
    from ..domain.deployments import DeploymentEvent


class Deployments(ServerClient, DeploymentsAPI):
    """Which version is live where, and the history of how it got there."""

    def deploy(
        self,
        name: str,
        version: int,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        body = {
            "version": check_version(version),
            "reason": reason,
            "effective_at": _time_param(effective_at, "effective time"),
        }
        return DeploymentOutcome.from_dict(self._post(f"{self._env_path(name, env)}/deploy", body))

    def deploy_split(
        self,
        name: str,
        split: Mapping[int, float],
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        body = {
            "split": {str(a.version): a.weight for a in normalise_split(split)},
            "reason": reason,
            "effective_at": _time_param(effective_at, "effective time"),
        }
        return DeploymentOutcome.from_dict(self._post(f"{self._env_path(name, env)}/deploy", body))

    def undeploy(
        self,
        name: str,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        body = {"reason": reason, "effective_at": _time_param(effective_at, "effective time")}
        return DeploymentOutcome.from_dict(
            self._post(f"{self._env_path(name, env)}/undeploy", body)
        )

    def rollback(self, name: str, *, env: str, reason: str | None = None) -> DeploymentOutcome:
        return DeploymentOutcome.from_dict(
            self._post(f"{self._env_path(name, env)}/rollback", {"reason": reason})
        )

    def approve(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        path = f"{API}/requests/{check_version(request_id)}/approve"
        return DeploymentRequest.from_dict(self._post(path, {"reason": reason}))

    def reject(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        path = f"{API}/requests/{check_version(request_id)}/reject"
        return DeploymentRequest.from_dict(self._post(path, {"reason": reason}))

    def requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[DeploymentRequest]:
        if status not in (None, "pending", "approved", "rejected"):
            raise InvalidInput(f"invalid status {status!r}: use pending, approved or rejected")
        if name is not None:
            validate_model_name(name)
        found = self._pages(f"{API}/requests", model=name, status=status)
        return [DeploymentRequest.from_dict(r) for r in found]

    def request(self, request_id: int) -> DeploymentRequest:
        return DeploymentRequest.from_dict(self._get(f"{API}/requests/{check_version(request_id)}"))

    def protect(self, name: str, *, env: str, require_sso: bool = False) -> Environment:
        path = f"{self._env_path(name, env)}/protect"
        if require_sso:
            path += "?require_sso=true"
        return Environment.from_dict(self._post(path))

    def unprotect(self, name: str, *, env: str, reason: str | None = None) -> DeploymentRequest:
        path = f"{self._env_path(name, env)}/unprotect"
        return DeploymentRequest.from_dict(self._post(path, {"reason": reason}))

    def environments(self, name: str) -> list[Environment]:
        found = self._get(f"{self._model_path(name)}/environments")
        return [Environment.from_dict(e) for e in found]

    def live(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        as_known_at: datetime | str | None = None,
    ) -> LiveState:
        found = self._get(
            f"{self._env_path(name, env)}/live",
            at=_time_param(at, "time"),
            as_known_at=_time_param(as_known_at, "as-known-at time"),
        )
        return LiveState.from_dict(found)

    def history(
        self,
        name: str,
        *,
        env: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> list[DeploymentEvent]:
        from ..domain.deployments import DeploymentEvent

        if env is not None:
            check_environment_name(env)
        found = self._pages(
            f"{self._model_path(name)}/history",
            env=env,
            since=_time_param(since, "since"),
            until=_time_param(until, "until"),
        )
        return [DeploymentEvent.from_dict(e) for e in found]

    def timeline(
        self,
        name: str,
        *,
        env: str | None = None,
        version: int | None = None,
        as_known_at: datetime | str | None = None,
    ) -> list[Interval]:
        # Computed here from the whole history, by the same rules as the embedded store.
        known = optional_time(as_known_at, "as-known-at time")
        intervals = timeline(self.history(name, env=env), known)
        if version is not None:
            intervals = [i for i in intervals if any(a.version == version for a in i.versions)]
        return intervals

    def import_deployments(
        self, name: str, records: Iterable[Mapping[str, Any]], *, source: str
    ) -> int:
        body: list[dict[str, Any]] = []
        for record in records:
            effective = _time_param(record.get("effective_at"), "effective time")
            if effective is None:
                raise InvalidInput("every imported deployment needs an effective_at")
            try:
                split = {str(int(k)): float(v) for k, v in (record.get("versions") or {}).items()}
            except (TypeError, ValueError):
                raise InvalidInput("versions are {version number: weight}") from None
            item: dict[str, Any] = {
                "environment": str(record.get("environment")),
                "effective_at": effective,
                "versions": split,
                "reason": record.get("reason"),
            }
            if record.get("kind") is not None:
                item["kind"] = record["kind"]
            for bound in ("unknown_from", "earliest_at"):  # an observation's
                value = _time_param(record.get(bound), bound)
                if value is not None:
                    item[bound] = value
            body.append(item)
        found = self._post(
            f"{self._model_path(name)}/deployments/import", {"source": source, "records": body}
        )
        return int(found["imported"])
