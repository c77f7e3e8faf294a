"""Serving over HTTP: which instances serve which version, and replaying a decision (on
the server, which holds its inputs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.errors import InvalidInput, NotSupported
from ..domain.names import check_version
from .client import API, ServerClient, _quote, _time_param


class Serving(ServerClient):
    """What runs where, reported by the instances themselves."""

    def serving_start(
        self, name: str, *, env: str, instance_id: str, host: str, version: int, digest: str
    ) -> None:
        body = {
            "instance_id": instance_id,
            "host": host,
            "version": check_version(version),
            "digest": digest,
        }
        self._request("POST", f"{self._env_path(name, env)}/serving", body=body)

    def serving_heartbeat(self, name: str, *, env: str, instance_id: str) -> None:
        self._request(
            "POST", f"{self._env_path(name, env)}/serving/{_quote(instance_id)}/heartbeat"
        )

    def serving_stop(self, name: str, *, env: str, instance_id: str) -> None:
        self._request("POST", f"{self._env_path(name, env)}/serving/{_quote(instance_id)}/stop")

    def serving(
        self,
        name: str,
        *,
        env: str,
        at: datetime | str | None = None,
        ttl: float = 300.0,
    ) -> dict[str, Any]:
        return dict(
            self._get(f"{self._env_path(name, env)}/serving", at=_time_param(at, "time"), ttl=ttl)
        )

    def replay(
        self,
        decision_id: str,
        *,
        tolerance: float = 1e-9,
        trust_pickle: bool = False,
        module: Any = None,
    ) -> dict[str, Any]:
        """Replayed on the server, which holds the stored inputs and loads the exact version
        itself; a pickled version only if asked and the server was started trusting."""
        if module is not None:
            raise NotSupported(
                "a replay through a server runs there and builds the version's recorded "
                "module; a module object cannot be sent"
            )
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput("a decision id is a non-empty string")
        body = {"tolerance": tolerance, "trust_pickle": trust_pickle}
        return dict(self._post(f"{API}/decisions/{_quote(decision_id)}/replay", body))
