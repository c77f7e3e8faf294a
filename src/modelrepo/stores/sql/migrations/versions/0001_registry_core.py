"""Registry core: models, versions, files, tags and version events.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from modelrepo.stores.sql.migrations.helpers import refuse

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    info = op.create_table(
        "store_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.bulk_insert(info, [{"key": "store_id", "value": str(uuid.uuid4())}])
    op.create_table(
        "models",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("flavor", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=True),
        sa.Column("lineage", sa.Text, nullable=False),
        sa.Column("deprecated", sa.Boolean, nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
        sa.Column("deleted_by", sa.String(256), nullable=True),
        sa.UniqueConstraint("model_id", "number", name="uq_versions_model_number"),
    )
    op.create_table(
        "environment_snapshots",
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "version_files",
        sa.Column("version_id", Id, sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("executable", sa.Boolean, nullable=False),
    )
    op.create_index("ix_version_files_sha256", "version_files", ["sha256"])
    op.create_table(
        "version_tags",
        sa.Column("version_id", Id, sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "version_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("version_id", Id, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=True),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_version_events_version", "version_events", ["version_id", "id"])
    for table in ("version_events", "version_files"):
        refuse(table, "UPDATE OR DELETE", f"{table} is append-only")
    refuse("versions", "DELETE", "versions are never deleted, only tombstoned")
    refuse("environment_snapshots", "UPDATE OR DELETE", "environment snapshots are immutable")
    refuse(
        "versions",
        "UPDATE OF " + ", ".join(IMMUTABLE_VERSION_COLUMNS),
        "recorded fields of a version are immutable",
    )


IMMUTABLE_VERSION_COLUMNS = (
    "model_id", "number", "digest", "created_at", "created_by", "description", "flavor",
    "params", "metrics", "signature", "lineage",
)  # fmt: skip


def downgrade() -> None:
    for table in (
        "version_events",
        "version_tags",
        "version_files",
        "environment_snapshots",
        "versions",
        "models",
    ):
        op.drop_table(table)
    op.drop_table("store_info")
