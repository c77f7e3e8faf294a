"""Metadata in memory: the reference `MetadataStore` the contract suite is checked against.

One module per concept (audit, versions, deployments, decisions, tokens, roles, webhooks,
denials, serving); `MemoryMetadataStore` in `store.py` puts them together.
"""

from .audit import MemoryAudit
from .decisions import MemoryDecisions
from .denials import MemoryDenials
from .deployments import MemoryDeployments
from .roles import MemoryRoles
from .serving import MemoryServing
from .store import MemoryMetadataStore
from .tokens import MemoryTokens
from .versions import MemoryVersions
from .webhooks import MemoryWebhooks

__all__ = [
    "MemoryAudit",
    "MemoryDecisions",
    "MemoryDenials",
    "MemoryDeployments",
    "MemoryMetadataStore",
    "MemoryRoles",
    "MemoryServing",
    "MemoryTokens",
    "MemoryVersions",
    "MemoryWebhooks",
]
