"""OpenID Connect: bearer JWTs from an identity provider, verified against the keys it
publishes.

The server trusts one issuer. Its discovery document (`/.well-known/openid-configuration`)
names the issuer exactly as tokens carry it and where its signing keys (JWKS) are; both are
fetched once and cached. A token signed by a key the cache lacks makes the verifier fetch the
keys again, at most once per `jwks_refetch_seconds`, so a provider's key rotation is picked
up without a restart, and a flood of forged tokens cannot turn into a flood of requests to
the provider. Only asymmetric signatures are accepted: `none` and HMAC (whose "secret" an
attacker could take from the published public key) are refused before any key is looked up.

Every refusal is an `Unauthenticated` (401) with a one-line reason; the token itself is never
logged nor repeated in a message.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key, KeySet
from joserfc.jws import CompactSignature, extract_compact

from ..domain.access import check_pattern, check_role, check_user
from ..domain.errors import InvalidInput, Unauthenticated
from ..domain.principals import OIDC, Authentication, Grant, Principal
from ..domain.times import format_time
from ..domain.urls import split_url

DISCOVERY_PATH = "/.well-known/openid-configuration"
ASYMMETRIC_ALGORITHMS = frozenset(
    {
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
        "EdDSA", "Ed25519", "Ed448",
    }
)  # fmt: skip
"""Signatures only the provider's private key can make; anything else is refused."""
DEFAULT_SCOPES = "openid email profile"
DEFAULT_LEEWAY = 30
MAX_LEEWAY = 600
"""Clock skew tolerated between us and the provider; more would stretch every token's life."""
MAX_TOKEN_LENGTH = 16 * 1024
"""Real ID tokens are 1-4 KiB; a longer bearer is refused before it is decoded."""
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ENVIRONMENT_PREFIX = "MODELREPO_OIDC_"


def refused(reason: str) -> Unauthenticated:
    """The error for a token refused for `reason` (never containing the token)."""
    return Unauthenticated(f"identity-provider token refused: {reason}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_provider_url(url: str, what: str) -> str:
    """An identity provider's address, without a trailing '/': https, or plain http on a
    loopback host only (a provider for development or tests)."""
    if not isinstance(url, str) or not url or any(c.isspace() for c in url):
        raise InvalidInput(f"invalid {what} {url!r}: give https://HOST[/PATH]")
    parts = split_url(url, what)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"invalid {what} {url!r}: give https://HOST[/PATH]")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidInput(f"invalid {what} {url!r}: no credentials, query or fragment")
    try:
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as exc:
        raise InvalidInput(f"invalid {what} {url!r}: {exc}") from None
    if parts.scheme != "https" and not _is_loopback(parts.hostname):
        raise InvalidInput(f"invalid {what} {url!r}: use https:// (http only on a loopback host)")
    return url.rstrip("/")


