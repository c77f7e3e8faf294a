"""The scale-out metadata store on the machine's PostgreSQL: schema, append-only rules,
concurrency across processes, lost connections and the command line."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from modelrepo import ManualClock, Registry, StoreNotFound
from modelrepo.stores.sql import SqlMetadataStore
from modelrepo.stores.sql.store import redact_url
from modelrepo.stores.sql.tables import metadata
from modelrepo.testing.denials import denial

from ..cli.conftest import MODELREPO
from ..conftest import T0, scaleout_registry
from ..processes import outputs
from ..rawdb import Refused, raw_execute

PARTITIONED = ("decisions", "decision_keys", "decision_inputs", "decision_purges")
"""PostgreSQL's own layout of the decision log (tests/e2e/test_partitions.py checks it)."""


def _declared(obj: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
    table = obj if kind == "table" else getattr(obj, "table", None)
    found = str(table.name if table is not None else name)
    return not found.startswith(PARTITIONED)


def test_migrations_build_exactly_the_declared_schema(pg_url: str) -> None:
    store = SqlMetadataStore.open_postgresql(pg_url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _declared})
            assert compare_metadata(context, metadata) == []
    finally:
        store.close()


def test_an_empty_database_is_migrated_once_and_only_with_create(pg_template: str) -> None:
    from ..postgres import fresh_database

    with fresh_database(None) as url:
        with pytest.raises(StoreNotFound, match="no modelrepo store in database"):
            SqlMetadataStore.open_postgresql(url, create=False)
        first = SqlMetadataStore.open_postgresql(url)
        store_id = first.store_id()
        first.close()
        again = SqlMetadataStore.open_postgresql(url, create=False)
        assert again.store_id() == store_id
        again.close()


