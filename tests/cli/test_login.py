"""`modelrepo login` against a real OpenID provider (oidc-provider-mock on loopback), with the
test playing the browser; the credential file it leaves; renewal; `Registry(url)` using it.

The modelrepo side is a small real HTTP server that publishes /api/v1/auth/config and
answers /api/v1/whoami for a bearer ID token it verifies against the provider's keys, as
the real server does."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from modelrepo.cli import cli
from modelrepo.domain.errors import StorageError, Unauthenticated
from modelrepo.remote.credentials import CONFIG_ENV, CredentialStore
from modelrepo.remote.oidc import TokenError
from modelrepo.remote.signin import pkce_pair, poll_device

with warnings.catch_warnings():  # it imports authlib.jose, which warns of its own successor
    import authlib.deprecate  # noqa: F401 - sets its warnings to "always", before the filter below

    warnings.simplefilter("ignore", DeprecationWarning)
    import flask
    import oidc_provider_mock
    import werkzeug.serving

# The provider, on its thread, runs authlib's deprecated paths under the test's warning filter.
pytestmark = [
    pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:get_jwt_config.* is deprecated:DeprecationWarning"),
]

CLIENT_ID = "modelrepo-cli"
ALICE = "alice@example.com"


# -- the identity provider ---------------------------------------------------------------


@contextmanager
def identity_provider(max_age: timedelta = timedelta(hours=1)) -> Iterator[str]:
    """oidc-provider-mock on localhost (its `iss` mirrors the Host, so the issuer is
    `http://localhost:PORT` throughout); its issuer URL until the block ends. Its refresh
    answers also carry a new ID token, as Keycloak's, Dex's and Okta's do (OpenID Connect
    Core 12.2), signed with the provider's own key."""
    app = oidc_provider_mock.app(access_token_max_age=max_age)

    @app.after_request
    def id_token_on_refresh(response: flask.Response) -> flask.Response:
        form = flask.request.form
        if flask.request.path != "/oauth2/token" or form.get("grant_type") != "refresh_token":
            return response
        answer = response.get_json(silent=True) or {}
        if response.status_code != 200 or "id_token" in answer:
            return response
        storage = flask.g.oidc_provider_mock_storage
        sub = storage.get_refresh_token(form["refresh_token"]).user_id
        now = int(time.time())
        claims = {
            "iss": flask.request.host_url.rstrip("/"),
            "sub": sub,
            "aud": [CLIENT_ID],
            "email": sub,
            "iat": now,
            "exp": now + int(max_age.total_seconds()),
        }
        key = RSAKey.import_key(storage.jwk.as_dict(is_private=True))
        header = {"alg": "RS256", "kid": key.kid}
        answer["id_token"] = jwt.encode(header, claims, key)
        response.set_data(json.dumps(answer))
        return response

    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- a modelrepo server's sign-in surface ---------------------------------------------------


@dataclass
class Server:
    """What /api/v1/auth/config publishes, and what /api/v1/whoami saw."""

    issuer: str | None
    url: str = ""
    seen: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    """Bearer tokens answered 401 although valid (a provider that ended them early)."""
    refuse_all: bool = False

    def identity(self, authorization: str) -> str | None:
        """The `email` of a valid ID token for CLIENT_ID from the issuer, else None."""
        token = authorization.removeprefix("Bearer ")
        if self.issuer is None or token in self.refuse or self.refuse_all:
            return None
        keys = KeySet.import_key_set(httpx.get(f"{self.issuer}/jwks").json())
        try:
            decoded = jwt.decode(token, keys)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": CLIENT_ID},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError):
            return None
        return str(decoded.claims["email"])


