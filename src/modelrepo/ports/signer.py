"""Signs audit checkpoints, and versions' statements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Signer(Protocol):
    """Signs audit checkpoints (Ed25519)."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_pem(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


class StatementSigner(Protocol):
    """Signs a version's in-toto statements into Sigstore bundles (an elliptic-curve key)."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_pem(self) -> bytes: ...

    def sign_statement(self, statement: Mapping[str, Any]) -> str: ...