def parse_role_map(text: str) -> dict[str, tuple[Grant, ...]]:
    """Grants per identity-provider group, from `group=role` or `group=role:pattern`
    entries separated by commas or new lines; a group may be named several times."""
    found: dict[str, list[Grant]] = {}
    for raw in text.replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        group, sep, grant = (part.strip() for part in entry.partition("="))
        if not sep or not group or not grant:
            raise InvalidInput(f"invalid role map entry {entry!r}: use group=role[:pattern]")
        role, _, pattern = (part.strip() for part in grant.partition(":"))
        grant_of = Grant(check_role(role), check_pattern(pattern or None))
        found.setdefault(group, [])
        if grant_of not in found[group]:
            found[group].append(grant_of)
    return {group: tuple(grants) for group, grants in found.items()}


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """Which identity provider the server trusts, and how its users become ours.

    `issuer`: the provider's address (no trailing '/'); tokens' `iss` must equal the issuer
    its discovery document publishes. `audience`: what tokens' `aud` must contain (our
    client id at the provider, as kubectl's OIDC support expects). `user_claim`: the claim
    recorded as the user (falling back to `sub` when a token lacks it). `roles_claim`: the
    claim listing the user's groups; `role_map`: the grants each group gives. `client_id`
    (empty: the audience), `client_secret` and `scopes`: for signing in through the provider."""

    issuer: str
    audience: str
    user_claim: str = "email"
    roles_claim: str | None = None
    role_map: Mapping[str, tuple[Grant, ...]] = field(default_factory=dict, hash=False)
    leeway_seconds: int = DEFAULT_LEEWAY
    client_id: str = ""
    client_secret: str | None = field(default=None, repr=False)
    scopes: str = DEFAULT_SCOPES

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalised once, here
        set_(self, "issuer", check_provider_url(self.issuer, "OIDC issuer"))
        if not isinstance(self.audience, str) or not self.audience.strip():
            raise InvalidInput("OIDC audience is required: the client id tokens are issued for")
        for what, claim in (("user claim", self.user_claim), ("roles claim", self.roles_claim)):
            if claim is not None and (not claim or not claim.isprintable() or " " in claim):
                raise InvalidInput(f"invalid OIDC {what} {claim!r}: give a claim name")
        if isinstance(self.leeway_seconds, bool) or not 0 <= self.leeway_seconds <= MAX_LEEWAY:
            raise InvalidInput(
                f"invalid OIDC leeway {self.leeway_seconds!r}: 0-{MAX_LEEWAY} seconds"
            )
        if "openid" not in self.scopes.split():
            raise InvalidInput(f"invalid OIDC scopes {self.scopes!r}: must include openid")
        if self.role_map and self.roles_claim is None:
            raise InvalidInput("an OIDC role map needs a roles claim (e.g. groups) to read")
        for grants in self.role_map.values():
            for grant in grants:
                check_role(grant.role)
                check_pattern(grant.model_pattern)
        set_(self, "role_map", MappingProxyType(dict(self.role_map)))
        set_(self, "client_id", self.client_id or self.audience)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> OidcSettings | None:
        """Settings from MODELREPO_OIDC_ISSUER, _AUDIENCE, _USER_CLAIM, _ROLES_CLAIM,
        _ROLE_MAP, _LEEWAY, _CLIENT_ID, _CLIENT_SECRET and _SCOPES; None when no issuer is
        set (OpenID Connect off). The audience defaults to the client id and back."""

        def get(name: str) -> str | None:
            value = environ.get(ENVIRONMENT_PREFIX + name, "").strip()
            return value or None

        issuer = get("ISSUER")
        if issuer is None:
            return None
        audience = get("AUDIENCE") or get("CLIENT_ID")
        if audience is None:
            raise InvalidInput(
                f"{ENVIRONMENT_PREFIX}AUDIENCE (or _CLIENT_ID) is required with "
                f"{ENVIRONMENT_PREFIX}ISSUER: the client id tokens are issued for"
            )
        leeway_text = get("LEEWAY")
        try:
            leeway = DEFAULT_LEEWAY if leeway_text is None else int(leeway_text)
        except ValueError:
            raise InvalidInput(
                f"invalid {ENVIRONMENT_PREFIX}LEEWAY {leeway_text!r}: 0-{MAX_LEEWAY} seconds"
            ) from None
        try:
            role_map = parse_role_map(environ.get(ENVIRONMENT_PREFIX + "ROLE_MAP", ""))
        except InvalidInput as exc:
            raise InvalidInput(f"{ENVIRONMENT_PREFIX}ROLE_MAP: {exc}") from None
        return cls(
            issuer=issuer,
            audience=audience,
            user_claim=get("USER_CLAIM") or "email",
            roles_claim=get("ROLES_CLAIM"),
            role_map=role_map,
            leeway_seconds=leeway,
            client_id=get("CLIENT_ID") or "",
            client_secret=get("CLIENT_SECRET"),
            scopes=get("SCOPES") or DEFAULT_SCOPES,
        )


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """Who a verified token says the caller is: `user` is the configured claim's value
    (else `sub`), `groups` the roles claim's values; `claims` all of them."""

    issuer: str
    subject: str
    user: str
    groups: tuple[str, ...]
    expires_at: datetime
    claims: dict[str, Any] = field(hash=False, compare=False)

    def grants(self, settings: OidcSettings) -> tuple[Grant, ...]:
        """The grants the role map gives this identity's groups (none for unmapped ones)."""
        found: list[Grant] = []
        for group in self.groups:
            found.extend(g for g in settings.role_map.get(group, ()) if g not in found)
        return tuple(found)

    def authentication(self) -> Authentication:
        return Authentication(OIDC, issuer=self.issuer, subject=self.subject)

    def principal(self, settings: OidcSettings, bound: Iterable[Grant] = ()) -> Principal:
        """This identity as a principal: its `bound` grants (role bindings) and its groups'."""
        return Principal(self.user, self.authentication(), (*bound, *self.grants(settings)))


