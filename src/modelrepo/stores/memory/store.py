"""The whole in-memory metadata store, one class over the concept modules beside it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.audit import MANY_MODELS, MODEL_RENAMED, renamed_change
from ...domain.model import Model, ModelEvent, check_rename
from .attestations import MemoryAttestations
from .audit import MemoryAudit
from .decisions import MemoryDecisions
from .denials import MemoryDenials
from .deployments import MemoryDeployments
from .roles import MemoryRoles
from .serving import MemoryServing
from .sessions import MemoryWebSessions
from .tokens import MemoryTokens
from .versions import MemoryVersions
from .webhooks import MemoryWebhooks


class MemoryMetadataStore(
    MemoryDecisions,
    MemoryTokens,
    MemoryRoles,
    MemoryAttestations,
    MemoryWebSessions,
    MemoryServing,
    MemoryWebhooks,
    MemoryDenials,
):
    """Thread-safe, in-process, gone when the process ends."""

    def __init__(self) -> None:
        MemoryAudit.__init__(self)
        MemoryTokens.__init__(self)
        MemoryRoles.__init__(self)
        MemoryAttestations.__init__(self)
        MemoryWebSessions.__init__(self)
        MemoryServing.__init__(self)
        MemoryWebhooks.__init__(self)
        MemoryDenials.__init__(self)
        MemoryVersions.__init__(self)
        MemoryDeployments.__init__(self)
        MemoryDecisions.__init__(self)

    def rename_model(
        self, name: str, new_name: str, *, actor: str, at: datetime, reason: str | None
    ) -> Model:
        # The records here name their model, so each takes the new name, all under the lock.
        with self._lock:
            state = self._state(name)
            other = self._models.get(new_name)
            check_rename(
                name,
                new_name,
                taken=other is not None,
                deleted=other is not None and other.model.deleted_at is not None,
            )

            def moved(record: Any) -> Any:
                return replace(record, model=new_name) if record.model == name else record

            del self._models[name]
            state.model = replace(state.model, name=new_name)
            state.versions = {n: moved(v) for n, v in state.versions.items()}
            self._models[new_name] = state
            self._events = [moved(e) for e in self._events]
            self._model_events = [moved(e) for e in self._model_events]
            self._registration_keys = {
                k: (new_name if m == name else m, n, d)
                for k, (m, n, d) in self._registration_keys.items()
            }
            self._environments = {
                (new_name if m == name else m, env): moved(e)
                for (m, env), e in self._environments.items()
            }
            self._deployments = [moved(e) for e in self._deployments]
            self._requests = [moved(r) for r in self._requests]
            self._decisions = {k: moved(d) for k, d in self._decisions.items()}
            if name in self._input_modes:
                self._input_modes[new_name] = self._input_modes.pop(name)
            own = self._signing_policies.pop(("model", name), None)
            if own is not None:
                self._signing_policies[("model", new_name)] = replace(own, name=new_name)
            with self._serving_lock:
                self._periods = [moved(p) for p in self._periods]
            seq = len(self._model_events) + 1
            self._model_events.append(
                ModelEvent(seq, new_name, "renamed", name, new_name, actor, at)
            )
            self._audit(
                MODEL_RENAMED, MANY_MODELS, actor=actor, at=at,
                change=renamed_change(name, new_name, reason),
            )  # fmt: skip
            return state.model
