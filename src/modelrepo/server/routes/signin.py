"""Signing in to the web UI through the identity provider (OpenID Connect's authorization-code
flow with PKCE), and out again.

`/ui/login` sends the browser to the provider with a fresh `state`, `nonce` and PKCE
verifier, which wait in a short-lived cookie of their own; `/ui/callback` checks the state,
exchanges the code (with the verifier) for an ID token, verifies it (signature, issuer,
audience = our client id, nonce) and starts a web session whose secret only the browser's
HttpOnly cookie holds. Requests then carry that cookie instead of a token (`TokenGate`), and
every mutating one repeats the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import anyio.to_thread
import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from ...domain.errors import Forbidden, NotSupported, Unauthenticated
from ...domain.sessions import SESSION_COOKIE, SESSION_LIFETIME, WebSession
from ...domain.times import format_time
from ...registry.sessions import WebSessions
from ..auth import CSRF_HEADER, Caller, needs, public
from ..schemas import AuthConfigOut, SessionOut
from .common import ERRORS

if TYPE_CHECKING:
    from ..oidc import OidcVerifier

router = APIRouter()

SIGNIN_COOKIE = "modelrepo_signin"
SIGNIN_SECONDS = 600
"""How long a sign-in may take at the provider (typing a password, a second factor)."""
TOKEN_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _oidc(request: Request) -> OidcVerifier:
    found: OidcVerifier | None = getattr(request.app.state, "oidc", None)
    if found is None:
        raise NotSupported("single sign-on is not configured on this server: use an API token")
    return found


def _public_url(request: Request) -> str:
    return str(request.app.state.public_url)


def _prefix(request: Request) -> str:
    """The path the server is reached under (a proxy's `/modelrepo`, usually nothing)."""
    return urlsplit(_public_url(request)).path.rstrip("/")


def _secure(request: Request) -> bool:
    return _public_url(request).startswith("https://")


def local_next(value: str | None) -> str:
    """Where to go after signing in: a path of the web UI (`/ui/...`), never another site
    (`//evil.example`, `https://...`, a backslash some browsers read as a slash)."""
    default = "/ui/"
    if not value or len(value) > 2048 or not value.isprintable() or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "//" in parts.path:
        return default
    return value


def _pack(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unpack(text: str | None) -> dict[str, str] | None:
    if not text or len(text) > 4096:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        return None
    return found


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@router.get("/api/v1/auth/config", response_model=AuthConfigOut, tags=["identity"])
@public("ui.signin")
def auth_config(request: Request) -> dict[str, Any]:
    """How to sign in through the identity provider (`oidc`: null when the server trusts
    none): what `modelrepo login` and the web UI read first."""
    oidc: OidcVerifier | None = getattr(request.app.state, "oidc", None)
    if oidc is None:
        return {"oidc": None}
    settings = oidc.settings
    return {
        "oidc": {
            "issuer": settings.issuer,
            "client_id": settings.client_id,
            "scopes": settings.scopes,
        }
    }


@router.get("/ui/login", include_in_schema=False)
@public("ui.signin")
async def login(request: Request, next: str | None = None) -> Response:
    """Send the browser to the identity provider to sign in, then back to `next`."""
    oidc = _oidc(request)
    discovery = await anyio.to_thread.run_sync(oidc.discovery)
    endpoint = discovery.get("authorization_endpoint")
    if not isinstance(endpoint, str):
        raise Unauthenticated("the identity provider publishes no authorization endpoint")
    pending = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "next": local_next(next),
    }
    query = urlencode(
        {
            "response_type": "code",
            "client_id": oidc.settings.client_id,
            "redirect_uri": _public_url(request) + "/ui/callback",
            "scope": oidc.settings.scopes,
            "state": pending["state"],
            "nonce": pending["nonce"],
            "code_challenge": _challenge(pending["verifier"]),
            "code_challenge_method": "S256",
        }
    )
    target = endpoint + ("&" if "?" in endpoint else "?") + query
    reply = RedirectResponse(target, status_code=302, headers=NO_STORE)
    reply.set_cookie(
        SIGNIN_COOKIE,
        _pack(pending),
        max_age=SIGNIN_SECONDS,
        path=_prefix(request) + "/ui/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )
    return reply


@router.get("/ui/callback", include_in_schema=False)
@public("ui.signin")
async def callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Where the provider sends the browser back: check the state, exchange the code,
    verify the ID token, start a session, go on to where the sign-in started."""
    oidc = _oidc(request)
    pending = _unpack(request.cookies.get(SIGNIN_COOKIE))
    if pending is None or not {"state", "nonce", "verifier", "next"} <= pending.keys():
        raise HTTPException(400, "no sign-in was started in this browser: sign in again")
    if error is not None:  # nothing starts either way: said even without the state
        said = f": {error_description}" if error_description else ""
        raise HTTPException(400, f"the identity provider refused the sign-in ({error}{said})")
    if state is None or not hmac.compare_digest(state.encode(), pending["state"].encode()):
        raise HTTPException(400, "the sign-in's state does not match: sign in again")
    if not code:
        raise HTTPException(400, "the identity provider sent no authorization code")
    redirect_uri = _public_url(request) + "/ui/callback"
    id_token = await anyio.to_thread.run_sync(
        _exchange, oidc, code, redirect_uri, pending["verifier"]
    )
    identity = await anyio.to_thread.run_sync(
        lambda: oidc.verify(id_token, nonce=pending["nonce"], audience=oidc.settings.client_id)
    )
    sessions = WebSessions(request.app.state.registry)
    earlier = request.cookies.get(SESSION_COOKIE)
    if earlier:  # the browser's previous session, whoever's: its cookie is replaced now
        await anyio.to_thread.run_sync(sessions.end, earlier)
    _, secret = await anyio.to_thread.run_sync(
        lambda: sessions.start(
            user=identity.user,
            issuer=identity.issuer,
            subject=identity.subject,
            groups=identity.groups,
        )
    )
    reply = RedirectResponse(
        _public_url(request) + pending["next"], status_code=303, headers=NO_STORE
    )
    reply.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=_prefix(request) + "/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )
    reply.delete_cookie(
        SIGNIN_COOKIE,
        path=_prefix(request) + "/ui/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )
    return reply


def _exchange(oidc: OidcVerifier, code: str, redirect_uri: str, verifier: str) -> str:
    """The ID token the provider's token endpoint gives for `code` (in a worker thread)."""
    endpoint = oidc.discovery().get("token_endpoint")
    if not isinstance(endpoint, str):
        raise Unauthenticated("the identity provider publishes no token endpoint")
    settings = oidc.settings
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": settings.client_id,
    }
    auth = None
    if settings.client_secret:  # a confidential client: HTTP basic, as RFC 6749 prefers
        auth = httpx.BasicAuth(settings.client_id, settings.client_secret)
    try:
        reply = httpx.post(
            endpoint,
            data=form,
            auth=auth,
            timeout=TOKEN_TIMEOUT,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise Unauthenticated(f"identity provider unreachable: token endpoint: {exc}") from None
    try:
        answer = reply.json()
    except ValueError:
        answer = None
    if reply.status_code != 200 or not isinstance(answer, dict):
        said = answer.get("error") if isinstance(answer, dict) else None
        raise Unauthenticated(
            f"the identity provider refused the authorization code (HTTP {reply.status_code}"
            + (f", {said}" if isinstance(said, str) else "")
            + ")"
        )
    token = answer.get("id_token")
    if not isinstance(token, str):
        raise Unauthenticated("the identity provider's answer carries no ID token")
    return token


@router.post("/ui/logout", include_in_schema=False)
@public("ui.signin")
async def logout(request: Request) -> Response:
    """End the browser's session (the CSRF header is required) and forget its cookie; the
    answer names the provider's end-session endpoint, to sign out there as well."""
    secret = request.cookies.get(SESSION_COOKIE)
    sessions = WebSessions(request.app.state.registry)
    if secret:
        found: WebSession | None = await anyio.to_thread.run_sync(sessions.find, secret)
        if found is not None:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), found.csrf.encode()):
                raise Forbidden(f"signing out needs the session's {CSRF_HEADER} header")
            await anyio.to_thread.run_sync(sessions.end, secret)
    end_session = None
    oidc: OidcVerifier | None = getattr(request.app.state, "oidc", None)
    if oidc is not None:
        try:
            found_endpoint = (await anyio.to_thread.run_sync(oidc.discovery)).get(
                "end_session_endpoint"
            )
        except Unauthenticated:
            found_endpoint = None
        end_session = found_endpoint if isinstance(found_endpoint, str) else None
    reply = JSONResponse(
        {"signed_out": True, "end_session_endpoint": end_session}, headers=NO_STORE
    )
    reply.delete_cookie(
        SESSION_COOKIE,
        path=_prefix(request) + "/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )
    return reply


@router.get("/api/v1/session", response_model=SessionOut, tags=["identity"], responses=ERRORS)
def session(request: Request, caller: Caller = needs("identity.read")) -> dict[str, Any]:
    """Who the request acts as, and, when a web session's cookie authenticated it, that
    session's CSRF token and expiry (what the web UI sends back on every change)."""
    found: WebSession | None = request.scope.get("state", {}).get("web_session")
    return {
        "principal": caller.principal.to_dict(),
        "csrf_token": None if found is None else found.csrf,
        "expires_at": None if found is None else format_time(found.expires_at),
    }
