"""The identity provider's tokens, verified: real ID tokens from a real provider on loopback
(tests/oidc_provider.py) are accepted; forged, foreign, expired, rotated-away, unsigned and
HMAC-signed ones, and garbage, are refused, each with its own reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from modelrepo.domain.errors import InvalidInput, Unauthenticated
from modelrepo.domain.principals import OIDC, Grant
from modelrepo.server.oidc import (
    OidcSettings,
    OidcVerifier,
    VerifiedIdentity,
    looks_like_jwt,
    parse_role_map,
)

from ..oidc_provider import Provider, provider

CLIENT = "modelrepo"


class Clock:
    """The verifier's clock: the real time moved by `offset` seconds, or a `fixed` time
    (tokens carry real times, so tests move our clock rather than sleep)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.fixed: float | None = None

    def __call__(self) -> float:
        return self.fixed if self.fixed is not None else time.time() + self.offset


def settings(issuer: str, **options: Any) -> OidcSettings:
    defaults: dict[str, Any] = {
        "audience": CLIENT,
        "roles_claim": "groups",
        "role_map": parse_role_map("ml-admins=admin, fraud-team=deployer:fraud-*"),
    }
    return OidcSettings(issuer=issuer, **{**defaults, **options})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def idp(shared_oidc_provider: Provider) -> Provider:
    """The module's provider: tests that stop or rotate one use `oidc_provider`, their own."""
    return shared_oidc_provider


@pytest.fixture
def verifier(idp: Provider, clock: Clock) -> Iterator[OidcVerifier]:
    with OidcVerifier(settings(idp.url), clock=clock) as verifying:
        yield verifying


def refusal(verifier: OidcVerifier, token: str, **options: Any) -> str:
    """Why the verifier refuses `token`; the message never repeats the token."""
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token, **options)
    message = str(refused.value)
    assert token not in message or not token
    assert "\n" not in message
    return message


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def with_header(token: str, header: dict[str, Any], signature: str | None = None) -> str:
    _, payload, kept = token.split(".")
    return (
        f"{b64(json.dumps(header).encode())}.{payload}.{kept if signature is None else signature}"
    )


# Accepted


def test_a_real_id_token_names_the_user_by_email_and_grants_by_group(
    idp: Provider, verifier: OidcVerifier
) -> None:
    idp.add_user(
        "00u1", {"email": "alice@example.com", "groups": ["ml-admins", "fraud-team", "other"]}
    )
    tokens = idp.sign_in("00u1", client_id=CLIENT)
    assert looks_like_jwt(tokens["id_token"])
    assert not looks_like_jwt(tokens["access_token"])  # this provider's are opaque

    identity = verifier.verify(tokens["id_token"])

    assert (identity.issuer, identity.subject, identity.user) == (
        idp.url,
        "00u1",
        "alice@example.com",
    )
    assert identity.groups == ("ml-admins", "fraud-team", "other")
    assert identity.grants(verifier.settings) == (Grant("admin"), Grant("deployer", "fraud-*"))
    exp = datetime.fromtimestamp(identity.claims["exp"], UTC)
    assert identity.expires_at == exp
    assert timedelta(minutes=59) < exp - datetime.now(UTC) <= timedelta(hours=1)
    principal = identity.principal(verifier.settings)
    assert principal.name == "alice@example.com"
    assert (principal.auth.method, principal.auth.issuer, principal.auth.subject) == (
        OIDC,
        idp.url,
        "00u1",
    )
    assert principal.auth.label() == f"identity provider {idp.url} (subject 00u1)"


def test_without_the_user_claim_the_subject_is_the_user(
    idp: Provider, verifier: OidcVerifier
) -> None:
    idp.add_user("robot-7", {"groups": "fraud-team  viewers"})  # no email

    identity = verifier.verify(idp.id_token("robot-7", client_id=CLIENT))

    assert identity.user == "robot-7"
    assert identity.groups == ("fraud-team", "viewers")  # a space-separated claim
    assert identity.grants(verifier.settings) == (Grant("deployer", "fraud-*"),)


def test_another_claim_may_name_the_user(idp: Provider, clock: Clock) -> None:
    idp.add_user("00u2", {"email": "bob@example.com", "preferred_username": "bob"})
    token = idp.id_token("00u2", client_id=CLIENT)
    chosen = OidcSettings(idp.url, CLIENT, user_claim="preferred_username")
    with OidcVerifier(chosen, clock=clock) as verifier:
        identity = verifier.verify(token)
    assert (identity.user, identity.groups, identity.grants(chosen)) == ("bob", (), ())


