"""Refused requests on record, without slowing the server down.

A refusal is noted on the event loop: one dictionary update under a lock (`DenialWindow`),
no I/O. A background thread writes what the window holds to the store every `window`
seconds, as one batch with one audit entry; repeats within the window are one record with a
count, and at most `cap` distinct records are held (the rest are counted in one overflow
record). A crash loses at most the window not yet written.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from ..domain.access import token_id_of
from ..domain.denials import (
    DEFAULT_CAP,
    DEFAULT_WINDOW_SECONDS,
    DenialWindow,
    printable,
    short_reason,
)
from ..domain.errors import Forbidden, ModelrepoError, OutOfScope, Unauthenticated
from ..domain.names import MAX_NAME_LENGTH
from ..registry import Registry
from .auth import credentials, route_operation
from .errors import status_of

log = logging.getLogger(__name__)

REFUSALS = (Unauthenticated, Forbidden, OutOfScope)
"""The errors that are refusals: answered 401, 403, or 404 for what is out of scope."""

ROUTES_REMEMBERED = 1024

UNMATCHED = "unmatched"
"""The route of a request no route matches (as the metrics name it): a scan of made-up paths
is one record, not one per path."""


class DenialRecorder:
    """Notes refused requests of one application and writes them to its store in batches."""

    def __init__(
        self,
        registry: Registry,
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        cap: int = DEFAULT_CAP,
    ) -> None:
        if window <= 0:
            raise ValueError("the window must be positive")
        self.registry = registry
        self.window = window
        self.pending = DenialWindow(cap)
        self._writing = threading.Lock()  # the thread and a query may flush at once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._routes: dict[tuple[Any, Any], tuple[str, str | None, str | None]] = {}

    def refused(self, scope: Scope, exc: ModelrepoError) -> None:
        """Record `exc` if it is a refusal (the error mapping and the token gate call this)."""
        if not isinstance(exc, REFUSALS):
            return
        secret = None
        with contextlib.suppress(ModelrepoError):
            secret = credentials(scope)[0]
        token_id = None if secret is None else token_id_of(secret)  # the public part only
        self.note(scope, exc, token_id=token_id, secret=secret)

    def note(
        self,
        scope: Scope,
        exc: ModelrepoError,
        *,
        token_id: str | None = None,
        secret: str | None = None,
    ) -> None:
        """Count one refused request (on the event loop: no I/O, a lock held for a dict
        update). `token_id`: the public id of a token the gate did not accept; `secret`: the
        credential presented, kept out of the reason should the message quote it."""
        principal = scope.get("state", {}).get("principal")
        route, operation, model = self._route_of(scope)
        reason = str(exc)
        if isinstance(exc, OutOfScope):
            reason = f"outside the token's model scope: {reason}"
        client = scope.get("client")
        key = (
            None if principal is None else principal.name,
            token_id if principal is None else principal.auth.token_id,
            None if not client else str(client[0])[:256],
            str(scope.get("method", ""))[:16],
            route,
            operation,
            _model(exc.model) or model,
            short_reason(reason, secret=secret),
            status_of(exc),
        )
        at = self.registry.clock.now()
        self.pending.add(key, at, at)

    def flush(self) -> int:
        """Write what is held now; returns how many records. If the store fails, the batch
        is held again (still within the cap) for the next flush, and the error raised."""
        with self._writing:
            batch = self.pending.drain()
            if not batch:
                return 0
            try:
                self.registry.record_denials(batch)
            except BaseException:
                for denial in batch:
                    self.pending.note(denial)
                raise
            return len(batch)

    def start(self) -> None:
        """Write a batch every `window` seconds from a daemon thread, until `stop`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="denials", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with contextlib.suppress(Exception):
            self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.window):
            try:
                self.flush()
            except Exception:  # the store is down: kept for the next window
                log.exception("could not record refused requests")

    def _route_of(self, scope: Scope) -> tuple[str, str | None, str | None]:
        """`route_of`, remembered by method and path for a flood of the same request (at
        most `ROUTES_REMEMBERED` of them: a scan of many paths only misses)."""
        if scope.get("route") is not None:
            return route_of(scope)
        key = (scope.get("method"), scope.get("path"))
        found = self._routes.get(key)
        if found is None:
            if len(self._routes) >= ROUTES_REMEMBERED:
                self._routes.clear()
            found = self._routes[key] = route_of(scope)
        return found


def route_of(scope: Scope) -> tuple[str, str | None, str | None]:
    """(route template, operation it performs, model of its `{name}`) of a request: the route the
    router matched, or before routing (the token gate refuses first) the one it will."""
    route = scope.get("route")
    params: dict[str, Any] = scope.get("path_params") or {}
    if route is None:
        app = scope.get("app")
        routes: list[BaseRoute] = getattr(getattr(app, "router", None), "routes", None) or []
        for candidate in routes:
            match, child = candidate.matches(scope)
            if match == Match.FULL or (match == Match.PARTIAL and route is None):
                route, params = candidate, child.get("path_params") or {}
                if match == Match.FULL:
                    break
    if route is None:
        return UNMATCHED, None, None
    name = params.get("name")
    return str(getattr(route, "path", UNMATCHED))[:512], route_operation(route), _model(name)


def _model(name: object) -> str | None:
    """A model name as a request gave it (unchecked: it may be anything), made printable."""
    return printable(name[:MAX_NAME_LENGTH]) if isinstance(name, str) and name else None
