"""API tokens: create (the token is in the answer, once), list (never a token or its hash),
revoke. Admins only, and never beyond the calling token's own role and model scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from ...domain.access import ApiToken, check_grant, pattern_within
from ...domain.errors import NotFound, OutOfScope, token_not_found
from ..auth import Caller, needs
from ..schemas import TokenCreatedOut, TokenIn, TokenOut
from .common import ERRORS

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=ERRORS)

TokenId = Annotated[str, PathParam(pattern="^[0-9a-f]{12}$", description="A token's id.")]


def _visible(caller: Caller, token: ApiToken) -> bool:
    """A token scoped to a pattern sees (and may revoke) only tokens inside its scope."""
    return pattern_within(token.model_pattern, caller.token.model_pattern)


@router.post("", response_model=TokenCreatedOut, status_code=201)
def create(body: TokenIn, caller: Caller = needs("token.create")) -> dict[str, Any]:
    """A new token; it may do nothing the calling token may not (role and model scope).
    The answer carries the token itself, which is never shown again."""
    check_grant(caller.token, body.role, body.model_pattern)
    record, secret = caller.registry.create_token(
        body.user, body.role, model_pattern=body.model_pattern
    )
    return {**record.to_dict(), "token": secret}


@router.get("", response_model=list[TokenOut])
def list_tokens(
    include_revoked: Annotated[bool, Query(description="Also revoked tokens.")] = True,
    caller: Caller = needs("token.list"),
) -> list[dict[str, Any]]:
    """Tokens inside the caller's scope, oldest first: ids, users, roles, scopes."""
    found = caller.registry.tokens(include_revoked=include_revoked)
    return [t.to_dict() for t in found if _visible(caller, t)]


@router.post("/{token_id}/revoke", response_model=TokenOut)
def revoke(token_id: TokenId, caller: Caller = needs("token.revoke")) -> dict[str, Any]:
    """Revoke a token for good (audited): only one the caller could have created. One
    outside the caller's scope answers as a missing one: the caller cannot list it either."""
    found = next((t for t in caller.registry.tokens() if t.token_id == token_id), None)
    if found is None:
        raise NotFound(token_not_found(token_id))
    if not _visible(caller, found):
        raise OutOfScope(token_not_found(token_id))
    check_grant(caller.token, found.role, found.model_pattern, verb="revoke")
    return caller.registry.revoke_token(token_id).to_dict()
