"""The metadata store as a whole, apart from what it holds."""

from __future__ import annotations

from typing import Protocol


class StoreHandle(Protocol):
    """What names the store in its audit entries, and releases its connections."""

    def store_id(self) -> str: ...

    def close(self) -> None: ...
