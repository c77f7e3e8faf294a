"""The web-session contract every `MetadataStore` passes (subclass with a `store`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from ..domain.errors import Conflict
from ..domain.sessions import SESSION_LIFETIME, WebSession, hash_session
from ..ports import MetadataStore
from .metadata import T0


def web_session(secret: str = "cookie-secret", **overrides: Any) -> WebSession:  # noqa: S107
    fields: dict[str, Any] = {
        "session_hash": hash_session(secret),
        "principal": "alice@example.com",
        "issuer": "https://idp.example",
        "subject": "00u1",
        "groups": ("risk", "ml-ops"),
        "csrf": "c" * 43,
        "created_at": T0,
        "expires_at": T0 + SESSION_LIFETIME,
    }
    fields.update(overrides)
    return WebSession(**fields)


class WebSessionStoreContract:
    """Sessions are found by the hash of their secret only, and ended once, for good."""

    @pytest.fixture
    def store(self, *args: Any) -> MetadataStore:
        raise NotImplementedError

    def test_a_session_is_found_by_its_hash_as_it_was_kept(self, store: MetadataStore) -> None:
        kept = store.create_web_session(web_session())
        assert store.web_session(hash_session("cookie-secret")) == kept
        assert store.web_session(hash_session("another")) is None
        plain = store.create_web_session(web_session("second", groups=()))
        assert store.web_session(plain.session_hash) == plain

    def test_a_hash_is_kept_once(self, store: MetadataStore) -> None:
        store.create_web_session(web_session())
        with pytest.raises(Conflict):
            store.create_web_session(web_session(principal="mallory@example.com"))
        found = store.web_session(hash_session("cookie-secret"))
        assert found is not None and found.principal == "alice@example.com"

    def test_ending_keeps_the_first_end(self, store: MetadataStore) -> None:
        kept = store.create_web_session(web_session())
        at = T0 + timedelta(minutes=5)
        ended = store.end_web_session(kept.session_hash, at)
        assert ended == replace(kept, ended_at=at)
        assert store.web_session(kept.session_hash) == ended
        assert ended is not None and not ended.active(at)
        again = store.end_web_session(kept.session_hash, at + timedelta(minutes=1))
        assert again == ended
        assert store.end_web_session(hash_session("unknown"), at) is None
        assert store.web_session(hash_session("unknown")) is None

    def test_a_session_is_active_until_it_expires(self, store: MetadataStore) -> None:
        kept = store.create_web_session(web_session())
        assert kept.active(T0) and kept.active(T0 + SESSION_LIFETIME - timedelta(microseconds=1))
        assert not kept.active(T0 + SESSION_LIFETIME)