def test_an_unverified_email_is_not_an_identity(idp: Provider, verifier: OidcVerifier) -> None:
    idp.add_user("00u3", {"email": "ceo@example.com", "email_verified": False})
    token = idp.id_token("00u3", client_id=CLIENT)
    assert "has not verified this email" in refusal(verifier, token)


def test_a_nonce_is_checked_when_given(idp: Provider, verifier: OidcVerifier) -> None:
    with_nonce = idp.id_token("carol", client_id=CLIENT, nonce="n-0451")
    assert verifier.verify(with_nonce, nonce="n-0451").user == "carol"
    assert verifier.verify(with_nonce).user == "carol"  # no nonce asked: none checked
    assert "nonce mismatch" in refusal(verifier, with_nonce, nonce="n-other")
    without = idp.id_token("carol", client_id=CLIENT)
    assert "missing claim 'nonce'" in refusal(verifier, without, nonce="n-0451")


def test_tokens_are_verified_from_many_threads_at_once(idp: Provider, clock: Clock) -> None:
    tokens = [idp.id_token(f"user-{i}", client_id=CLIENT) for i in range(6)]
    found: list[str] = []
    failures: list[BaseException] = []
    with OidcVerifier(settings(idp.url), clock=clock) as verifier:

        def verify(token: str) -> None:
            try:
                for _ in range(5):
                    found.append(verifier.verify(token).user)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=verify, args=(t,)) for t in tokens * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not failures
    assert sorted(set(found)) == [f"user-{i}" for i in range(6)] and len(found) == 60


# Refused


def test_a_forged_token_is_refused(idp: Provider, verifier: OidcVerifier) -> None:
    idp.add_user("00u4", {"email": "mallory@example.com", "groups": ["readers"]})
    token = idp.id_token("00u4", client_id=CLIENT)
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    claims.update(email="alice@example.com", groups=["ml-admins"])
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"

    assert "bad signature" in refusal(verifier, forged)
    assert verifier.verify(token).user == "mallory@example.com"  # the genuine one still passes
    truncated = f"{header}.{payload}.{signature[:-8]}"
    assert "bad signature" in refusal(verifier, truncated)


def test_a_token_of_another_issuer_is_refused(idp: Provider, verifier: OidcVerifier) -> None:
    with provider() as other:
        foreign = other.id_token("alice", client_id=CLIENT)
    message = refusal(verifier, foreign)
    assert f"wrong issuer '{other.url}' (expected '{idp.url}')" in message


def test_an_expired_token_is_refused_after_the_leeway() -> None:
    clock = Clock()
    with provider(token_max_age=timedelta(seconds=1)) as short:
        token = short.id_token("dave", client_id=CLIENT)
        strict = OidcVerifier(settings(short.url, leeway_seconds=0), clock=clock)
        lenient = OidcVerifier(settings(short.url, leeway_seconds=30), clock=clock)
        claims = json.loads(unb64(token.split(".")[1]))
        assert claims["exp"] == claims["iat"] + 1
        with strict, lenient:
            clock.fixed = claims["iat"]
            assert strict.verify(token).user == "dave"
            clock.fixed = claims["exp"] + 2
            assert "expired at" in refusal(strict, token)
            assert lenient.verify(token).user == "dave"
            clock.fixed = claims["exp"] + 31
            assert "expired at" in refusal(lenient, token)


def test_a_token_issued_in_the_future_is_refused(
    idp: Provider, verifier: OidcVerifier, clock: Clock
) -> None:
    token = idp.id_token("erin", client_id=CLIENT)
    clock.offset = -120  # our clock two minutes behind the provider's: beyond the leeway
    assert "issued in the future" in refusal(verifier, token)
    clock.offset = -20  # within it
    assert verifier.verify(token).user == "erin"


def test_a_token_not_yet_valid_is_refused(idp: Provider, verifier: OidcVerifier) -> None:
    # The provider copies a user's custom claims into the token it signs: here, `nbf`.
    idp.add_user("frank", {"nbf": int(time.time()) + 3600})
    token = idp.id_token("frank", client_id=CLIENT)
    assert "not yet valid (not before" in refusal(verifier, token)


