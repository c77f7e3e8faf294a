"""Helpers shared by migrations. Keep them stable: old migrations depend on them."""

from __future__ import annotations

from alembic import op


def refuse(table: str, actions: str, message: str) -> None:
    """Make the database itself refuse some changes to a table, whoever connects."""
    dialect = op.get_bind().dialect.name
    quoted = message.replace("'", "''")
    if dialect == "sqlite":
        for action in actions.split(" OR "):
            name = f"{table}_immutable" if " OF " in action else f"{table}_no_{action.lower()}"
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{quoted}'); END"
            )
    elif dialect == "postgresql":
        name = (
            f"{table}_immutable"
            if " OF " in actions
            else f"{table}_no_" + "_".join(a.lower() for a in actions.split(" OR "))
        )
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{quoted}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {actions} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
