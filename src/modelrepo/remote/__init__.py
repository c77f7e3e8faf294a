"""A registry on a modelrepo server: the embedded registry's methods, over the HTTP API.

`Registry("https://registry.example.com", token=...)` returns a `RemoteRegistry`. Answers
are parsed back into the same domain objects and errors into the same exception classes.
Nothing the server sends is taken on trust where it can be checked: every downloaded file
is hashed locally against the manifest, and the manifest against the version's digest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..api.arguments import is_remote
from ..clock import SystemClock
from ..domain.errors import InvalidInput, NotSupported
from ..loading import Loading
from .access import Access
from .attestations import Attestations
from .audit import Audit
from .client import API, INSECURE_ENV, PAGE, check_url, error_from_response
from .decisions import Decisions
from .deployments import Deployments
from .evidence import Evidence
from .files import CACHE_ENV, CHUNK, VersionFiles, default_cache_dir
from .integrity import Integrity
from .serving import Serving
from .versions import Versions
from .webhooks import Webhooks

if TYPE_CHECKING:
    import httpx

    from ..domain.model import ModelVersion
    from ..ports import Clock
    from ..stores import Backend

__all__ = [
    "API",
    "CACHE_ENV",
    "CHUNK",
    "EMBEDDED_ONLY",
    "INSECURE_ENV",
    "PAGE",
    "RemoteRegistry",
    "check_url",
    "default_cache_dir",
    "error_from_response",
]

EMBEDDED_ONLY = (
    "authenticate",
    "grants_for",
    "register_stored",
    "staging",
    "record_denials",
)
"""Registry methods a remote registry does not offer yet: each raises `NotSupported`."""


class RemoteRegistry(
    Loading,
    Versions,
    VersionFiles,
    Deployments,
    Decisions,
    Serving,
    Audit,
    Access,
    Webhooks,
    Evidence,
    Integrity,
    Attestations,
):
    """A registry served by `modelrepo serve`, used through its HTTP API.

    The identity is the API token's user (`token=`, else $MODELREPO_TOKEN); every change is
    recorded under it by the server. GETs are retried on connection errors; changes are
    retried only when the connection could not be made at all (nothing was sent), except
    registrations: each carries an idempotency key (`Idempotency-Key`), so one whose answer
    was lost is sent again with the same key, and the server answers the version the first
    attempt made rather than making a second.
    Loading (`load`, `load_live`) downloads the version's files, verified, into `cache_dir`
    (default $MODELREPO_CACHE_DIR, else ~/.cache/modelrepo) and loads them here.
    Operations the server does not offer raise `NotSupported`."""

    def __init__(
        self,
        store: str | os.PathLike[str] | Backend | None = None,
        *,
        database_url: str | None = None,
        blob_url: str | None = None,
        user: str | None = None,
        clock: Clock | None = None,
        create: bool = True,
        checkpoint_every: int = 1000,
        checkpoint_interval: float = 3600.0,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        token: str | None = None,
        allow_insecure_http: bool = False,
        timeout: float = 60.0,
        retries: int = 3,
        client: httpx.Client | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if store is None:
            store = os.environ.get("MODELREPO_STORE")
        if not is_remote(store):
            raise InvalidInput(f"not a server URL: {store!r}")
        if database_url or blob_url or checkpoint_dir:
            raise InvalidInput(
                "a remote registry keeps its own store: no database, blob or checkpoint settings"
            )
        assert isinstance(store, str)
        self.clock = clock or SystemClock()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        super().__init__(
            store,
            token=token,
            allow_insecure_http=allow_insecure_http,
            timeout=timeout,
            retries=retries,
            client=client,
        )
        if user is not None and user != self.user:
            self.close()
            raise InvalidInput(
                f"the identity on a remote registry is its API token's user ({self.user}), "
                f"not {user!r}: use a token of {user}"
            )

    # -- the store, which lives on the server ---------------------------------------------

    @property
    def backend(self) -> Backend:
        raise self._no_store()

    @backend.setter
    def backend(self, value: Backend) -> None:
        raise NotSupported("a remote registry has no backend")

    @property
    def location(self) -> str:
        return self.url

    @property
    def created_store(self) -> bool:
        return False

    @property
    def local_reads(self) -> bool:
        return False

    def database_version(self) -> str | None:
        return None

    def create_store(self) -> bool:
        # A server's store is made where it runs (`modelrepo init` there): nothing to do.
        return False

    @classmethod
    def in_memory(cls, *, user: str | None = None, clock: Clock | None = None) -> RemoteRegistry:
        """A registry in this process is an embedded one: `Registry.in_memory()`."""
        raise InvalidInput("a remote registry lives on its server: use Registry.in_memory()")

    # -- loading: a verified copy in the local cache, loaded here (`handles.Loading`) ----

    def _record_pickle_trust(self, found: ModelVersion) -> None:
        raise NotSupported(
            "loading a pickled version through a server is refused: the trust could not be "
            "recorded in its audit trail; replay it on the server (serve --trust-pickle)"
        )