def _extract(token: str) -> CompactSignature:
    """The token's parts, decoded but not verified; `not a JWT` when it has no such shape."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise refused("not a JWT")
    try:
        found = extract_compact(token.encode("ascii"))
    except Exception:  # whatever the parser trips on: a stranger wrote it
        raise refused("not a JWT") from None
    header = found.headers()
    # A JWT's payload is base64url-encoded: an RFC 7797 `b64` header is no JWT's.
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str) or "b64" in header:
        raise refused("not a JWT")
    return found


def looks_like_jwt(secret: str) -> bool:
    """Whether a bearer is shaped like a JWT (three base64url parts, a JSON header naming
    an `alg`), so the gate can tell one from an `mr_...` API token. Verifies nothing."""
    try:
        _extract(secret)
    except Unauthenticated:
        return False
    return True


def _check_algorithm(alg: str) -> None:
    if alg.lower() == "none":
        raise refused("algorithm 'none' refused: the token is not signed")
    if alg.upper().startswith("HS"):
        raise refused(
            f"algorithm {alg!r} refused: a shared-secret signature, not the identity provider's"
        )
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise refused(f"algorithm {alg!r} not accepted")


def _payload(found: CompactSignature) -> dict[str, Any]:
    try:
        claims = json.loads(found.payload)
    except (TypeError, ValueError):
        claims = None
    if not isinstance(claims, dict):
        raise refused("not a JWT: its payload is not a JSON object")
    return claims


def _shown(value: object) -> str:
    """A claim's value for a message: short, printable."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _groups(claims: Mapping[str, Any], claim: str | None) -> tuple[str, ...]:
    value = claims.get(claim) if claim is not None else None
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise refused(f"claim {claim!r} is neither a list of names nor a string")


def _usable(key: Key, alg: str) -> bool:
    """A published key that may check an `alg` signature (not one meant for encryption or
    for another algorithm)."""
    return key.get("use") in (None, "sig") and key.get("alg") in (None, alg)


