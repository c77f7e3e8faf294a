"""Decision log at volume on PostgreSQL: the partitioned layout (migration 0007) against the
single-table layout it replaced, measured in the same run on the same server.

Both logs grow in batches of 10,000 decisions (inline inputs, decision times moving forward
over three years, as a live log does) to each size in turn; at each size the script prints
the ingest rate over the last 100,000 decisions (or the last tenth, for small sizes) and the
p50/p99 of looking one decision up by id (random ids among all recorded). Then retention
removes the inputs of the oldest year from each.

- partitioned: `SqlMetadataStore.record_decision_columns` / `get_decision` /
  `purge_inputs`, the store's own code (which also checks histories and appends an audit
  entry per batch: work the baseline does not do);
- single table: a database at revision 0006 driven the way the store drove it before 0007:
  one COPY per batch into `decisions`, `DECISION_BY_ID` for a lookup, and for retention one
  set-wise UPDATE (kinder than the old store, which updated row by row).

    .venv/bin/python benchmarks/partitions_bench.py           # 10^5 then 10^6 (~10 min)
    .venv/bin/python benchmarks/partitions_bench.py --quick   # 10^4 then 10^5
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from modelrepo import ManualClock
from modelrepo.domain.decisions import DecisionColumns
from modelrepo.domain.times import to_micros
from modelrepo.stores.sql import SqlMetadataStore
from modelrepo.stores.sql.decisions import RECORD_COLUMNS, _to_decision
from modelrepo.stores.sql.raw import Q, RawConnections
from modelrepo.stores.sql.store import (
    WRITE_LOCK,
    connect_postgresql,
    postgresql_conninfo,
    usable_postgresql,
)

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
BATCH = 10_000
LOOKUPS = 2_000
DIGEST = "sha256:" + "0" * 64


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    name = f"mr_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def add_model(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO models (name, created_at, created_by, last_version) "
            "VALUES ('m', 0, 'bench', 0)"
        )


def columns(start: int, count: int, total: int) -> DecisionColumns:
    """Decisions start..start+count of a log that reaches `total` over three years."""
    step = to_micros(T0 + SPAN) - to_micros(T0)
    base = to_micros(T0)
    numbers = range(start, start + count)
    return DecisionColumns(
        [f"d-{n:09d}" for n in numbers], ["m"] * count, [None] * count, [1] * count,
        ["given"] * count, [base + step * n // total for n in numbers], [DIGEST] * count,
        [f'{{"x":{n}}}' for n in numbers], ["inline"] * count, ["1"] * count, ["{}"] * count,
        ["[]"] * count,
    )  # fmt: skip


class Partitioned:
    name = "partitioned (0007)"

    def __init__(self, url: str) -> None:
        SqlMetadataStore.open_postgresql(url).close()
        add_model(url)
        self.store = SqlMetadataStore.open_postgresql(url)
        self.clock = ManualClock(T0 + SPAN)

    def ingest(self, batch: DecisionColumns) -> None:
        self.store.record_decision_columns(batch, actor="bench", clock=self.clock)

    def lookup(self, decision_id: str) -> Any:
        return self.store.get_decision(decision_id)

    def purge(self, cutoff: datetime) -> int:
        return len(self.store.purge_inputs("m", cutoff, actor="bench", at=self.clock.now()))


class SingleTable:
    name = "single table (0006)"

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa
        from alembic import command
        from alembic.config import Config

        from modelrepo.stores.sql.schema import MIGRATIONS

        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "0006")
        engine.dispose()
        add_model(url)
        self.raw = RawConnections(
            connect_postgresql(postgresql_conninfo(url)),
            "postgresql",
            begin_write=("BEGIN", f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"),
            errors=(psycopg.Error,),
            usable=usable_postgresql,
        )

    def ingest(self, batch: DecisionColumns) -> None:
        c = batch
        recorded = to_micros(datetime.now(UTC))
        rows = zip(c.decision_ids, [1] * len(c), c.environments, c.versions, c.version_sources,
                   c.decided_at, [recorded] * len(c), c.inputs_digests, c.inputs_modes,
                   c.inputs, c.outputs, c.metadata, c.flags, strict=True)  # fmt: skip
        with self.raw.write() as tx:
            tx.copy_rows("decisions", RECORD_COLUMNS, rows)

    def lookup(self, decision_id: str) -> Any:
        return _to_decision(self.raw.reader().one(Q.DECISION_BY_ID, decision_id=decision_id))

    def purge(self, cutoff: datetime) -> int:
        with self.raw.write() as tx:
            found = tx.sql(
                "UPDATE decisions SET inputs = NULL, inputs_purged_at = %(at)s "
                "WHERE model_id = 1 AND decided_at < %(cutoff)s AND inputs_purged_at IS NULL "
                "RETURNING decision_id",
                {"at": to_micros(T0 + SPAN), "cutoff": to_micros(cutoff)},
            )
        return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [100_000, 1_000_000]
    total = sizes[-1]
    window = min(100_000, sizes[0] // 10 * 10) if args.quick else 100_000
    rng = random.Random(7)
    with scratch_database() as one, scratch_database() as other:
        logs: list[Partitioned | SingleTable] = [Partitioned(one), SingleTable(other)]
        print(f"decision log on PostgreSQL, batches of {BATCH:,}, inputs inline, over 3 years")
        print(f"{'layout':22} {'rows':>10} {'ingest /s':>11} {'lookup p50':>11} {'p99':>9}")
        done = 0
        for size in sizes:  # the layouts take turns, batch by batch, so both see one load
            spent = dict.fromkeys([log.name for log in logs], 0.0)
            measured = max(window, BATCH)
            for start in range(done, size, BATCH):
                batch = columns(start, min(BATCH, size - start), total)
                for log in logs if start // BATCH % 2 else logs[::-1]:
                    began = time.perf_counter()
                    log.ingest(batch)
                    if start >= size - measured:
                        spent[log.name] += time.perf_counter() - began
            done = size
            ids = [f"d-{rng.randrange(size):09d}" for _ in range(LOOKUPS)]
            samples: dict[str, list[float]] = {log.name: [] for log in logs}
            for number, decision_id in enumerate(ids):
                for log in logs if number % 2 else logs[::-1]:
                    began = time.perf_counter()
                    found = log.lookup(decision_id)
                    samples[log.name].append((time.perf_counter() - began) * 1e6)
                    assert found.decision_id == decision_id
            for log in logs:
                taken = sorted(samples[log.name][200:])  # the first 200: warming up
                p50, p99 = statistics.median(taken), taken[int(0.99 * len(taken))]
                print(
                    f"{log.name:22} {size:10,} {measured / spent[log.name]:11,.0f} "
                    f"{p50:9,.0f}us {p99:7,.0f}us"
                )
        cutoff = T0 + timedelta(days=365)
        for log in logs:
            began = time.perf_counter()
            purged = log.purge(cutoff)
            print(
                f"{log.name:22} retention: inputs of the first year ({purged:,} decisions) "
                f"removed in {time.perf_counter() - began:.2f}s"
            )


if __name__ == "__main__":
    main()
