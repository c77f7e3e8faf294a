"""Deleted models: a model may be deleted (never one whose versions were deployed), kept as
a tombstone with who deleted it and when; it answers as missing until its name is taken again.

Revision ID: 0012
Revises: 0011
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
    with op.batch_alter_table("models") as batch:
        batch.drop_column("deleted_by")
        batch.drop_column("deleted_at")
