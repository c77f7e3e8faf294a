"""Decision log (decisions, per-model input policy) and observed serving periods.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelrepo.stores.sql.migrations.helpers import refuse

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


RECORDED = (
    "id", "decision_id", "model_id", "environment", "version", "version_source", "decided_at",
    "recorded_at", "inputs_digest", "inputs_mode", "output", "metadata", "flags",
)  # fmt: skip


def purge_only() -> None:
    """Inputs may only ever be removed (retention), and a purge never undone."""
    message = "decision inputs can only be purged, never written or restored"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER decisions_purge_only BEFORE UPDATE OF inputs, inputs_purged_at "
            "ON decisions WHEN NEW.inputs IS NOT NULL OR OLD.inputs_purged_at IS NOT NULL "
            "OR NEW.inputs_purged_at IS NULL "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
    else:
        op.execute(
            "CREATE FUNCTION decisions_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.inputs IS NOT NULL OR OLD.inputs_purged_at IS NOT NULL "
            f"OR NEW.inputs_purged_at IS NULL THEN RAISE EXCEPTION '{message}'; END IF; "
            "RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER decisions_purge_only BEFORE UPDATE OF inputs, inputs_purged_at "
            "ON decisions FOR EACH ROW EXECUTE FUNCTION decisions_purge_only()"
        )


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(128), nullable=False, unique=True),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("environment", sa.String(128), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("version_source", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("inputs_digest", sa.String(71), nullable=False),
        sa.Column("inputs_mode", sa.String(8), nullable=False),
        sa.Column("inputs", sa.Text, nullable=True),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("flags", sa.Text, nullable=False),
        sa.Column("inputs_purged_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_decisions_model_time", "decisions", ["model_id", "decided_at"])
    refuse("decisions", "DELETE", "decisions are never deleted")
    refuse(
        "decisions",
        "UPDATE OF " + ", ".join(RECORDED),
        "a decision record never changes (only its inputs can be purged)",
    )
    purge_only()
    op.create_table(
        "serving_periods",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column("host", sa.String(256), nullable=False),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("environment", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("since", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_serving_periods_env", "serving_periods", ["model_id", "environment", "since"]
    )
    op.create_index("ix_serving_periods_instance", "serving_periods", ["instance_id", "id"])
    refuse("serving_periods", "DELETE", "serving periods are never deleted")
    refuse(
        "serving_periods",
        "UPDATE OF instance_id, host, model_id, environment, version, digest, since",
        "an observed serving period only moves its last heartbeat and its end",
    )
    op.create_table(
        "decision_policies",
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("inputs_mode", sa.String(8), nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("serving_periods")
    op.drop_table("decision_policies")
    op.drop_table("decisions")
