"""What was really serving: observed periods of serving instances, next to the history.

An assignment says what should run; what did run can differ (a pod that never restarted, a
cache). Each serving instance reports a period per version it serves: from when, until when
(or, while open, until its last heartbeat plus a time-to-live, after which it has aged out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .times import format_time


@dataclass(frozen=True, slots=True)
class ServingPeriod:
    """One instance serving one version from `since` to `ended_at` (None while open)."""

    instance_id: str
    host: str
    model: str
    environment: str
    version: int
    digest: str
    since: datetime
    last_seen: datetime
    ended_at: datetime | None

    def until(self, ttl: timedelta) -> datetime:
        """When it stopped: reported, or aged out `ttl` after its last heartbeat."""
        return self.ended_at if self.ended_at is not None else self.last_seen + ttl

    def aged_out(self, at: datetime, ttl: timedelta) -> bool:
        return self.ended_at is None and self.last_seen + ttl <= at

    def to_dict(self, ttl: timedelta) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "host": self.host,
            "model": self.model,
            "environment": self.environment,
            "version": self.version,
            "digest": self.digest,
            "since": format_time(self.since),
            "last_seen": format_time(self.last_seen),
            "ended_at": format_time(self.ended_at) if self.ended_at else None,
            "until": format_time(self.until(ttl)),
        }
