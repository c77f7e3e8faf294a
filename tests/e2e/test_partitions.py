"""PostgreSQL's decision log at volume: monthly partitions made on demand, lookups by id that
read one partition, ids unique across partitions, retention that drops whole partitions,
the upgrade of a log recorded before partitioning, and append-only rules on every partition."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrepo import Conflict, InvalidInput, ManualClock, NotFound, Registry
from modelrepo.domain.audit import rows_digest
from modelrepo.domain.times import format_time, to_micros
from modelrepo.stores.sql import partitions as pg
from modelrepo.stores.sql.copytext import copy_text, field
from modelrepo.stores.sql.schema import HEAD_REVISION

from ..conftest import T0, scaleout_registry
from ..rawdb import Refused, raw_execute


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def query(reg: Registry, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    """A read on the registry's own database, on a connection of its own."""
    raw: Any = reg.backend.metadata
    with raw._raw._connect() as conn:
        return list(conn.execute(sql, params).fetchall())


def model_id(reg: Registry, name: str) -> int:
    return int(query(reg, "SELECT id FROM models WHERE name = %(n)s", {"n": name})[0][0])


def exists(reg: Registry, table: str) -> bool:
    return query(reg, "SELECT to_regclass(%(t)s) IS NOT NULL", {"t": table})[0][0]


def log(reg: Registry, model: str, *times: tuple[str, datetime]) -> None:
    reg.log_decisions(
        {"model": model, "version": 1, "decision_id": decision_id, "decided_at": when,
         "inputs": {"id": decision_id}, "output": 1}
        for decision_id, when in times
    )  # fmt: skip


@pytest.fixture
def reg(pg_env: dict[str, str], artifact: Path) -> Iterator[Registry]:
    with scaleout_registry(pg_env, user="alice", clock=ManualClock(T0)) as registry:
        for name in ("credit-risk", "fraud"):
            registry.register(name, artifact, code=False)
        yield registry


def test_decisions_of_several_months_land_in_their_own_partitions(reg: Registry) -> None:
    log(reg, "credit-risk", ("jan", at(2026, 1, 15)), ("feb", at(2026, 2, 15)),
        ("mar", at(2026, 3, 1)), ("feb-2", at(2026, 2, 28)))  # fmt: skip
    leaves = {
        str(r[0])
        for r in query(reg, "SELECT relid::text FROM pg_partition_tree('decisions') WHERE isleaf")
    }
    assert leaves == {"decisions_2026_01", "decisions_2026_02", "decisions_2026_03"}
    placed = query(
        reg,
        "SELECT tableoid::regclass::text, string_agg(decision_id, ',' ORDER BY decision_id) "
        "FROM decisions GROUP BY 1 ORDER BY 1",
    )
    assert placed == [("decisions_2026_01", "jan"), ("decisions_2026_02", "feb,feb-2"),
                      ("decisions_2026_03", "mar")]  # fmt: skip
    mid = model_id(reg, "credit-risk")
    children = query(
        reg,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %(p)s::regclass ORDER BY 1",
        {"p": f"decision_inputs_m{mid}"},
    )
    assert [r[0] for r in children] == [f"decision_inputs_m{mid}_2026_0{m}" for m in (1, 2, 3)]
    assert [d.decision_id for d in reg.decisions("credit-risk")] == ["jan", "feb", "feb-2", "mar"]
    assert reg.decision_inputs("feb-2") == {"id": "feb-2"}