@contextmanager
def modelrepo_server(issuer: str | None) -> Iterator[Server]:
    state = Server(issuer)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/api/v1/auth/config":
                oidc = None
                if state.issuer:
                    oidc = {"issuer": state.issuer, "client_id": CLIENT_ID,
                            "scopes": "openid email profile"}  # fmt: skip
                self.answer(200, {"oidc": oidc})
            elif self.path == "/api/v1/whoami":
                authorization = self.headers.get("Authorization", "")
                state.seen.append(authorization)
                user = state.identity(authorization)
                if user is None:
                    self.answer(401, {"code": "unauthenticated", "message": "sign in"})
                else:
                    self.answer(200, {"user": user, "role": "viewer", "model_pattern": None})
            else:
                self.answer(404, {"code": "not_found", "message": self.path})

        def answer(self, status: int, document: Any) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- the command, and the test as the browser ------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv(CONFIG_ENV, str(folder))
    monkeypatch.delenv("MODELREPO_TOKEN", raising=False)
    monkeypatch.delenv("MODELREPO_STORE", raising=False)
    return folder


@contextmanager
def login_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`modelrepo login --no-browser ARGS` as a process; it and the sign-in URL it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "modelrepo", "login", "--no-browser", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.match(r"Sign in at: (\S+)", line)
        assert found, line + process.stderr.read()
        yield process, found.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def sign_in_as(url: str, user: str) -> httpx.Response:
    """What the person does in the browser: the provider's form, submitted as `user`, then
    the redirect back to the command's loopback listener."""
    with httpx.Client() as browser:
        assert browser.get(url).status_code == 200
        consent = browser.post(url, data={"sub": user})
        assert consent.status_code == 302, consent.text
        back = consent.headers["location"]
        assert back.startswith("http://127.0.0.1:") and "/callback?" in back
        return browser.get(back)


def login(issuer: str, server: Server) -> tuple[int, str, str]:
    with login_process("--server", server.url, "--client-secret", "any") as (process, url):
        assert sign_in_as(url, ALICE).status_code == 200
        return finish(process)


# -- tests -----------------------------------------------------------------------------------


def test_login_through_the_browser_keeps_a_private_credential(config: Path) -> None:
    with identity_provider() as issuer, modelrepo_server(issuer) as server:
        with login_process("--server", server.url, "--client-secret", "any") as (process, url):
            query = parse_qs(urlsplit(url).query)
            assert url.startswith(f"{issuer}/oauth2/authorize?")
            assert query["code_challenge_method"] == ["S256"]
            assert query["client_id"] == [CLIENT_ID]
            assert query["scope"] == ["openid email profile"]
            assert query["state"] and query["nonce"] and query["code_challenge"]
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", query["redirect_uri"][0])
            assert sign_in_as(url, ALICE).status_code == 200
            code, out, err = finish(process)
        assert (code, out, err) == (0, f"signed in as {ALICE} at {server.url}\n", "")

        path = config / "credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(config.stat().st_mode) == 0o700
        [(key, entry)] = json.loads(path.read_text())["servers"].items()
        assert key == server.url
        assert entry["issuer"] == issuer and entry["client_id"] == CLIENT_ID
        assert entry["token_endpoint"] == f"{issuer}/oauth2/token"
        assert entry["refresh_token"] and entry["expires_at"] > time.time() + 3000
        assert server.identity(f"Bearer {entry['id_token']}") == ALICE

        # A valid token is used as it is, not renewed.
        assert CredentialStore().bearer_for(server.url) == entry["id_token"]
        assert leftovers(config) == []


