"""API tokens in SQL: looked up by hash; creation and revocation are audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.access import (
    ApiToken,
    check_new_token,
    credential_change,
    revoked_token,
    token_change,
)
from ...domain.principals import auth_from_text, auth_text
from ...domain.times import from_micros, to_micros
from .audit import SqlAudit
from .raw import Q


class SqlTokens(SqlAudit):
    """The token half of `SqlMetadataStore` (mixed into it)."""

    def create_token(self, token: ApiToken, token_hash: str) -> ApiToken:
        with self._raw.write() as tx:
            taken = tx.one(Q.TOKEN_HASH_IN_USE, token_id=token.token_id, token_hash=token_hash)
            check_new_token(token, taken is not None)
            tx.execute(
                Q.NEW_TOKEN,
                token_id=token.token_id,
                token_hash=token_hash,
                user=token.user,
                role=token.role,
                model_pattern=token.model_pattern,
                created_at=to_micros(token.created_at),
                created_by=token.created_by,
                kind=token.kind,
                minted_auth=auth_text(token.minted_auth),
            )
            self._audit(
                tx,
                "token.created",
                f"token:{token.token_id}",
                actor=token.created_by,
                at=token.created_at,
                change=credential_change(token, token_hash),
            )
        return token

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        row = self._raw.reader().one(Q.TOKEN_BY_HASH, token_hash=token_hash)
        return None if row is None else _to_token(row)

    def list_tokens(self) -> list[ApiToken]:
        return [_to_token(r) for r in self._raw.reader().all(Q.TOKENS)]

    def token_hashes(self) -> dict[str, str]:
        return {str(i): str(h) for i, h in self._raw.reader().tuples(Q.TOKEN_HASHES)}

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> ApiToken:
        with self._raw.write() as tx:
            row = tx.one(Q.TOKEN_BY_ID, token_id=token_id)
            found = None if row is None else _to_token(row)
            revoked = revoked_token(found, token_id, actor=actor, at=at)
            tx.execute(Q.REVOKE_TOKEN, token_id=token_id, at=to_micros(at), actor=actor)
            self._audit(
                tx,
                "token.revoked",
                f"token:{token_id}",
                actor=actor,
                at=at,
                change=token_change(revoked),
            )
        return revoked


def _to_token(row: Any) -> ApiToken:
    return ApiToken(
        token_id=row.token_id,
        user=row.user_name,
        role=row.role,
        model_pattern=row.model_pattern,
        created_at=from_micros(row.created_at),
        created_by=row.created_by,
        revoked_at=None if row.revoked_at is None else from_micros(row.revoked_at),
        revoked_by=row.revoked_by,
        kind=row.kind,
        minted_auth=auth_from_text(row.minted_auth),
    )
