"""Identities: how each actor was authenticated, role bindings for identity-provider users,
web sessions, and tokens bound to who minted them.

Every record of who did something to a deployment (an event, a request, its decision, an
environment change) gains a JSON column saying how that actor proved who they are: through
the identity provider (issuer and subject), with an API token (its id and who minted it), or
only asserted (`--user` on an embedded store). NULL on rows written before: they were
recorded without it, and say so. A token keeps whether it is a person's or a service
account's and how its minter was authenticated. `role_bindings` gives identity-provider users
their roles (revoking is the one change, as for tokens); `web_sessions` holds the web UI's
signed-in sessions by the hash of their cookie. An environment may accept requests and
approvals only from identity-provider users (`require_sso`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_AUTH_COLUMNS = (
    ("deployment_events", "actor_auth"),
    ("deployment_events", "approved_auth"),
    ("deployment_requests", "requested_auth"),
    ("request_decisions", "decided_auth"),
    ("environment_events", "actor_auth"),
    ("api_tokens", "minted_auth"),
)


def upgrade() -> None:
    # Nullable columns (or one with a default) rewrite no row: the append-only triggers are
    # not involved.
    for table, column in _AUTH_COLUMNS:
        op.add_column(table, sa.Column(column, sa.Text, nullable=True))
    op.add_column(
        "api_tokens",
        sa.Column("kind", sa.String(16), nullable=False, server_default="person"),
    )
    op.add_column(
        "environments",
        sa.Column("require_sso", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "role_bindings",
        sa.Column("binding_id", sa.String(32), primary_key=True),
        sa.Column("issuer", sa.String(2048), nullable=False),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("model_pattern", sa.String(256), nullable=True),
        sa.Column("granted_at", sa.BigInteger, nullable=False),
        sa.Column("granted_by", sa.String(256), nullable=False),
        sa.Column("granted_auth", sa.Text, nullable=True),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
        sa.Column("revoked_by", sa.String(256), nullable=True),
    )
    op.create_index("ix_role_bindings_principal", "role_bindings", ["principal", "issuer"])
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("issuer", sa.String(2048), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("groups", sa.Text, nullable=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_index("ix_role_bindings_principal", "role_bindings")
    op.drop_table("role_bindings")
    # Plain ALTER TABLE on both databases (SQLite 3.35+): a batch rebuild would drop the
    # tables' triggers and the references to them.
    op.execute("ALTER TABLE environments DROP COLUMN require_sso")
    op.execute("ALTER TABLE api_tokens DROP COLUMN kind")
    for table, column in reversed(_AUTH_COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
