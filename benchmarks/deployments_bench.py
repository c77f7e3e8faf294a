"""Deployment history benchmark: as-of latency at scale, durable deploy rate, bulk import,
and the `modelrepo live` command end to end.

Every figure is put next to a baseline measured in the same run:

1. a bare durable SQLite commit (APSW, WAL, synchronous=FULL) on the same disk;
2. `Registry.deploy` events/s, each durably committed (target >= 0.5x the bare commit);
3. bulk import of history (`Registry.import_deployments`, target >= 50,000 events/s);
4. `Registry.live` p50/p99 through the SDK with 10^3, 10^5 and 10^6 events across
   1,000 models x 5 environments (target p50 <= 50 us, and the 10^6 figure within 2x of the
   10^3 one), for "now", for a random past instant, and with --as-known-at;
5. `modelrepo live ... --json` as a command, wall time (target <= 150 ms).

    .venv/bin/python benchmarks/deployments_bench.py          # full run (~2-4 minutes)
    .venv/bin/python benchmarks/deployments_bench.py --quick  # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apsw

from modelrepo import Registry

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS = 1000
ENVIRONMENTS = ("production", "staging", "canary", "shadow", "eu-production")
VERSIONS_PER_MODEL = 3
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)


def bare_commit_rate(folder: Path, n: int) -> float:
    """Durable single-row transactions per second: the disk's limit for one commit."""
    db = apsw.Connection(str(folder / "bare.db"))
    db.execute("PRAGMA journal_mode=WAL").fetchall()
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (x INTEGER)")
    for i in range(10):
        db.execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (?); COMMIT", (i,))
    start = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", (i,))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return n / elapsed


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def populate_models(reg: Registry, folder: Path, models: int) -> None:
    artifact = folder / "coefficients.json"
    for m in range(models):
        for v in range(VERSIONS_PER_MODEL):
            artifact.write_text(json.dumps({"model": m, "version": v}))
            reg.register(f"model-{m:04d}", artifact, code=False, environment=False)