class OidcVerifier:
    """Verifies the identity provider's tokens; safe to share between threads.

    `http`: the client that fetches the discovery document and keys (by default one of our
    own, closed by `close()`); `clock`: seconds since the epoch, for the tokens' times and the
    refetch limits. A failed fetch is retried after `retry_seconds`, not before (requests fail
    fast while the provider is down); an unknown key makes the keys be fetched again at most
    once per `jwks_refetch_seconds`."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        jwks_refetch_seconds: float = 30.0,
        retry_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=HTTP_TIMEOUT)
        self._clock = clock
        self._refetch_seconds = jwks_refetch_seconds
        self._retry_seconds = retry_seconds
        self._lock = threading.Lock()  # held while fetching, so threads wait for one fetch
        self._discovery: Mapping[str, Any] | None = None
        self._keys: tuple[KeySet, float] | None = None  # the set, and when it was fetched
        self._failure: tuple[float, str] | None = None

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> OidcVerifier:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def discovery(self) -> Mapping[str, Any]:
        """The provider's discovery document (fetched once), refused unless its `issuer` is
        the configured one."""
        found = self._discovery  # once fetched, read without waiting for the lock
        if found is not None:
            return found
        with self._lock:
            return self._discovered()

    def verify(
        self, token: str, *, nonce: str | None = None, audience: str | None = None
    ) -> VerifiedIdentity:
        """The identity a token proves, or `Unauthenticated` saying why it proves none.

        `audience`: what `aud` must contain instead of the settings' audience; `nonce`: the
        value the token's `nonce` must equal (a sign-in this server started)."""
        found = _extract(token)
        header = found.headers()
        alg: str = header["alg"]
        _check_algorithm(alg)
        if "crit" in header:
            raise refused("critical header extensions are not supported")
        unverified_issuer = _payload(found).get("iss")
        issuer = str(self.discovery()["issuer"])
        # Checked before the signature: a token of another issuer is not ours to look up
        # keys for (it would make us fetch our provider's keys for nothing).
        if unverified_issuer != issuer:
            raise refused(f"wrong issuer {_shown(unverified_issuer)} (expected {issuer!r})")
        claims = self._verified_claims(token, header.get("kid"), alg)
        now = self._clock()
        self._check_claims(claims, issuer, audience or self.settings.audience, nonce, now)
        return self._identity(claims, issuer)

    def _verified_claims(self, token: str, kid: object, alg: str) -> dict[str, Any]:
        if kid is not None and not isinstance(kid, str):
            raise refused("not a JWT: its key id is not a string")
        keys = self._key_snapshot()
        claims = _try_keys(token, keys, kid, alg)
        if claims is not None:
            return claims
        if kid is not None and any(key.kid == kid for key in keys):
            raise refused("bad signature")
        fresh = self._refetched_keys(keys)
        claims = _try_keys(token, fresh, kid, alg) if fresh is not None else None
        if claims is not None:
            return claims
        if kid is not None and not any(key.kid == kid for key in fresh or keys):
            raise refused(f"unknown signing key {_shown(kid)}")
        raise refused("bad signature")

    def _key_snapshot(self) -> KeySet:
        found = self._keys  # once fetched, read without waiting for the lock
        if found is not None:
            return found[0]
        with self._lock:
            return (self._keys or self._fetch_keys())[0]

    def _refetched_keys(self, tried: KeySet) -> KeySet | None:
        """The keys fetched again for a token none of the `tried` keys verified: those
        another thread fetched since, or fresh ones if the last fetch is old enough; None
        when it is too soon to ask the provider again."""
        with self._lock:
            assert self._keys is not None
            keys, fetched_at = self._keys
            if keys is not tried:
                return keys
            if self._clock() - fetched_at < self._refetch_seconds:
                return None
            return self._fetch_keys()[0]

    def _fetch_keys(self) -> tuple[KeySet, float]:  # with the lock held
        uri = self._discovered().get("jwks_uri")
        if not isinstance(uri, str):
            raise self._failed("identity provider publishes no jwks_uri")
        try:
            uri = check_provider_url(uri, "jwks_uri")
        except InvalidInput as exc:
            raise self._failed(f"identity provider's {exc}") from None
        document = self._fetch(uri, "signing keys")
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise self._failed("identity provider's signing keys are unreadable") from None
        # A new set replaces the old one: a key the provider dropped no longer verifies.
        self._keys = (keys, self._clock())
        return self._keys

    def _discovered(self) -> Mapping[str, Any]:  # with the lock held
        if self._discovery is None:
            document = self._fetch(self.settings.issuer + DISCOVERY_PATH, "discovery document")
            issuer = document.get("issuer")
            if not isinstance(issuer, str) or issuer.rstrip("/") != self.settings.issuer:
                raise self._failed(
                    f"identity provider's discovery document names issuer {_shown(issuer)}, "
                    f"not the configured {self.settings.issuer!r}"
                )
            self._discovery = MappingProxyType(document)
        return self._discovery

    def _fetch(self, url: str, what: str) -> dict[str, Any]:  # with the lock held
        if self._failure is not None and self._clock() < self._failure[0]:
            raise Unauthenticated(self._failure[1])
        try:
            reply = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise self._failed(f"identity provider unreachable: {what}: {reason}") from None
        if reply.status_code != 200:
            raise self._failed(
                f"identity provider unreachable: {what}: HTTP {reply.status_code} from {url}"
            )
        try:
            document = reply.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise self._failed(f"identity provider unreachable: {what} at {url} is not JSON")
        self._failure = None
        return document

    def _failed(self, message: str) -> Unauthenticated:
        """Remember a failure for `retry_seconds` (requests fail fast meanwhile)."""
        self._failure = (self._clock() + self._retry_seconds, message)
        return Unauthenticated(message)

    def _check_claims(
        self,
        claims: Mapping[str, Any],
        issuer: str,
        audience: str,
        nonce: str | None,
        now: float,
    ) -> None:
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": audience},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(
            now=int(now), leeway=self.settings.leeway_seconds, **options
        )
        try:
            registry.validate(dict(claims))
        except ExpiredTokenError:
            raise refused(f"expired at {_when(claims.get('exp'))}") from None
        except MissingClaimError as exc:
            raise refused(f"missing claim {exc.claim!r}") from None
        except ClaimError as exc:
            raise refused(_claim_problem(exc.claim, claims, issuer, audience)) from None

    def _identity(self, claims: dict[str, Any], issuer: str) -> VerifiedIdentity:
        subject = str(claims["sub"])
        claim = self.settings.user_claim
        value = claims.get(claim)
        if claim == "email" and value is not None and claims.get("email_verified") is False:
            # An address the provider has not confirmed may be someone else's.
            raise refused("the identity provider has not verified this email address")
        user = value if isinstance(value, str) and value else subject
        try:
            check_user(user)
        except InvalidInput:
            raise refused(f"claim {claim!r} is not a usable user name: {_shown(user)}") from None
        try:
            expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        except (OverflowError, OSError, ValueError):
            raise refused(f"claim 'exp' is out of range: {_shown(claims['exp'])}") from None
        return VerifiedIdentity(
            issuer=issuer,
            subject=subject,
            user=user,
            groups=_groups(claims, self.settings.roles_claim),
            expires_at=expires_at,
            claims=claims,
        )


def _try_keys(token: str, keys: Iterable[Key], kid: str | None, alg: str) -> dict[str, Any] | None:
    """The token's claims if one of the keys (the one named `kid`, or any that fits when
    the token names none) verifies its signature; None if none does."""
    for key in keys:
        if (kid is not None and key.kid != kid) or not _usable(key, alg):
            continue
        try:
            return jwt.decode(token, key, algorithms=[alg]).claims
        except (BadSignatureError, JoseError, ValueError):
            continue
    return None


def _when(value: object) -> str:
    try:
        return format_time(datetime.fromtimestamp(float(value), UTC))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return _shown(value)


def _claim_problem(claim: str, claims: Mapping[str, Any], issuer: str, audience: str) -> str:
    value = claims.get(claim)
    if claim == "nbf":
        return f"not yet valid (not before {_when(value)})"
    if claim == "iat":
        return f"issued in the future ({_when(value)})"
    if claim == "iss":
        return f"wrong issuer {_shown(value)} (expected {issuer!r})"
    if claim == "aud":
        return f"wrong audience {_shown(value)} (expected {audience!r})"
    if claim == "nonce":
        return "nonce mismatch: not the sign-in this server started"
    return f"invalid claim {claim!r}"