def _relations(plan: Any) -> set[str]:
    found = set()
    if isinstance(plan, dict):
        if "Relation Name" in plan:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= _relations(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _relations(value)
    return found


def test_a_lookup_by_id_reads_one_partition(reg: Registry) -> None:
    months = [at(2025, m, 10) for m in range(1, 13)]
    log(reg, "credit-risk", *[(f"d-{n}", when) for n, when in enumerate(months)])
    log(reg, "fraud", *[(f"f-{n}", when) for n, when in enumerate(months)])
    mid = model_id(reg, "credit-risk")
    key = query(reg, pg.KEY, {"decision_id": "d-4"})[0]
    params = {"at": key[0], "id": key[1], "model_id": key[2]}
    key_plan = query(reg, "EXPLAIN (FORMAT JSON) " + pg.KEY, {"decision_id": "d-4"})[0][0]
    assert _relations(key_plan) == {"decision_keys"}
    assert "decision_keys_pkey" in json.dumps(key_plan)  # one index probe
    plan = query(reg, "EXPLAIN (FORMAT JSON) " + pg.BY_KEY, params)[0][0]
    assert _relations(plan) == {
        "decisions_2025_05",
        f"decision_inputs_m{mid}_2025_05",
        "models",
        "decision_purges",
    }  # of 12 record partitions and 24 inputs partitions: one of each
    assert reg.decision("d-4")["decided_at"] == format_time(months[4])
    assert reg.decision_inputs("f-11") == {"id": "f-11"}
    with pytest.raises(NotFound):
        reg.decision("d-12")


def test_a_decision_id_is_refused_twice_across_months(reg: Registry) -> None:
    log(reg, "credit-risk", ("dup", at(2026, 1, 15)))
    with pytest.raises(Conflict, match="'dup' is already recorded"):
        log(reg, "credit-risk", ("new", at(2026, 2, 15)), ("dup", at(2026, 3, 1)))
    with pytest.raises(NotFound):  # the whole batch refused
        reg.decision("new")
    with pytest.raises(Refused, match="duplicate key"):
        raw_execute(
            reg,
            "INSERT INTO decision_keys (decision_id, decided_at, id, model_id) "
            "VALUES ('dup', ?, 999, 1)",
            (to_micros(at(2026, 4, 1)),),
        )
    assert [d.decision_id for d in reg.decisions("credit-risk")] == ["dup"]


ODD_TEXTS = ["a\\b", "tab\there", "line\nbreak", "cr\rhere", "\\N", 'é ☃ "q"', "", "\\\t\n"]


def test_any_text_in_a_decision_is_stored_as_it_was_sent(reg: Registry) -> None:
    """The COPY text a batch is sent as: backslashes, tabs, newlines, returns and the NULL
    marker inside outputs, metadata and kept inputs come back as they went in, beside a
    decision without an environment."""
    reg.set_decision_inputs("credit-risk", "inline")
    times = [at(2026, 1, 5) + timedelta(minutes=n) for n in range(len(ODD_TEXTS))]
    reg.log_decision_columns(
        "credit-risk", version=1, decided_at=times, decision_ids=[f"odd-{n}" for n in range(8)],
        inputs=[{"text": t} for t in ODD_TEXTS], outputs=[{"label": t} for t in ODD_TEXTS],
        metadata=[{t: t} for t in ODD_TEXTS],
    )  # fmt: skip
    for n, text in enumerate(ODD_TEXTS):
        found = reg.backend.metadata.get_decision(f"odd-{n}")
        assert (found.inputs, found.output, found.metadata) == ({"text": text}, {"label": text},
                                                                {text: text})  # fmt: skip
        assert found.environment is None
    assert reg.audit_verify(records=True).ok


@given(
    st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1), st.none() | st.text(), st.sampled_from(["x", "\\"])
        ),
        min_size=1,
        max_size=20,
    )
)
def test_copy_text_writes_each_row_as_copy_reads_it(rows: list[tuple[Any, ...]]) -> None:
    """Column by column, as one row at a time would be written (`copytext.field`, checked
    against the server above): fields apart by tabs, one line a row."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    expected = "".join("\t".join(map(field, row)) + "\n" for row in rows)
    assert copy_text(columns) == expected
    assert field(None) == "\\N" and field("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"


def test_retention_drops_whole_partitions_and_purges_the_boundary_row_by_row(
    reg: Registry,
) -> None:
    clock = reg.clock
    assert isinstance(clock, ManualClock)
    reg.set_decision_inputs("credit-risk", "inline", retention_days=30)  # cutoff: Jan 30
    reg.set_decision_inputs("fraud", "blob", retention_days=365)
    december = [("dec-1", at(2025, 12, 5)), ("dec-2", at(2025, 12, 20))]
    log(reg, "credit-risk", *december, ("jan-1", at(2026, 1, 10)), ("jan-2", at(2026, 1, 31)),
        ("feb", at(2026, 2, 10)))  # fmt: skip
    log(reg, "fraud", ("f-dec", at(2025, 12, 6)))
    risk, fraud = model_id(reg, "credit-risk"), model_id(reg, "fraud")
    before = {d.decision_id: d for d in reg.decisions("credit-risk")}

    assert reg.purge_decision_inputs() == {"credit-risk": 3}
    # December wholly expired: its partition is gone; January is purged row by row.
    assert not exists(reg, f"decision_inputs_m{risk}_2025_12")
    kept = query(reg, f"SELECT decision_id FROM decision_inputs_m{risk}_2026_01")
    assert kept == [("jan-2",)]
    assert exists(reg, f"decision_inputs_m{fraud}_2025_12")  # another model, kept a year
    assert reg.decision_inputs("f-dec") == {"id": "f-dec"}
    # The records and digests stay; the inputs are refused as purged, for show and replay.
    for decision_id in ("dec-1", "dec-2", "jan-1"):
        story = reg.decision(decision_id)
        assert story["inputs_digest"] == before[decision_id].inputs_digest
        assert story["inputs"] is None
        assert story["inputs_purged_at"] == format_time(T0)
        with pytest.raises(InvalidInput, match="purged on"):
            reg.decision_inputs(decision_id)
        with pytest.raises(InvalidInput, match="purged on"):
            reg.replay(decision_id)
    assert reg.decision_inputs("jan-2") == {"id": "jan-2"}
    assert reg.decision("feb")["inputs_purged_at"] is None
    entries = [e["change"] for e in reg.audit_log("model:credit-risk")
               if e["kind"] == "decisions.inputs_purged"]  # fmt: skip
    assert entries == [{
        "model": "credit-risk", "decided_before": format_time(T0 - timedelta(days=30)),
        "count": 3, "first": "dec-1", "last": "jan-1",
        "decisions_sha256": rows_digest([("dec-1",), ("dec-2",), ("jan-1",)]),
    }]  # fmt: skip
    assert reg.purge_decision_inputs() == {}  # nothing left to purge

    # A decision made long ago but recorded after the purge keeps its inputs until the next.
    clock.advance(timedelta(hours=1))
    log(reg, "credit-risk", ("late", at(2025, 12, 7)))
    assert exists(reg, f"decision_inputs_m{risk}_2025_12")  # made again on demand
    assert reg.decision("late")["inputs_purged_at"] is None
    assert reg.decision_inputs("late") == {"id": "late"}
    assert reg.decision("dec-1")["inputs_purged_at"] == format_time(T0)
    assert reg.purge_decision_inputs() == {"credit-risk": 1}
    assert reg.decision("late")["inputs_purged_at"] == format_time(T0 + timedelta(hours=1))
    assert reg.decision("dec-1")["inputs_purged_at"] == format_time(T0)
    # Fraud's blob inputs stay in use (gc keeps them) until its own retention ends.
    assert reg.gc().blobs_removed == 0
    clock.set(at(2027, 1, 2))  # fraud's cutoff: Jan 2, 2026
    assert reg.purge_decision_inputs() == {"credit-risk": 2, "fraud": 1}
    assert not exists(reg, f"decision_inputs_m{fraud}_2025_12")
    assert reg.gc().blobs_removed == 1
    assert reg.audit_verify().ok


REFUSED = [
    ("UPDATE decisions_2026_02 SET output = '2'", "never changes"),
    ("DELETE FROM decisions_2026_02", "never deleted"),
    ("UPDATE decisions SET decided_at = decided_at + 1", "never changes"),
    ("UPDATE decision_keys SET decided_at = 0", "recorded once"),
    ("DELETE FROM decision_keys", "recorded once"),
    ("UPDATE decision_inputs_m{mid}_2026_02 SET inputs = '{{}}'", "only be purged"),
    ("UPDATE decision_purges SET purged_at = 0", "never undone"),
    ("DELETE FROM decision_purges", "never undone"),
]


def test_partitions_are_append_only_too(reg: Registry) -> None:
    reg.set_decision_inputs("credit-risk", "inline", retention_days=1)
    log(reg, "credit-risk", ("old", at(2026, 1, 1)), ("feb", at(2026, 2, 28)))
    assert reg.purge_decision_inputs() == {"credit-risk": 1}
    mid = model_id(reg, "credit-risk")
    for statement, refusal in REFUSED:  # on partitions made on demand, after the migration
        with pytest.raises(Refused, match=refusal):
            raw_execute(reg, statement.format(mid=mid))
    assert reg.decision_inputs("feb") == {"id": "feb"}
    assert reg.decision("old")["inputs_purged_at"] == format_time(T0)
    assert reg.audit_verify().ok


def _tree(reg: Registry, root: str) -> list[str]:
    return [str(r[0]) for r in query(reg, f"SELECT relid::text FROM pg_partition_tree('{root}')")]


def test_truncate_is_refused_on_every_partition(reg: Registry) -> None:
    """Statement-level triggers are not cloned to partitions: each made on demand gets one."""
    reg.set_decision_inputs("credit-risk", "inline", retention_days=1)
    log(reg, "credit-risk", ("old", at(2026, 1, 1)), ("feb", at(2026, 2, 28)))
    log(reg, "fraud", ("f", at(2026, 3, 1)))
    mid = model_id(reg, "credit-risk")
    records, inputs = _tree(reg, "decisions"), _tree(reg, "decision_inputs")
    assert {"decisions", "decisions_2026_02", "decisions_2026_03"} <= set(records)
    assert {"decision_inputs", f"decision_inputs_m{mid}",
            f"decision_inputs_m{mid}_2026_02"} <= set(inputs)  # fmt: skip
    before = query(reg, "SELECT count(*) FROM decisions UNION ALL "
                   "SELECT count(*) FROM decision_inputs")  # fmt: skip
    assert before == [(3,), (3,)]
    refusals = [(t, "decisions are never deleted") for t in records] + [
        (t, "decision inputs are only purged by retention") for t in inputs
    ]
    for table, refusal in refusals:
        with pytest.raises(Refused, match=f"^{refusal}: TRUNCATE is refused"):
            raw_execute(reg, f"TRUNCATE {table}")
    assert query(reg, "SELECT count(*) FROM decisions UNION ALL "
                 "SELECT count(*) FROM decision_inputs") == before  # fmt: skip
    # Retention still drops whole partitions (DROP TABLE is not TRUNCATE).
    assert reg.purge_decision_inputs() == {"credit-risk": 1}
    assert not exists(reg, f"decision_inputs_m{mid}_2026_01")
    assert reg.decision_inputs("feb") == {"id": "feb"}
    assert reg.audit_verify().ok


def migrate_to(url: str, revision: str, *, down: bool = False) -> None:
    """Run Alembic on the database at `url` up (or down) to `revision`, in one transaction."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from modelrepo.stores.sql.schema import MIGRATIONS

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def log_before_partitions(url: str) -> None:
    """A store at revision 0006 (before partitioning) with a model and six decisions."""
    migrate_to(url, "0006")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO models (name, created_at, created_by, last_version) "
            "VALUES ('m', 0, 'alice', 0)"
        )
        rows = [  # id, decided_at, mode, inputs, purged at
            ("a", at(2026, 1, 5), "inline", '{"x":1}', None),
            ("b", at(2025, 12, 31), "inline", None, at(2026, 2, 1)),
            ("c", at(2026, 1, 2), "digest", None, None),
            ("d", at(2026, 1, 20), "blob", None, None),
            ("e", at(2025, 12, 1), "blob", None, at(2026, 2, 1)),
            ("g", at(2025, 11, 3), "digest", None, None),
        ]  # as a purge on Feb 1 with the cutoff Jan 1 leaves them
        for decision_id, when, mode, inputs, purged in rows:
            conn.execute(
                "INSERT INTO decisions (decision_id, model_id, version, version_source, "
                "decided_at, recorded_at, inputs_digest, inputs_mode, inputs, output, "
                "metadata, flags, inputs_purged_at) VALUES (%(id)s, 1, 1, 'given', %(t)s, "
                "%(t)s, %(g)s, %(mode)s, %(inputs)s, '0', '{}', '[]', %(purged)s)",
                {"id": decision_id, "t": to_micros(when), "g": "sha256:" + "0" * 64,
                 "mode": mode, "inputs": inputs,
                 "purged": to_micros(purged) if purged else None},
            )  # fmt: skip


