"""Decision log benchmark: bulk ingest, the cost of recording a prediction, lookup by id,
and bytes on disk per decision.

1. bulk ingest into SQLite with digest-only inputs (the caller sends each input's digest),
   in batches of 50,000 (target >= 200,000 decisions/s);
2. `handle.predict_many` with recording vs predicting alone, per decision (target <= 20 us);
3. decision lookup by id, p50/p99 (target p50 <= 100 us at 10^7 decisions; `--decisions`
   sets the size, default 10^6);
4. bytes on disk per decision (database file growth / decisions).

    .venv/bin/python benchmarks/decisions_bench.py            # 10^6 decisions
    .venv/bin/python benchmarks/decisions_bench.py --quick    # 10^5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apsw

from modelrepo import Registry

REPO_ROOT = Path(__file__).resolve().parent.parent
BATCH = 50_000


def database_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.glob("modelrepo.db*"))


def sqlite_floor(store: Path, folder: Path, total: int) -> float:
    """Rows/s that SQLite alone sustains on the same table, indexes and durability settings,
    with rows built before the clock starts: the floor no Python ingest path can beat."""
    source = apsw.Connection(str(store / "modelrepo.db"), flags=apsw.SQLITE_OPEN_READONLY)
    ddl = [sql for (sql,) in source.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'decisions' AND sql IS NOT NULL "
        "AND type IN ('table', 'index') ORDER BY type DESC")]  # fmt: skip
    source.close()
    db = apsw.Connection(str(folder / "bare.db"))
    db.execute("PRAGMA journal_mode=WAL").fetchall()
    db.execute("PRAGMA synchronous=FULL")
    for sql in ddl:
        db.execute(sql)
    insert = (
        "INSERT INTO decisions (decision_id, model_id, environment, version, version_source, "
        "decided_at, recorded_at, inputs_digest, inputs_mode, inputs, output, metadata, flags) "
        "VALUES (?, 1, 'production', 1, 'given', ?, ?, ?, 'digest', NULL, ?, '{}', '[]')"
    )
    elapsed = 0.0
    for first in range(0, total, BATCH):
        rows = [
            (f"loan-{i:09d}", 1_772_323_200_000_000 + i * 1_000_000, 1_780_000_000_000_000,
             "sha256:" + hashlib.sha256(str(i).encode()).hexdigest(), '{"p":0.5}')
            for i in range(first, min(total, first + BATCH))
        ]  # fmt: skip
        begin = time.perf_counter()
        with db:
            db.executemany(insert, rows)
        elapsed += time.perf_counter() - begin
    db.close()
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--decisions", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".bench-tmp")
    args = parser.parse_args()
    total = args.decisions or (100_000 if args.quick else 1_000_000)
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="decisions-", dir=args.dir))
    out: dict[str, Any] = {"decisions": total}
    try:
        store = folder / "store"
        reg = Registry(store, user="bench", checkpoint_every=10**9)
        model = folder / "coefficients.json"
        model.write_text(json.dumps({"features": ["income", "debt"],
                                     "coefficients": {"income": -0.5, "debt": 1.0},
                                     "intercept": -1.0}))  # fmt: skip
        reg.register("credit-risk", model, flavor="text-coefficients", code=False)
        reg.deploy("credit-risk", 1, env="production", effective_at="2026-01-01T00:00:00Z",
                   reason="live before the decisions below")  # fmt: skip
        reg.set_decision_inputs("credit-risk", "digest")
        start_bytes = database_bytes(store)
        t0 = datetime(2026, 3, 1, tzinfo=UTC)
        rng = random.Random(3)
        elapsed = 0.0
        ids: list[str] = []
        done = 0
        while done < total:
            size = min(BATCH, total - done)
            batch = []
            for i in range(done, done + size):
                decision_id = f"loan-{i:09d}"
                ids.append(decision_id)
                batch.append(
                    {
                        "model": "credit-risk",
                        "version": 1,
                        "environment": "production",
                        "decision_id": decision_id,
                        "decided_at": t0 + timedelta(seconds=i),
                        "inputs_digest": "sha256:" + hashlib.sha256(str(i).encode()).hexdigest(),
                        "output": {"p": round(rng.random(), 6)},
                    }
                )
            begin = time.perf_counter()
            reg.log_decisions(batch)
            elapsed += time.perf_counter() - begin
            done += size
        out["ingest_per_s"] = total / elapsed
        out["bytes_per_decision"] = (database_bytes(store) - start_bytes) / total
        out["sqlite_floor_per_s"] = sqlite_floor(store, folder, total)
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
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    verdict = {True: "PASS", False: "MISS"}
    print(f"decisions stored: {total:,}")
    ok = out["ingest_per_s"] >= 200_000
    print(f"bulk ingest (digest-only)   {out['ingest_per_s']:12,.0f} /s  "
          f"(target >= 200,000)  {verdict[ok]}")  # fmt: skip
    print(f"  baseline: SQLite alone      {out['sqlite_floor_per_s']:12,.0f} /s  "
          f"(same table and indexes, rows prebuilt; modelrepo at "
          f"{out['ingest_per_s'] / out['sqlite_floor_per_s']:.2f}x)")  # fmt: skip
    ok = out["record_overhead_us"] <= 20
    print(f"recording a prediction      {out['record_overhead_us']:12.1f} us  "
          f"(batched; target <= 20 us)  {verdict[ok]}")  # fmt: skip
    ok = out["lookup_p50_us"] <= 100
    print(f"lookup by id                p50 {out['lookup_p50_us']:.1f} us  "
          f"p99 {out['lookup_p99_us']:.1f} us  "
          f"(target p50 <= 100 us at 10^7)  {verdict[ok]}")  # fmt: skip
    print(f"bytes on disk per decision  {out['bytes_per_decision']:12.0f}")


if __name__ == "__main__":
    main()
