"""Signing in to a server through its identity provider, as a command-line program does:
the device grant (RFC 8628) when the provider offers it, else the authorization code with
PKCE (RFC 7636) answered on a one-shot loopback listener (RFC 8252). The ID token it ends
with is kept in the credential store and sent to the server as the bearer token.

Nothing here prints: what the person must do (open a URL, type a code) goes to `tell`.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..domain.errors import InvalidInput, NotSupported, Unauthenticated
from .client import API, check_url
from .credentials import Credential, CredentialStore
from .oidc import (
    DEVICE_GRANT,
    TIMEOUT,
    Provider,
    TokenError,
    check_claims,
    discover,
    get_json,
    id_token_claims,
    token_request,
    user_of,
)

if TYPE_CHECKING:
    import httpx

SCOPES = "openid email profile"
WAIT = 300.0
"""Seconds the person has to finish signing in, in the browser or on another device."""


@dataclass(frozen=True)
class SignIn:
    """Who signed in, where, until when."""

    user: str
    server: str
    issuer: str
    expires_at: float


@dataclass(frozen=True)
class OidcSettings:
    """The identity provider a server trusts, and the client id it expects in `aud`."""

    issuer: str
    client_id: str
    scopes: str = SCOPES
    client_secret: str | None = None


def server_settings(http: httpx.Client, server_url: str) -> OidcSettings:
    """What the server publishes at /api/v1/auth/config (no sign-in needed to read it)."""
    document = get_json(
        http, f"{server_url}{API}/auth/config", what="the server's sign-in settings"
    )
    oidc = document.get("oidc")
    if not oidc:
        raise NotSupported(
            f"the server at {server_url} signs in with API tokens only: set $MODELREPO_TOKEN"
        )
    try:
        return OidcSettings(
            issuer=str(oidc["issuer"]),
            client_id=str(oidc["client_id"]),
            scopes=str(oidc.get("scopes") or SCOPES),
        )
    except (KeyError, TypeError):
        raise InvalidInput(
            f"the server at {server_url} publishes incomplete sign-in settings"
        ) from None


def login(
    server: str,
    *,
    issuer: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    device: bool = False,
    open_browser: Callable[[str], object] | None = None,
    tell: Callable[[str], None] = print,
    store: CredentialStore | None = None,
    wait: float = WAIT,
    allow_insecure_http: bool = False,
) -> SignIn:
    """Sign in to `server` and keep the credential. The provider is the server's own unless
    `issuer` and `client_id` are given; `open_browser` (for the loopback flow) is called with
    the sign-in URL, which is also told."""
    import httpx

    server_url = check_url(server, allow_insecure_http=allow_insecure_http)
    if (issuer is None) != (client_id is None):
        raise InvalidInput("give both --issuer and --client-id, or neither")
    store = store or CredentialStore()
    with httpx.Client(timeout=TIMEOUT) as http:
        if issuer is not None and client_id is not None:
            settings = OidcSettings(issuer, client_id)
        else:
            settings = server_settings(http, server_url)
        if client_secret is not None:
            settings = replace(settings, client_secret=client_secret)
        # The provider gets the code and the refresh token: the server's rule for plain http.
        check_url(settings.issuer, allow_insecure_http=allow_insecure_http)
        provider = discover(http, settings.issuer)
        if device or provider.device_authorization_endpoint:
            answer, nonce = _device_grant(http, provider, settings, tell, wait), None
        else:
            answer, nonce = _loopback(http, provider, settings, tell, open_browser, wait)
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise Unauthenticated("the identity provider gave no ID token (was `openid` in scope?)")
    claims = id_token_claims(id_token)
    check_claims(claims, issuer=provider.issuer, client_id=settings.client_id, nonce=nonce)
    credential = Credential(
        issuer=provider.issuer,
        client_id=settings.client_id,
        id_token=id_token,
        refresh_token=answer.get("refresh_token"),
        expires_at=float(claims["exp"]),
        token_endpoint=provider.token_endpoint,
        client_secret=settings.client_secret,
    )
    store.save(server_url, credential)
    return SignIn(user_of(claims), server_url, provider.issuer, credential.expires_at)


def logout(server: str, *, store: CredentialStore | None = None) -> bool:
    """Forget the sign-in to `server`; whether there was one."""
    return (store or CredentialStore()).remove(check_url(server, allow_insecure_http=True))


# -- authorization code with PKCE, on a loopback listener -----------------------------------


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636, section 4)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _loopback(
    http: httpx.Client,
    provider: Provider,
    settings: OidcSettings,
    tell: Callable[[str], None],
    open_browser: Callable[[str], object] | None,
    wait: float,
) -> tuple[dict[str, Any], str]:
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with Callback() as callback:
        query = {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": callback.redirect_uri,
            "scope": settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        url = f"{provider.authorization_endpoint}?{urllib.parse.urlencode(query)}"
        tell(f"Sign in at: {url}")
        if open_browser is not None:
            open_browser(url)
        params = callback.wait(wait)
    if params.get("state") != state:
        raise Unauthenticated("the sign-in answer's state is not the one sent: not signing in")
    if "error" in params:
        detail = params.get("error_description")
        raise Unauthenticated(
            f"the identity provider refused: {params['error']}" + (f" ({detail})" if detail else "")
        )
    if not params.get("code"):
        raise Unauthenticated("the sign-in answer holds no authorization code")
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": callback.redirect_uri,
        "code_verifier": verifier,
    }
    answer = token_request(
        http,
        provider.token_endpoint,
        form,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
    )
    return answer, nonce


class Callback:
    """A listener on 127.0.0.1 at a free port for the one redirect back from the provider
    (`/callback`); anything else gets 404 and is otherwise ignored."""

    def __init__(self) -> None:
        self._answer: dict[str, str] | None = None
        self._done = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                if parts.path != "/callback" or owner._done.is_set():
                    self.send_error(404)
                    return
                pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
                owner._answer = dict(pairs)
                owner._done.set()
                page = b"<!doctype html><title>modelrepo</title><p>You may close this window."
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the terminal shows the command's own lines only."""

        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_port}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), daemon=True)

    def __enter__(self) -> Callback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def wait(self, seconds: float) -> dict[str, str]:
        """The callback's query parameters, once the browser brings them."""
        if not self._done.wait(seconds):
            raise Unauthenticated(f"no sign-in within {seconds:.0f} s: run `modelrepo login` again")
        assert self._answer is not None
        return self._answer


