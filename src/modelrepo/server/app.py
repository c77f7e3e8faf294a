"""The ASGI application: routes, the token gate, errors as JSON, metrics."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from .. import __version__
from ..archives import ArchiveLimits
from ..domain.access import ApiToken
from ..domain.errors import ModelrepoError
from ..domain.urls import check_public_url
from ..registry import Registry
from ..sources import SourcePolicy
from . import errors
from .auth import (
    TokenCache,
    TokenGate,
    check_routes,
    is_public,
    public,
)
from .denials import DenialRecorder
from .limits import (
    DEFAULT_IMPORT_LIMIT,
    DEFAULT_JSON_LIMIT,
    DEFAULT_UPLOAD_LIMIT,
    BodyLimit,
    check_limit,
)
from .metrics import Metrics, MetricsMiddleware
from .mlflow import artifacts as mlflow_artifacts
from .mlflow import models as mlflow_models
from .mlflow import versions as mlflow_versions
from .mlflow.sources import Sources
from .routes import (
    admin,
    audit,
    decision_data,
    decisions,
    deployments,
    docs,
    evidence,
    health,
    lifecycle,
    models,
    roles,
    serving,
    signin,
    signing,
    tokens,
    ui,
    uploads,
    webhooks,
)
from .routes.common import BODY_MODELS

if TYPE_CHECKING:
    from .oidc import OidcVerifier
from .routes.decisions import EscapedDecisionIds

PUBLIC_URL_VARIABLE = "MODELREPO_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
"""Where `modelrepo serve` listens unless told otherwise (its --host and --port defaults)."""

DOC_PATHS = ("/openapi.json",)
"""FastAPI's own route: the API description, public on purpose (the interactive docs that
read it, and their files, are `routes.docs`)."""

HOT_PATHS = ("/api/v1/models/{name}/environments/{env}/live",)
"""Routes tried first: a request is matched against each route in turn, and these answer
most requests. Only valid while no other route matches their paths (checked at start)."""


def create_app(
    registry: Registry,
    *,
    anonymous: ApiToken | None = None,
    deliver_webhooks: bool = False,
    json_limit: int = DEFAULT_JSON_LIMIT,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    import_limit: int = DEFAULT_IMPORT_LIMIT,
    mlflow_sources: Sources | None = None,
    trust_pickle: bool = False,
    sources: SourcePolicy | None = None,
    archive_limits: ArchiveLimits | None = None,
    token_cache: TokenCache | None = None,
    denials: DenialRecorder | None = None,
    public_url: str = DEFAULT_PUBLIC_URL,
    oidc: OidcVerifier | None = None,
) -> FastAPI:
    """The API over `registry`, which is shared by every request (each acts as its token's
    user through `Registry.as_user`). `anonymous`: the identity every request takes when
    authentication is off (`serve --no-auth`, loopback only). `deliver_webhooks`: run a
    webhook deliverer in a background thread while the application is up. `json_limit`,
    `upload_limit`, `import_limit`: the largest request bodies accepted (413 above), for
    everything but files, for version uploads, and for decision imports. `mlflow_sources`:
    the folders an MLflow client's version sources may be copied from (none by default).
    `trust_pickle`: replay may load pickled versions when a caller asks (`serve
    --trust-pickle`). `sources`: the artifact source URIs the server fetches (none by
    default). `archive_limits`: how large an uploaded archive may unpack. `token_cache`:
    tokens verified lately (by default for `TOKEN_CACHE_SECONDS`: the bound on how late a
    revocation takes effect). `denials`: what records refused requests (by default in
    windows of `DEFAULT_WINDOW_SECONDS`), written while the application is up. `public_url`:
    where clients reach the server; every absolute URL it hands out starts with it (never
    with a request's `Host` header). `oidc`: the identity provider whose tokens (and web
    sign-ins) the server accepts besides its API tokens."""

    public_url = check_public_url(public_url)
    check_limit(json_limit, "the JSON body limit")
    check_limit(upload_limit, "the upload limit")
    check_limit(import_limit, "the import limit")

    recorder = denials or DenialRecorder(registry)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        recorder.start()
        try:
            if not deliver_webhooks:
                yield
                return
            thread, stop = registry.deliverer().start()
            try:
                yield
            finally:
                stop.set()
                thread.join(timeout=30)
        finally:
            await anyio.to_thread.run_sync(recorder.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="modelrepo",
        version=__version__,
        summary="A versioned model repository that can prove which model made a decision.",
        # Served by `routes.docs` from files in the package: FastAPI's load them from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    # A decision's report and replay before the decision itself, whose id may hold a '/'.
    modules = [health, models, uploads, signing, lifecycle, deployments, serving, evidence]
    modules += [decisions, audit]
    mlflow = (mlflow_models, mlflow_versions, mlflow_artifacts)
    access = (tokens, roles, admin, webhooks, signin)
    for module in (*modules, decision_data, *access, ui, docs, *mlflow):
        # The routes themselves (their paths carry the router's prefix), not an included
        # router: every route stays visible in `app.routes` for the start-up check below.
        app.router.routes.extend(module.router.routes)
    for route in app.routes:
        if getattr(route, "path", None) in DOC_PATHS:
            public("service.describe")(route.endpoint)  # type: ignore[attr-defined]
    check_routes(app.routes)
    _hot_first(app.router.routes)
    app.state.registry = registry
    app.state.public_url = public_url
    app.state.mlflow_sources = mlflow_sources or Sources()
    app.state.metrics = Metrics()
    app.state.denials = recorder
    app.state.trust_pickle = trust_pickle
    app.state.sources = sources or SourcePolicy(max_bytes=upload_limit)
    app.state.archive_limits = archive_limits or ArchiveLimits(total_bytes=upload_limit)
    app.state.upload_limit = upload_limit
    app.state.oidc = oidc
    app.state.oidc_issuer = None if oidc is None else oidc.settings.issuer
    app.add_exception_handler(ModelrepoError, errors.on_modelrepo_error)
    app.add_exception_handler(RequestValidationError, errors.on_validation_error)
    app.add_exception_handler(HTTPException, errors.on_http_error)
    app.add_exception_handler(Exception, errors.on_unexpected)
    public_paths = frozenset(str(getattr(r, "path", "")) for r in app.routes if is_public(r))
    app.add_middleware(
        TokenGate,
        registry=registry,
        public_paths=public_paths,
        anonymous=anonymous,
        cache=token_cache or TokenCache(),
        oidc=oidc,
    )
    # Outside the token gate: a body over the limit is refused before anything reads it.
    app.add_middleware(
        BodyLimit, json_limit=json_limit, upload_limit=upload_limit, import_limit=import_limit
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(EscapedDecisionIds)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _hot_first(routes: list[BaseRoute]) -> None:
    """Move the `HOT_PATHS` routes to the front, after checking that no other route would
    answer a path of theirs (so the order cannot change which route answers what)."""
    hot = [r for r in routes if getattr(r, "path", None) in HOT_PATHS]
    for route in hot:
        sample = re.sub(r"{[^}]*}", "x", getattr(route, "path", ""))
        scope = {"type": "http", "path": sample, "root_path": ""}
        for method in getattr(route, "methods", None) or ("GET",):
            clash = [
                r for r in routes
                if r is not route and r.matches({**scope, "method": method})[0] != Match.NONE
            ]  # fmt: skip
            if clash:
                raise RuntimeError(f"{sample} is also matched by {clash[0]!r}")
    routes[:] = [*hot, *(r for r in routes if r not in hot)]


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with the bodies of the routes that read their own (`json_body`)."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in BODY_MODELS:
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in {**found.pop("$defs", {}), model.__name__: found}.items():
                components.setdefault(name, definition)
    return app.openapi_schema  # type: ignore[return-value]


def from_environment() -> FastAPI:
    """The app of `modelrepo serve` (each uvicorn worker calls this): the store named by
    $MODELREPO_STORE or $MODELREPO_DATABASE_URL + $MODELREPO_BLOB_URL; with
    $MODELREPO_SERVER_NO_AUTH set, every request acts as $MODELREPO_USER (or the OS user);
    $MODELREPO_MLFLOW_SOURCES: the folders MLflow version sources may be copied from;
    $MODELREPO_OIDC_* (`OidcSettings.from_environment`): the identity provider trusted;
    $MODELREPO_SERVER_TRUST_PICKLE and $MODELREPO_SERVER_ALLOW_SOURCE (prefixes, one a line)
    as `serve --trust-pickle` and `--allow-source`; body limits in bytes from
    $MODELREPO_SERVER_JSON_LIMIT, _UPLOAD_LIMIT, _IMPORT_LIMIT; the public address from
    $MODELREPO_PUBLIC_URL."""
    import os

    from ..clock import SystemClock
    from .allocator import tune_allocator

    tune_allocator()
    registry = Registry(create=False)
    anonymous = None
    if os.environ.get("MODELREPO_SERVER_NO_AUTH"):
        anonymous = ApiToken(
            "000000000000", registry.user, "admin", None, SystemClock().now(), registry.user
        )

    def limit(name: str, default: int) -> int:
        value = os.environ.get(f"MODELREPO_SERVER_{name}_LIMIT")
        return int(value) if value else default

    from .oidc import OidcSettings, OidcVerifier

    settings = OidcSettings.from_environment(os.environ)
    return create_app(
        registry,
        anonymous=anonymous,
        oidc=None if settings is None else OidcVerifier(settings),
        deliver_webhooks=bool(os.environ.get("MODELREPO_SERVER_WEBHOOKS")),
        mlflow_sources=Sources.from_environment(),
        trust_pickle=bool(os.environ.get("MODELREPO_SERVER_TRUST_PICKLE")),
        sources=SourcePolicy(
            tuple(p for p in os.environ.get("MODELREPO_SERVER_ALLOW_SOURCE", "").split("\n") if p)
        ),
        json_limit=limit("JSON", DEFAULT_JSON_LIMIT),
        upload_limit=limit("UPLOAD", DEFAULT_UPLOAD_LIMIT),
        import_limit=limit("IMPORT", DEFAULT_IMPORT_LIMIT),
        public_url=os.environ.get(PUBLIC_URL_VARIABLE) or DEFAULT_PUBLIC_URL,
    )
