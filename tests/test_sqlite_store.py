"""What the embedded SQLite store promises: a fixed SQLite, durability, migrations, guards."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from modelrepo import Registry
from modelrepo.stores.sql import SqlMetadataStore, apsw_dbapi
from modelrepo.stores.sql.raw import compile_statement, statement_names
from modelrepo.stores.sql.schema import HEAD_REVISION, MIGRATIONS
from modelrepo.stores.sql.tables import metadata
from modelrepo.testing.denials import denial

ROOT = Path(__file__).resolve().parent.parent


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_sqlite_has_the_wal_reset_fix(tmp_path: Path) -> None:
    """SQLite before 3.51.3 can corrupt a WAL database shared by several connections."""
    store = SqlMetadataStore.open_sqlite(tmp_path / "m.db")
    assert version_tuple(store.sqlite_version()) >= (3, 51, 3)
    assert apsw_dbapi.sqlite_version_info >= (3, 51, 3)


def test_durable_wal_settings(tmp_path: Path) -> None:
    store = SqlMetadataStore.open_sqlite(tmp_path / "m.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_head_revision_constant_matches_alembic() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrations_build_exactly_the_declared_schema(tmp_path: Path) -> None:
    store = SqlMetadataStore.open_sqlite(tmp_path / "m.db")
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert compare_metadata(context, metadata) == []


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    first = SqlMetadataStore.open_sqlite(tmp_path / "m.db")
    store_id = first.store_id()
    first.close()
    again = SqlMetadataStore.open_sqlite(tmp_path / "m.db")
    assert again.store_id() == store_id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE version_events SET actor = 'mallory'",
        "DELETE FROM version_events",
        "UPDATE model_events SET value = 'x'",
        "DELETE FROM model_events",
        "UPDATE version_files SET sha256 = 'x'",
        "DELETE FROM version_files",
        "DELETE FROM versions",
        "UPDATE versions SET digest = 'sha256:0'",
        "UPDATE versions SET params = '{}'",
        "UPDATE versions SET created_at = 0",
        "UPDATE environment_snapshots SET body = '{}'",
        "DELETE FROM environment_snapshots",
        "UPDATE registration_keys SET number = 2",
        "DELETE FROM registration_keys",
        "UPDATE access_denials SET count = 1",
        "DELETE FROM access_denials",
    ],
)
def test_the_database_refuses_rewriting_history(
    tmp_path: Path, artifact: Path, statement: str
) -> None:
    with Registry(tmp_path / "s", user="a") as reg:
        reg.register("m", artifact, code=False, idempotency_key="run-1")
        reg.tag("m", 1, "k", "v")
        reg.tag_model("m", "owner", "risk")
        reg.record_denials([denial()])
        engine: sa.Engine = reg.backend.metadata.engine  # type: ignore[attr-defined]
        with (
            engine.connect() as conn,
            pytest.raises(
                sa.exc.DBAPIError, match="immutable|append-only|never deleted|never changes"
            ),
        ):
            conn.exec_driver_sql(statement)
        assert reg.events("m", 1)[0].actor == "a"
        assert reg.fsck().ok


def test_sqlite_needs_no_truncate_trigger(tmp_path: Path, artifact: Path) -> None:
    """SQLite has no TRUNCATE, and a DELETE without WHERE (which it would otherwise empty the
    table with at once) fires the row triggers: migration 0009 adds nothing here."""
    import apsw

    with Registry(tmp_path / "s", user="a") as reg:
        reg.register("m", artifact, code=False)
        reg.deploy("m", 1, env="production")
        reg.log_decision("m", environment="production", inputs={"x": 1}, output=0)
    conn = apsw.Connection(str(tmp_path / "s" / "modelrepo.db"))
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD_REVISION,)]
    assert (
        conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%truncate%'"
        ).fetchall()
        == []
    )
    refusals = {"audit_entries": "append-only", "deployment_events": "append-only",
                "versions": "never deleted", "decisions": "never deleted"}  # fmt: skip
    for table, refusal in refusals.items():
        with pytest.raises(apsw.SQLError, match="syntax error"):
            conn.execute(f"TRUNCATE {table}")
        with pytest.raises(apsw.ConstraintError, match=refusal):
            conn.execute(f"DELETE FROM {table}")
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] > 0


def test_apsw_dbapi_errors_map_to_dbapi_classes(tmp_path: Path) -> None:
    conn = apsw_dbapi.connect(str(tmp_path / "x.db"))
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    conn.commit()
    cur.execute("INSERT INTO t VALUES (1)")
    assert conn.in_transaction
    assert cur.rowcount == 1
    with pytest.raises(apsw_dbapi.IntegrityError):
        cur.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(apsw_dbapi.OperationalError):
        cur.execute("SELECT * FROM missing")
    conn.rollback()
    cur.execute("SELECT k FROM t")
    assert cur.fetchall() == []  # the insert was rolled back
    assert cur.description is not None
    assert [d[0] for d in cur.description] == ["k"]


def test_precompiled_sqlite_statements_are_current() -> None:
    render = runpy.run_path(str(ROOT / "scripts" / "gen_sqlite_forms.py"))["render"]
    current = (ROOT / "src" / "modelrepo" / "stores" / "sql" / "sqlite_forms.py").read_text()
    assert current == render(), "run: python scripts/gen_sqlite_forms.py > .../sqlite_forms.py"


def test_every_statement_compiles_for_postgresql() -> None:
    for name in statement_names():
        sql, names, _, _ = compile_statement(name, "postgresql")
        assert names is None
        assert "?" not in sql, name


def test_reading_a_store_does_not_import_sqlalchemy(tmp_path: Path, artifact: Path) -> None:
    with Registry(tmp_path / "s", user="a") as reg:
        reg.register("m", artifact, code=False)
        reg.deploy("m", 1, env="production")
    probe = (
        "import sys\n"
        "from modelrepo import Registry\n"
        f"reg = Registry({str(tmp_path / 's')!r}, create=False)\n"
        "reg.live('m', env='production'); reg.get('m', 1); reg.history('m')\n"
        "reg.deploy('m', 1, env='staging')\n"
        "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy was imported'\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_environments_are_stored_once(tmp_path: Path, artifact: Path) -> None:
    with Registry(tmp_path / "s", user="a") as reg:
        first = reg.register("m", artifact, code=False)
        second = reg.register("n", artifact, code=False)
        assert first.lineage.environment == second.lineage.environment
        assert reg.get("n", 1).lineage.environment == first.lineage.environment
        conn = apsw_dbapi.connect(str(tmp_path / "s" / "modelrepo.db"))
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM environment_snapshots")
        assert cur.fetchall() == [(1,)]
        cur.execute("SELECT lineage FROM versions")
        assert all("packages" not in row[0] for row in cur.fetchall())


def test_a_write_unchecked_for_references_leaves_them_checked_after(tmp_path: Path) -> None:
    """`write(foreign_keys=False)` (a decision batch's transaction) switches SQLite's checks
    off for that transaction only, whether it commits or fails."""
    store = SqlMetadataStore.open_sqlite(tmp_path / "m.db")
    raw = store._raw

    def checked() -> int:
        return int(raw.reader().all_sql("PRAGMA foreign_keys")[0][0])

    with raw.write(foreign_keys=False) as tx:
        assert tx.all_sql("PRAGMA foreign_keys") == [(0,)]
    assert checked() == 1
    with pytest.raises(RuntimeError), raw.write(foreign_keys=False):
        raise RuntimeError("the batch failed")
    assert checked() == 1
    with raw.write() as tx:
        assert tx.all_sql("PRAGMA foreign_keys") == [(1,)]
    store.close()
