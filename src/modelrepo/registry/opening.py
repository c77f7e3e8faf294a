"""Opening a store from a path, a database URL or a `Backend`, and the `MODELREPO_*`
environment that names one; a store that does not exist yet is made by the first write."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..api.arguments import is_remote
from ..domain.errors import StoreNotFound
from ..stores import DEFAULT_STORE, Backend, open_backend, open_server_backend


def remote_default(kwargs: Mapping[str, Any]) -> bool:
    """`Registry()` with $MODELREPO_STORE naming a server (and no other store given)."""
    if isinstance(kwargs.get("store"), str):
        return is_remote(kwargs["store"])
    if kwargs.get("database_url") or os.environ.get("MODELREPO_DATABASE_URL"):
        return False
    return is_remote(os.environ.get("MODELREPO_STORE"))


def default_user() -> str:
    """Who changes are recorded under when no user is given: $MODELREPO_USER, else the login."""
    user = os.environ.get("MODELREPO_USER")
    if user:
        return user
    import getpass  # with termios: not loaded when a user is given

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def opener(
    store: str | os.PathLike[str] | Backend | None,
    database_url: str | None,
    blob_url: str | None,
    group_access: bool,
) -> Callable[[bool], Backend]:
    """How to open the store the arguments (else the environment) name: given whether it may
    be created, returns it."""
    database_url = database_url or (
        None if store is not None else os.environ.get("MODELREPO_DATABASE_URL")
    )
    if isinstance(store, Backend):
        backend = store

        def given(_: bool) -> Backend:
            return backend

        return given
    if database_url:
        blobs = blob_url or os.environ.get("MODELREPO_BLOB_URL")

        def server(may_create: bool) -> Backend:
            return open_server_backend(database_url, blobs, create=may_create)

        return server
    location = store if store is not None else os.environ.get("MODELREPO_STORE")

    def embedded(may_create: bool) -> Backend:
        return open_backend(location or DEFAULT_STORE, create=may_create, group_access=group_access)

    return embedded


class Opening:
    """The store a registry works on: open, or not created yet. `Registry(path)` on a path
    with no store does not create one (a typo must not make a new store with a new key):
    the first write does, and a read before it is refused with `StoreNotFound`. Shared by
    the copies `as_user` makes, so a store one of them creates is the others' too."""

    def __init__(
        self,
        backend: Backend | None,
        open_: Callable[[bool], Backend] | None = None,
        missing: StoreNotFound | None = None,
    ) -> None:
        self.backend = backend
        self.created = False
        self._open = open_  # (may it create the store?) -> the store
        self._missing = missing
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """While this thread runs a mutation, a missing store may be created."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth

    def get(self, on_open: Callable[[Backend], None]) -> Backend:
        found = self.backend
        if found is not None:
            return found
        # A read looks again (another process may have made the store since); a write may
        # make it.
        return self.open(on_open, create=bool(getattr(self._local, "depth", 0)))

    def open(self, on_open: Callable[[Backend], None], *, create: bool) -> Backend:
        """Open the store, made now if `create` and nobody made it meanwhile; `on_open`
        initialises it (the audit log's first entry)."""
        with self._lock:
            if self.backend is None:
                if self._open is None:
                    raise StoreNotFound(str(self._missing or "no modelrepo store"))
                existed = True
                try:
                    backend = self._open(False)
                except StoreNotFound:
                    if not create:
                        raise
                    backend, existed = self._open(True), False
                try:
                    on_open(backend)
                except BaseException:
                    backend.close()
                    raise
                self.backend = backend
                self.created = not existed and not backend.lost_creation
            return self.backend


class LazySigner:
    """The backend's signer, loaded only if a signature or the key is really needed."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @property
    def key_id(self) -> str:
        return self._backend.signer.key_id

    @property
    def public_pem(self) -> bytes:
        return self._backend.signer.public_pem

    def sign(self, data: bytes) -> bytes:
        return self._backend.signer.sign(data)