def test_the_sdk_and_the_cli_send_the_stored_sign_in(config: Path) -> None:
    from modelrepo import Registry

    with identity_provider() as issuer, modelrepo_server(issuer) as server:
        assert login(issuer, server)[0] == 0
        token = CredentialStore().get(server.url).id_token  # type: ignore[union-attr]
        with Registry(server.url) as reg:
            assert reg.user == ALICE
        assert server.seen[-1] == f"Bearer {token}"

        # The server refuses it (ended early): renewed once and tried again.
        server.refuse.add(token)
        with Registry(server.url) as reg:
            assert reg.user == ALICE
        renewed = CredentialStore().get(server.url).id_token  # type: ignore[union-attr]
        assert renewed != token and server.seen[-2:] == [f"Bearer {token}", f"Bearer {renewed}"]

        # Refused again after renewal: the server's own answer, not a loop.
        server.refuse_all = True
        with pytest.raises(Unauthenticated, match="sign in"):
            Registry(server.url)
        assert len(server.seen) == 5

        # A process renewing from the token another has just renewed takes that one, without
        # asking the provider (which has by now ended every session of hers).
        store = CredentialStore()
        latest = store.get(server.url)
        httpx.post(f"{issuer}/users/{ALICE}/revoke-tokens").raise_for_status()
        assert store.refresh(server.url, replace(latest, id_token=token)) == latest  # type: ignore[type-var]

        # $MODELREPO_TOKEN still comes first.
        os.environ["MODELREPO_TOKEN"] = "mr_api_token"
        try:
            with pytest.raises(Unauthenticated):
                Registry(server.url)
        finally:
            del os.environ["MODELREPO_TOKEN"]
        assert server.seen[-1] == "Bearer mr_api_token"


def test_an_expiring_token_is_renewed_and_saved(config: Path) -> None:
    with identity_provider(timedelta(seconds=30)) as issuer, modelrepo_server(issuer) as server:
        assert login(issuer, server)[0] == 0
        store = CredentialStore()
        before = store.get(server.url)
        assert before is not None and before.expires_at < time.time() + 60
        token = store.bearer_for(server.url)  # expires within a minute: renewed first
        after = store.get(server.url)
        assert after is not None
        assert token == after.id_token != before.id_token
        assert after.refresh_token == before.refresh_token
        assert server.identity(f"Bearer {token}") == ALICE
        assert stat.S_IMODE((config / "credentials.json").stat().st_mode) == 0o600

        # The provider ended the session: renewal fails with what to do.
        httpx.post(f"{issuer}/users/{ALICE}/revoke-tokens").raise_for_status()
        with pytest.raises(Unauthenticated, match=r"run `modelrepo login .*` again"):
            store.bearer_for(server.url)
        result = CliRunner().invoke(cli, ["--store", server.url, "models"])
        assert result.exit_code == 1
        assert result.stderr.startswith("error: could not renew the sign-in")
        assert result.stderr.count("\n") == 1


def test_an_answer_with_another_state_is_refused(config: Path) -> None:
    with (
        identity_provider() as issuer,
        modelrepo_server(issuer) as server,
        login_process("--server", server.url) as (process, url),
    ):
        callback = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        httpx.get(callback, params={"code": "stolen", "state": "not-the-one-sent"})
        code, out, err = finish(process)
    assert code == 1 and out == ""
    assert err == "error: the sign-in answer's state is not the one sent: not signing in\n"
    assert not (config / "credentials.json").exists()


def test_a_credentials_file_others_may_read_is_refused(config: Path) -> None:
    with identity_provider() as issuer, modelrepo_server(issuer) as server:
        assert login(issuer, server)[0] == 0
        path = config / "credentials.json"
        path.chmod(0o644)
        with pytest.raises(StorageError, match=f"run `chmod 600 {path}`"):
            CredentialStore().bearer_for(server.url)
        result = CliRunner().invoke(cli, ["logout", "--server", server.url])
        assert result.exit_code == 1
        assert "may be read by others (mode 0644)" in result.stderr
        path.chmod(0o600)
        assert CredentialStore().bearer_for(server.url)


def test_logout_removes_the_credential(config: Path) -> None:
    with identity_provider() as issuer, modelrepo_server(issuer) as server:
        assert login(issuer, server)[0] == 0
        runner = CliRunner()
        done = runner.invoke(cli, ["logout", "--server", server.url + "/"])
        assert (done.exit_code, done.stdout) == (0, f"signed out of {server.url}\n")
        assert json.loads((config / "credentials.json").read_text()) == {"servers": {}}
        assert CredentialStore().bearer_for(server.url) is None
        again = runner.invoke(cli, ["--store", server.url, "logout", "--json"])
        assert json.loads(again.stdout) == {"server": server.url, "removed": False}
        # Without a sign-in the server's 401 says how to get one.
        result = runner.invoke(cli, ["--store", server.url, "models"])
        assert result.exit_code == 1 and "modelrepo login --server" in result.stderr


