"""Commands about role bindings: the roles of people who sign in through the identity
provider and carry no API token."""

from __future__ import annotations

import click

from ..domain.access import ROLES
from ..domain.principals import auth_label
from ..domain.roles import RoleBinding
from ..domain.times import format_time
from .base import Context, cli, command, emit, pass_ctx


@cli.group()
def role() -> None:
    """Role bindings: the roles and model scopes of identity-provider users, who carry no
    API token."""


def _binding_line(b: RoleBinding) -> str:
    scope = b.model_pattern or "*"
    state = f"revoked {format_time(b.revoked_at)} by {b.revoked_by}" if b.revoked_at else "active"
    return (
        f"{b.binding_id}  {b.principal:<24} {b.role:<11} {scope:<16} granted "
        f"{format_time(b.granted_at)} by {b.granted_by} ({auth_label(b.granted_auth)})  "
        f"{state}  issuer {b.issuer}"
    )


@command(role, "grant")
@click.argument("principal")
@click.option(
    "--role", "role_name", required=True, type=click.Choice(ROLES), help="What it may do."
)
@click.option("--model", "pattern", metavar="PATTERN", help="Only models matching this glob.")
@click.option(
    "--issuer",
    metavar="URL",
    help="The identity provider's issuer URL (default against a server: the one it is "
    "configured with; required on an embedded store).",
)
@pass_ctx
def role_grant(
    ctx: Context,
    principal: str,
    role_name: str,
    pattern: str | None,
    issuer: str | None,
    as_json: bool,
) -> None:
    """Give PRINCIPAL (an identity-provider user's identity claim, e.g. an email) a role.

    Roles are those of API tokens: viewer, contributor, deployer, approver, admin. Nobody
    grants more than they may do themselves. The grant is recorded in the audit trail with
    who granted it and how they authenticated. Service accounts (svc:...) get their roles
    through their tokens instead.

    \b
    Examples:
      modelrepo role grant alice@bank.example --role deployer --model 'fraud-*'
      modelrepo role grant bob@bank.example --role viewer --issuer https://idp.bank.example
    """
    with ctx.registry() as reg:
        found = reg.grant_role(principal, role_name, issuer=issuer, model_pattern=pattern)
    emit(
        as_json,
        found.to_dict(),
        lambda: click.echo(
            f"role binding {found.binding_id}: {found.principal} is {found.role} on models "
            f"{found.model_pattern or '*'} (issuer {found.issuer})"
        ),
    )


@command(role, "list")
@click.option("--active", is_flag=True, help="Leave out revoked bindings.")
@pass_ctx
def role_list(ctx: Context, active: bool, as_json: bool) -> None:
    """List role bindings: who, which role, which models, granted by whom and how.

    \b
    Examples:
      modelrepo role list
      modelrepo role list --active --json
    """
    with ctx.registry() as reg:
        found = reg.role_bindings(include_revoked=not active)
    emit(
        as_json,
        [b.to_dict() for b in found],
        lambda: click.echo("\n".join(_binding_line(b) for b in found) or "no role bindings"),
    )


@command(role, "revoke")
@click.argument("binding_id")
@pass_ctx
def role_revoke(ctx: Context, binding_id: str, as_json: bool) -> None:
    """Revoke a role binding for good (recorded in the audit trail).

    \b
    Examples:
      modelrepo role revoke 3f9a1c0b7d2e
    """
    with ctx.registry() as reg:
        revoked = reg.revoke_role(binding_id)
    emit(
        as_json,
        revoked.to_dict(),
        lambda: click.echo(f"revoked {revoked.binding_id} ({revoked.principal}, {revoked.role})"),
    )
