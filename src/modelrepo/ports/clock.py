"""The store's notion of now, injected so tests never sleep."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The store's notion of now (UTC-aware). Injected so tests never sleep."""

    def now(self) -> datetime: ...
