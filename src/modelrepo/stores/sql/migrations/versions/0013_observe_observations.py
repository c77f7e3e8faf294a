"""Observations: deployment events that say what an environment served when it was looked at.

A registry that keeps no history (MLflow's aliases and stages) can only say what serves now.
An import records that as an `observe` event; its two new columns say what it does not know:
`unknown_from` (what served between it and the event is unknown; NULL: since the beginning of
time) and `earliest_at` (the earliest its versions could have started serving). Both are NULL
on every other kind. A partial index over observations keeps "what was live at T" one index
lookup per half.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OBSERVED = "kind = 'observe'"


def upgrade() -> None:
    # Adding a nullable column rewrites no row, so the append-only triggers are not involved.
    op.add_column("deployment_events", sa.Column("unknown_from", sa.BigInteger, nullable=True))
    op.add_column("deployment_events", sa.Column("earliest_at", sa.BigInteger, nullable=True))
    op.create_index(
        "ix_deployment_events_observed",
        "deployment_events",
        ["environment_id", "effective_at", "id", "unknown_from", "recorded_at"],
        sqlite_where=sa.text(OBSERVED),
        postgresql_where=sa.text(OBSERVED),
    )


def downgrade() -> None:
    op.drop_index("ix_deployment_events_observed", "deployment_events")
    # Not a batch (copy-and-move) operation on SQLite: that would drop the table's triggers.
    op.drop_column("deployment_events", "earliest_at")
    op.drop_column("deployment_events", "unknown_from")