def test_reads_of_an_empty_database_leave_it_empty_and_say_run_init(
    pg_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database with no store is told apart from one that cannot be reached, and only a
    write (or `init`) creates the schema."""
    from ..postgres import fresh_database

    blobs = str(tmp_path / "blobs")
    monkeypatch.setenv("MODELREPO_AUDIT_KEY_FILE", str(tmp_path / "audit.pem"))
    with fresh_database(None) as url:
        reg = Registry(database_url=url, blob_url=blobs, user="alice")
        for read in (reg.models, lambda: reg.history("m"), reg.audit_verify):
            with pytest.raises(StoreNotFound, match=r"no modelrepo store in database .*init"):
                read()
        env = {**os.environ, "MODELREPO_DATABASE_URL": url, "MODELREPO_BLOB_URL": blobs}
        for args in (("history", "m"), ("versions", "m"), ("audit", "verify")):
            done = subprocess.run([MODELREPO, *args], env=env, capture_output=True, text=True,
                                  timeout=120, check=False)  # fmt: skip
            assert done.returncode == 1, done
            assert done.stderr == (
                f"error: no modelrepo store in database {redact_url(url)} (run 'modelrepo init')\n"
            )
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
            assert tables == (0,), "a read migrated the database"
        (tmp_path / "m.json").write_text("{}")
        assert reg.register("m", tmp_path / "m.json", code=False).version == 1
        assert reg.created_store
        reg.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE versions SET digest = 'sha256:0'",
        "DELETE FROM versions",
        "UPDATE version_files SET sha256 = 'x'",
        "DELETE FROM version_events",
        "UPDATE model_events SET actor = 'mallory'",
        "DELETE FROM model_events",
        "UPDATE deployment_events SET actor = 'mallory'",
        "DELETE FROM deployment_events",
        "UPDATE audit_entries SET kind = 'x'",
        "DELETE FROM audit_entries",
        "UPDATE audit_nodes SET hash = '\\x00'",
        "DELETE FROM decisions",
        "UPDATE decisions SET output = '1'",
        "UPDATE registration_keys SET number = 2",
        "DELETE FROM registration_keys",
        "UPDATE access_denials SET count = 1",
        "DELETE FROM access_denials",
    ],
)
def test_postgresql_itself_refuses_rewriting_history(
    pg_env: dict[str, str], artifact: Path, statement: str
) -> None:
    with scaleout_registry(pg_env, user="a", clock=ManualClock(T0)) as reg:
        reg.register("m", artifact, code=False, idempotency_key="run-1")
        reg.tag("m", 1, "stage", "candidate")
        reg.describe_model("m", "A model.")
        reg.deploy("m", 1, env="production")
        reg.log_decision("m", environment="production", inputs={"x": 1}, output=0)
        reg.record_denials([denial()])
        with pytest.raises(Refused, match="immutable|append-only|never"):
            raw_execute(reg, statement)
        assert reg.audit_verify().ok
        assert reg.live("m", env="production").versions[0].version == 1


TRUNCATED = [
    ("TRUNCATE audit_entries", "audit_entries is append-only"),
    ("TRUNCATE audit_nodes, audit_checkpoints", "audit_nodes is append-only"),
    ("TRUNCATE deployment_events", "deployment_events is append-only"),
    ("TRUNCATE model_events", "model_events is append-only"),
    ("TRUNCATE versions CASCADE", "versions are never deleted, only tombstoned"),
    ("TRUNCATE decisions", "decisions are never deleted"),
    ("TRUNCATE decision_keys", "a decision id is recorded once and never changes"),
    ("TRUNCATE decision_inputs", "decision inputs are only purged by retention"),
    ("TRUNCATE registration_keys", "an idempotency key is recorded once and never changes"),
    ("TRUNCATE access_denials", "a refused request is recorded once and never changes"),
]


def _counts(url: str) -> dict[str, int]:
    tables = ("audit_entries", "audit_nodes", "deployment_events", "model_events", "versions",
              "version_files", "decisions", "decision_keys", "decision_inputs",
              "registration_keys", "access_denials")  # fmt: skip
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}


def test_postgresql_itself_refuses_truncate(pg_env: dict[str, str], artifact: Path) -> None:
    """Row-level DELETE triggers do not fire on TRUNCATE: a statement-level trigger does."""
    with scaleout_registry(pg_env, user="a", clock=ManualClock(T0)) as reg:
        reg.register("m", artifact, code=False, idempotency_key="run-1")
        reg.describe_model("m", "A model.")
        reg.deploy("m", 1, env="production")
        reg.log_decision("m", environment="production", inputs={"x": 1}, output=0)
        reg.record_denials([denial()])
        before = _counts(pg_env["MODELREPO_DATABASE_URL"])
        assert all(before.values())
        for statement, refusal in TRUNCATED:
            with pytest.raises(Refused, match=f"^{refusal}: TRUNCATE is refused"):
                raw_execute(reg, statement)
        assert _counts(pg_env["MODELREPO_DATABASE_URL"]) == before
        assert reg.audit_verify().ok
        assert reg.live("m", env="production").versions[0].version == 1
        decision = reg.decisions("m")[0].decision_id
        assert reg.decision_inputs(decision) == {"x": 1}


def test_every_table_that_refuses_delete_refuses_truncate(pg_url: str) -> None:
    """A catalog check, so a table added later with a DELETE trigger cannot forget TRUNCATE."""
    delete, truncate = 1 << 3, 1 << 5  # pg_trigger.tgtype bits
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, bool_or(t.tgtype & %(d)s <> 0), bool_or(t.tgtype & %(t)s <> 0) "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal GROUP BY c.relname",
            {"d": delete, "t": truncate},
        ).fetchall()
    refusing_delete = {name for name, deletes, _ in rows if deletes}
    refusing_truncate = {name for name, _, truncates in rows if truncates}
    assert {"audit_entries", "deployment_events", "versions", "decisions"} <= refusing_delete
    assert refusing_delete <= refusing_truncate
    assert refusing_truncate - refusing_delete == {"decision_inputs"}


WORKER = textwrap.dedent(
    """
    import json, os, sys, pathlib
    from modelrepo import Registry
    worker, count, scratch = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    numbers, events = [], []
    with Registry(user="worker-" + worker) as reg:  # everything from the environment
        for i in range(count):
            path = pathlib.Path(scratch) / f"w{worker}-{i}.json"
            path.write_text(json.dumps({"worker": worker, "i": i}))
            v = reg.register("shared", path, code=False).version
            numbers.append(v)
            events.append(reg.deploy("shared", v, env="production").event.event_id)
    print(json.dumps([numbers, events]))
    """
)


@pytest.mark.slow
def test_four_processes_register_and_deploy_in_one_total_order(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, **pg_env}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(w), "15", str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(4)
    ]
    results = [json.loads(out) for out in outputs(procs)]
    numbers = [n for r in results for n in r[0]]
    assert sorted(numbers) == list(range(1, 61))  # gap-free, none twice
    for mine, _ in results:
        assert mine == sorted(mine)
    with scaleout_registry(pg_env) as reg:
        history = reg.history("shared", env="production")
        assert len(history) == 60
        ids = [e.event_id for e in history]
        assert ids == sorted(ids) and len(set(ids)) == 60
        recorded = [e.recorded_at for e in history]
        assert all(a < b for a, b in itertools.pairwise(recorded))
        assert sorted(ids) == sorted(i for r in results for i in r[1])
        # the last event recorded is what is live
        last = history[-1].versions[0].version
        assert reg.live("shared", env="production").versions[0].version == last
        report = reg.audit_verify()
        assert report.ok, report.problems
        assert reg.fsck().ok


def test_a_lost_connection_is_replaced(pg_env: dict[str, str], artifact: Path) -> None:
    with scaleout_registry(pg_env, user="a") as reg:
        reg.register("m", artifact, code=False)
        with psycopg.connect(pg_env["MODELREPO_DATABASE_URL"], autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        # The next call meets a dead connection; the one after runs on a new one.
        try:
            reg.versions("m")
        except Exception as exc:
            assert "database" in str(exc)
        (artifact / "features.csv").write_text("changed\n")
        assert reg.register("m", artifact, code=False).version == 2
        assert [v.version for v in reg.versions("m")] == [1, 2]
        assert reg.audit_verify().ok


def test_a_database_store_needs_its_audit_key_named(pg_url: str, tmp_path: Path) -> None:
    from modelrepo import InvalidInput

    with pytest.raises(InvalidInput, match="MODELREPO_AUDIT_KEY_FILE"):
        Registry(database_url=pg_url, blob_url=str(tmp_path / "shared-folder"))
    with pytest.raises(InvalidInput, match="needs a blob store"):
        Registry(database_url=pg_url)


def test_passwords_never_reach_locations_or_messages() -> None:
    assert redact_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    from modelrepo import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        SqlMetadataStore.open_postgresql("mysql://u:s3cret@h/db")
    assert "s3cret" not in str(caught.value)


def test_the_command_line_on_postgresql(
    pg_env: dict[str, str], artifact: Path, tmp_path: Path
) -> None:
    env = {**os.environ, **pg_env}
    env.pop("MODELREPO_STORE", None)

    def sh(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [MODELREPO, "--user", "alice", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
        )  # fmt: skip
        if ok:
            assert done.returncode == 0, done
        return done

    sh("init")
    assert (
        json.loads(sh("register", "credit-risk", str(artifact), "--no-code", "--json").stdout)[
            "version"
        ]
        == 1
    )
    sh("deploy", "credit-risk@1", "--env", "production", "--reason", "first")
    live = json.loads(sh("live", "credit-risk", "--env", "production", "--json").stdout)
    assert live["versions"][0]["version"] == 1
    assert json.loads(sh("audit", "verify", "--json").stdout)["ok"] is True
    big = artifact / "weights.bin"
    big.write_bytes(os.urandom(9 << 20))  # over one 8 MiB part: a multipart upload to S3
    sh("register", "credit-risk", str(artifact), "--no-code")
    sh("download", "credit-risk@2", str(tmp_path / "out"))
    assert (tmp_path / "out" / "weights.bin").read_bytes() == big.read_bytes()
    assert json.loads(sh("fsck", "--json").stdout)["ok"] is True
    # Both a folder store and a database store at once is a mistake, said in one line.
    both = sh("--store", str(tmp_path / "s"), "models", ok=False)
    assert both.returncode == 1
    assert both.stderr.count("\n") == 1 and "either --store or --database-url" in both.stderr
    # A database without a store, opened by a read command, is named (password hidden).
    env["MODELREPO_DATABASE_URL"] = (
        pg_env["MODELREPO_DATABASE_URL"].replace("postgres@", "postgres:pw@") + "_missing"
    )
    missing = sh("models", ok=False)
    assert missing.returncode == 1 and "pw" not in missing.stderr
