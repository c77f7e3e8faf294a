"""The small interfaces the registry's use-cases need from the outside world.

A new backend implements one of these and passes the matching contract suite in
`modelrepo.testing`; nothing above this layer changes. See docs/backends.md.

One module per concept; `MetadataStore` is every metadata port at once, which is what the
stores implement and the registry is given. A use-case that needs less may ask for less.
Each module is imported when one of its names is first asked for: a command that reads
needs few of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .access import RoleBindingStore, TokenStore, WebSessionStore
    from .attestations import AttestationStore
    from .audit import AuditStore
    from .blobs import BlobInfo, BlobStore, BlobWriter, Progress
    from .clock import Clock
    from .decisions import DecisionStore
    from .denials import DenialStore
    from .deployments import DeploymentStore
    from .lock import StoreLock
    from .metadata import MetadataStore
    from .serving import ServingStore
    from .signer import Signer, StatementSigner
    from .store import StoreHandle
    from .uploads import PartSink, UploadStore
    from .versions import FileReference, VersionStore
    from .webhooks import WebhookStore

__all__ = [
    "AttestationStore",
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
    "PartSink",
    "Progress",
    "RoleBindingStore",
    "ServingStore",
    "Signer",
    "StatementSigner",
    "StoreHandle",
    "StoreLock",
    "TokenStore",
    "UploadStore",
    "VersionStore",
    "WebSessionStore",
    "WebhookStore",
]


_MODULE_OF = {
    "AttestationStore": "attestations",
    "AuditStore": "audit",
    "BlobInfo": "blobs",
    "BlobStore": "blobs",
    "BlobWriter": "blobs",
    "Clock": "clock",
    "DecisionStore": "decisions",
    "DenialStore": "denials",
    "DeploymentStore": "deployments",
    "FileReference": "versions",
    "MetadataStore": "metadata",
    "Progress": "blobs",
    "RoleBindingStore": "access",
    "ServingStore": "serving",
    "Signer": "signer",
    "StatementSigner": "signer",
    "StoreHandle": "store",
    "StoreLock": "lock",
    "TokenStore": "access",
    "UploadStore": "uploads",
    "PartSink": "uploads",
    "VersionStore": "versions",
    "WebSessionStore": "access",
    "WebhookStore": "webhooks",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
