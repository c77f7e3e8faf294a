"""The interactive API docs (`/docs`, Swagger UI; `/redoc`, ReDoc), with their scripts and
stylesheet served by this server, not a public CDN: the docs must work on a network with no
way out (the banks that run modelrepo often have none).

The assets come from the `fastapi-offline` package (a dependency of the `server` extra), which
bundles Swagger UI and ReDoc; only its files are used, through explicit routes here, so every
public path stays listed (no mounted folder). The pages are FastAPI's own, pointed at them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

from ..auth import public

router = APIRouter(include_in_schema=False)

ASSETS = "/docs/assets"
TITLE = "modelrepo"
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400"}
PAGE_HEADERS = {
    # The bundles still name other hosts: ReDoc's footer logo, Swagger UI's spec validator.
    # The browser asks none of them (the pages' own inline script and style stay allowed).
    "Content-Security-Policy": (
        "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
SWAGGER_PARAMETERS = {"validatorUrl": None}
"""Added to FastAPI's defaults: no validator badge, which sends the spec's address to
validator.swagger.io."""


@cache
def _read(name: str) -> bytes:
    return resources.files("fastapi_offline").joinpath("static", name).read_bytes()


def _asset(name: str) -> Response:
    return Response(_read(name), media_type=FILES[name], headers=HEADERS)


def _root(request: Request) -> str:
    """The prefix a proxy serves the app under (ASGI `root_path`), so the links still resolve."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
@public("service.describe")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over `/openapi.json`, every file from this server."""
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}{OPENAPI_URL}",
        title=f"{TITLE} - Swagger UI",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )
    page.headers.update(PAGE_HEADERS)
    return page


@router.get(OAUTH2_REDIRECT_URL)
@public("service.describe")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
@public("service.describe")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over `/openapi.json`, without its web fonts (another host)."""
    root = _root(request)
    page = get_redoc_html(
        openapi_url=f"{root}{OPENAPI_URL}",
        title=f"{TITLE} - ReDoc",
        redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    page.headers.update(PAGE_HEADERS)
    return page


@router.get(f"{ASSETS}/swagger-ui-bundle.js")
@public("service.describe")
def swagger_js() -> Response:
    return _asset("swagger-ui-bundle.js")


@router.get(f"{ASSETS}/swagger-ui.css")
@public("service.describe")
def swagger_css() -> Response:
    return _asset("swagger-ui.css")


@router.get(f"{ASSETS}/redoc.standalone.js")
@public("service.describe")
def redoc_js() -> Response:
    return _asset("redoc.standalone.js")


@router.get(f"{ASSETS}/favicon.png")
@public("service.describe")
def favicon() -> Response:
    return _asset("favicon.png")
