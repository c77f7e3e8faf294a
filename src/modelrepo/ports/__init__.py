"""The small interfaces the registry's use-cases need from the outside world.

A new backend implements one of these and passes the matching contract suite in
`modelrepo.testing`; nothing above this layer changes. See docs/backends.md.

One module per concept; `MetadataStore` is every metadata port at once, which is what the
stores implement and the service is given. A use-case that needs less may ask for less.
"""

from __future__ import annotations

from typing import Protocol

from .access import TokenStore
from .audit import AuditStore
from .blobs import BlobInfo, BlobStore, BlobWriter, Progress
from .clock import Clock
from .decisions import DecisionStore
from .denials import DenialStore
from .deployments import DeploymentStore
from .lock import StoreLock
from .serving import ServingStore
from .signer import Signer
from .store import StoreHandle
from .versions import FileReference, VersionStore
from .webhooks import WebhookStore

__all__ = [
    "AuditStore",
    "BlobInfo",
    "BlobStore",
    "BlobWriter",
    "Clock",
    "DecisionStore",
    "DenialStore",
    "DeploymentStore",
    "FileReference",
    "MetadataStore",
    "Progress",
    "ServingStore",
    "Signer",
    "StoreHandle",
    "StoreLock",
    "TokenStore",
    "VersionStore",
    "WebhookStore",
]


class MetadataStore(
    VersionStore,
    DeploymentStore,
    DecisionStore,
    ServingStore,
    TokenStore,
    WebhookStore,
    DenialStore,
    AuditStore,
    StoreHandle,
    Protocol,
):
    """Models, versions and their recorded changes. Writes are atomic and durable."""
