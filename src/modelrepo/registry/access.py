"""API tokens: who may use a server, and checking the token a request carries, over an embedded
store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api.access import AccessAPI
from ..domain.errors import Unauthenticated
from .core import Core, changes, writes

if TYPE_CHECKING:
    from ..domain.access import ApiToken


class Access(Core, AccessAPI):
    @writes
    def create_token(
        self, user: str | None, role: str, *, model_pattern: str | None = None
    ) -> tuple[ApiToken, str]:
        import secrets

        from ..domain.access import (
            TOKEN_PREFIX,
            ApiToken,
            check_pattern,
            check_role,
            check_user,
            hash_token,
        )
        from ..domain.principals import check_minted_for, is_service_account, local_principal

        minter = self._principal or local_principal(self.user)
        who = check_user(check_minted_for(minter, None if user is None else check_user(user)))
        token_id = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        record = ApiToken(
            token_id=token_id,
            user=who,
            role=check_role(role),
            model_pattern=check_pattern(model_pattern),
            created_at=self.clock.now(),
            created_by=self.user,
            kind="service" if is_service_account(who) else "person",
            minted_auth=self.auth,
        )
        return self.backend.metadata.create_token(record, hash_token(secret)), secret

    def tokens(self, *, include_revoked: bool = True) -> list[ApiToken]:
        found = self.backend.metadata.list_tokens()
        return found if include_revoked else [t for t in found if t.active]

    @changes
    def revoke_token(self, token_id: str) -> ApiToken:
        from ..domain.access import check_token_id

        return self.backend.metadata.revoke_token(
            check_token_id(token_id), actor=self.user, at=self.clock.now()
        )

    def authenticate(self, secret: str) -> ApiToken:
        from ..domain.access import hash_token, token_id_of

        if token_id_of(secret) is None:
            raise Unauthenticated("not a modelrepo API token")
        found = self.backend.metadata.token_by_hash(hash_token(secret))
        if found is None:
            raise Unauthenticated("unknown API token")
        if not found.active:
            raise Unauthenticated(f"API token {found.token_id} was revoked")
        return found
