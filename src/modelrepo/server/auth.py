"""Authentication and authorization, deny by default.

Every request to a path that is not explicitly public must carry a valid API token
(`Authorization: Bearer mr_...`), an identity provider's token, or the cookie of a web session
signed in through that provider: `TokenGate` refuses it otherwise, before any routing or body
parsing; a change made with the cookie must also repeat the session's CSRF token. Each route
then declares the operation it performs (`domain.access.OPERATIONS`): with `needs(...)`, or
`public(...)` for the few open to anyone; the app refuses to start if a route declares none.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ..domain.access import (
    PUBLIC,
    ApiToken,
    authorize,
    check_scope,
    check_whole_store,
    hash_token,
    operation,
    sees,
)
from ..domain.errors import Forbidden, ModelrepoError, Unauthenticated
from ..domain.principals import LOCAL_AUTH, Grant, Principal
from ..domain.sessions import SESSION_COOKIE, WebSession, hash_session
from ..registry import Registry
from ..registry.sessions import WebSessions
from .errors import error_response

if TYPE_CHECKING:
    from .oidc import OidcVerifier, VerifiedIdentity

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC_ATTRIBUTE = "__modelrepo_public__"
OPERATION_ATTRIBUTE = "__modelrepo_operation__"

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing: the only ones a session's cookie alone may make."""

bearer = HTTPBearer(auto_error=False, description="An API token: `modelrepo token create`.")


def public(name: str) -> Callable[[F], F]:
    """Mark an endpoint as reachable without a token, performing the public operation
    `name` (health checks, the API description, the web UI's static files)."""
    if operation(name).target != PUBLIC:
        raise ValueError(f"operation {name!r} is not public")

    def mark(endpoint: F) -> F:
        setattr(endpoint, PUBLIC_ATTRIBUTE, name)
        return endpoint

    return mark


def is_public(route: BaseRoute) -> bool:
    return bool(getattr(getattr(route, "endpoint", None), PUBLIC_ATTRIBUTE, False))


def required_operation(route: BaseRoute) -> str | None:
    """The operation a route declared with `needs(...)`, if any."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        name = getattr(dep.call, OPERATION_ATTRIBUTE, None)
        if name is not None:
            return str(name)
        stack.extend(dep.dependencies)
    return None


def required_action(route: BaseRoute) -> str | None:
    """The action of the operation a route declared with `needs(...)`, if any."""
    name = required_operation(route)
    return None if name is None else operation(name).action


def route_operation(route: BaseRoute) -> str | None:
    """The operation a route performs: the public one it is marked with, or the one it
    needs."""
    marked = getattr(getattr(route, "endpoint", None), PUBLIC_ATTRIBUTE, None)
    return str(marked) if isinstance(marked, str) else required_operation(route)


def check_routes(routes: list[BaseRoute]) -> None:
    """Refuse to build an application with a route that declares no operation (a forgotten
    check must fail at start-up, not in production), or is public and also needs a token."""
    for route in routes:
        path = getattr(route, "path", route)
        if route_operation(route) is None:
            raise RuntimeError(f"route {path} declares no operation and is not public")
        if is_public(route) and required_operation(route) is not None:
            raise RuntimeError(f"route {path} is public and also needs a token")


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of a request, and the registry acting as it."""

    principal: Principal
    registry: Registry
    operation: str

    @property
    def user(self) -> str:
        return self.principal.name

    @property
    def _action(self) -> str | None:
        return operation(self.operation).action

    def check(self, model: str, *, absent: str | None = None) -> None:
        """Answer as missing (404, OutOfScope) if no grant for this operation covers
        `model`: `absent` is the message of the missing resource (by default, the model's)."""
        check_scope(self.principal, model, absent=absent, action=self._action)

    def whole_store(self) -> None:
        """Refuse (403) a principal scoped to model patterns: this concerns every model."""
        check_whole_store(self.principal, self._action)

    def sees(self, model: str) -> bool:
        return sees(self.principal, model, self._action)

    def may(self, name: str, model: str) -> None:
        """Refuse (403) unless the principal may also perform operation `name` on `model` (a
        request that does two things: register a version and trust its types)."""
        authorize(self.principal, name, model)


