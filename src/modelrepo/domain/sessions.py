"""Web sessions: a browser signed in through the identity provider.

The browser holds a random secret in an HttpOnly cookie; the store keeps only its SHA-256
(`session_hash`), so a copy of the database signs nobody in. A session names the identity the
provider vouched for (issuer, subject, user, groups) and carries the CSRF token every
mutating request made with the cookie must repeat in a header. It ends when it expires or
when its user signs out; an ended session is kept, never reused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import InvalidInput

SESSION_COOKIE = "modelrepo_session"
SESSION_LIFETIME = timedelta(hours=8)
"""A working day: long enough not to interrupt one, short enough that a forgotten browser
does not stay signed in overnight."""


def hash_session(secret: str) -> str:
    """What is stored of a session's cookie: the hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser: who (as the identity provider said), its CSRF token, its life."""

    session_hash: str
    principal: str
    issuer: str
    subject: str
    groups: tuple[str, ...]
    csrf: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def __post_init__(self) -> None:
        hexadecimal = all(c in "0123456789abcdef" for c in self.session_hash)
        if len(self.session_hash) != 64 or not hexadecimal:
            raise InvalidInput("a web session is kept by the hex SHA-256 of its secret")
        if self.expires_at <= self.created_at:
            raise InvalidInput("a web session expires after it starts")

    def active(self, at: datetime) -> bool:
        """Whether the session still signs its browser in at `at`."""
        return self.ended_at is None and at < self.expires_at


def groups_text(groups: tuple[str, ...]) -> str | None:
    """How a session's groups are stored: a JSON list (None: no group)."""
    return json.dumps(list(groups)) if groups else None


def groups_from_text(text: str | None) -> tuple[str, ...]:
    found: Any = json.loads(text) if text else []
    return tuple(str(g) for g in found)


def ended_session(found: WebSession | None, at: datetime) -> WebSession | None:
    """The session ended at `at` (None: unknown); one already ended keeps its first end."""
    if found is None or found.ended_at is not None:
        return found
    from dataclasses import replace

    return replace(found, ended_at=at)
