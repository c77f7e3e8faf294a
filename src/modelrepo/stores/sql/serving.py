"""Observed serving periods in SQL: opened, heartbeaten, ended by serving instances."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...domain.errors import NotFound, serving_instance_not_found
from ...domain.times import from_micros, to_micros
from .deployments import model_id
from .raw import Q, RawConnections, Tx

if TYPE_CHECKING:  # loaded where used: opening a store for a read needs none of it
    from ...domain.serving import ServingPeriod


class SqlServing:
    """The serving half of `SqlMetadataStore` (mixed into it)."""

    _raw: RawConnections

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
        """Open a period for the instance (closing the one it served before: a switch)."""
        with self._raw.write() as tx:
            micros = to_micros(at)
            for (period,) in tx.tuples(Q.OPEN_PERIODS_OF_INSTANCE, instance_id=instance_id):
                tx.execute(Q.END_SERVING_PERIOD, id=period, at=micros)
            tx.execute(
                Q.NEW_SERVING_PERIOD,
                instance_id=instance_id,
                host=host,
                model_id=model_id(tx, model),
                environment=environment,
                version=version,
                digest=digest,
                at=micros,
            )

    def serving_heartbeat(
        self, model: str, environment: str, instance_id: str, at: datetime
    ) -> None:
        with self._raw.write() as tx:
            for period in _open_periods(tx, model, environment, instance_id):
                tx.execute(Q.SERVING_HEARTBEAT, id=period, at=to_micros(at))

    def serving_stop(self, model: str, environment: str, instance_id: str, at: datetime) -> None:
        with self._raw.write() as tx:
            for period in _open_periods(tx, model, environment, instance_id):
                tx.execute(Q.END_SERVING_PERIOD, id=period, at=to_micros(at))

    def serving_periods(self, model: str, environment: str) -> list[ServingPeriod]:
        from ...domain.serving import ServingPeriod

        tx = self._raw.reader()
        rows = tx.all(Q.SERVING_PERIODS, model_id=model_id(tx, model), environment=environment)
        return [
            ServingPeriod(
                r.instance_id, r.host, r.model_name, r.environment, r.version, r.digest,
                from_micros(r.since), from_micros(r.last_seen),
                None if r.ended_at is None else from_micros(r.ended_at),
            )
            for r in rows
        ]  # fmt: skip


def _open_periods(tx: Tx, model: str, environment: str, instance_id: str) -> list[int]:
    """The instance's open periods in `model`@`environment`; NotFound if it never served
    there, so an instance is only ever touched through what it serves."""
    where = {"model_id": model_id(tx, model), "environment": environment}
    found = [
        int(p)
        for (p,) in tx.tuples(Q.OPEN_PERIODS_OF_INSTANCE_IN, instance_id=instance_id, **where)
    ]
    if not found and tx.scalar(Q.INSTANCE_SERVED_IN, instance_id=instance_id, **where) is None:
        raise NotFound(serving_instance_not_found(instance_id, model, environment))
    return found
