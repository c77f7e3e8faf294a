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


def refuse_truncate(table: str, message: str) -> None:
    """PostgreSQL: refuse TRUNCATE of a table and of each partition it has now.

    Row-level DELETE triggers do not fire on TRUNCATE, and a statement-level trigger is
    neither cloned to partitions nor fired for a partition truncated directly: partitions
    made later get theirs where they are made (`stores/sql/partitions.py`). SQLite has no
    TRUNCATE (its DELETE without WHERE fires the row triggers), so nothing is done there.
    """
    if op.get_bind().dialect.name != "postgresql":
        return
    name = f"{table}_no_truncate"
    quoted = f"{message}: TRUNCATE is refused".replace("'", "''")
    op.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{quoted}'; END $$"
    )
    partitions = op.get_bind().exec_driver_sql(
        "SELECT relid::text FROM pg_partition_tree(%(t)s::regclass) WHERE level > 0 ORDER BY 1",
        {"t": table},
    )
    for on in [table, *(str(r[0]) for r in partitions)]:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE TRUNCATE ON {on} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def allow_truncate(table: str) -> None:
    """Undo `refuse_truncate`: the function goes, and with it the trigger on every partition."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {table}_no_truncate() CASCADE")
