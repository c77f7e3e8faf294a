"""The web UI's sessions over a registry's store: started once the identity provider has
vouched for a user, found by the cookie's secret, ended on sign-out.

Not part of the registry's API (a remote registry has no use for them): the server alone
holds them, through `WebSessions(registry)`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from ..domain.access import check_user
from ..domain.sessions import SESSION_LIFETIME, WebSession, hash_session

if TYPE_CHECKING:
    from .core import Core


class WebSessions:
    """Sessions in `registry`'s store; times from its clock."""

    def __init__(self, registry: Core) -> None:
        self._registry = registry

    def start(
        self,
        *,
        user: str,
        issuer: str,
        subject: str,
        groups: Iterable[str] = (),
        lifetime: timedelta = SESSION_LIFETIME,
    ) -> tuple[WebSession, str]:
        """A new session and the secret its cookie carries (shown here only: the store
        keeps its hash), with a CSRF token of its own."""
        secret = secrets.token_urlsafe(32)
        now = self._registry.clock.now()
        session = WebSession(
            session_hash=hash_session(secret),
            principal=check_user(user),
            issuer=issuer,
            subject=subject,
            groups=tuple(groups),
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime,
        )
        return self._registry.backend.metadata.create_web_session(session), secret

    def find(self, secret: str) -> WebSession | None:
        """The active session `secret` signs in (None: unknown, ended or expired)."""
        found = self._registry.backend.metadata.web_session(hash_session(secret))
        return found if found is not None and found.active(self._registry.clock.now()) else None

    def end(self, secret: str) -> WebSession | None:
        """End the session `secret` signs in (None: there is none)."""
        return self._registry.backend.metadata.end_web_session(
            hash_session(secret), self._registry.clock.now()
        )
