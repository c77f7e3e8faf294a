"""API tokens of the server: kept only as SHA-256 hashes; revoking is the one change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelrepo.stores.sql.migrations.helpers import refuse

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_name", sa.String(256), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("model_pattern", sa.String(128), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
        sa.Column("revoked_by", sa.String(256), nullable=True),
    )
    refuse("api_tokens", "DELETE", "API tokens are revoked, never deleted")
    refuse(
        "api_tokens",
        "UPDATE OF token_id, token_hash, user_name, role, model_pattern, created_at, created_by",
        "an API token never changes (it can only be revoked)",
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
