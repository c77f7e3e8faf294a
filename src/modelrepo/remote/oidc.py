"""OpenID Connect as a client needs it: the provider's discovery document, token requests,
and the claims of an ID token the token endpoint handed us."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..domain.errors import InvalidInput, ModelrepoError, Unauthenticated

if TYPE_CHECKING:
    import httpx

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TIMEOUT = 30.0


class TokenError(ModelrepoError):
    """The token endpoint refused a request (`error` is its OAuth error code)."""

    code = "unauthenticated"

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class Provider:
    """What the provider's discovery document says about where to go."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    device_authorization_endpoint: str | None


def discover(http: httpx.Client, issuer: str) -> Provider:
    """The provider at `issuer`, from `/.well-known/openid-configuration`; the document must
    name the same issuer (OpenID Connect Discovery 1.0, section 4.3)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = get_json(http, url, what="the identity provider's discovery document")
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise InvalidInput(
            f"the identity provider at {issuer} calls itself {document.get('issuer')!r}: "
            "give the issuer URL exactly as the provider spells it"
        )
    try:
        return Provider(
            issuer=str(document["issuer"]),
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            device_authorization_endpoint=document.get("device_authorization_endpoint"),
        )
    except KeyError as exc:
        raise InvalidInput(f"the identity provider at {issuer} does not publish {exc}") from None


def token_request(
    http: httpx.Client,
    endpoint: str,
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: str | None,
) -> dict[str, Any]:
    """POST `form` to the token endpoint (or another that answers as it does: the device
    authorization endpoint) as this client: a confidential client by HTTP Basic
    (`client_secret_basic`, every provider's default), a public one by `client_id` alone."""
    import httpx

    extra: dict[str, Any] = {"data": {**form, "client_id": client_id}}
    if client_secret is not None:
        extra = {"data": form, "auth": httpx.BasicAuth(client_id, client_secret)}
    try:
        reply = http.post(endpoint, headers={"Accept": "application/json"}, **extra)
    except httpx.TransportError as exc:
        raise Unauthenticated(f"cannot reach the identity provider at {endpoint}: {exc}") from exc
    try:
        document = reply.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Unauthenticated(
            f"the identity provider answered {reply.status_code} without JSON at {endpoint}"
        )
    if reply.status_code >= 400 or "error" in document:
        error = str(document.get("error") or reply.status_code)
        detail = document.get("error_description")
        raise TokenError(
            error, f"the identity provider refused: {error}" + (f" ({detail})" if detail else "")
        )
    return document


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of an ID token, read without verifying its signature: the token came
    straight from the provider's token endpoint over our own connection to it (OpenID
    Connect Core 3.1.3.7: TLS server validation may stand in for the signature check
    here); the modelrepo server verifies it against the provider's keys on every use."""
    from joserfc.errors import JoseError
    from joserfc.jws import extract_compact

    try:
        claims = json.loads(extract_compact(id_token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise Unauthenticated(f"the identity provider's ID token is not a JWT: {exc}") from None
    if not isinstance(claims, dict):
        raise Unauthenticated("the identity provider's ID token holds no claims")
    return claims


def check_claims(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str | None) -> None:
    """Refuse an ID token meant for someone else, or not the answer to our own request."""
    if str(claims.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
        raise Unauthenticated(f"the ID token was issued by {claims.get('iss')!r}, not {issuer}")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise Unauthenticated(f"the ID token is not meant for client {client_id!r}")
    if nonce is not None and claims.get("nonce") != nonce:
        raise Unauthenticated("the ID token's nonce is not the one sent: not signing in")
    if not isinstance(claims.get("exp"), int | float):
        raise Unauthenticated("the ID token has no expiry (exp)")


def user_of(claims: dict[str, Any]) -> str:
    """The name a person knows themselves by: email, else preferred username, else subject."""
    for key in ("email", "preferred_username", "sub"):
        if claims.get(key):
            return str(claims[key])
    return "?"


def get_json(http: httpx.Client, url: str, *, what: str) -> dict[str, Any]:
    """A JSON object from `url`, or an error that names `what` it should have been."""
    import httpx

    try:
        reply = http.get(url, headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        raise Unauthenticated(f"cannot reach {what} at {url}: {exc}") from exc
    if reply.status_code != 200:
        raise Unauthenticated(f"{what} at {url} answered {reply.status_code}")
    try:
        document = reply.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Unauthenticated(f"{what} at {url} is not a JSON object")
    return document
