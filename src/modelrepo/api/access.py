"""The API of API tokens (who may use a server), as both registries offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.access import ApiToken


class AccessAPI(Protocol):
    """API tokens: who may use a server."""

    def create_token(
        self, user: str | None, role: str, *, model_pattern: str | None = None
    ) -> tuple[ApiToken, str]:
        """A new API token with `role` (on models matching `model_pattern`, or all) that acts
        as its minter (`user` None or the minter's own name) or as a service account
        (`svc:NAME`); never as another person, except when minted by a command on the
        server's host (how the first admin is made; recorded as such). Returns the record
        and the token itself, which is never stored or shown again."""
        ...

    def tokens(self, *, include_revoked: bool = True) -> list[ApiToken]:
        """API tokens, oldest first (never the tokens themselves)."""
        ...

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke an API token for good; the revocation is recorded with who and when."""
        ...

    def authenticate(self, secret: str) -> ApiToken:
        """The active token `secret` is, or Unauthenticated (unknown, malformed or revoked)."""
        ...
