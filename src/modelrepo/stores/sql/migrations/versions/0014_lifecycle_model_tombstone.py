"""Deleted models: a model may be deleted (never one whose versions were deployed), kept as
a tombstone with who deleted it and when; it answers as missing until its name is taken again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("models", sa.Column("deleted_at", sa.BigInteger, nullable=True))
    op.add_column("models", sa.Column("deleted_by", sa.String(256), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite 3.35+): a batch rebuild would drop and
    # recreate `models`, which the tables that refer to it do not allow.
    op.execute("ALTER TABLE models DROP COLUMN deleted_by")
    op.execute("ALTER TABLE models DROP COLUMN deleted_at")
