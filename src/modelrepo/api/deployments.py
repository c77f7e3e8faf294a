"""The deployments API (what serves where and when, requests and approvals), as both
registries offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from ..domain.deployments import (
        DeploymentEvent,
        DeploymentOutcome,
        DeploymentRequest,
        Environment,
        Interval,
        LiveState,
    )


class DeploymentsAPI(Protocol):
    """What serves where and when, and the approvals protected environments need."""

    def resolve(self, ref: str) -> tuple[str, int]:
        """`NAME@N` -> (NAME, N); `NAME@ENV` -> the one version live in ENV now."""
        ...

    def deploy(
        self,
        name: str,
        version: int,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        """Make `version` serve all traffic of `env` (pending if `env` is protected)."""
        ...

    def deploy_split(
        self,
        name: str,
        split: Mapping[int, float],
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        """Share `env`'s traffic between versions, e.g. {7: 0.9, 8: 0.1}."""
        ...

    def undeploy(
        self,
        name: str,
        *,
        env: str,
        reason: str | None = None,
        effective_at: datetime | str | None = None,
    ) -> DeploymentOutcome:
        """Stop serving anything from `env`."""
        ...

    def rollback(self, name: str, *, env: str, reason: str | None = None) -> DeploymentOutcome:
        """Restore what served `env` before the current deployment."""
        ...

    def import_deployments(
        self, name: str, records: Iterable[Mapping[str, Any]], *, source: str
    ) -> int:
        """Bulk-record past deployments (all or none), marked as backfills from `source`.

        Each record has `environment`, `effective_at`, and `versions` ({version: weight}, or
        empty for an undeploy); `reason` is optional and prefixed with the source.

        A record with `"kind": "observe"` is an observation of a source that keeps no
        history (MLflow's aliases and stages): at `effective_at` (not after now) the
        environment served `versions` (empty: nothing); what it served between
        `unknown_from` (optional, before `effective_at`; absent: the beginning of time) and
        then is unknown, so `live` answers "unknown" there; `earliest_at` (optional, not
        after `effective_at`) is kept as a bound: the earliest the versions could have
        started serving. Its reason reads "imported from SOURCE, which keeps no history",
        followed by ": REASON" when one is given.
        """
        ...

    def approve(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        """Approve a pending request as this registry's user (never the requester)."""
        ...

    def reject(self, request_id: int, *, reason: str | None = None) -> DeploymentRequest:
        """Reject a pending request (never by the requester)."""
        ...

    def requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[DeploymentRequest]:
        """Deployment requests, oldest first, optionally of one model and status."""
        ...

    def request(self, request_id: int) -> DeploymentRequest:
        """One deployment request, whatever its status (NotFound if there is none)."""
        ...

    def protect(self, name: str, *, env: str, require_sso: bool = False) -> Environment:
        """Require a second person's approval for every change to `env`; `require_sso`: and
        accept requests and approvals only from identity-provider users."""
        ...

    def unprotect(self, name: str, *, env: str, reason: str | None = None) -> DeploymentRequest:
        """Ask to lift protection; like any change to a protected environment, needs approval."""
        ...

    def environments(self, name: str) -> list[Environment]:
        """The model's environments (each made by its first deployment or protection), by
        name, with whether they are protected and every change to that."""
        ...

    def live(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        as_known_at: datetime | str | None = None,
    ) -> LiveState:
        """What served `env` at `at` (default now), as the registry knew it at `as_known_at`.

        When an observation leaves `at` unknown (see `import_deployments`), the state's
        `unknown` says between which instants and why, its `versions` are empty and its
        `event` is the observation; what serves now is never unknown."""
        ...

    def history(
        self,
        name: str,
        *,
        env: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> list[DeploymentEvent]:
        """Deployment events in effective order, optionally of one environment and period."""
        ...

    def timeline(
        self,
        name: str,
        *,
        env: str | None = None,
        version: int | None = None,
        as_known_at: datetime | str | None = None,
    ) -> list[Interval]:
        """Intervals of what served where; with `version`, only the intervals it served in.
        A stretch an observation leaves unknown is an interval with `unknown` set (and no
        `start` when it runs from the beginning of time)."""
        ...