def test_login_with_an_explicit_provider_and_errors(config: Path) -> None:
    runner = CliRunner()
    with identity_provider() as issuer, modelrepo_server(None) as server:
        # The server signs in with API tokens only.
        result = runner.invoke(cli, ["login", "--server", server.url, "--no-browser"])
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: the server at {server.url} signs in with API tokens only: "
            "set $MODELREPO_TOKEN\n"
        )
        result = runner.invoke(cli, ["login", "--server", server.url, "--issuer", issuer])
        assert result.stderr == "error: give both --issuer and --client-id, or neither\n"
        result = runner.invoke(
            cli, ["login", "--server", server.url, "--issuer", issuer, "--client-id", "x",
                  "--device"],
        )  # fmt: skip
        assert result.stderr == (
            f"error: the identity provider at {issuer} offers no device sign-in\n"
        )
        result = runner.invoke(cli, ["login", "--no-browser"])
        assert result.exit_code == 1 and "which server?" in result.stderr
        result = runner.invoke(cli, ["login", "--server", server.url, "--issuer",
                                     "http://login.example.com", "--client-id", "x"])  # fmt: skip
        assert result.stderr.startswith("error: refusing plain http to login.example.com")

        args = ("--server", server.url, "--issuer", issuer, "--client-id", CLIENT_ID,
                "--client-secret", "any", "--json")  # fmt: skip
        with login_process(*args) as (process, url):
            sign_in_as(url, "bob@example.com")
            code, out, err = finish(process)
        assert code == 0, err
        document = json.loads(out)
        assert document["user"] == "bob@example.com" and document["issuer"] == issuer


# -- the device grant --------------------------------------------------------------------------


def test_device_polling_honours_the_interval_and_slow_down() -> None:
    answers: list[Any] = [
        TokenError("authorization_pending", "pending"),
        TokenError("slow_down", "slower"),
        TokenError("authorization_pending", "pending"),
        {"id_token": "the token"},
    ]
    slept: list[float] = []

    def ask() -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    assert poll_device(ask, interval=2, expires_in=600, sleep=slept.append) == {
        "id_token": "the token"
    }
    assert slept == [2, 2, 7, 7]

    answers[:] = [TokenError("access_denied", "the person said no")]
    with pytest.raises(Unauthenticated, match="the device sign-in ended: the person said no"):
        poll_device(ask, interval=1, expires_in=600, sleep=slept.append)
    answers[:] = [TokenError("authorization_pending", "pending")] * 3
    with pytest.raises(Unauthenticated, match="device code expired"):
        poll_device(ask, interval=1, expires_in=3, sleep=slept.append)