# -- device authorization grant (RFC 8628) ---------------------------------------------------


def _device_grant(
    http: httpx.Client,
    provider: Provider,
    settings: OidcSettings,
    tell: Callable[[str], None],
    wait: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    endpoint = provider.device_authorization_endpoint
    if not endpoint:
        raise NotSupported(f"the identity provider at {provider.issuer} offers no device sign-in")
    try:
        grant = token_request(
            http,
            endpoint,
            {"scope": settings.scopes},
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        )
    except TokenError as exc:
        raise Unauthenticated(f"no device sign-in: {exc}") from exc
    if "device_code" not in grant:
        raise Unauthenticated("the identity provider's device sign-in gave no device code")
    where = grant.get("verification_uri_complete") or grant.get("verification_uri")
    tell(f"Sign in at: {where}")
    tell(f"and enter the code: {grant.get('user_code')}")
    return poll_device(
        lambda: token_request(
            http,
            provider.token_endpoint,
            {"grant_type": DEVICE_GRANT, "device_code": str(grant["device_code"])},
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        ),
        interval=float(grant.get("interval", 5)),
        expires_in=min(float(grant.get("expires_in") or wait), wait),
        sleep=sleep,
    )


def poll_device(
    ask: Callable[[], dict[str, Any]],
    *,
    interval: float,
    expires_in: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Ask the token endpoint every `interval` seconds until the person has signed in; five
    seconds slower for each `slow_down` (RFC 8628, section 3.5); until `expires_in` seconds
    of intervals, or of the clock, have passed."""
    waited, deadline = 0.0, time.monotonic() + expires_in
    while waited < expires_in and time.monotonic() < deadline:
        sleep(interval)
        waited += interval
        try:
            return ask()
        except TokenError as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":
                interval += 5
                continue
            if exc.error == "expired_token":
                break
            raise Unauthenticated(f"the device sign-in ended: {exc}") from exc
    raise Unauthenticated("the device code expired before the sign-in: run `modelrepo login` again")
