"""A real OpenID provider on loopback (oidc-provider-mock, a Flask app on authlib), signing
users in through the authorization-code flow over HTTP, as a browser or the CLI would.

Its ID tokens are RS256 JWTs with `iss` the URL the request used (always
http://127.0.0.1:PORT here), `aud` the client id, and a lifetime of `token_max_age`. Any client
id, secret and redirect URI is accepted. Each start makes a new signing key: `rotate_key()`
restarts it on the same port, which is how a provider rotates its key.

It runs in a process of its own (this file, run as a script): authlib changes the warning
filters when imported and while it answers, which in the tests' process would turn its
deprecation notices into errors, and race with the tests' own filters.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import select
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT_URI = "http://127.0.0.1:9/callback"
"""Where the provider sends the browser back; never contacted (the code is read from the
redirect itself)."""
SCOPES = "openid email profile"
START_SECONDS = 60


def _serve(port: int, token_max_age: float) -> None:
    """The provider's process: serve until terminated, after printing the port."""
    import warnings

    warnings.simplefilter("ignore")  # authlib's notices about its own deprecated modules
    import oidc_provider_mock  # type: ignore[import-untyped]
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        """No access log line for every request."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    app = oidc_provider_mock.app(access_token_max_age=timedelta(seconds=token_max_age))
    # The mock wraps itself in werkzeug's interactive debugger: unwrap it.
    app.debug = False
    app.wsgi_app = app.wsgi_app.app
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
    print(server.server_port, flush=True)

    def orphaned() -> None:
        """End with the tests' process, however it ends: it holds our stdin open."""
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    server.serve_forever()


class Provider:
    """A running provider: `url`, its users, and the flows a test drives."""

    def __init__(self, token_max_age: timedelta) -> None:
        self.token_max_age = token_max_age
        self.users: dict[str, dict[str, Any]] = {}
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.http = httpx.Client(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve (again, on the same port after `stop`) with a fresh key and no sessions;
        the users added so far are added again."""
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        max_age = self.token_max_age.total_seconds()
        process = subprocess.Popen(
            [sys.executable, "-W", "ignore", __file__, str(self.port), str(max_age)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._process = process
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
        line = process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop(log=True)
        self.port = int(line)
        for sub, claims in self.users.items():
            self._put_user(sub, claims)

    def stop(self, *, log: bool = False) -> None:
        """Stop serving (the port stays this provider's, for `start`)."""
        from .serving import stop  # here: this file also runs as a script, outside the package

        if self._process is not None:
            stop(self._process)
            for pipe in (self._process.stdin, self._process.stdout):
                if pipe is not None:
                    pipe.close()
        output = b""
        if self._log is not None:
            self._log.seek(0)
            output = self._log.read()
            self._log.close()
        self._process = self._log = None
        assert not log, f"the OpenID provider did not start:\n{output.decode(errors='replace')}"

    def rotate_key(self) -> None:
        """Replace the signing key: tokens signed before no longer verify once the new keys
        are fetched (a restart of this provider makes a new key)."""
        self.stop()
        self.start()

    def add_user(self, sub: str, claims: dict[str, Any]) -> None:
        """A user whose ID tokens carry `claims` (custom ones, such as `groups`, always;
        standard ones such as `email` when the scope asks for them)."""
        self.users[sub] = dict(claims)
        self._put_user(sub, claims)

    def _put_user(self, sub: str, claims: dict[str, Any]) -> None:
        reply = self.http.put(f"{self.url}/users/{sub}", json=claims)
        assert reply.status_code == 204, reply.text

    def sign_in(
        self,
        sub: str,
        *,
        client_id: str,
        redirect_uri: str = REDIRECT_URI,
        nonce: str | None = None,
        scope: str = SCOPES,
    ) -> dict[str, Any]:
        """The token endpoint's answer (id_token, access_token, refresh_token...) after `sub`
        signs in: the authorization-code flow with PKCE, as a browser would drive it."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        state = secrets.token_urlsafe(16)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        if nonce is not None:
            params["nonce"] = nonce
        form = self.http.get(f"{self.url}/oauth2/authorize", params=params)
        assert form.status_code == 200, form.text
        answer = self.http.post(f"{self.url}/oauth2/authorize", params=params, data={"sub": sub})
        assert answer.status_code == 302, answer.text
        back = parse_qs(urlsplit(answer.headers["location"]).query)
        assert back["state"] == [state]
        reply = self.http.post(
            f"{self.url}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": back["code"][0],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": "any-secret",
                "code_verifier": verifier,
            },
        )
        assert reply.status_code == 200, reply.text
        tokens: dict[str, Any] = reply.json()
        return tokens

    def id_token(self, sub: str, *, client_id: str, nonce: str | None = None) -> str:
        """A fresh ID token of `sub` for `client_id`."""
        return str(self.sign_in(sub, client_id=client_id, nonce=nonce)["id_token"])


@contextmanager
def provider(*, token_max_age: timedelta = timedelta(hours=1)) -> Iterator[Provider]:
    """A provider on a free loopback port, stopped when the block ends."""
    running = Provider(token_max_age)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        running.http.close()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), float(sys.argv[2]))
