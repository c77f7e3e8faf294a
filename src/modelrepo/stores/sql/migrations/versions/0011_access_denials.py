"""Refused requests on record: one row per distinct refusal and window, append-only.

The server folds repeats of one refusal (same identity or token id, client, route, reason)
within a window into one row with a count, and writes each window's rows as a batch with one
`access.denied` audit entry carrying their digest. Rows never change or go away (on
PostgreSQL, not even by TRUNCATE).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelrepo.stores.sql.migrations.helpers import allow_truncate, refuse, refuse_truncate

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REFUSAL = "a refused request is recorded once and never changes"


def upgrade() -> None:
    op.create_table(
        "access_denials",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("user_name", sa.String(256), nullable=True),
        sa.Column("token_id", sa.String(32), nullable=True),
        sa.Column("client", sa.String(256), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("route", sa.String(512), nullable=False),
        sa.Column("operation", sa.String(64), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_access_denials_last_at", "access_denials", ["last_at"])
    op.create_index("ix_access_denials_model", "access_denials", ["model", "last_at"])
    refuse("access_denials", "UPDATE OR DELETE", REFUSAL)
    refuse_truncate("access_denials", REFUSAL)


def downgrade() -> None:
    allow_truncate("access_denials")
    op.drop_table("access_denials")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION access_denials_no_update_delete()")