def needs(name: str) -> Any:
    """A dependency: the caller, if its token may perform operation `name`.

    A `{name}` path parameter is checked against the token's model scope here; routes that
    find their model elsewhere (a request id, a decision id, a body) call `Caller.check`."""
    if operation(name).target == PUBLIC:
        raise ValueError(f"operation {name!r} is public: mark the route with public()")

    async def dependency(  # no I/O here: async, so it costs no trip through the threadpool
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Caller:
        principal: Principal | None = request.scope.get("state", {}).get("principal")
        if principal is None:  # TokenGate lets nothing through without one: belt and braces
            raise Unauthenticated("an API token is required")
        authorize(principal, name, request.path_params.get("name"))
        registry: Registry = request.app.state.registry
        return Caller(principal, registry.as_principal(principal), name)

    setattr(dependency, OPERATION_ATTRIBUTE, name)
    return Depends(dependency)


TOKEN_CACHE_SECONDS = 1.0
"""How long a verified token is trusted without asking the store again: the longest a
revocation made by another process (`modelrepo token revoke`) waits to take effect."""


class TokenCache:
    """Tokens verified in the last `seconds`, by the hash of their text (never the text).

    Spares the store a read per request; a token found revoked, or not found, is never
    cached, and an entry older than `seconds` is checked against the store again."""

    def __init__(
        self,
        seconds: float = TOKEN_CACHE_SECONDS,
        *,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._verified: dict[str, tuple[float, Principal]] = {}

    def get(self, token_hash: str) -> Principal | None:
        found = self._verified.get(token_hash)
        if found is None or self.clock() - found[0] >= self.seconds:
            return None
        return found[1]

    def put(self, token_hash: str, token: Principal, checked_at: float) -> None:
        if self.seconds <= 0:
            return
        if len(self._verified) >= self.size:
            self._verified.clear()
        self._verified[token_hash] = (checked_at, token)

    def forget(self, token_hash: str) -> None:
        self._verified.pop(token_hash, None)


def credentials(scope: Scope) -> tuple[str, str | None]:
    """The API token of the request and, for HTTP basic auth, the user name sent with it.

    `Authorization: Bearer <token>`, or `Basic <user:token>` as MLflow clients send it
    (MLFLOW_TRACKING_USERNAME/PASSWORD); anything else is Unauthenticated."""
    header: bytes | None = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    if header is None:
        raise Unauthenticated("an API token is required: Authorization: Bearer mr_...")
    scheme, _, secret = header.decode("latin-1").partition(" ")
    if scheme.lower() == "basic" and secret.strip():
        return _basic(secret.strip())
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("expected Authorization: Bearer <API token>")
    return secret.strip(), None


def session_secret(scope: Scope) -> str | None:
    """The web session's secret a request without an Authorization header carries in its
    cookie (None: it carries none, or carries a header, which then decides alone)."""
    if any(k == b"authorization" for k, _ in scope["headers"]):
        return None
    for key, value in scope["headers"]:
        if key != b"cookie":
            continue
        text: str = value.decode("latin-1")
        for pair in text.split(";"):
            name, sep, secret = pair.strip().partition("=")
            if sep and name == SESSION_COOKIE and secret:
                return secret
    return None


def check_csrf(scope: Scope, session: WebSession) -> None:
    """Refuse a change made with a session's cookie that does not repeat its CSRF token: a
    page of another site can make the browser send the cookie, never read the token."""
    if scope["method"] in SAFE_METHODS:
        return
    wanted = CSRF_HEADER.lower().encode()
    sent = next((v for k, v in scope["headers"] if k == wanted), b"")
    if not hmac.compare_digest(sent, session.csrf.encode()):
        raise Forbidden(f"a change made with the web session's cookie needs its {CSRF_HEADER}")


def _basic(encoded: str) -> tuple[str, str | None]:
    try:
        user, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep = secret = user = ""
    if not sep or not secret:
        raise Unauthenticated("expected Authorization: Basic <user:API token>")
    return secret, user or None


def anonymous_principal(token: ApiToken) -> Principal:
    """The identity of every request when authentication is off (`serve --no-auth`,
    loopback only): the server's user with the token's grant, recorded as asserted."""
    return Principal(token.user, LOCAL_AUTH, (Grant(token.role, token.model_pattern),))


class TokenGate:
    """ASGI middleware: authenticates every request to a non-public path, or answers 401.

    A credential is an API token (`mr_...`), or, when the server trusts an identity provider
    (`oidc`), a JWT it signed; either way the request then acts as a `Principal`. One
    verified less than `cache.seconds` ago is taken from `cache`, on the event loop;
    otherwise the store (and the provider's keys) are asked, in a worker thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: Registry,
        public_paths: frozenset[str],
        anonymous: ApiToken | Principal | None = None,
        cache: TokenCache | None = None,
        oidc: OidcVerifier | None = None,
    ) -> None:
        self.app = app
        self.registry = registry
        self.public_paths = public_paths
        if isinstance(anonymous, ApiToken):
            anonymous = anonymous_principal(anonymous)
        self.anonymous = anonymous  # --no-auth: every request acts as this (loopback only)
        self.cache = cache or TokenCache()
        self.oidc = oidc
        self.sessions = WebSessions(registry)
        self._session_of: dict[str, WebSession] = {}  # beside `cache`, by the same keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        try:
            principal = self.anonymous or await self._authenticate(scope)
        except ModelrepoError as exc:
            recorder = getattr(getattr(scope.get("app"), "state", None), "denials", None)
            if recorder is not None:  # refusals are recorded (`denials.DenialRecorder`)
                recorder.refused(scope, exc)
            await error_response(exc, scope["path"])(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> Principal:
        cookie = session_secret(scope) if self.oidc is not None else None
        if cookie is not None:
            return await self._by_session(scope, cookie)
        secret, user = credentials(scope)
        token_hash = hash_token(secret)
        principal = self.cache.get(token_hash)
        if principal is None:
            checked_at = self.cache.clock()  # before the read: the entry never outlives it
            try:
                principal = await anyio.to_thread.run_sync(self._verify, secret)
            except ModelrepoError:
                self.cache.forget(token_hash)  # revoked: refused from now on
                raise
            self.cache.put(token_hash, principal, checked_at)
        if user is not None and user != principal.name:
            raise Unauthenticated("the user name does not match the API token's user")
        return principal

    async def _by_session(self, scope: Scope, secret: str) -> Principal:
        """The principal of a web session's cookie (cached like a token's); the session
        is kept in the request's state, for its CSRF token."""
        key = "session:" + hash_session(secret)
        cached = self.cache.get(key)
        kept = self._session_of.get(key)
        if cached is not None and kept is not None:
            principal, session = cached, kept
        else:
            checked_at = self.cache.clock()
            try:
                principal, session = await anyio.to_thread.run_sync(self._session, secret)
            except ModelrepoError:
                self.cache.forget(key)
                self._session_of.pop(key, None)
                raise
            self.cache.put(key, principal, checked_at)
            if len(self._session_of) >= self.cache.size:
                self._session_of.clear()
            self._session_of[key] = session
        if not session.active(self.registry.clock.now()):  # expired while cached
            raise Unauthenticated("the web session has expired: sign in again")
        state = scope.setdefault("state", {})
        state["principal"] = principal  # a refusal below is recorded as this user's
        check_csrf(scope, session)
        state["web_session"] = session
        return principal

    def _session(self, secret: str) -> tuple[Principal, WebSession]:
        """An active session and its principal (in a worker thread: it reads the store)."""
        from .oidc import VerifiedIdentity

        assert self.oidc is not None
        found = self.sessions.find(secret)
        if found is None:
            raise Unauthenticated("no such web session, or it has ended: sign in again")
        if found.issuer != self.oidc.settings.issuer:
            raise Unauthenticated("the web session was signed in through another provider")
        identity = VerifiedIdentity(
            issuer=found.issuer,
            subject=found.subject,
            user=found.principal,
            groups=found.groups,
            expires_at=found.expires_at,
            claims={},
        )
        return identity_principal(self.registry, self.oidc, identity), found

    def _verify(self, secret: str) -> Principal:
        """The principal a credential proves (in a worker thread: it may read the store and
        fetch the provider's keys)."""
        if self.oidc is not None:
            from .oidc import looks_like_jwt

            if looks_like_jwt(secret):
                return identity_principal(self.registry, self.oidc, self.oidc.verify(secret))
        return self.registry.authenticate(secret).principal()


def identity_principal(
    registry: Registry, oidc: OidcVerifier, identity: VerifiedIdentity
) -> Principal:
    """An identity-provider user as a principal: named by its identity claim, authenticated
    by issuer and subject, granted its role bindings and what its groups map to."""
    return identity.principal(oidc.settings, registry.grants_for(identity.issuer, identity.user))
