"""Sign-ins kept on this machine: per server, the identity provider's ID token and what
renews it, in one private JSON file ($MODELREPO_CONFIG_DIR, else ~/.config/modelrepo).

The file is written whole (temporary file, fsync, rename), so a crash leaves the old or the
new one, never half; and read only while no one else may read it, as ssh treats its keys.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import SystemClock
from ..disk.modes import fsync_dir
from ..domain.errors import StorageError, Unauthenticated
from ..stores.locks import FileStoreLock
from .oidc import TIMEOUT, TokenError, check_claims, id_token_claims, token_request

if TYPE_CHECKING:
    from ..ports import Clock

CONFIG_ENV = "MODELREPO_CONFIG_DIR"
FILE = "credentials.json"
REFRESH_MARGIN = 60.0
"""Seconds before its expiry an ID token is renewed: a request sent with it must still be
valid when the server reads it."""


@dataclass(frozen=True)
class Credential:
    """One sign-in to one server: the ID token sent as `Authorization: Bearer`, and how to
    get the next one without the browser."""

    issuer: str
    client_id: str
    id_token: str
    refresh_token: str | None
    expires_at: float
    """The ID token's `exp`, in seconds since the epoch."""
    token_endpoint: str
    client_secret: str | None = None


def default_config_dir() -> Path:
    """$MODELREPO_CONFIG_DIR, else ~/.config/modelrepo."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.home() / ".config" / "modelrepo"


class CredentialStore:
    """The credentials file, keyed by server URL (as `check_url` spells it)."""

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, clock: Clock | None = None
    ):
        self.directory = Path(directory) if directory is not None else default_config_dir()
        self.path = self.directory / FILE
        self.clock = clock or SystemClock()

    def get(self, server_url: str) -> Credential | None:
        entry = self._read().get(server_url)
        if entry is None:
            return None
        try:
            return Credential(**entry)
        except TypeError:
            raise StorageError(
                f"{self.path} holds a credential for {server_url} this version cannot read: "
                "run `modelrepo login` again"
            ) from None

    def save(self, server_url: str, credential: Credential) -> None:
        with self._lock():
            servers = self._read()
            servers[server_url] = asdict(credential)
            self._write(servers)

    def remove(self, server_url: str) -> bool:
        """Forget the sign-in to `server_url`; whether there was one."""
        if not self.path.exists():
            return False
        with self._lock():
            servers = self._read()
            if servers.pop(server_url, None) is None:
                return False
            self._write(servers)
        return True

    def bearer_for(self, server_url: str, *, force_refresh: bool = False) -> str | None:
        """A valid ID token for `server_url`, renewed first when it expires within a minute
        (or `force_refresh`: the server refused it); None when never signed in there."""
        credential = self.get(server_url)
        if credential is None:
            return None
        if not force_refresh and credential.expires_at - self._now() > REFRESH_MARGIN:
            return credential.id_token
        return self.refresh(server_url, credential).id_token

    def refresh(self, server_url: str, credential: Credential) -> Credential:
        """The next ID token, from the refresh token at the provider's token endpoint, saved.
        Under the file's lock: a process that finds another has just renewed it uses that
        one (a provider that rotates refresh tokens would refuse the old one twice)."""
        with self._lock():
            current = self.get(server_url)
            if (
                current is not None
                and current.id_token != credential.id_token
                and current.expires_at - self._now() > REFRESH_MARGIN
            ):
                return current
            renewed = self._renew(server_url, current or credential)
            servers = self._read()
            servers[server_url] = asdict(renewed)
            self._write(servers)
        return renewed

    def _renew(self, server_url: str, credential: Credential) -> Credential:
        import httpx

        again = f"run `modelrepo login --server {server_url}` again"
        if not credential.refresh_token:
            raise Unauthenticated(f"the sign-in to {server_url} has expired: {again}")
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                answer = token_request(
                    http,
                    credential.token_endpoint,
                    {"grant_type": "refresh_token", "refresh_token": credential.refresh_token},
                    client_id=credential.client_id,
                    client_secret=credential.client_secret,
                )
            id_token = answer.get("id_token")
            if not isinstance(id_token, str):
                raise Unauthenticated("the identity provider renewed no ID token")
            claims = id_token_claims(id_token)
            check_claims(
                claims, issuer=credential.issuer, client_id=credential.client_id, nonce=None
            )
        except (TokenError, Unauthenticated) as exc:
            raise Unauthenticated(
                f"could not renew the sign-in to {server_url} ({exc}): {again}"
            ) from exc
        return replace(
            credential,
            id_token=id_token,
            refresh_token=answer.get("refresh_token") or credential.refresh_token,
            expires_at=float(claims["exp"]),
        )

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _lock(self) -> AbstractContextManager[None]:
        """Held while the file is read, changed and replaced (and while a token is renewed),
        so two processes do not lose each other's change. Not re-entrant."""
        self._make_directory()
        return FileStoreLock(self.directory / ".credentials.lock").exclusive()

    def _make_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        with os.fdopen(fd, "rb") as source:
            mode = stat.S_IMODE(os.fstat(source.fileno()).st_mode)
            if mode & 0o077:
                raise StorageError(
                    f"{self.path} may be read by others (mode {mode:04o}), and it holds sign-in "
                    f"tokens: refusing to use it; run `chmod 600 {self.path}`"
                )
            text = source.read()
        try:
            document = json.loads(text)
        except ValueError:
            raise StorageError(f"{self.path} is not valid JSON: fix or remove it") from None
        servers = document.get("servers") if isinstance(document, dict) else None
        if not isinstance(servers, dict):
            raise StorageError(f"{self.path} holds no `servers` object: fix or remove it")
        return servers

    def _write(self, servers: dict[str, dict[str, Any]]) -> None:
        self._make_directory()
        document = json.dumps({"servers": servers}, indent=2, sort_keys=True) + "\n"
        # mkstemp creates the file 0600, so no token is ever in a file others may read.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".credentials.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(document)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(self.directory)


def bearer_for(server_url: str) -> str | None:
    """The stored ID token for `server_url`, renewed if it is about to expire (or None)."""
    return CredentialStore().bearer_for(server_url)
