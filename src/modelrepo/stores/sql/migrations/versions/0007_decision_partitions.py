"""PostgreSQL: the decision log partitioned by month; kept inputs in their own partitions.

On PostgreSQL `decisions` becomes a table partitioned by RANGE (decided_at), one partition a
month; `decision_keys` keeps each decision id once (a unique index on a partitioned table
must hold the partition key, so uniqueness of the id lives here) and says which partition
holds it; kept inputs move to `decision_inputs`, partitioned by LIST (model) then by month,
so retention drops whole partitions; `decision_purges` records each purge as a range
(decisions of a model made before a time, up to a decision id). SQLite keeps one table:
this revision changes nothing there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RECORD = (
    "id, decision_id, model_id, environment, version, version_source, decided_at, "
    "recorded_at, inputs_digest, inputs_mode, output, metadata, flags"
)


def _micros(year: int, month: int) -> int:
    delta = datetime(year, month, 1, tzinfo=UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _bounds(year: int, month: int) -> str:
    upper = 2**63 - 1 if (year, month) == (9999, 12) else _micros(*_next(year, month))
    return f"FROM ({_micros(year, month)}) TO ({upper})"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps its single table
    bind = op.get_bind()
    op.execute("ALTER TABLE decisions RENAME TO decisions_unpartitioned")
    op.execute("ALTER INDEX ix_decisions_model_time RENAME TO ix_decisions_unpartitioned")
    op.execute(
        "CREATE TABLE decisions ("
        "id BIGINT NOT NULL DEFAULT nextval('decisions_id_seq'), "
        "decision_id VARCHAR(128) NOT NULL, "
        "model_id BIGINT NOT NULL REFERENCES models (id), "
        "environment VARCHAR(128), version INTEGER NOT NULL, "
        "version_source VARCHAR(16) NOT NULL, decided_at BIGINT NOT NULL, "
        "recorded_at BIGINT NOT NULL, inputs_digest VARCHAR(71) NOT NULL, "
        "inputs_mode VARCHAR(8) NOT NULL, output TEXT NOT NULL, metadata TEXT NOT NULL, "
        "flags TEXT NOT NULL, PRIMARY KEY (id, decided_at)"
        ") PARTITION BY RANGE (decided_at)"
    )
    op.execute("CREATE INDEX ix_decisions_model_time ON decisions (model_id, decided_at)")
    op.execute("ALTER SEQUENCE decisions_id_seq OWNED BY decisions.id")
    op.execute(
        "CREATE TABLE decision_keys (decision_id VARCHAR(128) PRIMARY KEY, "
        "decided_at BIGINT NOT NULL, id BIGINT NOT NULL, model_id BIGINT NOT NULL)"
    )
    op.execute(
        "CREATE TABLE decision_inputs (model_id BIGINT NOT NULL, decided_at BIGINT NOT NULL, "
        "id BIGINT NOT NULL, decision_id VARCHAR(128) NOT NULL, "
        "inputs_digest VARCHAR(71) NOT NULL, inputs TEXT, "
        "PRIMARY KEY (model_id, decided_at, id)) PARTITION BY LIST (model_id)"
    )
    op.execute(
        "CREATE TABLE decision_purges (id BIGSERIAL PRIMARY KEY, "
        "model_id BIGINT NOT NULL REFERENCES models (id), decided_before BIGINT NOT NULL, "
        "last_id BIGINT NOT NULL, purged_at BIGINT NOT NULL)"
    )
    op.execute("CREATE INDEX ix_decision_purges_model ON decision_purges (model_id)")

    # The partitions the existing rows need, then the rows.
    months = bind.exec_driver_sql(
        "SELECT DISTINCT model_id, inputs_mode <> 'digest' AND inputs_purged_at IS NULL, "
        "EXTRACT(YEAR FROM t)::int, EXTRACT(MONTH FROM t)::int FROM ("
        "SELECT model_id, inputs_mode, inputs_purged_at, "
        "to_timestamp(floor(decided_at / 1000000.0)) AT TIME ZONE 'UTC' AS t "
        "FROM decisions_unpartitioned) AS s"
    ).all()
    made: set[str] = set()
    for model_id, kept, year, month in months:
        record = f"decisions_{year:04d}_{month:02d}"
        if record not in made:
            op.execute(
                f"CREATE TABLE {record} PARTITION OF decisions FOR VALUES {_bounds(year, month)}"
            )
            made.add(record)
        if kept:
            per_model = f"decision_inputs_m{model_id}"
            if per_model not in made:
                op.execute(
                    f"CREATE TABLE {per_model} PARTITION OF decision_inputs "
                    f"FOR VALUES IN ({model_id}) PARTITION BY RANGE (decided_at)"
                )
                made.add(per_model)
            name = f"{per_model}_{year:04d}_{month:02d}"
            if name not in made:
                op.execute(
                    f"CREATE TABLE {name} PARTITION OF {per_model} "
                    f"FOR VALUES {_bounds(year, month)}"
                )
                made.add(name)
    op.execute(f"INSERT INTO decisions ({RECORD}) SELECT {RECORD} FROM decisions_unpartitioned")  # noqa: S608
    op.execute(
        "INSERT INTO decision_keys (decision_id, decided_at, id, model_id) "
        "SELECT decision_id, decided_at, id, model_id FROM decisions_unpartitioned"
    )
    op.execute(
        "INSERT INTO decision_inputs (model_id, decided_at, id, decision_id, inputs_digest, "
        "inputs) SELECT model_id, decided_at, id, decision_id, inputs_digest, inputs "
        "FROM decisions_unpartitioned "
        "WHERE inputs_mode <> 'digest' AND inputs_purged_at IS NULL"
    )
    # Each purge so far purged every older decision of its model already recorded, and ids
    # grow: its range is (made before the newest it purged, up to the highest id it purged).
    op.execute(
        "INSERT INTO decision_purges (model_id, decided_before, last_id, purged_at) "
        "SELECT model_id, max(decided_at) + 1, max(id), inputs_purged_at "
        "FROM decisions_unpartitioned WHERE inputs_purged_at IS NOT NULL "
        "GROUP BY model_id, inputs_purged_at ORDER BY inputs_purged_at, model_id"
    )
    op.execute("DROP TABLE decisions_unpartitioned")
    op.execute("DROP FUNCTION decisions_purge_only()")

    # Append-only, as before: row triggers on a partitioned table hold on every partition,
    # including partitions made later and statements run on a partition directly.
    op.execute(
        "CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions "
        "FOR EACH ROW EXECUTE FUNCTION decisions_no_delete()"
    )
    op.execute(
        "CREATE TRIGGER decisions_immutable BEFORE UPDATE ON decisions "
        "FOR EACH ROW EXECUTE FUNCTION decisions_immutable()"
    )
    for table, what in (
        ("decision_keys", "a decision id is recorded once and never changes"),
        ("decision_purges", "a purge of decision inputs is never undone"),
    ):
        op.execute(
            f"CREATE FUNCTION {table}_immutable() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{what}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_immutable()"
        )
    # Kept inputs are only ever removed (retention: a partition dropped, or rows deleted).
    op.execute(
        "CREATE FUNCTION decision_inputs_purge_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'decision inputs can only be purged, never written or "
        "restored'; END $$"
    )
    op.execute(
        "CREATE TRIGGER decision_inputs_purge_only BEFORE UPDATE ON decision_inputs "
        "FOR EACH ROW EXECUTE FUNCTION decision_inputs_purge_only()"
    )


def downgrade() -> None:
    raise NotImplementedError("the decision log is not un-partitioned")
