"""Signing in to the web UI through a real OpenID provider (tests/oidc_provider.py): each hop
of the authorization-code flow followed by its real redirect (the server's login page, the
provider's form, the callback), then requests made with the session's cookie alone.

The app runs in this process behind a TestClient at the server's public URL; the provider is
a real one on loopback, which the server asks for its discovery document, keys and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from http.cookies import Morsel, SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.clock import ManualClock
from modelrepo.domain.principals import Grant
from modelrepo.domain.sessions import SESSION_COOKIE, SESSION_LIFETIME, hash_session
from modelrepo.server import create_app
from modelrepo.server.oidc import OidcSettings, OidcVerifier
from modelrepo.server.routes.signin import SIGNIN_COOKIE, local_next

from ..oidc_provider import Provider

CLIENT_ID = "modelrepo-ui"
CLIENT_SECRET = "ui-client-secret"
HTTP = "http://testserver"


@pytest.fixture
def verifier(shared_oidc_provider: Provider) -> Iterator[OidcVerifier]:
    settings = OidcSettings(
        issuer=shared_oidc_provider.url,
        audience=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        roles_claim="groups",
        role_map={"ml-admins": (Grant("admin"),), "risk": (Grant("viewer", "credit-*"),)},
    )
    shared_oidc_provider.add_user("alice", {"email": "alice@example.com", "groups": ["ml-admins"]})
    shared_oidc_provider.add_user("rita", {"email": "rita@example.com", "groups": ["risk"]})
    with OidcVerifier(settings) as found:
        yield found


def browser(registry: Registry, verifier: OidcVerifier, public_url: str = HTTP) -> TestClient:
    """A client playing the browser: keeps cookies, follows no redirect by itself."""
    app = create_app(registry, oidc=verifier, public_url=public_url)
    return TestClient(app, base_url=public_url, follow_redirects=False)


def cookies_set(reply: httpx.Response) -> dict[str, Morsel[str]]:
    """The cookies a reply sets, by name, with their attributes."""
    found: dict[str, Morsel[str]] = {}
    for header in reply.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        found.update(jar)
    return found


def to_provider(client: TestClient, provider: Provider, next_: str = "/ui/") -> str:
    """The server's login redirect: the provider's authorization URL."""
    start = client.get("/ui/login", params={"next": next_})
    assert start.status_code == 302, start.text
    target = start.headers["location"]
    assert target.startswith(provider.url + "/oauth2/authorize?")
    return str(target)


def at_provider(provider: Provider, target: str, sub: str) -> str:
    """The user signs in on the provider's form; where it sends the browser back."""
    form = provider.http.get(target)
    assert form.status_code == 200 and 'name="sub"' in form.text
    answer = provider.http.post(target, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def sign_in(
    client: TestClient, provider: Provider, sub: str, next_: str = "/ui/"
) -> httpx.Response:
    """The whole flow, as a browser drives it; the callback's reply."""
    back = at_provider(provider, to_provider(client, provider, next_), sub)
    assert back.startswith(f"{client.base_url}/ui/callback?")
    return client.get(back)


def test_signing_in_through_the_provider_starts_a_session(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    provider = shared_oidc_provider
    with browser(registry, verifier) as client:
        target = to_provider(client, provider, "/ui/#/models/credit-risk")
        asked = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
        assert asked["redirect_uri"] == f"{HTTP}/ui/callback"
        assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
        assert asked["state"] and asked["nonce"] and asked["scope"] == "openid email profile"
        assert client.cookies.get(SIGNIN_COOKIE)  # state, nonce and verifier wait there

        done = client.get(at_provider(provider, target, "alice"))
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{HTTP}/ui/#/models/credit-risk"
        made = cookies_set(done)
        secret = made[SESSION_COOKIE].value
        assert made[SIGNIN_COOKIE]["max-age"] == "0"  # the sign-in's own cookie is gone

        session = client.get("/api/v1/session")
        assert session.status_code == 200, session.text
        answer = session.json()
        assert answer["principal"]["user"] == "alice@example.com"
        assert answer["principal"]["authentication"] == {
            "method": "oidc",
            "issuer": provider.url,
            "subject": "alice",
        }
        assert answer["principal"]["grants"] == [{"role": "admin", "model_pattern": None}]
        assert len(answer["csrf_token"]) >= 32
        assert client.get("/api/v1/whoami").json()["user"] == "alice@example.com"

    # Only the hash of the cookie's secret is kept, with the identity the provider vouched for.
    kept = registry.backend.metadata.web_session(hash_session(secret))
    assert kept is not None and kept.principal == "alice@example.com"
    assert (kept.issuer, kept.subject, kept.groups) == (provider.url, "alice", ("ml-admins",))
    assert kept.expires_at - kept.created_at == SESSION_LIFETIME
    assert kept.csrf == answer["csrf_token"]


def test_the_cookies_are_http_only_lax_and_secure_over_https(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    for public_url, secure in ((HTTP, ""), ("https://models.bank.example", True)):
        with browser(registry, verifier, public_url) as client:
            start = client.get("/ui/login")
            pending = cookies_set(start)[SIGNIN_COOKIE]
            assert pending["httponly"] is True and pending["samesite"] == "lax"
            assert pending["path"] == "/ui/" and pending["secure"] == secure
            assert 0 < int(pending["max-age"]) <= 600
            back = at_provider(shared_oidc_provider, start.headers["location"], "rita")
            assert back.startswith(f"{public_url}/ui/callback?")
            done = client.get(back)
            assert done.status_code == 303, done.text
            session = cookies_set(done)[SESSION_COOKIE]
            assert session["httponly"] is True and session["samesite"] == "lax"
            assert session["path"] == "/" and session["secure"] == secure
            assert int(session["max-age"]) == SESSION_LIFETIME.total_seconds()
            if secure:  # a cookie marked Secure is only sent back over https, as here
                assert client.get("/api/v1/session").status_code == 200


def test_signing_in_again_ends_the_browsers_previous_session(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    with browser(registry, verifier) as client:
        first = cookies_set(sign_in(client, shared_oidc_provider, "rita"))[SESSION_COOKIE].value
        second = cookies_set(sign_in(client, shared_oidc_provider, "alice"))[SESSION_COOKIE].value
        assert first != second
        assert client.get("/api/v1/session").json()["principal"]["user"] == "alice@example.com"
    ended = registry.backend.metadata.web_session(hash_session(first))
    assert ended is not None and ended.ended_at is not None


def test_a_callback_without_the_sign_ins_state_is_refused(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    provider = shared_oidc_provider
    with browser(registry, verifier) as client:
        back = at_provider(provider, to_provider(client, provider), "alice")
        query = parse_qs(urlsplit(back).query)
        forged = client.get("/ui/callback", params={"code": query["code"][0], "state": "forged"})
        assert forged.status_code == 400
        assert forged.json()["code"] == "bad_request"
        assert "state does not match" in forged.json()["message"]
        assert SESSION_COOKIE not in cookies_set(forged)
        missing = client.get("/ui/callback", params={"code": query["code"][0]})
        assert missing.status_code == 400 and SESSION_COOKIE not in cookies_set(missing)

    # Another browser, which never started this sign-in, cannot finish it.
    with browser(registry, verifier) as other:
        stolen = other.get(back)
        assert stolen.status_code == 400
        assert "no sign-in was started" in stolen.json()["message"]
        assert SESSION_COOKIE not in cookies_set(stolen)
        assert other.get("/api/v1/session").status_code == 401


def test_the_provider_refusing_the_sign_in_starts_no_session(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    provider = shared_oidc_provider
    with browser(registry, verifier) as client:
        target = to_provider(client, provider)
        denied = provider.http.post(target, data={"action": "deny"})
        assert denied.status_code == 302
        back = client.get(denied.headers["location"])
        assert back.status_code == 400 and "access_denied" in back.json()["message"]
        assert SESSION_COOKIE not in cookies_set(back)


def test_only_a_path_of_the_web_ui_is_where_a_sign_in_leads(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    for evil in ("https://evil.example/", "//evil.example/ui/", "/\\evil.example", "/api/v1/x",
                 "/ui//evil.example", "javascript:alert(1)"):  # fmt: skip
        assert local_next(evil) == "/ui/", evil
    assert local_next("/ui/#/requests?status=pending") == "/ui/#/requests?status=pending"
    with browser(registry, verifier) as client:
        done = sign_in(client, shared_oidc_provider, "rita", next_="https://evil.example/")
        assert done.headers["location"] == f"{HTTP}/ui/"


def test_a_change_made_with_the_cookie_needs_the_csrf_token(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    with browser(registry, verifier) as client:
        sign_in(client, shared_oidc_provider, "alice")
        csrf = client.get("/api/v1/session").json()["csrf_token"]
        body = {"role": "viewer"}
        for headers in ({}, {"X-CSRF-Token": "not-the-token"}, {"X-CSRF-Token": ""}):
            refused = client.post("/api/v1/tokens", json=body, headers=headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "forbidden"
            assert "X-CSRF-Token" in refused.json()["message"]
        assert registry.tokens() == []
        made = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        assert made.json()["user"] == "alice@example.com"
        assert made.json()["minted_auth"]["method"] == "oidc"
        # Reading needs no CSRF token; a bearer token needs none either (no cookie decides).
        assert client.get("/api/v1/models").status_code == 200
        bearer = {"Authorization": f"Bearer {made.json()['token']}"}
        assert client.get("/api/v1/whoami", headers=bearer).json()["authentication"]["method"] == (
            "token"
        )


def test_signing_out_ends_the_session(
    registry: Registry, verifier: OidcVerifier, shared_oidc_provider: Provider
) -> None:
    provider = shared_oidc_provider
    with browser(registry, verifier) as client:
        done = sign_in(client, provider, "alice")
        secret = cookies_set(done)[SESSION_COOKIE].value
        csrf = client.get("/api/v1/session").json()["csrf_token"]
        refused = client.post("/ui/logout")
        assert refused.status_code == 403 and client.get("/api/v1/session").status_code == 200
        out = client.post("/ui/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 200, out.text
        assert out.json() == {
            "signed_out": True,
            "end_session_endpoint": f"{provider.url}/oauth2/end_session",
        }
        assert cookies_set(out)[SESSION_COOKIE]["max-age"] == "0"
        assert client.get("/api/v1/session").status_code == 401

    # The old cookie, sent again, signs nobody in: the session ended at the server.
    with browser(registry, verifier) as again:
        again.cookies.set(SESSION_COOKIE, secret)
        assert again.get("/api/v1/session").status_code == 401
        assert again.get("/api/v1/models").status_code == 401
    kept = registry.backend.metadata.web_session(hash_session(secret))
    assert kept is not None and kept.ended_at is not None


def test_an_expired_session_is_refused(
    registry: Registry,
    verifier: OidcVerifier,
    shared_oidc_provider: Provider,
    clock: ManualClock,
) -> None:
    with browser(registry, verifier) as client:
        sign_in(client, shared_oidc_provider, "rita")
        assert client.get("/api/v1/session").status_code == 200
        clock.advance(SESSION_LIFETIME + timedelta(seconds=1))
        expired = client.get("/api/v1/session")
        assert expired.status_code == 401, expired.text
        assert "sign in again" in expired.json()["message"]


def test_auth_config_names_the_provider_or_none(registry: Registry, verifier: OidcVerifier) -> None:
    with browser(registry, verifier) as client:
        assert client.get("/api/v1/auth/config").json() == {
            "oidc": {
                "issuer": verifier.settings.issuer,
                "client_id": CLIENT_ID,
                "scopes": "openid email profile",
            }
        }
    with TestClient(create_app(registry)) as plain:
        assert plain.get("/api/v1/auth/config").json() == {"oidc": None}
        assert plain.get("/ui/login", follow_redirects=False).status_code == 422
        # Without a provider the cookie is no credential at all.
        plain.cookies.set(SESSION_COOKIE, "anything")
        assert plain.get("/api/v1/models").status_code == 401