@contextmanager
def device_provider(pending: int) -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A minimal provider offering only the device grant: its token endpoint says
    `authorization_pending` `pending` times, then answers with a signed ID token."""
    key = RSAKey.generate_key(2048)
    asked: list[dict[str, list[str]]] = []
    where: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer = where["issuer"]
            self.answer(200, {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "device_authorization_endpoint": f"{issuer}/device",
            })  # fmt: skip

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            form = parse_qs(self.rfile.read(length).decode())
            asked.append(form)
            if self.path == "/device":
                self.answer(200, {"device_code": "dev-1", "user_code": "WDJB-MJHT",
                                  "verification_uri": f"{where['issuer']}/activate",
                                  "expires_in": 600, "interval": 0})  # fmt: skip
            elif len(asked) <= 1 + pending:
                self.answer(400, {"error": "authorization_pending"})
            else:
                now = int(time.time())
                claims = {"iss": where["issuer"], "sub": "carol", "aud": CLIENT_ID,
                          "preferred_username": "carol", "iat": now, "exp": now + 600}  # fmt: skip
                token = jwt.encode({"alg": "RS256"}, claims, key)
                self.answer(200, {"id_token": token, "refresh_token": "r-1",
                                  "token_type": "Bearer", "access_token": "a-1"})  # fmt: skip

        def answer(self, status: int, document: Any) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    where["issuer"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield where["issuer"], asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_device_login_when_the_provider_offers_it(config: Path) -> None:
    with device_provider(pending=2) as (issuer, asked), modelrepo_server(issuer) as server:
        result = CliRunner().invoke(cli, ["login", "--server", server.url])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"signed in as carol at {server.url}\n"
    assert result.stderr == (f"Sign in at: {issuer}/activate\nand enter the code: WDJB-MJHT\n")
    assert asked[0] == {"client_id": [CLIENT_ID], "scope": ["openid email profile"]}
    assert [form["grant_type"] for form in asked[1:]] == [
        ["urn:ietf:params:oauth:grant-type:device_code"]
    ] * 3
    assert all(form["device_code"] == ["dev-1"] for form in asked[1:])
    stored = CredentialStore().get(server.url)
    assert stored is not None and stored.refresh_token == "r-1"


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    # RFC 7636, appendix B.
    import base64
    import hashlib

    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def leftovers(folder: Path) -> list[str]:
    """Temporary files a write left behind (none: each is renamed or removed)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_signed_in_commands_act_as_the_person_on_a_real_server(
    config: Path, tmp_path: Path
) -> None:
    """The whole path: `modelrepo serve --oidc-issuer` trusting the provider, an operator
    binding a role on the server's host, `modelrepo login --server URL` (settings read from
    the server), then commands acting as the person, with the stored sign-in or with the ID
    token in $MODELREPO_TOKEN."""
    from ..serving import serve

    store = tmp_path / "store"
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.json").write_text('{"w": 1}')

    def local(*args: str) -> None:
        result = CliRunner().invoke(cli, ["--store", str(store), "--user", "ops", *args])
        assert result.exit_code == 0, result.output

    with identity_provider() as issuer:
        local("register", "credit-risk", str(model), "--no-code")
        local("role", "grant", ALICE, "--role", "viewer", "--issuer", issuer)
        options = ["--oidc-issuer", issuer, "--oidc-audience", CLIENT_ID]
        secret = {"MODELREPO_OIDC_CLIENT_SECRET": "any"}
        with serve(["--store", str(store)], secret, tmp_path / "server.log", options) as (url, _):
            # The mock provider takes no public client: a secret, as a confidential client.
            with login_process("--server", url, "--client-secret", "any") as (process, sign_url):
                assert sign_in_as(sign_url, ALICE).status_code == 200
                code, out, err = finish(process)
            assert code == 0, err
            assert out.strip() == f"signed in as {ALICE} at {url}"

            def remote(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
                environment = {**os.environ, **env}
                return subprocess.run(
                    [sys.executable, "-m", "modelrepo", "--store", url, *args],
                    capture_output=True,
                    text=True,
                    env=environment,
                )

            listed = remote("versions", "credit-risk", "--json")
            assert listed.returncode == 0, listed.stderr
            assert "credit-risk" in listed.stdout
            refused = remote("tag", "credit-risk@1", "stage=champion")
            assert refused.returncode != 0
            assert refused.stderr.startswith("error: role viewer may not tag")
            # The same person's ID token, given as $MODELREPO_TOKEN, is accepted as it is.
            saved = json.loads((config / "credentials.json").read_text())["servers"]
            id_token = next(iter(saved.values()))["id_token"]
            as_token = remote("versions", "credit-risk", "--json", MODELREPO_TOKEN=id_token)
            assert as_token.returncode == 0, as_token.stderr
            forged = remote("versions", "credit-risk", MODELREPO_TOKEN=id_token[:-8] + "AAAAAAAA")
            assert forged.returncode != 0 and "refused" in forged.stderr
