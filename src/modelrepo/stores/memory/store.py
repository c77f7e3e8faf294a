"""The whole in-memory metadata store, one class over the concept modules beside it."""

from __future__ import annotations

from .audit import MemoryAudit
from .decisions import MemoryDecisions
from .denials import MemoryDenials
from .deployments import MemoryDeployments
from .serving import MemoryServing
from .tokens import MemoryTokens
from .versions import MemoryVersions
from .webhooks import MemoryWebhooks


class MemoryMetadataStore(
    MemoryDecisions, MemoryTokens, MemoryServing, MemoryWebhooks, MemoryDenials
):
    """Thread-safe, in-process, gone when the process ends."""

    def __init__(self) -> None:
        MemoryAudit.__init__(self)
        MemoryTokens.__init__(self)
        MemoryServing.__init__(self)
        MemoryWebhooks.__init__(self)
        MemoryDenials.__init__(self)
        MemoryVersions.__init__(self)
        MemoryDeployments.__init__(self)
        MemoryDecisions.__init__(self)