def history_records(rng: random.Random, n: int, models: int) -> dict[str, list[dict[str, Any]]]:
    """`n` deploy/undeploy records spread over models, environments and two years."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for _ in range(n):
        model = f"model-{rng.randrange(models):04d}"
        roll = rng.random()
        if roll < 0.05:
            versions: dict[int, float] = {}
        elif roll < 0.15:
            versions = {1: 0.9, 2: 0.1}
        else:
            versions = {rng.randint(1, VERSIONS_PER_MODEL): 1.0}
        by_model.setdefault(model, []).append(
            {
                "environment": rng.choice(ENVIRONMENTS),
                "effective_at": T0 + timedelta(seconds=rng.randrange(int(SPAN.total_seconds()))),
                "versions": versions,
            }
        )
    return by_model


def import_history(reg: Registry, records: dict[str, list[dict[str, Any]]]) -> tuple[int, float]:
    start = time.perf_counter()
    total = 0
    for model, rows in records.items():
        total += reg.import_deployments(model, rows, source="benchmark")
    return total, time.perf_counter() - start


def live_latency(
    reg: Registry, rng: random.Random, used: list[tuple[str, str]], queries: int, mode: str
) -> tuple[float, float]:
    """p50 and p99 in microseconds of `live` for random (model, environment) pairs that the
    history uses (asking about an environment that never existed is an error, not a query)."""
    pairs = [rng.choice(used) for _ in range(queries)]
    instants = [T0 + timedelta(seconds=rng.randrange(int(SPAN.total_seconds()))) for _ in pairs]
    known = datetime.now(UTC)
    for model, env in pairs[: queries // 4]:  # steady state: connections, statements, ids
        reg.live(model, env=env)
    samples = []
    for (model, env), at in zip(pairs, instants, strict=True):
        kwargs: dict[str, Any] = {}
        if mode == "at":
            kwargs["at"] = at
        elif mode == "as-known-at":
            kwargs["at"] = at
            kwargs["as_known_at"] = known - timedelta(seconds=rng.randrange(3600))
        start = time.perf_counter()
        reg.live(model, env=env, **kwargs)
        samples.append(time.perf_counter() - start)
    return percentile(samples, 0.5) * 1e6, percentile(samples, 0.99) * 1e6


def deploy_rate(reg: Registry, n: int) -> float:
    for _ in range(5):
        reg.deploy("model-0000", 1, env="bench")
    start = time.perf_counter()
    for i in range(n):
        reg.deploy("model-0000", 1 + i % VERSIONS_PER_MODEL, env="bench")
    return n / (time.perf_counter() - start)


def cli_live_ms(store: Path, runs: int) -> float:
    exe = Path(sys.executable).with_name("modelrepo")
    cmd = [str(exe), "--store", str(store), "live", "model-0000", "--env", "bench", "--json"]
    # As installed software runs: with compiled bytecode (the first run writes it).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".bench-tmp")
    args = parser.parse_args()
    sizes = (1_000, 10_000, 30_000) if args.quick else (1_000, 100_000, 1_000_000)
    models = 100 if args.quick else MODELS
    queries = 2_000 if args.quick else 20_000
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="deployments-", dir=args.dir))
    rng = random.Random(20260301)
    out: dict[str, Any] = {"python": sys.version.split()[0], "cores": os.cpu_count()}
    try:
        out["bare_commit_per_s"] = bare_commit_rate(folder, 300 if args.quick else 1000)
        store = folder / "store"
        reg = Registry(store, user="bench")
        populate_models(reg, folder, models)
        out["deploy_per_s"] = deploy_rate(reg, 200 if args.quick else 1000)
        out["deploy_vs_bare"] = out["deploy_per_s"] / out["bare_commit_per_s"]
        out["cli_live_ms"] = cli_live_ms(store, 5 if args.quick else 15)
        loaded = 0
        imported = 0
        import_seconds = 0.0
        out["live"] = {}
        used: set[tuple[str, str]] = set()
        for size in sizes:
            records = history_records(rng, size - loaded, models)
            used.update((m, r["environment"]) for m, rows in records.items() for r in rows)
            count, seconds = import_history(reg, records)
            imported += count
            import_seconds += seconds
            loaded = size
            figures = {
                mode: live_latency(reg, rng, sorted(used), queries, mode)
                for mode in ("now", "at", "as-known-at")
            }
            out["live"][str(size)] = {
                m: {"p50_us": p50, "p99_us": p99} for m, (p50, p99) in figures.items()
            }
        out["import_per_s"] = imported / import_seconds
        first, last = str(sizes[0]), str(sizes[-1])
        out["live_flatness"] = max(
            out["live"][last][m]["p50_us"] / out["live"][first][m]["p50_us"]
            for m in ("now", "at", "as-known-at")
        )
        reg.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    verdict = {True: "PASS", False: "MISS"}
    print(f"bare durable SQLite commit      {out['bare_commit_per_s']:10.0f} /s   (baseline)")
    ok = out["deploy_vs_bare"] >= 0.5
    print(
        f"deploy, durably committed       {out['deploy_per_s']:10.0f} /s   "
        f"{out['deploy_vs_bare']:.2f}x bare (target >= 0.5x)  {verdict[ok]}"
    )
    ok = out["import_per_s"] >= 50_000
    print(
        f"bulk history import             {out['import_per_s']:10.0f} /s   "
        f"(target >= 50,000)  {verdict[ok]}"
    )
    for size, figures in out["live"].items():
        for mode, f in figures.items():
            ok = f["p50_us"] <= 50
            print(
                f"live {mode:<12} {int(size):>9,} events  p50 {f['p50_us']:7.1f} us  "
                f"p99 {f['p99_us']:7.1f} us  (target p50 <= 50 us)  {verdict[ok]}"
            )
    ok = out["live_flatness"] <= 2
    print(
        f"live p50 at the largest size vs the smallest: {out['live_flatness']:.2f}x "
        f"(target <= 2x)  {verdict[ok]}"
    )
    ok = out["cli_live_ms"] <= 150
    print(
        f"`modelrepo live --json` command  {out['cli_live_ms']:8.1f} ms"
        f"  (target <= 150 ms)  {verdict[ok]}"
    )


if __name__ == "__main__":
    main()
