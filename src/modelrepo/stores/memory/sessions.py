"""Web sessions in memory."""

from __future__ import annotations

import threading
from datetime import datetime

from ...domain.errors import Conflict
from ...domain.sessions import WebSession, ended_session


class MemoryWebSessions:
    """Web sessions by the hash of their cookie (the reference for `SqlWebSessions`)."""

    def __init__(self) -> None:
        self._web_sessions: dict[str, WebSession] = {}
        self._web_sessions_lock = threading.Lock()

    def create_web_session(self, session: WebSession) -> WebSession:
        with self._web_sessions_lock:
            if session.session_hash in self._web_sessions:
                raise Conflict("a web session with this secret exists already")
            self._web_sessions[session.session_hash] = session
            return session

    def web_session(self, session_hash: str) -> WebSession | None:
        with self._web_sessions_lock:
            return self._web_sessions.get(session_hash)

    def end_web_session(self, session_hash: str, at: datetime) -> WebSession | None:
        with self._web_sessions_lock:
            ended = ended_session(self._web_sessions.get(session_hash), at)
            if ended is not None:
                self._web_sessions[session_hash] = ended
            return ended
