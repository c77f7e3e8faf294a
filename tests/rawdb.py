"""Statements run on a registry's own database behind its back, as an intruder or a careless
administrator would: on SQLite or PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from modelrepo import Registry


class Refused(Exception):
    """The database itself refused the statement (a trigger or a constraint)."""


def raw_execute(reg: Registry, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run `sql` (with `?` placeholders) on a new connection to the registry's database."""
    metadata: Any = reg.backend.metadata
    raw = metadata._raw
    conn = raw._connect()
    try:
        if raw.dialect_name == "sqlite":
            import apsw

            try:
                conn.execute(sql, params).fetchall()
            except apsw.ConstraintError as exc:
                raise Refused(str(exc)) from exc
        else:
            import psycopg

            try:
                conn.execute(sql.replace("?", "%s"), params)
            except (psycopg.errors.RaiseException, psycopg.errors.IntegrityError) as exc:
                raise Refused(str(exc)) from exc
    finally:
        conn.close()
