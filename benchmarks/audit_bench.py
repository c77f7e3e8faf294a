"""Audit log benchmark: verify rate, the cost the log adds to a deploy, proof generation.

1. `audit verify` rate over a log of N entries (target >= 300,000 entries/s);
2. a durable deploy with its audit entry vs the same deploy with the entry skipped
   (target: the log adds <= 20%);
3. inclusion and consistency proof generation p50/p99 in a log of 10^6 entries
   (target p50 <= 1 ms);
4. `audit verify` with every row checked against the log (`--evidence`: a store of 100,000
   decisions, ~1,000 versions and ~1,000 deployment events), against the log's own checks
   alone; run it on an older checkout too to compare with the check it replaced.

The large log is built through the store's own append path (one audit entry per statement
group, many per transaction) so that building it does not take hours of fsyncs; verification
and proofs then run exactly as in production.

    .venv/bin/python benchmarks/audit_bench.py           # 10^6 entries (~2-3 minutes)
    .venv/bin/python benchmarks/audit_bench.py --quick   # 50,000 entries
    .venv/bin/python benchmarks/audit_bench.py --evidence [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelrepo import Registry
from modelrepo.auditing import make_checkpoint
from modelrepo.domain.audit import consistency_proof, inclusion_proof

REPO_ROOT = Path(__file__).resolve().parent.parent


def grow_log(reg: Registry, entries: int, batch: int = 5_000) -> float:
    """Append synthetic deployment entries through the store's append path; returns seconds."""
    store: Any = reg.backend.metadata
    at = datetime(2026, 1, 1, tzinfo=UTC)
    start = time.perf_counter()
    done = 0
    while done < entries:
        with store._raw.write() as tx:
            for _ in range(min(batch, entries - done)):
                done += 1
                store._audit(
                    tx,
                    "deployment.recorded",
                    "model:bench",
                    actor="bench",
                    at=at,
                    change={"event_id": done, "environment": "production", "versions": [1]},
                )
    return time.perf_counter() - start


def deploy_cost(folder: Path, n: int) -> tuple[float, float]:
    """Seconds per durable deploy with and without its audit entry (same store, interleaved)."""
    reg = Registry(folder / "deploys", user="bench", checkpoint_every=10**9)
    artifact = folder / "m.json"
    artifact.write_text("{}")
    reg.register("m", artifact, code=False)
    store: Any = reg.backend.metadata
    real_audit = store._audit
    with_log: list[float] = []
    without: list[float] = []
    for _ in range(n):
        for flag in (True, False):
            store._audit = real_audit if flag else (lambda *a, **k: None)
            start = time.perf_counter()
            reg.deploy("m", 1, env="production")
            (with_log if flag else without).append(time.perf_counter() - start)
    store._audit = real_audit
    reg.close()
    return statistics.median(with_log), statistics.median(without)


