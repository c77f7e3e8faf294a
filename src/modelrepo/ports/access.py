"""API tokens (only their SHA-256 is kept) and role bindings (the roles of identity-provider
users): revoking is the one change of either. The web UI's sessions (only the SHA-256 of
their cookie is kept): ending is the one change."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.access import ApiToken
    from ..domain.principals import Authentication
    from ..domain.roles import RoleBinding
    from ..domain.sessions import WebSession


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


class RoleBindingStore(Protocol):
    """The roles of identity-provider users, who carry no token (revoking is the one change)."""

    def grant_role(self, binding: RoleBinding) -> RoleBinding:
        """Keep a new binding, with an audit entry (`role.granted`); Conflict if its id is
        taken or the principal already holds that role over that pattern."""
        ...

    def revoke_role(
        self, binding_id: str, *, actor: str, at: datetime, auth: Authentication | None
    ) -> RoleBinding:
        """Revoke a binding for good, with an audit entry (`role.revoked`) that records how
        `actor` authenticated (`auth`); NotFound, or Conflict if revoked already."""
        ...

    def list_role_bindings(self) -> list[RoleBinding]:
        """Every binding ever granted, oldest first, revoked ones included."""
        ...

    def bindings_for(self, issuer: str, principal: str) -> list[RoleBinding]:
        """The active bindings of `principal` at `issuer` (compared exactly), oldest first."""
        ...


class WebSessionStore(Protocol):
    """The web UI's signed-in sessions, by the SHA-256 of their cookie (ending is the one
    change; an ended session is kept and never signs anyone in again)."""

    def create_web_session(self, session: WebSession) -> WebSession:
        """Keep a new session; Conflict if its hash is taken."""
        ...

    def web_session(self, session_hash: str) -> WebSession | None:
        """The session kept under `session_hash`, ended or not (None: no such session)."""
        ...

    def end_web_session(self, session_hash: str, at: datetime) -> WebSession | None:
        """End a session at `at` (one ended already keeps its first end); the session, or
        None if there is no such session."""
        ...
