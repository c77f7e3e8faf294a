"""Web sessions in SQL: kept by the hash of their cookie; ending one is the one update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.errors import Conflict
from ...domain.sessions import WebSession, ended_session, groups_from_text, groups_text
from ...domain.times import from_micros, to_micros
from .audit import SqlAudit
from .raw import Q


class SqlWebSessions(SqlAudit):
    """The web-session half of `SqlMetadataStore` (mixed into it)."""

    def create_web_session(self, session: WebSession) -> WebSession:
        with self._raw.write() as tx:
            if tx.one(Q.WEB_SESSION, session_hash=session.session_hash) is not None:
                raise Conflict("a web session with this secret exists already")
            tx.execute(
                Q.NEW_WEB_SESSION,
                session_hash=session.session_hash,
                principal=session.principal,
                issuer=session.issuer,
                subject=session.subject,
                groups=groups_text(session.groups),
                csrf=session.csrf,
                created_at=to_micros(session.created_at),
                expires_at=to_micros(session.expires_at),
            )
        return session

    def web_session(self, session_hash: str) -> WebSession | None:
        row = self._raw.reader().one(Q.WEB_SESSION, session_hash=session_hash)
        return None if row is None else _to_session(row)

    def end_web_session(self, session_hash: str, at: datetime) -> WebSession | None:
        with self._raw.write() as tx:
            row = tx.one(Q.WEB_SESSION, session_hash=session_hash)
            found = None if row is None else _to_session(row)
            ended = ended_session(found, at)
            if found is not None and found.ended_at is None:
                tx.execute(Q.END_WEB_SESSION, session_hash=session_hash, at=to_micros(at))
        return ended


def _to_session(row: Any) -> WebSession:
    return WebSession(
        session_hash=row.session_hash,
        principal=row.principal,
        issuer=row.issuer,
        subject=row.subject,
        groups=groups_from_text(row.groups),
        csrf=row.csrf,
        created_at=from_micros(row.created_at),
        expires_at=from_micros(row.expires_at),
        ended_at=None if row.ended_at is None else from_micros(row.ended_at),
    )