def test_migration_0007_partitions_a_log_recorded_before_it(
    pg_env: dict[str, str], pg_template: str
) -> None:
    from ..postgres import fresh_database

    with fresh_database(None) as url:
        log_before_partitions(url)
        env = {**pg_env, "MODELREPO_DATABASE_URL": url}
        with scaleout_registry(env, user="alice", clock=ManualClock(T0)) as reg:
            assert query(reg, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]
            leaves = query(
                reg,
                "SELECT relid::text FROM pg_partition_tree('decisions') WHERE isleaf ORDER BY 1",
            )
            assert [r[0] for r in leaves] == [
                "decisions_2025_11", "decisions_2025_12", "decisions_2026_01"
            ]  # fmt: skip
            assert not exists(reg, "decisions_unpartitioned")
            found = {d.decision_id: d for d in reg.decisions("m")}
            assert list(found) == ["g", "e", "b", "c", "a", "d"]
            assert reg.decision_inputs("a") == {"x": 1}
            purged_at = format_time(at(2026, 2, 1))
            assert found["b"].inputs_purged_at is not None
            assert reg.decision("b")["inputs_purged_at"] == purged_at
            assert reg.decision("e")["inputs_purged_at"] == purged_at
            assert reg.decision("c")["inputs_purged_at"] is None
            assert reg.decision("d")["inputs_purged_at"] is None
            assert reg.decision("g")["inputs_purged_at"] is None
            assert reg.backend.metadata.decision_input_blobs() == {"0" * 64}
            with pytest.raises(InvalidInput, match="purged on"):
                reg.decision_inputs("b")
            # New decisions go on after the copied ids, and an old id is still refused.
            log(reg, "m", ("f", at(2026, 2, 2)))
            ids = dict(query(reg, "SELECT decision_id, id FROM decisions"))
            assert ids["f"] == max(ids.values()) == 7
            with pytest.raises(Conflict, match="'a' is already recorded"):
                log(reg, "m", ("a", at(2026, 2, 3)))
            with pytest.raises(Refused, match="never deleted"):
                raw_execute(reg, "DELETE FROM decisions_2025_11")


