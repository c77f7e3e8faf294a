"""The API of loading versions, the instances serving them and replays, as both registries
offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from ..handles import ModelHandle


class ServingAPI(Protocol):
    """Loading versions, the instances that serve them, and replaying decisions."""

    def load(
        self,
        name: str,
        version: int,
        *,
        trust_pickle: bool = False,
        trusted_types: Sequence[str] = (),
        module: Any = None,
        environment: str | None = None,
        verify_signature: bool = False,
    ) -> ModelHandle:
        """Load a version for its flavor; pickle is refused unless `trust_pickle` (recorded).

        `module`: for a pytorch version, the `nn.Module` (or zero-argument factory of one) to
        load the weights into; without it the recorded nn.Module subclass is built.
        `verify_signature`: refuse (`SignatureInvalid`) a version without a valid model
        signature by a trusted key; always so for an `environment` whose name requires
        signatures (`load_live` passes its environment)."""
        ...

    def load_live(
        self, name: str, *, env: str, instance_id: str | None = None, **options: Any
    ) -> ModelHandle:
        """Load the version live in `env` now; its decisions are stamped with that version,
        and the handle reports itself as a serving instance (see `serving`)."""
        ...

    def serving_start(
        self, name: str, *, env: str, instance_id: str, host: str, version: int, digest: str
    ) -> None:
        """Record that `instance_id` now serves `version` in `env` (what `load_live` does;
        for serving code that loads models by other means). The digest must be the version's."""
        ...

    def serving_heartbeat(self, name: str, *, env: str, instance_id: str) -> None:
        """The serving instance is still up (one small update); NotFound if it never served
        `name`@`env`."""
        ...

    def serving_stop(self, name: str, *, env: str, instance_id: str) -> None:
        """The serving instance stopped (its open period ends now); NotFound as above."""
        ...

    def serving(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        ttl: float = 300.0,
    ) -> dict[str, Any]:
        """What was actually serving at `at` (default now), next to what the history says
        should have; instances silent for `ttl` seconds have aged out. Every period during
        which an instance served a version the history did not have live is listed as drift,
        with its times."""
        ...

    def replay(
        self,
        decision_id: str,
        *,
        tolerance: float = 1e-9,
        trust_pickle: bool = False,
        module: Any = None,
    ) -> dict[str, Any]:
        """Re-run the exact version that made a decision on its stored inputs and compare
        (`module` as for `load`)."""
        ...
