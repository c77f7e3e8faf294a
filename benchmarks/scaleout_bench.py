"""Scale-out benchmark: the registry on PostgreSQL + S3, next to baselines from the same run.

1. `Registry.live` (as-of) p50/p99 through the SDK on PostgreSQL, with the embedded store
   (SQLite) answering the same queries on the same history as the baseline;
2. deploy events/s, register versions/s and bulk decision ingest (decisions/s) with
   8 concurrent client processes on one PostgreSQL + S3 store, next to the bare rate of
   8 processes committing single-row (or, for ingest, executemany) transactions to the
   same PostgreSQL server;
3. S3 upload and download throughput of one file through the blob store (streamed,
   SHA-256 verified, content-addressed), next to a plain boto3 `upload_file` /
   `download_file` of the same file to the same endpoint.

S3 is the endpoint given in $MODELREPO_S3_ENDPOINT_URL, or else moto's standalone server
started on loopback for the run (the only S3 endpoint this project's CI can reach; its
figures say more about the client path than about a real S3 service). PostgreSQL is
$MODELREPO_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test); a scratch
database is created and dropped.

    .venv/bin/python benchmarks/scaleout_bench.py          # full run (~2-3 minutes)
    .venv/bin/python benchmarks/scaleout_bench.py --quick  # smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psycopg

from modelrepo import Registry
from modelrepo.testing.s3server import aws_test_environment, moto_server, new_bucket

ADMIN = os.environ.get("MODELREPO_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CLIENTS = 8
T0 = datetime(2025, 1, 1, tzinfo=UTC)
MiB = 1 << 20


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


@contextlib.contextmanager
def s3_endpoint(scratch: Path) -> Iterator[str]:
    given = os.environ.get("MODELREPO_S3_ENDPOINT_URL")
    if given:
        yield given
        return
    with moto_server(scratch / "moto.log") as endpoint:
        for name, value in aws_test_environment(endpoint, scratch).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield endpoint


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- 1. as-of through the SDK ---------------------------------------------------------------


def history(models: int, events: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(7)
    out: dict[str, list[dict[str, Any]]] = {}
    for m in range(models):
        rows = []
        at = T0
        for _ in range(events):
            at += timedelta(minutes=rng.randint(1, 600))
            rows.append({"environment": "production", "effective_at": at, "versions": {1: 1.0}})
        out[f"model-{m:03d}"] = rows
    return out


def fill(reg: Registry, artifact: Path, hist: dict[str, list[dict[str, Any]]]) -> None:
    for name, rows in hist.items():
        reg.register(name, artifact, code=False, environment=False)
        reg.import_deployments(name, rows, source="benchmark")


def random_queries(
    hist: dict[str, list[dict[str, Any]]], n: int, seed: int
) -> list[tuple[str, datetime]]:
    """`n` (model, instant) pairs spread over the whole history."""
    rng = random.Random(seed)
    names = list(hist)
    end = max(rows[-1]["effective_at"] for rows in hist.values())
    span = (end - T0).total_seconds()
    return [(rng.choice(names), T0 + timedelta(seconds=rng.uniform(0, span))) for _ in range(n)]


def time_live(reg: Registry, hist: dict[str, list[dict[str, Any]]], n: int) -> list[float]:
    queries = random_queries(hist, n, 11)
    for name, at in queries[:200]:
        reg.live(name, env="production", at=at)
    samples = []
    for name, at in queries:
        start = time.perf_counter()
        reg.live(name, env="production", at=at)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


@contextlib.contextmanager
def http_replica(scratch: Path) -> Iterator[str]:
    """`modelrepo serve` on the same store (from the environment), until the block ends."""
    import subprocess
    import sys

    import httpx

    from modelrepo.testing.s3server import free_port

    port = free_port()
    log = open(scratch / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "modelrepo", "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((scratch / "serve.log").read_text())
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def time_live_http(
    base: str, token: str, hist: dict[str, list[dict[str, Any]]], n: int
) -> list[float]:
    import httpx

    queries = [(name, at.isoformat()) for name, at in random_queries(hist, n, 13)]
    samples = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        for name, at in queries[:200]:
            http.get(f"/api/v1/models/{name}/environments/production/live", params={"at": at})
        for name, at in queries:
            start = time.perf_counter()
            reply = http.get(
                f"/api/v1/models/{name}/environments/production/live", params={"at": at}
            )
            samples.append((time.perf_counter() - start) * 1e6)
            assert reply.status_code == 200, reply.text
    return samples


# -- 2. concurrent clients ------------------------------------------------------------------


def _client(task: str, worker: int, count: int, scratch: str, queue: Any) -> None:
    reg = Registry(user=f"client-{worker}")  # database, blobs and key from the environment
    folder = Path(scratch)
    queue.put(("ready", worker))
    start = time.perf_counter()
    if task == "register":
        for i in range(count):
            path = folder / f"w{worker}-{i}.json"
            path.write_text(f'{{"worker": {worker}, "i": {i}}}')
            reg.register("shared", path, code=False, environment=False)
    elif task == "deploy":
        for i in range(count):
            reg.deploy("shared", 1 + (worker + i) % 3, env="production")
    elif task == "ingest":
        batch = 1000
        for b in range(count // batch):
            reg.log_decisions(
                {
                    "model": "shared",
                    "version": 1,
                    "decision_id": f"w{worker}-{b}-{i}",
                    "inputs": {"income": i, "debt": worker},
                    "output": 0.5,
                    "decided_at": T0 + timedelta(seconds=i),
                }
                for i in range(batch)
            )
    queue.put(("done", time.perf_counter() - start))
    reg.close()


def run_clients(task: str, count: int, scratch: Path) -> float:
    """Operations per second over CLIENTS processes (count each), timed by the slowest."""
    return in_processes(_client, lambda w, queue: (task, w, count, str(scratch), queue), count)


def in_processes(target: Any, arguments: Any, count: int) -> float:
    """Run `target` in CLIENTS processes (each doing `count` operations and reporting its own
    span on the queue); operations per second, timed by the slowest."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=arguments(w, queue)) for w in range(CLIENTS)]
    for p in procs:
        p.start()
    spans = []
    while len(spans) < CLIENTS:
        kind, value = queue.get(timeout=900)
        if kind == "done":
            spans.append(value)
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"a {target.__name__} process failed")
    return CLIENTS * count / max(spans)