def test_a_token_for_another_audience_is_refused(idp: Provider, verifier: OidcVerifier) -> None:
    token = idp.id_token("grace", client_id="another-app")
    assert "wrong audience ['another-app'] (expected 'modelrepo')" in refusal(verifier, token)
    assert verifier.verify(token, audience="another-app").user == "grace"


def test_after_a_key_rotation_new_tokens_pass_and_old_ones_fail(
    oidc_provider: Provider, clock: Clock
) -> None:
    with OidcVerifier(settings(oidc_provider.url), clock=clock) as verifier:
        old = oidc_provider.id_token("heidi", client_id=CLIENT)
        assert verifier.verify(old).user == "heidi"

        oidc_provider.rotate_key()
        new = oidc_provider.id_token("heidi", client_id=CLIENT)
        assert verifier.verify(old).user == "heidi"  # the keys are not fetched again for nothing
        # The keys were fetched a moment ago: not again yet (a flood of unknown tokens must
        # not become a flood of requests to the provider).
        assert "bad signature" in refusal(verifier, new)
        clock.offset = 31
        assert verifier.verify(new).user == "heidi"  # fetched again: the new key is known
        clock.offset = 62
        assert "bad signature" in refusal(verifier, old)  # the old key is gone with the old set


def test_a_token_naming_an_unknown_key_is_refused(
    idp: Provider, verifier: OidcVerifier, clock: Clock
) -> None:
    token = idp.id_token("ivan", client_id=CLIENT)
    renamed = with_header(token, {"alg": "RS256", "typ": "JWT", "kid": "retired-2019"})
    assert "unknown signing key 'retired-2019'" in refusal(verifier, renamed)
    clock.offset = 31  # fetched again, still unknown
    assert "unknown signing key 'retired-2019'" in refusal(verifier, renamed)
    kid = _published_kid(idp)  # a known key that did not sign this header
    assert "bad signature" in refusal(verifier, with_header(token, {"alg": "RS256", "kid": kid}))


def test_odd_tokens_the_provider_signed_are_refused(idp: Provider, verifier: OidcVerifier) -> None:
    # The provider copies a user's custom claims into the token it signs.
    idp.add_user("far-future", {"exp": 10**20})
    assert "claim 'exp' is out of range" in refusal(
        verifier, idp.id_token("far-future", client_id=CLIENT)
    )
    idp.add_user("odd-groups", {"groups": {"ml-admins": True}})
    message = refusal(verifier, idp.id_token("odd-groups", client_id=CLIENT))
    assert "claim 'groups' is neither a list of names nor a string" in message
    critical = with_header(
        idp.id_token("olga", client_id=CLIENT), {"alg": "RS256", "crit": ["exp"]}
    )
    assert "critical header extensions are not supported" in refusal(verifier, critical)


def _published_kid(idp: Provider) -> str:
    keys = idp.http.get(f"{idp.url}/jwks").json()["keys"]
    return str(keys[0]["kid"])


def test_an_unsigned_token_is_refused(idp: Provider, verifier: OidcVerifier) -> None:
    token = idp.id_token("judy", client_id=CLIENT)
    for alg in ("none", "None", "NONE"):
        for signature in ("", token.rsplit(".", 1)[1]):
            unsigned = with_header(token, {"alg": alg, "typ": "JWT"}, signature)
            assert "algorithm 'none' refused" in refusal(verifier, unsigned)