def evidence_store(
    folder: Path, database_url: str | None, versions: int, events: int, decisions: int
) -> Registry:
    """A store of `versions` versions (tagged), `events` deployments and `decisions` decisions
    (in batches of 10,000, some of them flagged not live), made through the public API."""
    if database_url is None:
        reg = Registry(folder / "evidence", user="bench", checkpoint_every=10**9)
    else:
        os.environ.setdefault("MODELREPO_AUDIT_KEY_FILE", str(folder / "audit-key.pem"))
        reg = Registry(
            database_url=database_url, blob_url=str(folder / "blobs"), user="bench",
            checkpoint_every=10**9,
        )  # fmt: skip
    artifact = folder / "model.json"
    for n in range(versions):
        artifact.write_text(json.dumps({"n": n}))
        reg.register(f"model-{n % 10}", artifact, code=False, environment=False,
                     tags={"n": str(n)})  # fmt: skip
    for n in range(events):
        reg.deploy(
            f"model-{n % 10}", 1 + (n // 10) % 10, env=("staging", "production")[(n // 10) % 2]
        )
    for start in range(0, decisions, 10_000):
        count = min(10_000, decisions - start)
        reg.log_decision_columns(
            "model-0", environment="production", outputs=[{"p": i / count} for i in range(count)],
            inputs=[{"x": i} for i in range(count)],
            decision_ids=[f"d-{start + i}" for i in range(count)],
            metadata={"channel": "bench"},
        )  # fmt: skip
    return reg


def evidence_cost(
    folder: Path, database_url: str | None, versions: int, events: int, decisions: int
) -> dict[str, Any]:
    """Seconds of `audit verify` on that store: the log's own checks, then with every row."""
    reg = evidence_store(folder, database_url, versions, events, decisions)
    out: dict[str, Any] = {"entries": reg.backend.metadata.audit_size()}
    for label, records in (("log_only_s", False), ("with_rows_s", True)):
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            report = reg.audit_verify(records=records)
            runs.append(time.perf_counter() - start)
            assert report.ok, report.problems
        out[label] = min(runs)
    reg.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".bench-tmp")
    parser.add_argument("--evidence", action="store_true", help="Only the row checks (4.).")
    parser.add_argument("--database-url", help="With --evidence: an empty PostgreSQL database.")
    args = parser.parse_args()
    if args.evidence:
        args.dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="evidence-", dir=args.dir))
        try:
            found = evidence_cost(folder, args.database_url, 1_000, 1_000, 100_000)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if args.json:
            print(json.dumps(found, indent=2))
            return
        print(
            f"audit verify, 100,000 decisions, 1,000 versions, 1,000 deployments "
            f"({found['entries']:,} entries): log only {found['log_only_s']:.3f} s, "
            f"every row checked {found['with_rows_s']:.3f} s"
        )
        return
    entries = 50_000 if args.quick else 1_000_000
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="audit-", dir=args.dir))
    out: dict[str, Any] = {"entries": entries}
    try:
        with_log, without = deploy_cost(folder, 100 if args.quick else 400)
        out["deploy_ms_with_log"] = with_log * 1000
        out["deploy_ms_without_log"] = without * 1000
        out["log_overhead"] = with_log / without - 1
        reg = Registry(folder / "store", user="bench", checkpoint_every=10**9)
        reg.create_store()
        out["append_per_s"] = entries / grow_log(reg, entries)
        checkpoint = make_checkpoint(reg.backend.metadata, reg.backend.signer, reg.clock)
        start = time.perf_counter()
        report = reg.audit_verify([checkpoint], records=False)
        seconds = time.perf_counter() - start
        assert report.ok, report.problems
        out["verify_per_s"] = report.size / seconds
        store = reg.backend.metadata
        size = store.audit_size()
        rng = random.Random(7)
        samples = []
        for _ in range(2_000):
            index = rng.randrange(size)
            begin = time.perf_counter()
            inclusion_proof(index, size, store.audit_node)
            samples.append(time.perf_counter() - begin)
        samples.sort()
        out["inclusion_p50_ms"] = samples[len(samples) // 2] * 1000
        out["inclusion_p99_ms"] = samples[int(len(samples) * 0.99)] * 1000
        samples = []
        for _ in range(500):
            old = rng.randrange(1, size)
            begin = time.perf_counter()
            consistency_proof(old, size, store.audit_node)
            samples.append(time.perf_counter() - begin)
        samples.sort()
        out["consistency_p50_ms"] = samples[len(samples) // 2] * 1000
        begin = time.perf_counter()
        reg.audit_prove(rng.randrange(1, size))
        out["cli_style_prove_ms"] = (time.perf_counter() - begin) * 1000
        reg.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    verdict = {True: "PASS", False: "MISS"}
    print(f"log of {entries:,} entries, appended at {out['append_per_s']:,.0f} entries/s")
    ok = out["verify_per_s"] >= 300_000
    print(
        f"audit verify            {out['verify_per_s']:12,.0f} entries/s"
        f"  (target >= 300,000)  {verdict[ok]}"
    )
    ok = out["log_overhead"] <= 0.20
    print(
        f"deploy with its entry   {out['deploy_ms_with_log']:8.3f} ms vs "
        f"{out['deploy_ms_without_log']:.3f} ms without: +{out['log_overhead']:.1%}  "
        f"(target <= +20%)  {verdict[ok]}"
    )
    ok = out["inclusion_p50_ms"] <= 1
    print(
        f"inclusion proof         p50 {out['inclusion_p50_ms']:.3f} ms  "
        f"p99 {out['inclusion_p99_ms']:.3f} ms  (target p50 <= 1 ms)  {verdict[ok]}"
    )
    print(f"consistency proof       p50 {out['consistency_p50_ms']:.3f} ms")
    print(f"prove (entry + proof)   {out['cli_style_prove_ms']:.3f} ms")


if __name__ == "__main__":
    main()
