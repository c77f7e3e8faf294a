"""What running instances report they serve."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.serving import ServingPeriod


class ServingStore(Protocol):
    """Observed serving: the periods in which each instance served a version."""

    def serving_start(
        self,
        model: str,
        environment: str,
        *,
        instance_id: str,
        host: str,
        version: int,
        digest: str,
        at: datetime,
    ) -> None:
        """Open a serving period for an instance, ending the one it had open (a switch)."""
        ...

    def serving_heartbeat(
        self, model: str, environment: str, instance_id: str, at: datetime
    ) -> None:
        """Mark the instance's open period in `model`@`environment` as seen at `at`; NotFound
        if the instance never served there (so it is touched only through what it serves)."""
        ...

    def serving_stop(self, model: str, environment: str, instance_id: str, at: datetime) -> None:
        """End the instance's open period there (nothing if it has none); NotFound as above."""
        ...

    def serving_periods(self, model: str, environment: str) -> list[ServingPeriod]: ...
