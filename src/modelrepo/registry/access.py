"""API tokens and role bindings: who may use a server, and checking the token a request
carries, over an embedded store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api.access import AccessAPI
from ..domain.errors import InvalidInput, Unauthenticated
from .core import Core, changes, writes

if TYPE_CHECKING:
    from ..domain.access import ApiToken
    from ..domain.principals import Grant
    from ..domain.roles import RoleBinding


class Access(Core, AccessAPI):
    @writes
    def create_token(
        self, user: str | None, role: str, *, model_pattern: str | None = None
    ) -> tuple[ApiToken, str]:
        import secrets

        from ..domain.access import (
            TOKEN_PREFIX,
            ApiToken,
            check_mint,
            check_pattern,
            check_role,
            check_user,
            hash_token,
        )
        from ..domain.principals import is_service_account, local_principal

        minter = self._principal or local_principal(self.user)
        asked = None if user is None else check_user(user)
        who = check_user(check_mint(minter, asked, role, model_pattern))
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

    @writes
    def grant_role(
        self,
        principal: str,
        role: str,
        *,
        issuer: str | None = None,
        model_pattern: str | None = None,
    ) -> RoleBinding:
        import secrets

        from ..domain.access import check_pattern, check_role
        from ..domain.roles import RoleBinding, check_bound_principal, check_issuer

        if issuer is None:
            raise InvalidInput(
                "a role binding names the identity provider's issuer URL (--issuer): "
                "an embedded store knows of none"
            )
        record = RoleBinding(
            binding_id=secrets.token_hex(6),
            issuer=check_issuer(issuer),
            principal=check_bound_principal(principal),
            role=check_role(role),
            model_pattern=check_pattern(model_pattern),
            granted_at=self.clock.now(),
            granted_by=self.user,
            granted_auth=self.auth,
        )
        return self.backend.metadata.grant_role(record)

    @changes
    def revoke_role(self, binding_id: str) -> RoleBinding:
        from ..domain.roles import check_binding_id

        return self.backend.metadata.revoke_role(
            check_binding_id(binding_id),
            actor=self.user,
            at=self.clock.now(),
            auth=self.auth,
        )

    def role_bindings(self, *, include_revoked: bool = True) -> list[RoleBinding]:
        found = self.backend.metadata.list_role_bindings()
        return found if include_revoked else [b for b in found if b.active]

    def grants_for(self, issuer: str, principal: str) -> tuple[Grant, ...]:
        from ..domain.roles import grants_of_bindings

        return grants_of_bindings(self.backend.metadata.bindings_for(issuer, principal))
