"""API tokens: only their SHA-256 is kept; revoking is the one change."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.access import ApiToken


class TokenStore(Protocol):
    """API tokens (only their SHA-256 is kept; revoking is the one change)."""

    def create_token(self, token: ApiToken, token_hash: str) -> ApiToken:
        """Keep a new token by its hash, with an audit entry (`token.created`)."""
        ...

    def token_by_hash(self, token_hash: str) -> ApiToken | None: ...

    def list_tokens(self) -> list[ApiToken]:
        """Every token ever created, oldest first, revoked ones included."""
        ...

    def token_hashes(self) -> dict[str, str]:
        """The stored hash of each token, by token id (what authentication matches)."""
        ...

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> ApiToken:
        """Revoke a token for good, with an audit entry; NotFound, or Conflict if revoked."""
        ...
