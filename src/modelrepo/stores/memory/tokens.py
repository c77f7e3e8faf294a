"""API tokens in memory."""

from __future__ import annotations

from datetime import datetime

from ...domain.access import (
    ApiToken,
    check_new_token,
    credential_change,
    revoked_token,
    token_change,
)
from .audit import MemoryAudit


class MemoryTokens(MemoryAudit):
    """API tokens by hash (the reference for `SqlTokens`)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, ApiToken]] = {}  # id -> (hash, token)

    def create_token(self, token: ApiToken, token_hash: str) -> ApiToken:
        with self._audit_lock:
            taken = token.token_id in self._tokens or any(
                h == token_hash for h, _ in self._tokens.values()
            )
            check_new_token(token, taken)
            self._tokens[token.token_id] = (token_hash, token)
            self._audit(
                "token.created",
                f"token:{token.token_id}",
                actor=token.created_by,
                at=token.created_at,
                change=credential_change(token, token_hash),
            )
            return token

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        with self._audit_lock:
            return next((t for h, t in self._tokens.values() if h == token_hash), None)

    def list_tokens(self) -> list[ApiToken]:
        with self._audit_lock:
            return sorted((t for _, t in self._tokens.values()), key=lambda t: t.created_at)

    def token_hashes(self) -> dict[str, str]:
        with self._audit_lock:
            return {token_id: h for token_id, (h, _) in self._tokens.items()}

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> ApiToken:
        with self._audit_lock:
            token_hash, token = self._tokens.get(token_id, ("", None))
            revoked = revoked_token(token, token_id, actor=actor, at=at)
            self._tokens[token_id] = (token_hash, revoked)
            self._audit(
                "token.revoked",
                f"token:{token_id}",
                actor=actor,
                at=at,
                change=token_change(revoked),
            )
            return revoked
