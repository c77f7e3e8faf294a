"""The store-wide lock that keeps gc from racing uploads."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol


class StoreLock(Protocol):
    """Keeps garbage collection from racing uploads: writers share it, `gc` holds it alone."""

    def shared(self) -> AbstractContextManager[None]: ...

    def exclusive(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...
