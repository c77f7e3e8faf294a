"""`MetadataStore`: every metadata port at once, what the stores implement and the
registry is given."""

from __future__ import annotations

from typing import Protocol

from .access import RoleBindingStore, TokenStore, WebSessionStore
from .attestations import AttestationStore
from .audit import AuditStore
from .decisions import DecisionStore
from .denials import DenialStore
from .deployments import DeploymentStore
from .serving import ServingStore
from .store import StoreHandle
from .versions import VersionStore
from .webhooks import WebhookStore


class MetadataStore(
    VersionStore,
    DeploymentStore,
    DecisionStore,
    ServingStore,
    TokenStore,
    RoleBindingStore,
    WebSessionStore,
    WebhookStore,
    AttestationStore,
    DenialStore,
    AuditStore,
    StoreHandle,
    Protocol,
):
    """Models, versions and their recorded changes. Writes are atomic and durable."""