def test_an_hmac_token_keyed_with_the_public_key_is_refused_before_any_key_lookup(
    idp: Provider,
) -> None:
    """The classic confusion: HS256 "signed" with the provider's published public key as the
    shared secret. Refused on its algorithm alone: a verifier whose provider is unreachable
    refuses it the same way, so no key was looked up."""
    token = idp.id_token("ken", client_id=CLIENT)
    jwk = idp.http.get(f"{idp.url}/jwks").json()["keys"][0]
    public_pem = RSAKey.import_key(jwk).as_pem(private=False)
    payload = token.split(".")[1]
    for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        mac = hmac.new(public_pem, f"{header}.{payload}".encode(), digest).digest()
        forged = f"{header}.{payload}.{b64(mac)}"
        with OidcVerifier(settings("http://127.0.0.1:9")) as unreachable:
            assert f"algorithm '{alg}' refused" in refusal(unreachable, forged)
        with OidcVerifier(settings(idp.url)) as reachable:
            assert f"algorithm '{alg}' refused" in refusal(reachable, forged)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "mr_0123456789ab_c2VjcmV0",
        "a.b.c",
        "a.b.c.d",
        f"{b64(b'{}')}.{b64(b'{}')}.",  # a header without alg
        f"{b64(b'[1]')}.{b64(b'{}')}.",
        f"{b64(json.dumps(['alg']).encode())}.{b64(b'{}')}.c2ln",  # a list naming alg
        f"{b64(json.dumps('alg').encode())}.{b64(b'{}')}.c2ln",
        f"{b64(json.dumps({'alg': 5}).encode())}.{b64(b'{}')}.c2ln",
        f"{b64(json.dumps({'alg': 'RS256', 'b64': False}).encode())}.{b64(b'{}')}.c2ln",
        "é.é.é",
        f"{b64(json.dumps({'alg': 'RS256'}).encode())}.{b64(b'not json')}.c2ln",
        f"{b64(json.dumps({'alg': 'RS256'}).encode())}.{b64(b'[1, 2]')}.c2ln",
        "x" * 20000,
    ],
)
def test_garbage_is_not_a_jwt(garbage: str) -> None:
    # Refused before the provider is asked anything: this one is unreachable.
    with OidcVerifier(settings("http://127.0.0.1:9")) as verifier:
        assert "not a JWT" in refusal(verifier, garbage)
    assert not looks_like_jwt(garbage) or garbage.count(".") == 2


def test_an_unreachable_provider_is_said_so_and_retried_later(
    oidc_provider: Provider, clock: Clock
) -> None:
    oidc_provider.stop()
    with OidcVerifier(settings(oidc_provider.url), clock=clock, retry_seconds=5) as verifier:
        token = with_header("e30.e30.e30", {"alg": "RS256"})
        assert "identity provider unreachable: discovery document:" in refusal(verifier, token)
        oidc_provider.start()  # same port, back up
        fresh = oidc_provider.id_token("liam", client_id=CLIENT)
        # A failure is remembered for a few seconds (requests fail fast meanwhile)...
        assert "identity provider unreachable" in refusal(verifier, fresh)
        clock.offset = 6  # ...and no longer.
        assert verifier.verify(fresh).user == "liam"
        assert verifier.discovery()["issuer"] == oidc_provider.url


def test_a_discovery_document_naming_another_issuer_is_refused(idp: Provider) -> None:
    """The provider names itself after the host it was asked for (as one behind a proxy
    that rewrites Host would): not the issuer configured, so nothing it signs is trusted."""
    token = idp.id_token("mona", client_id=CLIENT)
    other_name = idp.url.replace("127.0.0.1", "localhost")
    with httpx.Client(headers={"Host": other_name.removeprefix("http://")}) as http:
        with OidcVerifier(settings(idp.url), http=http) as verifier:
            message = refusal(verifier, token)
            assert message == (
                f"identity provider's discovery document names issuer '{other_name}', "
                f"not the configured '{idp.url}'"
            )
        assert not http.is_closed  # the caller's client stays the caller's


# Settings


def test_settings_from_the_environment() -> None:
    assert OidcSettings.from_environment({}) is None
    assert OidcSettings.from_environment({"MODELREPO_OIDC_AUDIENCE": "x"}) is None
    found = OidcSettings.from_environment(
        {
            "MODELREPO_OIDC_ISSUER": "https://idp.example.com/realms/ml/",
            "MODELREPO_OIDC_AUDIENCE": "modelrepo-api",
            "MODELREPO_OIDC_USER_CLAIM": "preferred_username",
            "MODELREPO_OIDC_ROLES_CLAIM": "groups",
            "MODELREPO_OIDC_ROLE_MAP": "ml-admins=admin,\nfraud=deployer:fraud-*\n"
            "fraud=approver:fraud-*, readers=viewer,",
            "MODELREPO_OIDC_LEEWAY": "5",
            "MODELREPO_OIDC_CLIENT_ID": "modelrepo-cli",
            "MODELREPO_OIDC_CLIENT_SECRET": "s3cret",
        }
    )
    assert found == OidcSettings(
        issuer="https://idp.example.com/realms/ml",
        audience="modelrepo-api",
        user_claim="preferred_username",
        roles_claim="groups",
        role_map={
            "ml-admins": (Grant("admin"),),
            "fraud": (Grant("deployer", "fraud-*"), Grant("approver", "fraud-*")),
            "readers": (Grant("viewer"),),
        },
        leeway_seconds=5,
        client_id="modelrepo-cli",
        client_secret="s3cret",
    )
    assert found is not None and "s3cret" not in repr(found)
    assert found.scopes == "openid email profile"


