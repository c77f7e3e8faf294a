"""Decision log benchmark: bulk ingest, the cost of recording a prediction, lookup by id,
and bytes on disk per decision.

1. bulk ingest into SQLite with digest-only inputs (the caller sends each input's digest),
   in batches of 50,000 (target >= 200,000 decisions/s), by both SDK entry points —
   `log_decisions` (one dict per decision) and `log_decision_columns` (one list per field) —
   batch about, next to SQLite alone inserting the same rows, prebuilt, into a bare copy of
   the table: the three take turns batch by batch, so they share the machine's mood;
2. `handle.predict_many` with recording vs predicting alone, per decision (target <= 20 us);
3. decision lookup by id, p50/p99 (target p50 <= 100 us at 10^7 decisions; `--decisions`
   sets the size, default 10^6);
4. bytes on disk per decision (database file growth / decisions).

    .venv/bin/python benchmarks/decisions_bench.py            # 10^6 decisions
    .venv/bin/python benchmarks/decisions_bench.py --quick    # 10^5
    .venv/bin/python benchmarks/decisions_bench.py --quick --postgresql   # the COPY path

With `--postgresql` the store is a scratch PostgreSQL database (on $MODELREPO_BENCH_POSTGRES,
default postgresql://postgres@127.0.0.1:5432/postgres) and the baseline is PostgreSQL alone
writing what the store must write for each decision, from text built before its clock starts:
a COPY of its id into a copy of `decision_keys` (ids unique across the monthly partitions) and
a COPY of its record into a copy of `decisions` (`LIKE decisions INCLUDING ALL`: its columns
and indexes, partitioned by month as it is, with its reference to `models`), one transaction a
batch, taking turns with the store as on SQLite. Making the month's partition is outside the
baseline's clock and inside the store's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apsw

from modelrepo import Registry

REPO_ROOT = Path(__file__).resolve().parent.parent
BATCH = 50_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def database_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.glob("modelrepo.db*"))


class SqliteFloor:
    """SQLite alone on the same table, indexes and durability settings, inserting rows built
    before the clock starts: the floor no Python ingest path can beat."""

    INSERT = (
        "INSERT INTO decisions (decision_id, model_id, environment, version, version_source, "
        "decided_at, recorded_at, inputs_digest, inputs_mode, inputs, output, metadata, flags) "
        "VALUES (?, 1, 'production', 1, 'given', ?, ?, ?, 'digest', NULL, ?, '{}', '[]')"
    )

    def __init__(self, store: Path, folder: Path) -> None:
        source = apsw.Connection(str(store / "modelrepo.db"), flags=apsw.SQLITE_OPEN_READONLY)
        ddl = [sql for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'decisions' AND sql IS NOT NULL "
            "AND type IN ('table', 'index') ORDER BY type DESC")]  # fmt: skip
        source.close()
        self.db = apsw.Connection(str(folder / "bare.db"))
        self.db.execute("PRAGMA journal_mode=WAL").fetchall()
        self.db.execute("PRAGMA synchronous=FULL")
        for sql in ddl:
            self.db.execute(sql)
        self.elapsed = 0.0
        self.rows = 0

    def insert(self, ids: list[str], decided: list[datetime], digests: list[str],
               outputs: list[Any]) -> None:  # fmt: skip
        rows = [
            (
                i,
                (t - EPOCH) // MICROSECOND,
                1_780_000_000_000_000,
                d,
                json.dumps(o, separators=(",", ":")),
            )
            for i, t, d, o in zip(ids, decided, digests, outputs, strict=True)
        ]
        begin = time.perf_counter()
        with self.db:
            self.db.executemany(self.INSERT, rows)
        self.elapsed += time.perf_counter() - begin
        self.rows += len(rows)


class PostgresFloor:
    """PostgreSQL alone, writing what the store writes for each decision: its record into
    the month's partition of a table like `decisions` (its columns, indexes, monthly
    partitions and reference to `models`) and its id into a table like `decision_keys`, by a
    COPY each of text built before the clock starts, one transaction a batch."""

    COLUMNS = (
        "id, decision_id, model_id, environment, version, version_source, decided_at, "
        "recorded_at, inputs_digest, inputs_mode, output, metadata, flags"
    )

    def __init__(self, url: str) -> None:
        import psycopg

        self.db = psycopg.connect(url, autocommit=True)
        self.db.execute(
            "CREATE TABLE bare_decisions (LIKE decisions INCLUDING ALL) "
            "PARTITION BY RANGE (decided_at)"
        )
        self.db.execute(
            "ALTER TABLE bare_decisions ADD FOREIGN KEY (model_id) REFERENCES models (id)"
        )
        self.db.execute("CREATE TABLE bare_decision_keys (LIKE decision_keys INCLUDING ALL)")
        self.model_id = self.db.execute("SELECT id FROM models").fetchone()[0]  # type: ignore[index]
        self.months: set[tuple[int, int]] = set()
        self.elapsed = 0.0
        self.rows = 0

    def insert(self, ids: list[str], decided: list[datetime], digests: list[str],
               outputs: list[Any]) -> None:  # fmt: skip
        from modelrepo.stores.sql import partitions

        micros = [(t - EPOCH) // MICROSECOND for t in decided]
        for month in set(partitions.months(micros)) - self.months:
            low, high = partitions.bounds(month)
            self.db.execute(
                f"CREATE TABLE bare_decisions_{month[0]}_{month[1]:02d} PARTITION OF "
                f"bare_decisions FOR VALUES FROM ({low}) TO ({high})"
            )
            self.months.add(month)
        numbers = range(self.rows + 1, self.rows + len(ids) + 1)
        keys = "".join(
            f"{i}\t{t}\t{n}\t{self.model_id}\n"
            for i, t, n in zip(ids, micros, numbers, strict=True)
        ).encode()
        records = "".join(
            f"{n}\t{i}\t{self.model_id}\tproduction\t1\tgiven\t{t}\t1780000000000000\t{d}\t"
            f"digest\t{json.dumps(o, separators=(',', ':'))}\t{{}}\t[]\n"
            for n, i, t, d, o in zip(numbers, ids, micros, digests, outputs, strict=True)
        ).encode()
        begin = time.perf_counter()
        with self.db.transaction(), self.db.cursor() as cursor:
            with cursor.copy("COPY bare_decision_keys (decision_id, decided_at, id, model_id) "
                             "FROM STDIN") as copy:  # fmt: skip
                copy.write(keys)
            with cursor.copy(f"COPY bare_decisions ({self.COLUMNS}) FROM STDIN") as copy:
                copy.write(records)
        self.elapsed += time.perf_counter() - begin
        self.rows += len(ids)

    def close(self) -> None:
        self.db.close()


@contextlib.contextmanager
def scratch_postgresql() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped at the end."""
    import psycopg

    admin = os.environ.get(
        "MODELREPO_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"mr_decisions_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--decisions", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".bench-tmp")
    parser.add_argument("--postgresql", action="store_true", help="the store on PostgreSQL")
    args = parser.parse_args()
    total = args.decisions or (100_000 if args.quick else 1_000_000)
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="decisions-", dir=args.dir))
    out: dict[str, Any] = {"decisions": total}
    database = scratch_postgresql() if args.postgresql else contextlib.nullcontext(None)
    try:
        with database as url:
            run(args, folder, total, out, url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(args, out)


def run(args: Any, folder: Path, total: int, out: dict[str, Any], url: str | None) -> None:
    """Fill `out` with the figures (see the module)."""
    store = folder / "store"
    if url is None:
        reg = Registry(store, user="bench", checkpoint_every=10**9)
    else:
        os.environ.setdefault("MODELREPO_AUDIT_KEY_FILE", str(folder / "audit-key.pem"))
        reg = Registry(database_url=url, blob_url=str(folder / "blobs"), user="bench",
                       checkpoint_every=10**9)  # fmt: skip
    model = folder / "coefficients.json"
    model.write_text(json.dumps({"features": ["income", "debt"],
                                 "coefficients": {"income": -0.5, "debt": 1.0},
                                 "intercept": -1.0}))  # fmt: skip
    reg.register("credit-risk", model, flavor="text-coefficients", code=False)
    reg.deploy("credit-risk", 1, env="production", effective_at="2026-01-01T00:00:00Z",
               reason="live before the decisions below")  # fmt: skip
    reg.set_decision_inputs("credit-risk", "digest")
    start_bytes = database_bytes(store)
    floor: SqliteFloor | PostgresFloor = (
        SqliteFloor(store, folder) if url is None else PostgresFloor(url)
    )
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    rng = random.Random(3)
    elapsed = {"records": 0.0, "columns": 0.0}
    counted = {"records": 0, "columns": 0}
    ids: list[str] = []
    done = 0
    while done < total:
        size = min(BATCH, total - done)
        numbers = range(done, done + size)
        batch_ids = [f"loan-{i:09d}" for i in numbers]
        decided = [t0 + timedelta(seconds=i) for i in numbers]
        digests = ["sha256:" + hashlib.sha256(str(i).encode()).hexdigest() for i in numbers]
        outputs = [{"p": round(rng.random(), 6)} for _ in numbers]
        ids.extend(batch_ids)
        path = "records" if (done // BATCH) % 2 == 0 else "columns"
        if path == "records":
            batch = [
                {"model": "credit-risk", "version": 1, "environment": "production",
                 "decision_id": i, "decided_at": t, "inputs_digest": d, "output": o}
                for i, t, d, o in zip(batch_ids, decided, digests, outputs, strict=True)
            ]  # fmt: skip
            begin = time.perf_counter()
            reg.log_decisions(batch)
        else:
            begin = time.perf_counter()
            reg.log_decision_columns(
                "credit-risk", version=1, environment="production", decision_ids=batch_ids,
                decided_at=decided, inputs_digests=digests, outputs=outputs,
            )  # fmt: skip
        elapsed[path] += time.perf_counter() - begin
        counted[path] += size
        floor.insert(batch_ids, decided, digests, outputs)
        done += size
    out["batches"] = {path: -(-counted[path] // BATCH) for path in counted}
    for path in ("records", "columns"):
        out[f"ingest_{path}_per_s"] = counted[path] / elapsed[path] if counted[path] else None
    if url is None:
        out["bytes_per_decision"] = (database_bytes(store) - start_bytes) / total
    out["database"] = "sqlite" if url is None else "postgresql"
    out["sqlite_floor_per_s" if url is None else "postgresql_floor_per_s"] = (
        floor.rows / floor.elapsed
    )
    floor.db.close()
    samples = []
    for decision_id in rng.sample(ids, 5_000):
        begin = time.perf_counter()
        reg.backend.metadata.get_decision(decision_id)
        samples.append(time.perf_counter() - begin)
    samples.sort()
    out["lookup_p50_us"] = samples[len(samples) // 2] * 1e6
    out["lookup_p99_us"] = samples[int(len(samples) * 0.99)] * 1e6
    handle = reg.load_live("credit-risk", env="production")
    rows = [{"income": rng.random() * 100, "debt": rng.random()} for _ in range(10_000)]
    runs = []
    for _ in range(3):
        begin = time.perf_counter()
        for row in rows:
            handle.rerun(row)
        alone = time.perf_counter() - begin
        begin = time.perf_counter()
        handle.predict_many(rows)
        recorded = time.perf_counter() - begin
        runs.append((recorded - alone) / len(rows) * 1e6)
    out["record_overhead_us"] = statistics.median(runs)
    reg.close()


def report(args: Any, out: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(out, indent=2))
        return
    verdict = {True: "PASS", False: "MISS"}
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    total = out["decisions"]
    print(f"decisions stored: {total:,} on {out['database']} (load average {load})")
    alone = "SQLite alone" if out["database"] == "sqlite" else "PostgreSQL COPY alone"
    floor = out.get("sqlite_floor_per_s") or out["postgresql_floor_per_s"]
    for path, call in (("columns", "log_decision_columns"), ("records", "log_decisions")):
        rate = out[f"ingest_{path}_per_s"]
        if rate is None:
            continue
        print(f"bulk ingest, {call + ':':22s} {rate:10,.0f} /s  "
              f"(target >= 200,000)  {verdict[rate >= 200_000]}  "
              f"({rate / floor:.2f}x {alone})")  # fmt: skip
    shape = (
        "same table and indexes, rows prebuilt"
        if out["database"] == "sqlite"
        else "keys and monthly partitions, same indexes and reference, text prebuilt"
    )
    print(
        f"  baseline: {alone + ':':22s}{floor:10,.0f} /s  "
        f"({shape}, batches taking turns with the above)"
    )
    ok = out["record_overhead_us"] <= 20
    print(f"recording a prediction      {out['record_overhead_us']:12.1f} us  "
          f"(batched; target <= 20 us)  {verdict[ok]}")  # fmt: skip
    ok = out["lookup_p50_us"] <= 100
    print(f"lookup by id                p50 {out['lookup_p50_us']:.1f} us  "
          f"p99 {out['lookup_p99_us']:.1f} us  "
          f"(target p50 <= 100 us at 10^7)  {verdict[ok]}")  # fmt: skip
    if "bytes_per_decision" in out:
        print(f"bytes on disk per decision  {out['bytes_per_decision']:12.0f}")


if __name__ == "__main__":
    main()
