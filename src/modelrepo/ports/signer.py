"""Signs audit checkpoints."""

from __future__ import annotations

from typing import Protocol


class Signer(Protocol):
    """Signs audit checkpoints (Ed25519)."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_pem(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...