def test_settings_defaults() -> None:
    found = OidcSettings.from_environment(
        {"MODELREPO_OIDC_ISSUER": "http://127.0.0.1:5556", "MODELREPO_OIDC_AUDIENCE": "mr"}
    )
    assert found == OidcSettings("http://127.0.0.1:5556", "mr")
    assert found is not None
    assert (found.user_claim, found.roles_claim, dict(found.role_map)) == ("email", None, {})
    assert (found.leeway_seconds, found.client_id, found.client_secret) == (30, "mr", None)
    only_client = OidcSettings.from_environment(
        {"MODELREPO_OIDC_ISSUER": "https://idp", "MODELREPO_OIDC_CLIENT_ID": "cli"}
    )
    assert only_client is not None and (only_client.audience, only_client.client_id) == (
        "cli",
        "cli",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ISSUER": "http://idp.example.com"}, "use https:// (http only on a loopback host)"),
        ({"ISSUER": "idp.example.com"}, "give https://HOST[/PATH]"),
        ({"ISSUER": "https://user:pw@idp.example.com"}, "no credentials, query or fragment"),
        ({"ISSUER": "https://idp.example.com/?x=1"}, "no credentials, query or fragment"),
        ({"ISSUER": "https://idp.example.com:99999"}, "Port out of range"),
        ({"AUDIENCE": ""}, "MODELREPO_OIDC_AUDIENCE (or _CLIENT_ID) is required"),
        ({"LEEWAY": "soon"}, "invalid MODELREPO_OIDC_LEEWAY 'soon': 0-600 seconds"),
        ({"LEEWAY": "-1"}, "invalid OIDC leeway -1: 0-600 seconds"),
        ({"LEEWAY": "3600"}, "invalid OIDC leeway 3600"),
        ({"ROLE_MAP": "ml-admins"}, "invalid role map entry 'ml-admins': use group=role"),
        ({"ROLE_MAP": "=admin"}, "invalid role map entry '=admin'"),
        ({"ROLE_MAP": "ml-admins=root"}, "unknown role 'root': use one of viewer"),
        ({"ROLE_MAP": "ml=viewer:fraud/*"}, "invalid model pattern 'fraud/*'"),
        ({"ROLES_CLAIM": ""}, "an OIDC role map needs a roles claim"),
        ({"USER_CLAIM": "e mail"}, "invalid OIDC user claim 'e mail'"),
        ({"SCOPES": "email profile"}, "must include openid"),
    ],
)
def test_bad_settings_are_refused_in_one_line(changes: dict[str, str], message: str) -> None:
    environ = {
        "ISSUER": "https://idp.example.com",
        "AUDIENCE": "modelrepo",
        "ROLES_CLAIM": "groups",
        "ROLE_MAP": "ml-admins=admin",
        **changes,
    }
    with pytest.raises(InvalidInput) as refused:
        OidcSettings.from_environment({f"MODELREPO_OIDC_{k}": v for k, v in environ.items()})
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    if "ROLE_MAP" in changes and "role map" not in message:
        assert str(refused.value).startswith("MODELREPO_OIDC_ROLE_MAP: ")


def test_loopback_issuers_may_use_plain_http() -> None:
    for issuer in ("http://localhost:8080", "http://127.0.0.1:1", "http://[::1]:5556/realm"):
        assert OidcSettings(issuer + "/", "mr").issuer == issuer


def test_identities_grant_nothing_for_unmapped_groups() -> None:
    identity = VerifiedIdentity(
        "https://idp", "00u9", "x@example.com", ("a", "b"), datetime.now(UTC), {}
    )
    mapped = OidcSettings(
        "https://idp", "mr", roles_claim="groups", role_map={"b": (Grant("viewer"),)}
    )
    assert identity.grants(mapped) == (Grant("viewer"),)
    assert identity.grants(OidcSettings("https://idp", "mr")) == ()