def _bare(url: str, task: str, worker: int, count: int, queue: Any) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        queue.put(("ready", worker))
        start = time.perf_counter()
        if task == "commit":
            for i in range(count):
                with conn.transaction():
                    conn.execute(
                        "INSERT INTO bare_commits (worker, i) VALUES (%s, %s)", (worker, i)
                    )
        else:
            rows = [(f"w{worker}-{i}", i, "{}", "0.5") for i in range(1000)]
            for b in range(count // 1000):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO bare_rows (decision_id, n, inputs, output) "
                        "VALUES (%s || %s, %s, %s, %s)",
                        [(r[0], f"-{b}", r[1], r[2], r[3]) for r in rows],
                    )
        queue.put(("done", time.perf_counter() - start))


def run_bare(url: str, task: str, count: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bare_commits (worker int, i int)")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bare_rows (id bigserial primary key, "
            "decision_id text unique, n bigint, inputs text, output text)"
        )
    return in_processes(_bare, lambda w, queue: (url, task, w, count, queue), count)


# -- 3. S3 throughput -----------------------------------------------------------------------


def s3_throughput(reg: Registry, endpoint: str, scratch: Path, size: int) -> dict[str, float]:
    source = scratch / "big.bin"
    with open(source, "wb") as out:
        for _ in range(size // MiB):
            out.write(os.urandom(MiB))
    blobs = reg.backend.blobs
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = new_bucket(client)
    figures: dict[str, float] = {}
    start = time.perf_counter()
    with open(source, "rb") as f:
        info = blobs.put(f)
    figures["store_put"] = size / MiB / (time.perf_counter() - start)
    start = time.perf_counter()
    with blobs.open(info.sha256) as stream, open(scratch / "back.bin", "wb") as out:
        while chunk := stream.read(MiB):
            out.write(chunk)
    figures["store_get"] = size / MiB / (time.perf_counter() - start)
    start = time.perf_counter()
    client.upload_file(str(source), bucket, "plain.bin")
    figures["boto3_put"] = size / MiB / (time.perf_counter() - start)
    start = time.perf_counter()
    client.download_file(bucket, "plain.bin", str(scratch / "plain.bin"))
    figures["boto3_get"] = size / MiB / (time.perf_counter() - start)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    quick = args.quick
    models, events = (20, 50) if quick else (200, 500)
    ops = 20 if quick else 100
    ingest = 2000 if quick else 20000
    size = (32 if quick else 256) * MiB

    with (
        tempfile.TemporaryDirectory(prefix="modelrepo-scaleout-") as tmp,
        scratch_database() as pg,
        s3_endpoint(Path(tmp)) as endpoint,
    ):
        scratch = Path(tmp)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        bucket = new_bucket(client)
        os.environ["MODELREPO_DATABASE_URL"] = pg
        os.environ["MODELREPO_BLOB_URL"] = f"s3://{bucket}/bench"
        os.environ["MODELREPO_AUDIT_KEY_FILE"] = str(scratch / "audit.pem")
        artifact = scratch / "artifact.json"
        artifact.write_text('{"income": 0.25}')
        print(f"PostgreSQL {ADMIN.rsplit('@', 1)[-1]}, S3 {endpoint}, {CLIENTS} clients")

        hist = history(models, events)
        with Registry(user="bench") as reg, Registry(scratch / "embedded", user="bench") as lite:
            fill(reg, artifact, hist)
            fill(lite, artifact, hist)
            n = 2000 if quick else 20000
            pg_live = time_live(reg, hist, n)
            lite_live = time_live(lite, hist, n)
            p50 = statistics.median(pg_live)
            print(f"\n1. as-of through the SDK, {models * events:,} events, {n:,} random instants")
            print(f"   PostgreSQL  p50 {p50:8.0f} us   p99 {pct(pg_live, 0.99):8.0f} us")
            print(
                f"   SQLite      p50 {statistics.median(lite_live):8.0f} us   "
                f"p99 {pct(lite_live, 0.99):8.0f} us   (embedded baseline)"
            )
            print(f"   PostgreSQL p50 <= 1 ms: {verdict(p50 <= 1000)}")
            token = reg.create_token("bench", "viewer")[1]
            with http_replica(scratch) as base:
                over_http = time_live_http(base, token, hist, n // 4)
            print(
                f"   over HTTP   p50 {statistics.median(over_http):8.0f} us   "
                f"p99 {pct(over_http, 0.99):8.0f} us   (one replica, keep-alive client)"
            )
            for v in range(3):
                (scratch / "v.json").write_text(f'{{"v": {v}}}')
                reg.register("shared", scratch / "v.json", code=False, environment=False)

            print(f"\n2. {CLIENTS} concurrent client processes on one PostgreSQL + S3 store")
            bare = run_bare(pg, "commit", ops * 2)
            deploys = run_clients("deploy", ops, scratch)
            registers = run_clients("register", ops, scratch)
            print(f"   bare single-row commits     {bare:10,.0f} /s   (baseline)")
            print(f"   deploy events               {deploys:10,.0f} /s   {deploys / bare:5.2f}x")
            print(
                f"   register versions           {registers:10,.0f} /s   {registers / bare:5.2f}x"
            )
            bare_rows = run_bare(pg, "rows", ingest)
            decisions = run_clients("ingest", ingest, scratch)
            print(f"   bare executemany rows       {bare_rows:10,.0f} /s   (baseline)")
            print(
                f"   bulk decision ingest        {decisions:10,.0f} /s   "
                f"{decisions / bare_rows:5.2f}x   (batches of 1,000)"
            )
            history_now = reg.history("shared", env="production")
            versions = [v.version for v in reg.versions("shared")]
            assert versions == list(range(1, len(versions) + 1)), "versions must be gap-free"
            assert len(history_now) == CLIENTS * ops
            assert reg.audit_verify().ok

            print(f"\n3. S3 throughput, one {size // MiB} MiB file")
            f = s3_throughput(reg, endpoint, scratch, size)
            print(
                f"   upload   store {f['store_put']:7.1f} MiB/s   boto3 {f['boto3_put']:7.1f} MiB/s"
                f"   {f['store_put'] / f['boto3_put']:5.2f}x"
            )
            print(
                f"   download store {f['store_get']:7.1f} MiB/s   boto3 {f['boto3_get']:7.1f} MiB/s"
                f"   {f['store_get'] / f['boto3_get']:5.2f}x"
            )


if __name__ == "__main__":
    main()
