"""Idempotency keys of registrations: a retried register returns the version it made.

A client that loses the answer to a register cannot tell whether the version was made; it
sends the request again with the same key, and the store answers with the version that key
made instead of a second, identical one. A key is recorded once, by (actor, key), in the
version's own transaction, and never changes or goes away (on PostgreSQL, not even by
TRUNCATE): a replay weeks later still finds it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelrepo.stores.sql.migrations.helpers import allow_truncate, refuse, refuse_truncate

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REFUSAL = "an idempotency key is recorded once and never changes"


def upgrade() -> None:
    op.create_table(
        "registration_keys",
        sa.Column("actor", sa.String(256), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    refuse("registration_keys", "UPDATE OR DELETE", REFUSAL)
    refuse_truncate("registration_keys", REFUSAL)


def downgrade() -> None:
    allow_truncate("registration_keys")
    op.drop_table("registration_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION registration_keys_no_update_delete()")
