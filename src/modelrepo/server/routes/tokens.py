"""API tokens: create (the token is in the answer, once), list (never a token or its hash),
revoke. Anyone authenticated mints tokens that act as themselves, never beyond their own
role and model scope; admins also mint service accounts' (`svc:NAME`) and see and revoke
the tokens inside their scope; everyone else sees and revokes only their own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from ...domain.access import ApiToken, check_grant, may_administer, within_reach
from ...domain.errors import NotFound, OutOfScope, token_not_found
from ..auth import Caller, needs
from ..schemas import TokenCreatedOut, TokenIn, TokenOut
from .common import ERRORS

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=ERRORS)

TokenId = Annotated[str, PathParam(pattern="^[0-9a-f]{12}$", description="A token's id.")]


def _visible(caller: Caller, token: ApiToken) -> bool:
    """One's own tokens; for an admin, also every token inside its scope."""
    if token.user == caller.user and token.kind == "person":
        return True
    return may_administer(caller.principal) and within_reach(caller.principal, token.model_pattern)


@router.post("", response_model=TokenCreatedOut, status_code=201)
def create(body: TokenIn, caller: Caller = needs("token.create")) -> dict[str, Any]:
    """A new token that acts as the caller (or, minted by an admin, as a service account);
    it may do nothing the caller may not (role and model scope). The answer carries the
    token itself, which is never shown again."""
    record, secret = caller.registry.create_token(
        body.user, body.role, model_pattern=body.model_pattern
    )
    return {**record.to_dict(), "token": secret}


@router.get("", response_model=list[TokenOut])
def list_tokens(
    include_revoked: Annotated[bool, Query(description="Also revoked tokens.")] = True,
    caller: Caller = needs("token.list"),
) -> list[dict[str, Any]]:
    """The caller's own tokens, and for an admin those inside its scope, oldest first."""
    found = caller.registry.tokens(include_revoked=include_revoked)
    return [t.to_dict() for t in found if _visible(caller, t)]


@router.post("/{token_id}/revoke", response_model=TokenOut)
def revoke(token_id: TokenId, caller: Caller = needs("token.revoke")) -> dict[str, Any]:
    """Revoke a token for good (audited): one's own, or for an admin one it could have
    made. One the caller cannot list answers as a missing one."""
    found = next((t for t in caller.registry.tokens() if t.token_id == token_id), None)
    if found is None:
        raise NotFound(token_not_found(token_id))
    if not _visible(caller, found):
        raise OutOfScope(token_not_found(token_id))
    if found.user != caller.user:
        check_grant(caller.principal, found.role, found.model_pattern, verb="revoke")
    return caller.registry.revoke_token(token_id).to_dict()
