"""The embedded registry: `Registry`, one class per concept's use cases over the store's
ports, combined. `Registry(url)` of a server returns a `RemoteRegistry` instead."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..api.arguments import is_remote
from ..clock import SystemClock
from ..domain.errors import InvalidInput, StoreNotFound
from ..domain.principals import LOCAL_AUTH
from ..stores import Backend, memory_backend
from .access import Access
from .attestations import Attestations
from .audit import Audit
from .decisions import Decisions
from .deployments import Deployments
from .evidence import Evidence
from .integrity import Integrity
from .opening import Opening, default_user, opener, remote_default
from .serving import Serving
from .uploads import Uploads
from .versions import Versions
from .webhooks import Webhooks

if TYPE_CHECKING:
    from ..domain.principals import Principal
    from ..ports import Clock


class Registry(
    Versions,
    Deployments,
    Decisions,
    Serving,
    Audit,
    Access,
    Webhooks,
    Integrity,
    Evidence,
    Attestations,
    Uploads,
):
    """A versioned model registry.

    `Registry()` opens the embedded store in `./.modelrepo` (or $MODELREPO_STORE);
    `Registry(database_url="postgresql://...", blob_url="s3://bucket/prefix")` (or
    $MODELREPO_DATABASE_URL and $MODELREPO_BLOB_URL) the scale-out store;
    `Registry("https://host:port", token=...)` (or $MODELREPO_TOKEN) a modelrepo server,
    as a `RemoteRegistry` with the same methods.

    A store is created by its first write (or `create_store()`), never by a read: on a path
    with no store yet, reads raise `StoreNotFound` until something is written, so a mistyped
    path makes no new store (with a new signing key); `create=False` refuses it at once.
    An embedded store is created private (folder 0700, files 0600, whatever the umask);
    `group_access=True` creates it shared with its folder's group instead (2770, 0660)."""

    def __new__(cls, store: object = None, *args: Any, **kwargs: Any) -> Registry:
        if cls is Registry and (is_remote(store) or (store is None and remote_default(kwargs))):
            from ..remote import RemoteRegistry

            # Not a subclass: made whole here (Python then skips Registry.__init__).
            return RemoteRegistry(store, *args, **kwargs)  # type: ignore[arg-type,return-value]
        return super().__new__(cls)

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
        group_access: bool = False,
    ) -> None:
        if token is not None:
            raise InvalidInput("an API token is for a modelrepo server (http:// or https://)")
        open_store = opener(store, database_url, blob_url, group_access)
        self.user = user or default_user()
        self.auth = LOCAL_AUTH  # a name given here is asserted: nothing checked it
        self._owns_backend = True
        self.clock = clock or SystemClock()
        self._checked_names = set()
        self._live_versions = {}
        self.checkpoint_every = checkpoint_every
        export = checkpoint_dir or os.environ.get("MODELREPO_CHECKPOINT_DIR")
        self.checkpoint_dir = Path(export) if export else None
        self.checkpoint_interval = checkpoint_interval
        try:
            opened = open_store(False)
        except StoreNotFound as missing:
            if not create:
                raise
            self._opening = Opening(None, open_store, missing)
            return
        self._opening = Opening(opened)
        try:
            self._genesis(opened)
        except BaseException:
            opened.close()
            raise

    @classmethod
    def in_memory(cls, *, user: str | None = None, clock: Clock | None = None) -> Registry:
        """A registry that lives only in this process (for tests and notebooks)."""
        return cls(memory_backend(), user=user, clock=clock)

    def as_user(self, user: str) -> Registry:
        from ..domain.access import check_user

        other = copy.copy(self)
        other.user = check_user(user)
        other.auth = LOCAL_AUTH
        other._owns_backend = False
        return other

    def as_principal(self, principal: Principal) -> Registry:
        """This registry acting as an authenticated principal: its name is the actor of what
        it does, and how it authenticated is recorded beside it."""
        from ..domain.access import check_user

        other = copy.copy(self)
        other.user = check_user(principal.name)
        other.auth = principal.auth
        other._principal = principal
        other._owns_backend = False
        return other

    def close(self) -> None:
        if self._owns_backend and self._opening.backend is not None:
            self._opening.backend.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["Registry"]
