"""The API of API tokens and role bindings (who may use a server), as both registries offer
it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.access import ApiToken
    from ..domain.principals import Grant
    from ..domain.roles import RoleBinding


class AccessAPI(Protocol):
    """API tokens and role bindings: who may use a server."""

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

    def grant_role(
        self,
        principal: str,
        role: str,
        *,
        issuer: str | None = None,
        model_pattern: str | None = None,
    ) -> RoleBinding:
        """Give the identity-provider user `principal` (their identity claim at `issuer`,
        e.g. an email) `role` on models matching `model_pattern` (or all): how people who
        sign in, and carry no API token, get their rights. `issuer` None: the identity
        provider a server is configured with (an embedded store has none: it is required).
        Recorded with who granted it and how they authenticated. Service accounts
        (`svc:...`) are refused: their tokens carry their role."""
        ...

    def revoke_role(self, binding_id: str) -> RoleBinding:
        """Revoke a role binding for good; the revocation is recorded with who and when."""
        ...

    def role_bindings(self, *, include_revoked: bool = True) -> list[RoleBinding]:
        """Role bindings, oldest first."""
        ...

    def grants_for(self, issuer: str, principal: str) -> tuple[Grant, ...]:
        """The roles and scopes the active bindings of `principal` at `issuer` give (compared
        exactly): what a user who signed in may do."""
        ...
