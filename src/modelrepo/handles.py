"""A loaded version that knows exactly which version it is, and logs what it decides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .flavors import Predictor

if TYPE_CHECKING:
    from .api.decisions import DecisionsAPI
    from .api.deployments import DeploymentsAPI

    class _Registry(DecisionsAPI, DeploymentsAPI, Protocol):
        """What a handle asks of the registry (embedded or remote) that loaded it."""

        def serving_heartbeat(self, name: str, *, env: str, instance_id: str) -> None: ...

        def serving_stop(self, name: str, *, env: str, instance_id: str) -> None: ...

        def load_live(
            self, name: str, *, env: str, instance_id: str | None = None, **options: Any
        ) -> ModelHandle: ...


class ModelHandle:
    """`predict` returns the output and records a decision stamped with *this* version (not
    whatever is live by the time the record is written)."""

    def __init__(
        self,
        registry: _Registry,
        model: str,
        version: int,
        digest: str,
        flavor: str,
        path: Path,
        predictor: Predictor,
        environment: str | None = None,
    ) -> None:
        self._registry = registry
        self.model = model
        self.version = version
        self.digest = digest
        self.flavor = flavor
        self.path = path
        self.environment = environment
        self._predictor = predictor
        self.instance_id: str | None = None  # set when loaded with `load_live`
        self.host: str | None = None

    def __repr__(self) -> str:
        where = f" in {self.environment}" if self.environment else ""
        return f"<ModelHandle {self.model}@{self.version}{where} {self.digest[:19]}>"

    def predict(
        self,
        inputs: Any,
        *,
        decision_id: str | None = None,
        decided_at: datetime | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        log: bool = True,
    ) -> Any:
        """Predict, and (unless `log=False`) record the decision with this version."""
        output = self._predictor.predict(inputs)
        if log:
            self._registry.log_decision(
                self.model,
                version=self.version,
                environment=self.environment,
                inputs=inputs,
                output=output,
                decision_id=decision_id,
                decided_at=decided_at,
                metadata=metadata,
            )
        return output

    def predict_many(
        self,
        batch: Sequence[Any],
        *,
        decision_ids: Sequence[str] | None = None,
        decided_at: datetime | str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Predict each input and record all the decisions in one transaction."""
        outputs = [self._predictor.predict(inputs) for inputs in batch]
        self._registry.log_decision_columns(
            self.model,
            version=self.version,
            environment=self.environment,
            inputs=batch,
            outputs=outputs,
            decision_ids=decision_ids,
            decided_at=decided_at,
            metadata=metadata,
        )
        return outputs

    def heartbeat(self) -> None:
        """Tell the registry this instance still serves (cheap: one small update)."""
        if self.instance_id is not None and self.environment is not None:
            self._registry.serving_heartbeat(
                self.model, env=self.environment, instance_id=self.instance_id
            )

    def reload(self) -> bool:
        """Switch to what is live now, if it changed; the switch is recorded. True if it did."""
        if self.instance_id is None or self.environment is None:
            return False
        model, version = self._registry.resolve(f"{self.model}@{self.environment}")
        if version == self.version:
            return False
        fresh = self._registry.load_live(model, env=self.environment, instance_id=self.instance_id)
        self.version, self.digest, self.flavor = fresh.version, fresh.digest, fresh.flavor
        self.path, self._predictor = fresh.path, fresh._predictor
        return True

    def close(self) -> None:
        """This instance stops serving (recorded)."""
        if self.instance_id is not None and self.environment is not None:
            self._registry.serving_stop(
                self.model, env=self.environment, instance_id=self.instance_id
            )

    def rerun(self, inputs: Any) -> Any:
        """Predict without recording anything (for replay)."""
        return self._predictor.predict(inputs)
