"""Bring a database's schema to the current revision with Alembic, once and under a lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

HEAD_REVISION = "0016"
"""The newest migration; a test keeps it equal to Alembic's head."""

MIGRATIONS = Path(__file__).with_name("migrations")


def current_revision(conn: sa.Connection) -> str | None:
    """The schema revision recorded in the database, or None for an empty database."""
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if revision is None else str(revision)


def upgrade(conn: sa.Connection) -> None:
    """Run pending migrations on `conn`, which the caller holds inside a write transaction."""
    # Imported here: Alembic costs start-up time and is needed only when the schema changes.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
