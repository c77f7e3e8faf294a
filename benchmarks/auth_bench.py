"""Authentication benchmark: what proving who a request is costs, for an identity-provider
token (a JWT, verified against the provider's published keys) next to an API token (its
SHA-256 looked up in the store), in one run on one store.

Measured, per call (p50 / p99, µs):

1. `Registry.authenticate(token)`: the API token's lookup (the baseline);
2. `OidcVerifier.verify(id_token)` with the provider's keys cached: signature (RS256),
   issuer, audience, expiry;
3. 2 plus the person's role bindings read from the store (`identity_principal`): what the
   server does for a JWT it has not seen in the last second;
4. `GET /api/v1/whoami` through the whole app in-process, with each credential, with the
   server's one-second credential cache (the usual case) and without it (`TokenCache(0)`).

The provider is the `oidc-provider-mock` package (a dev dependency) on loopback; its ID
token is obtained through the real authorization-code flow.

    .venv/bin/python benchmarks/auth_bench.py
    .venv/bin/python benchmarks/auth_bench.py --calls 500 --json
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import secrets
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from modelrepo import Registry

CLIENT = "modelrepo-bench"
USER = "alice@bank.example"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call: Callable[[], Any], calls: int) -> dict[str, float]:
    for _ in range(min(50, calls)):  # warm: caches, connections, first imports
        call()
    spent = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        spent.append((time.perf_counter() - start) * 1e6)
    return {"p50_us": round(percentile(spent, 0.5), 1), "p99_us": round(percentile(spent, 0.99), 1)}


def id_token(issuer: str) -> str:
    """The provider's ID token for USER, through its authorization-code flow with PKCE."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    redirect = "http://127.0.0.1:9/callback"
    query = urlencode({
        "response_type": "code", "client_id": CLIENT, "redirect_uri": redirect,
        "scope": "openid email", "state": "s", "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    })  # fmt: skip
    with httpx.Client() as client:
        client.put(f"{issuer}/users/{USER}", json={"email": USER})
        answer = client.post(f"{issuer}/oauth2/authorize?{query}", data={"sub": USER})
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        tokens = client.post(
            f"{issuer}/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                  "code_verifier": verifier},
            auth=(CLIENT, "secret"),
        )  # fmt: skip
    return str(tokens.json()["id_token"])


def run(calls: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from modelrepo.server import create_app
    from modelrepo.server.auth import TokenCache, identity_principal
    from modelrepo.server.oidc import OidcSettings, OidcVerifier

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the provider's request log
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import oidc_provider_mock

        provider = oidc_provider_mock.run_server_in_thread()
        server = provider.__enter__()
    try:
        issuer = f"http://localhost:{server.server_port}"
        jwt = id_token(issuer)
        with tempfile.TemporaryDirectory() as tmp:
            reg = Registry(Path(tmp) / "store", user="ops")
            _, api_token = reg.create_token("bob@bank.example", "viewer")
            reg.grant_role(USER, "viewer", issuer=issuer)
            verifier = OidcVerifier(OidcSettings(issuer=issuer, audience=CLIENT))
            found: dict[str, Any] = {
                "api_token_lookup": timed(lambda: reg.authenticate(api_token), calls),
                "jwt_verify": timed(lambda: verifier.verify(jwt), calls),
                "jwt_verify_and_bindings": timed(
                    lambda: identity_principal(reg, verifier, verifier.verify(jwt)), calls
                ),
            }
            for cache in (True, False):
                app = create_app(reg, oidc=verifier, token_cache=None if cache else TokenCache(0))
                with TestClient(app) as client:
                    for name, secret in (("api_token", api_token), ("jwt", jwt)):
                        headers = {"Authorization": f"Bearer {secret}"}
                        assert client.get("/api/v1/whoami", headers=headers).status_code == 200
                        key = f"whoami_{name}_{'cached' if cache else 'uncached'}"
                        found[key] = timed(
                            lambda h=headers: client.get("/api/v1/whoami", headers=h), calls
                        )
            verifier.close()
            reg.close()
    finally:
        provider.__exit__(None, None, None)
    base = found["api_token_lookup"]["p50_us"]
    found["jwt_verify_over_api_token_p50"] = round(found["jwt_verify"]["p50_us"] / base, 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    found = run(args.calls)
    if args.json:
        print(json.dumps(found))
        return
    for name, value in found.items():
        if isinstance(value, dict):
            print(f"{name:<32} p50 {value['p50_us']:>9.1f} µs   p99 {value['p99_us']:>9.1f} µs")
        else:
            print(f"{name:<32} {value}x")


if __name__ == "__main__":
    main()
