"""The deployment history: append-only, bitemporal, with four-eyes approval."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from .clock import Clock

if TYPE_CHECKING:
    from ..domain.deployments import (
        DeploymentChange,
        DeploymentEvent,
        DeploymentRequest,
        Environment,
    )
    from ..domain.principals import Authentication


class DeploymentStore(Protocol):
    """Deployment history (append-only, bitemporal) and the requests that wait for approval."""

    def apply_deployment(
        self, change: DeploymentChange, *, clock: Clock
    ) -> DeploymentEvent | DeploymentRequest:
        """Decide a deploy, undeploy or rollback with `decide_deployment` and persist the
        result in one write transaction, so protection and history cannot change between
        the decision and the write: the event (`recorded_at` read from `clock` inside the
        transaction, strictly increasing; a rollback's target computed here) or, in a
        protected environment without an approval, the request for one. A refusal raises
        and writes nothing."""
        ...

    def import_deployments(self, changes: Sequence[DeploymentChange], *, clock: Clock) -> int:
        """Record many deploys/undeploys atomically (all or none), for imported history;
        refused for a protected environment. Returns how many were recorded."""
        ...

    def protect(
        self,
        model: str,
        env: str,
        *,
        actor: str,
        clock: Clock,
        require_sso: bool = False,
        auth: Authentication | None = None,
    ) -> Environment:
        """Protect an environment (and require single sign-on of it), with an audit entry;
        nothing is recorded when it is already as tight."""
        ...

    def request_deployment(self, change: DeploymentChange, *, clock: Clock) -> DeploymentRequest:
        """Open a request for approval whatever the environment's protection (lifting
        protection is one, and is never applied directly)."""
        ...

    def decide_request(
        self,
        request_id: int,
        *,
        approve: bool,
        actor: str,
        reason: str | None,
        clock: Clock,
        auth: Authentication | None = None,
    ) -> DeploymentRequest:
        """Approve (and carry out) or reject a pending request; never by its requester."""
        ...

    def get_request(self, request_id: int) -> DeploymentRequest: ...

    def list_requests(
        self, model: str | None = None, status: str | None = None
    ) -> list[DeploymentRequest]: ...

    def environment(self, model: str, env: str) -> Environment: ...

    def environments(self, model: str) -> list[Environment]: ...

    def deployment_events(self, model: str, env: str | None = None) -> list[DeploymentEvent]:
        """Events in recording order."""
        ...

    def live(
        self, model: str, env: str, at: datetime, as_known_at: datetime | None = None
    ) -> DeploymentEvent | None:
        """The event in force at `at` as known at `as_known_at` (None: nothing ever was)."""
        ...
