"""API tokens and role bindings over HTTP (admins; never beyond the calling token's own
rights), and the identity a remote registry acts as."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api.access import AccessAPI
from ..domain.access import ApiToken, check_pattern, check_role, check_token_id, check_user
from ..domain.errors import NotSupported
from ..domain.principals import Grant
from ..domain.roles import RoleBinding, check_binding_id, check_bound_principal, check_issuer
from .client import API, ServerClient

if TYPE_CHECKING:
    from . import RemoteRegistry


class Access(ServerClient, AccessAPI):
    """Who may do what: tokens are made and revoked by the server, which alone checks them."""

    def create_token(
        self, user: str | None, role: str, *, model_pattern: str | None = None
    ) -> tuple[ApiToken, str]:
        # Made by the server, with no more rights than this registry's own principal (its
        # role and model scope), acting as that principal or as a service account.
        body = {
            "user": None if user is None else check_user(user),
            "role": check_role(role),
            "model_pattern": check_pattern(model_pattern),
        }
        found = self._post(f"{API}/tokens", body)
        return ApiToken.from_dict(found), str(found["token"])

    def tokens(self, *, include_revoked: bool = True) -> list[ApiToken]:
        found = self._get(f"{API}/tokens", include_revoked=include_revoked)
        return [ApiToken.from_dict(t) for t in found]

    def revoke_token(self, token_id: str) -> ApiToken:
        path = f"{API}/tokens/{check_token_id(token_id)}/revoke"
        return ApiToken.from_dict(self._post(path))

    def authenticate(self, secret: str) -> ApiToken:
        # Not available on a remote registry yet (one of `EMBEDDED_ONLY`).
        self._unsupported("authenticate")

    def as_user(self, user: str) -> RemoteRegistry:
        raise NotSupported("a remote registry acts as its token's user: open it with that token")

    def grant_role(
        self,
        principal: str,
        role: str,
        *,
        issuer: str | None = None,
        model_pattern: str | None = None,
    ) -> RoleBinding:
        # Granted by the server (issuer None: the identity provider it is configured with),
        # never beyond this registry's own token.
        body = {
            "principal": check_bound_principal(principal),
            "role": check_role(role),
            "issuer": None if issuer is None else check_issuer(issuer),
            "model_pattern": check_pattern(model_pattern),
        }
        return RoleBinding.from_dict(self._post(f"{API}/roles", body))

    def revoke_role(self, binding_id: str) -> RoleBinding:
        path = f"{API}/roles/{check_binding_id(binding_id)}/revoke"
        return RoleBinding.from_dict(self._post(path))

    def role_bindings(self, *, include_revoked: bool = True) -> list[RoleBinding]:
        found = self._get(f"{API}/roles", include_revoked=include_revoked)
        return [RoleBinding.from_dict(b) for b in found]

    def grants_for(self, issuer: str, principal: str) -> tuple[Grant, ...]:
        # What authenticates a user is the server's own business (one of `EMBEDDED_ONLY`).
        self._unsupported("grants_for")
