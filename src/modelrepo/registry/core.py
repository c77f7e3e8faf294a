"""What every embedded use case shares: the store (opened lazily), the clock and the user,
and the decorators that let a mutation create the store and sign a checkpoint after it."""

from __future__ import annotations

import contextlib
import functools
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from ..api import RegistryAPI
from ..domain.errors import Conflict
from .opening import LazySigner, Opening

if TYPE_CHECKING:
    from ..domain.deployments import LiveVersion
    from ..domain.model import ModelVersion
    from ..domain.permissions import StoreMode
    from ..domain.principals import Authentication, Principal
    from ..ports import Clock
    from ..stores import Backend

INLINE_MAX = 64 * 1024
"""Files up to this size are stored in the metadata database, in the version's transaction."""
INLINE_TOTAL_MAX = 8 * 1024 * 1024
"""At most this much of one version is held in memory to be stored inline."""

T = TypeVar("T")


def writes(method: Callable[..., T]) -> Callable[..., T]:
    """A mutation that makes something new (a version, a token): the store it needs is
    created when it first touches it (not before, so a call refused while checking its
    arguments leaves no store behind); after it, a checkpoint is signed if one is due (every
    N entries, or on schedule)."""
    return _mutation(method, creates=True)


def changes(method: Callable[..., T]) -> Callable[..., T]:
    """A mutation of what must already exist (deploy a version, tag it): on a path with no
    store it raises StoreNotFound and makes none, so a mistyped path is named as such
    instead of becoming a new, empty store; otherwise as `writes`."""
    return _mutation(method, creates=False)


def _mutation(method: Callable[..., T], *, creates: bool) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: Core, *args: Any, **kwargs: Any) -> T:
        opening = opening_of(self)
        with opening.writing() if opening and creates else contextlib.nullcontext():
            result = method(self, *args, **kwargs)
        if opening is not None and opening.backend is None:  # nothing written: no store yet
            return result
        from .. import auditing

        auditing.maybe_checkpoint(
            self.backend.metadata,
            lambda: self.backend.signer,
            self.clock,
            self.checkpoint_every,
            self.checkpoint_interval,
            self.checkpoint_dir,
            self._export_mode(),
        )
        return result

    return wrapper


def opening_of(reg: Core) -> Opening | None:
    """The store a local registry opens (a remote one has none: the server has it)."""
    return reg.__dict__.get("_opening")


def may_create(method: Callable[..., T]) -> Callable[..., T]:
    """A write that signs no checkpoint itself (its caller does), yet may create the store."""

    @functools.wraps(method)
    def wrapper(self: Core, *args: Any, **kwargs: Any) -> T:
        opening = opening_of(self)
        with opening.writing() if opening else contextlib.nullcontext():
            return method(self, *args, **kwargs)

    return wrapper


class Core(RegistryAPI):
    """The state every concept's use cases work over; `Registry.__init__` sets it."""

    user: str
    auth: Authentication
    """How `user` was authenticated, recorded beside what it does (embedded: asserted)."""
    _principal: Principal | None = None
    """The authenticated principal a server's request acts as (None: `user`, asserted)."""
    clock: Clock
    checkpoint_every: int
    checkpoint_interval: float
    checkpoint_dir: Path | None
    _opening: Opening
    _owns_backend: bool
    _checked_names: set[tuple[str, str]]
    _live_versions: dict[int, tuple[LiveVersion, ...]]

    def _genesis(self, backend: Backend) -> None:
        """The audit log's first entry, in a store that has none yet."""
        if backend.metadata.audit_size():  # an existing store: reads import no audit code
            return
        from .. import auditing

        auditing.genesis(backend.metadata, LazySigner(backend), self.user, self.clock.now())

    @property
    def backend(self) -> Backend:
        return self._opening.get(self._genesis)

    @property
    def created_store(self) -> bool:
        return self._opening.created

    def create_store(self) -> bool:
        was = self._opening.created or self._opening.backend is not None
        self._opening.open(self._genesis, create=True)
        return not was and self._opening.created

    @property
    def location(self) -> str:
        return self.backend.location

    @property
    def local_reads(self) -> bool:
        return self.backend.local_reads

    def database_version(self) -> str | None:
        version: Callable[[], str] | None = getattr(self.backend.metadata, "database_version", None)
        return None if version is None else version()

    def ready(self) -> int:
        return self.backend.metadata.audit_size()

    def _readable(self, name: str, version: int) -> ModelVersion:
        """The version, refused if deleted: its files are gone."""
        found = self.get(name, version)
        if found.deleted_at is not None:
            raise Conflict(f"version {found.ref} was deleted; its files are no longer kept")
        return found

    def _open_blob(self, sha256: str, size: int) -> BinaryIO:
        """A file's bytes, from the metadata database (small files) or the blob store."""
        if size <= INLINE_MAX:
            data = self.backend.metadata.inline_blob(sha256)
            if data is not None:
                return io.BytesIO(data)
        return self.backend.blobs.open(sha256)

    def _export_mode(self) -> StoreMode | None:
        """The store's mode if checkpoints are exported inside the store folder, where they
        are as private as the rest of it."""
        folder, mode, export = self.backend.folder, self.backend.mode, self.checkpoint_dir
        if folder is None or mode is None or export is None:
            return None
        inside = Path(os.path.abspath(export)).is_relative_to(os.path.abspath(folder))
        return mode if inside else None
