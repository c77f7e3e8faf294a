"""Observed serving periods in memory."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.errors import NotFound, serving_instance_not_found
from ...domain.serving import ServingPeriod
from .versions import MemoryVersions


class MemoryServing(MemoryVersions):
    """Observed serving periods in a list, of the models `MemoryVersions` holds."""

    def __init__(self) -> None:
        self._periods: list[ServingPeriod] = []
        self._serving_lock = threading.Lock()

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
        with self._serving_lock:
            self._state(model)  # NotFound for an unknown model, before the switch ends anything
            self._end(instance_id, at)
            self._periods.append(
                ServingPeriod(instance_id, host, model, environment, version, digest, at, at, None)
            )

    def _end(self, instance_id: str, at: datetime) -> None:
        self._periods = [
            replace(p, ended_at=at, last_seen=at)
            if p.instance_id == instance_id and p.ended_at is None
            else p
            for p in self._periods
        ]

    def _touch(self, model: str, environment: str, instance_id: str, **change: Any) -> None:
        """Apply `change` to the instance's open periods in `model`@`environment`; NotFound
        if it never served there."""
        with self._serving_lock:
            mine = [
                p.instance_id == instance_id and p.model == model and p.environment == environment
                for p in self._periods
            ]
            if not any(mine):
                raise NotFound(serving_instance_not_found(instance_id, model, environment))
            self._periods = [
                replace(p, **change) if own and p.ended_at is None else p
                for p, own in zip(self._periods, mine, strict=True)
            ]

    def serving_heartbeat(
        self, model: str, environment: str, instance_id: str, at: datetime
    ) -> None:
        self._touch(model, environment, instance_id, last_seen=at)

    def serving_stop(self, model: str, environment: str, instance_id: str, at: datetime) -> None:
        self._touch(model, environment, instance_id, ended_at=at, last_seen=at)

    def serving_periods(self, model: str, environment: str) -> list[ServingPeriod]:
        with self._serving_lock:
            self._state(model)
            found = [p for p in self._periods if p.model == model and p.environment == environment]
        return sorted(found, key=lambda p: p.since)
