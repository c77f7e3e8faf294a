"""The registry's public API, as typed protocols: what the embedded `Registry` and the
server's `RemoteRegistry` both offer (the remote one raises `NotSupported` for the few it
cannot do yet), one protocol per concept. The public methods' docstrings are written here,
once, so the two cannot drift apart; the implementations inherit them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .access import AccessAPI
from .attestations import AttestationsAPI
from .audit import AuditAPI
from .decisions import DecisionsAPI
from .deployments import DeploymentsAPI
from .evidence import EvidenceAPI
from .integrity import IntegrityAPI
from .serving import ServingAPI
from .uploads import UploadsAPI
from .versions import VersionsAPI
from .webhooks import WebhooksAPI

if TYPE_CHECKING:
    from types import TracebackType

    from ..ports import BlobStore, Clock, MetadataStore


class StorePorts(Protocol):
    """The ports of the store an embedded registry works on, as code outside it uses them."""

    @property
    def metadata(self) -> MetadataStore: ...

    @property
    def blobs(self) -> BlobStore: ...


class RegistryAPI(
    VersionsAPI,
    DeploymentsAPI,
    DecisionsAPI,
    ServingAPI,
    AuditAPI,
    AccessAPI,
    WebhooksAPI,
    IntegrityAPI,
    EvidenceAPI,
    AttestationsAPI,
    UploadsAPI,
    Protocol,
):
    """A versioned model registry: every concept's API, and the store it works on."""

    user: str
    """The identity every change is recorded under."""
    clock: Clock
    """Where the time of every recorded change comes from (injected in tests)."""

    @property
    def backend(self) -> StorePorts:
        """The store's ports; a store that does not exist yet is created by a write only."""
        ...

    @property
    def created_store(self) -> bool:
        """Whether this registry created its store (a new store, on its first write)."""
        ...

    def create_store(self) -> bool:
        """Create the store now if it does not exist yet (what `modelrepo init` does);
        True if this call created it."""
        ...

    @property
    def location(self) -> str:
        """Where the store is, for people to read: its folder (`:memory:` for one in this
        process), its database and blob URLs (password hidden), or the server's URL."""
        ...

    @property
    def local_reads(self) -> bool:
        """Whether reads are answered in this process or from a local file, in microseconds,
        never waiting on a network (a server answers those on its event loop)."""
        ...

    def database_version(self) -> str | None:
        """The database engine behind the store and its version (`SQLite 3.54.1`,
        `PostgreSQL 18.1`); None where this process has no database to ask (in memory, a
        server's)."""
        ...

    def ready(self) -> int:
        """Ask the store a question (the audit log's size) to show it answers."""
        ...

    def as_user(self, user: str) -> RegistryAPI:
        """The same store acting as another identity (e.g. the user of a server's API token).

        Shares the backend, clock and caches, so a server answers many identities without
        opening a store per request; closing the copy leaves the store open."""
        ...

    def close(self) -> None:
        """Release the store (or the connection to the server) this registry opened; a copy
        made by `as_user` leaves it open."""
        ...

    def __enter__(self) -> RegistryAPI:
        """The registry itself, closed when the `with` block ends."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the registry, whether or not the block raised (the exception goes on)."""
        ...


__all__ = [
    "AccessAPI",
    "AuditAPI",
    "DecisionsAPI",
    "DeploymentsAPI",
    "EvidenceAPI",
    "IntegrityAPI",
    "RegistryAPI",
    "ServingAPI",
    "StorePorts",
    "VersionsAPI",
    "WebhooksAPI",
]
