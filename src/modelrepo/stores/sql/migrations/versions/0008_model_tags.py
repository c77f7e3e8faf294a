"""Model-level tags and description: current values plus an append-only change history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelrepo.stores.sql.migrations.helpers import refuse

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("models", sa.Column("description", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "model_tags",
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "model_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=True),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_model_events_model", "model_events", ["model_id", "id"])
    refuse("model_events", "UPDATE OR DELETE", "model_events is append-only")


def downgrade() -> None:
    op.drop_table("model_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION model_events_no_update_delete()")
    op.drop_table("model_tags")
    # Plain ALTER TABLE on both databases (SQLite 3.35+): a batch rebuild would drop and
    # recreate `models`, which the tables that refer to it do not allow.
    op.execute("ALTER TABLE models DROP COLUMN description")
