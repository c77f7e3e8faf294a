"""Role bindings: the roles of identity-provider users, who carry no API token. Grant, list,
revoke: admins only, and never beyond the calling token's own role and model scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.exceptions import HTTPException

from ...domain.access import check_grant, within_reach
from ...domain.errors import NotFound, OutOfScope
from ...domain.roles import RoleBinding, role_binding_not_found
from ..auth import Caller, needs
from ..schemas import RoleBindingOut, RoleIn
from .common import ERRORS

router = APIRouter(prefix="/api/v1/roles", tags=["roles"], responses=ERRORS)

BindingId = Annotated[str, PathParam(pattern="^[0-9a-f]{12}$", description="A role binding's id.")]
BINDING = "a role binding"


def _visible(caller: Caller, binding: RoleBinding) -> bool:
    """A caller scoped to a pattern sees (and may revoke) only bindings inside its scope."""
    return within_reach(caller.principal, binding.model_pattern)


@router.post("", response_model=RoleBindingOut, status_code=201)
def grant(body: RoleIn, request: Request, caller: Caller = needs("role.grant")) -> dict[str, Any]:
    """Bind a role to an identity-provider user; it may do nothing the calling token may
    not (role and model scope). Without `issuer`, the server's own identity provider."""
    check_grant(caller.principal, body.role, body.model_pattern, what=BINDING)
    issuer = body.issuer or getattr(request.app.state, "oidc_issuer", None)
    if issuer is None:
        raise HTTPException(
            400,
            "this server has no identity provider configured: give the issuer URL of the "
            "one whose users the binding is for (issuer)",
        )
    found = caller.registry.grant_role(
        body.principal, body.role, issuer=issuer, model_pattern=body.model_pattern
    )
    return found.to_dict()


@router.get("", response_model=list[RoleBindingOut])
def list_roles(
    include_revoked: Annotated[bool, Query(description="Also revoked bindings.")] = True,
    caller: Caller = needs("role.list"),
) -> list[dict[str, Any]]:
    """Role bindings inside the caller's scope, oldest first."""
    found = caller.registry.role_bindings(include_revoked=include_revoked)
    return [b.to_dict() for b in found if _visible(caller, b)]


@router.post("/{binding_id}/revoke", response_model=RoleBindingOut)
def revoke(binding_id: BindingId, caller: Caller = needs("role.revoke")) -> dict[str, Any]:
    """Revoke a role binding for good (audited): only one the caller could have granted. One
    outside the caller's scope answers as a missing one: the caller cannot list it either."""
    found = next((b for b in caller.registry.role_bindings() if b.binding_id == binding_id), None)
    if found is None:
        raise NotFound(role_binding_not_found(binding_id))
    if not _visible(caller, found):
        raise OutOfScope(role_binding_not_found(binding_id))
    check_grant(caller.principal, found.role, found.model_pattern, verb="revoke", what=BINDING)
    return caller.registry.revoke_role(binding_id).to_dict()
