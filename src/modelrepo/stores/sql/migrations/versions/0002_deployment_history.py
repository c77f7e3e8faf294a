"""Deployment history: environments, bitemporal events, requests and their decisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelrepo.stores.sql.migrations.helpers import refuse

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.UniqueConstraint("model_id", "name", name="uq_environments_model_name"),
    )
    op.create_table(
        "environment_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("environment_id", Id, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("request_id", Id, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_table(
        "deployment_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("environment_id", Id, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("versions", sa.Text, nullable=False),
        sa.Column("effective_at", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("request_id", Id, nullable=True),
        sa.Column("approved_by", sa.String(256), nullable=True),
        sa.Column("approved_at", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_deployment_events_live",
        "deployment_events",
        ["environment_id", "effective_at", "id", "recorded_at"],
    )
    op.create_index("ix_deployment_events_model", "deployment_events", ["model_id", "id"])
    op.create_index("ix_deployment_events_recorded", "deployment_events", ["recorded_at"])
    op.create_table(
        "deployment_requests",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("environment_id", Id, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("versions", sa.Text, nullable=False),
        sa.Column("effective_at", sa.BigInteger, nullable=True),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("requested_at", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("base_event_id", Id, nullable=True),
    )
    op.create_table(
        "request_decisions",
        sa.Column("request_id", Id, sa.ForeignKey("deployment_requests.id"), primary_key=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(256), nullable=False),
        sa.Column("decided_at", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("event_id", Id, nullable=True),
    )
    for table in (
        "environment_events",
        "deployment_events",
        "deployment_requests",
        "request_decisions",
    ):
        refuse(table, "UPDATE OR DELETE", f"{table} is append-only")
    refuse("environments", "DELETE", "environments are never deleted")


def downgrade() -> None:
    for table in (
        "request_decisions",
        "deployment_requests",
        "deployment_events",
        "environment_events",
        "environments",
    ):
        op.drop_table(table)
