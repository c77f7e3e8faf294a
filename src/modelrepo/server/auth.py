"""Authentication and authorization, deny by default.

Every request to a path that is not explicitly public must carry a valid API token
(`Authorization: Bearer mr_...`): `TokenGate` refuses it otherwise, before any routing or body
parsing. Each route then declares the action it needs with `needs(...)`; the app refuses to
start if a route has neither a `needs` dependency nor the `public` marker.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ..domain.access import ApiToken, authorize, in_scope
from ..domain.errors import ModelrepoError, Unauthenticated
from ..service import Registry
from .errors import error_response

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC_ATTRIBUTE = "__modelrepo_public__"
ACTION_ATTRIBUTE = "__modelrepo_action__"

bearer = HTTPBearer(auto_error=False, description="An API token: `modelrepo token create`.")


def public(endpoint: F) -> F:
    """Mark an endpoint as reachable without a token (health checks, the API description)."""
    setattr(endpoint, PUBLIC_ATTRIBUTE, True)
    return endpoint


def is_public(route: BaseRoute) -> bool:
    return bool(getattr(getattr(route, "endpoint", None), PUBLIC_ATTRIBUTE, False))


def required_action(route: BaseRoute) -> str | None:
    """The action a route declared with `needs(...)`, if any."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        action = getattr(dep.call, ACTION_ATTRIBUTE, None)
        if action is not None:
            return str(action)
        stack.extend(dep.dependencies)
    return None


def check_routes(routes: list[BaseRoute]) -> None:
    """Refuse to build an application with a route that neither needs an action nor is
    marked public: a forgotten check must fail at start-up, not in production."""
    for route in routes:
        if not is_public(route) and required_action(route) is None:
            path = getattr(route, "path", route)
            raise RuntimeError(f"route {path} declares no required action and is not public")


@dataclass(frozen=True)
class Caller:
    """The authenticated identity of a request, and the registry acting as it."""

    token: ApiToken
    registry: Registry
    action: str

    @property
    def user(self) -> str:
        return self.token.user

    def check(self, model: str) -> None:
        """Refuse (403) if the token's scope does not cover `model`."""
        authorize(self.token, self.action, model)

    def sees(self, model: str) -> bool:
        return in_scope(self.token.model_pattern, model)


def needs(action: str, *, store_wide: bool = False) -> Any:
    """A dependency: the caller, if its token's role permits `action`.

    A `{name}` path parameter is checked against the token's model scope here; routes that
    find their model elsewhere (a request id, a decision id, a body) call `Caller.check`."""

    def dependency(
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Caller:
        token: ApiToken | None = request.scope.get("state", {}).get("token")
        if token is None:  # TokenGate lets nothing through without one; this is belt and braces
            raise Unauthenticated("an API token is required")
        model = request.path_params.get("name")
        authorize(token, action, model, store_wide=store_wide)
        registry: Registry = request.app.state.registry
        return Caller(token, registry.as_user(token.user), action)

    setattr(dependency, ACTION_ATTRIBUTE, action)
    return Depends(dependency)


class TokenGate:
    """ASGI middleware: authenticates every request to a non-public path, or answers 401."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: Registry,
        public_paths: frozenset[str],
        anonymous: ApiToken | None = None,
    ) -> None:
        self.app = app
        self.registry = registry
        self.public_paths = public_paths
        self.anonymous = anonymous  # --no-auth: every request acts as this (loopback only)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        try:
            token = self.anonymous or await anyio.to_thread.run_sync(self._authenticate, scope)
        except ModelrepoError as exc:
            await error_response(exc, scope["path"])(scope, receive, send)
            return
        scope.setdefault("state", {})["token"] = token
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> ApiToken:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if header is None:
            raise Unauthenticated("an API token is required: Authorization: Bearer mr_...")
        scheme, _, secret = header.decode("latin-1").partition(" ")
        if scheme.lower() == "basic" and secret.strip():
            return self._basic(secret.strip())
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("expected Authorization: Bearer <API token>")
        return self.registry.authenticate(secret.strip())

    def _basic(self, encoded: str) -> ApiToken:
        """HTTP basic auth with the API token as the password, as MLflow clients send it
        (MLFLOW_TRACKING_USERNAME/PASSWORD). A user name, if given, must be the token's."""
        try:
            user, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = secret = user = ""
        if not sep or not secret:
            raise Unauthenticated("expected Authorization: Basic <user:API token>")
        token = self.registry.authenticate(secret)
        if user and user != token.user:
            raise Unauthenticated("the user name does not match the API token's user")
        return token
