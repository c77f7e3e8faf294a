"""The web UI: one HTML page, its stylesheet and two JavaScript modules, served as package data.

These routes are public on purpose: they hold no data, only the static shell. Every datum the
UI shows comes from `/api/v1`, called by the browser with the token the user pasted (kept in
`sessionStorage`), so the token gate and each route's role check apply as for any client.
Each path is listed on its own (no catch-all), so the set of public paths stays explicit.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from ..auth import public

router = APIRouter(include_in_schema=False)

SECURITY_HEADERS = {
    # Only this origin's own files: no inline script or style, no other host, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "app.mjs": "text/javascript; charset=utf-8",
    "timeline.mjs": "text/javascript; charset=utf-8",
}


@cache
def _read(name: str) -> bytes:
    return resources.files("modelrepo.server").joinpath("ui", name).read_bytes()


def _serve(name: str) -> Response:
    return Response(_read(name), media_type=FILES[name], headers=SECURITY_HEADERS)


@router.get("/")
@public("ui.static")
def root_redirect() -> RedirectResponse:
    """`/` -> the web UI: what a person who types the server's address wants to see."""
    return RedirectResponse("/ui/", status_code=307, headers=SECURITY_HEADERS)


@router.get("/ui")
@public("ui.static")
def ui_redirect() -> RedirectResponse:
    """`/ui` -> `/ui/`, so the page's relative links resolve under it."""
    return RedirectResponse("/ui/", status_code=308, headers=SECURITY_HEADERS)


@router.get("/ui/")
@public("ui.static")
def ui_index() -> Response:
    """The page (no data: it asks the API for everything, with the user's token)."""
    return _serve("index.html")


@router.get("/ui/app.css")
@public("ui.static")
def ui_css() -> Response:
    return _serve("app.css")


@router.get("/ui/app.mjs")
@public("ui.static")
def ui_app() -> Response:
    return _serve("app.mjs")


@router.get("/ui/timeline.mjs")
@public("ui.static")
def ui_timeline() -> Response:
    return _serve("timeline.mjs")