def _refusals(url: str) -> dict[str, str]:
    """Each table of the decision log, partitions included, and what TRUNCATE of it meets."""
    found = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            str(r[0])
            for root in ("decisions", "decision_inputs")
            for r in conn.execute("SELECT relid::text FROM pg_partition_tree(%s)", (root,))
        ] + ["decision_keys", "decision_purges"]
        for table in tables:
            try:
                with conn.transaction():  # rolled back: a TRUNCATE let through loses nothing
                    conn.execute(f"TRUNCATE {table}")
                    raise psycopg.errors.RaiseException("allowed")
            except psycopg.errors.RaiseException as refused:
                found[table] = str(refused).split(":")[0]
    return found


def test_migration_0009_protects_an_existing_store_and_downgrades_cleanly(
    pg_env: dict[str, str], pg_template: str
) -> None:
    from ..postgres import fresh_database

    with fresh_database(None) as url:
        log_before_partitions(url)
        migrate_to(url, "0008")  # partitions made by 0007, with no TRUNCATE trigger
        before = _refusals(url)
        assert set(before.values()) == {"allowed"}
        assert {"decisions_2025_11", "decision_inputs_m1", "decision_inputs_m1_2026_01"} <= set(
            before
        )
        env = {**pg_env, "MODELREPO_DATABASE_URL": url}
        with scaleout_registry(env, user="alice", clock=ManualClock(T0)) as reg:  # upgraded
            assert query(reg, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]
            log(reg, "m", ("h", at(2026, 6, 1)))  # a partition of each kind made on demand
            stories = {d.decision_id: reg.decision(d.decision_id) for d in reg.decisions("m")}
        after = _refusals(url)
        assert set(after) == set(before) | {"decisions_2026_06", "decision_inputs_m1_2026_06"}
        assert {t: m for t, m in after.items() if t.startswith("decisions")} == {
            t: "decisions are never deleted" for t in after if t.startswith("decisions")
        }
        assert after["decision_inputs_m1_2026_01"] == "decision inputs are only purged by retention"
        assert after["decision_purges"] == "a purge of decision inputs is never undone"

        migrate_to(url, "0008", down=True)
        assert set(_refusals(url).values()) == {"allowed"}
        with psycopg.connect(url) as conn:
            left = conn.execute(
                "SELECT (SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%no_truncate'), "
                "(SELECT count(*) FROM pg_proc WHERE proname LIKE '%%no_truncate')"
            ).fetchall()
            assert left == [(0, 0)]
            with pytest.raises(psycopg.errors.RaiseException, match="never deleted"):
                conn.execute("DELETE FROM decisions_2025_11")  # the row triggers stay

        with scaleout_registry(env, user="alice", clock=ManualClock(T0)) as reg:  # again
            assert {d.decision_id: reg.decision(d.decision_id) for d in reg.decisions("m")} == (
                stories
            )
        assert _refusals(url) == after
