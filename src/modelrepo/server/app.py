"""The ASGI application: routes, the token gate, errors as JSON, metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from .. import __version__
from ..domain.access import ApiToken
from ..domain.errors import ModelrepoError
from ..service import Registry
from . import errors
from .auth import PUBLIC_ATTRIBUTE, TokenGate, check_routes, is_public
from .limits import (
    DEFAULT_IMPORT_LIMIT,
    DEFAULT_JSON_LIMIT,
    DEFAULT_UPLOAD_LIMIT,
    BodyLimit,
    check_limit,
)
from .metrics import Metrics, MetricsMiddleware
from .routes import (
    audit,
    decision_data,
    decisions,
    deployments,
    health,
    models,
    tokens,
    ui,
    webhooks,
)

DOC_PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
"""FastAPI's own routes: the API description and its interactive docs, public on purpose."""


def create_app(
    registry: Registry,
    *,
    anonymous: ApiToken | None = None,
    deliver_webhooks: bool = False,
    json_limit: int = DEFAULT_JSON_LIMIT,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    import_limit: int = DEFAULT_IMPORT_LIMIT,
) -> FastAPI:
    """The API over `registry`, which is shared by every request (each acts as its token's
    user through `Registry.as_user`). `anonymous`: the identity every request takes when
    authentication is off (`serve --no-auth`, loopback only). `deliver_webhooks`: run a
    webhook deliverer in a background thread while the application is up. `json_limit`,
    `upload_limit`, `import_limit`: the largest request bodies accepted (413 above), for
    everything but files, for version uploads, and for decision imports."""

    check_limit(json_limit, "the JSON body limit")
    check_limit(upload_limit, "the upload limit")
    check_limit(import_limit, "the import limit")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not deliver_webhooks:
            yield
            return
        thread, stop = registry.deliverer().start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)

    app = FastAPI(
        lifespan=lifespan,
        title="modelrepo",
        version=__version__,
        summary="A versioned model repository that can prove which model made a decision.",
    )
    modules = (health, models, deployments, decisions, audit, webhooks, ui)
    for module in (*modules, decision_data, tokens):
        # The routes themselves (their paths carry the router's prefix), not an included
        # router: every route stays visible in `app.routes` for the start-up check below.
        app.router.routes.extend(module.router.routes)
    for route in app.routes:
        if getattr(route, "path", None) in DOC_PATHS:
            setattr(route.endpoint, PUBLIC_ATTRIBUTE, True)  # type: ignore[attr-defined]
    check_routes(app.routes)
    app.state.registry = registry
    app.state.metrics = Metrics()
    app.add_exception_handler(ModelrepoError, errors.on_modelrepo_error)
    app.add_exception_handler(RequestValidationError, errors.on_validation_error)
    app.add_exception_handler(HTTPException, errors.on_http_error)
    app.add_exception_handler(Exception, errors.on_unexpected)
    public_paths = frozenset(str(getattr(r, "path", "")) for r in app.routes if is_public(r))
    app.add_middleware(TokenGate, registry=registry, public_paths=public_paths, anonymous=anonymous)
    # Outside the token gate: a body over the limit is refused before anything reads it.
    app.add_middleware(
        BodyLimit, json_limit=json_limit, upload_limit=upload_limit, import_limit=import_limit
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def from_environment() -> FastAPI:
    """The app of `modelrepo serve` (each uvicorn worker calls this): the store named by
    $MODELREPO_STORE or $MODELREPO_DATABASE_URL + $MODELREPO_BLOB_URL; with
    $MODELREPO_SERVER_NO_AUTH set, every request acts as $MODELREPO_USER (or the OS user);
    body limits in bytes from $MODELREPO_SERVER_JSON_LIMIT, _UPLOAD_LIMIT, _IMPORT_LIMIT."""
    import os

    from ..clock import SystemClock

    registry = Registry(create=False)
    anonymous = None
    if os.environ.get("MODELREPO_SERVER_NO_AUTH"):
        anonymous = ApiToken(
            "000000000000", registry.user, "admin", None, SystemClock().now(), registry.user
        )
    limits = {
        name: int(value)
        for name in ("json_limit", "upload_limit", "import_limit")
        if (value := os.environ.get(f"MODELREPO_SERVER_{name.upper()}"))
    }
    return create_app(
        registry,
        anonymous=anonymous,
        deliver_webhooks=bool(os.environ.get("MODELREPO_SERVER_WEBHOOKS")),
        **limits,
    )
