"""Names as wide as MLflow's: model names up to 256 characters, environments up to 255.

Model names now follow MLflow's rule (`domain/names.py`), so every column holding a model
name or a model-name glob grows from 128 to 256 characters, and every column holding an
environment name (an MLflow alias) to 255. No row changes.

PostgreSQL widens a `varchar` in place (no table rewrite, no trigger fires), but refuses
to while a trigger names the column (`BEFORE UPDATE OF ...`, which keeps recorded columns
unchanged): those triggers are dropped and made again, as they were, in the same
transaction, so no one ever sees the table unguarded. SQLite never
enforces a declared length, so only the declared type in each table's definition changes:
the definition is edited in `sqlite_master` (SQLite's documented way for a change that
leaves the stored rows as they are, https://sqlite.org/lang_altertable.html#otheralter),
which keeps the tables' triggers, which rebuilding them would drop.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WIDER = (
    ("models", "name", 256),
    ("environments", "name", 255),
    ("decisions", "environment", 255),
    ("serving_periods", "environment", 255),
    ("api_tokens", "model_pattern", 256),
    ("webhooks", "model_pattern", 256),
    ("access_denials", "model", 256),
)
"""(table, column, new width); every column was 128 wide."""


def _sqlite_widths(widths: dict[tuple[str, str], tuple[int, int]]) -> None:
    """Change the declared width of columns, `(table, column) -> (old, new)`."""
    conn = op.get_bind()
    schema_version = int(conn.exec_driver_sql("PRAGMA schema_version").scalar_one())
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for (table, column), (old, new) in widths.items():
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).scalar_one()
            declared = re.compile(rf"(\b{column}\s+)VARCHAR\({old}\)")
            edited, count = declared.subn(rf"\g<1>VARCHAR({new})", sql)
            if count != 1:
                raise RuntimeError(f"{table}.{column} is not declared VARCHAR({old}): {sql}")
            conn.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                (edited, table),
            )
        conn.exec_driver_sql(f"PRAGMA schema_version = {schema_version + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _triggers_on(table: str, column: str) -> list[tuple[str, str]]:
    """(name, definition) of the triggers of `table` (not those PostgreSQL copies to its
    partitions, which follow the table's own) that name `column`."""
    found = op.get_bind().exec_driver_sql(
        "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr::int2[]) "
        "WHERE t.tgrelid = %(table)s::regclass AND a.attname = %(column)s "
        "AND NOT t.tgisinternal ORDER BY t.tgname",
        {"table": table, "column": column},
    )
    return [(str(name), str(definition)) for name, definition in found]


def _widen(widths: dict[tuple[str, str], tuple[int, int]]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_widths(widths)
        return
    for (table, column), (old, new) in widths.items():
        triggers = _triggers_on(table, column)
        for name, _ in triggers:
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.alter_column(table, column, type_=sa.String(new), existing_type=sa.String(old))
        for _, definition in triggers:
            op.execute(definition)


def upgrade() -> None:
    _widen({(table, column): (128, width) for table, column, width in WIDER})


def downgrade() -> None:
    _widen({(table, column): (width, 128) for table, column, width in WIDER})
