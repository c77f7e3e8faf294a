"""Server benchmark: a real `modelrepo serve` process on the embedded store, over loopback.

One run measures, each figure next to its target and a baseline from the same run:

1. cold start: from launching `modelrepo serve` to its first successful authenticated
   answer (target <= 1 s), next to the bare interpreter's start;
2. `GET .../live` and `GET .../live?at=` p50/p99 with one keep-alive client (target
   p50 <= 2 ms), next to `GET /healthz` through the same server and `Registry.live`
   in-process on the same store;
3. requests/s with keep-alive and several connections against `--workers 2` (target
   >= 2,000 /s on 2 cores), by `wrk` when it is installed (`apt-get install wrk`), else by
   client processes using `http.client`; `/healthz` is the baseline;
4. resident memory of each worker after that load (target <= 150 MiB);
5. batch decision ingest over HTTP, `POST /api/v1/decisions/batch` of 10,000 decisions
   (target >= 50,000 /s), next to `Registry.log_decisions` in-process on the same batches;
6. a 1 GiB artifact uploaded (`register`) and downloaded through the server with the
   remote SDK, next to `cp` and `cp` + fsync of the same file (target >= 0.5x cp), and to
   the two floors under any verified transfer: SHA-256 of the file alone, and its bytes
   through a bare loopback TCP connection. Memory is touched once first (`--warm-gib`):
   on a virtual machine, the first write into never-used memory is several times slower.

    .venv/bin/python benchmarks/server_bench.py              # about 2 minutes
    .venv/bin/python benchmarks/server_bench.py --quick      # 64 MiB, fewer requests
    .venv/bin/python benchmarks/server_bench.py --json

The load generator shares the machine's two cores with the server: the requests/s figure
is what the server answers while that happens, not what it would on its own cores.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from registry_bench import _settle, make_big_file, percentile

from modelrepo import Registry
from modelrepo.remote import RemoteRegistry
from modelrepo.testing.s3server import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL = "credit-risk"
ENV = "production"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
MIB = 1 << 20

# The MLflow 3.17 figures (benchmarks/mlflow_baseline.py and the server runs):
MLFLOW = {
    "alias_p50_ms_tuned": 11.0,
    "alias_p50_ms_stock": 52.0,
    "cold_start_s_tuned": 6.6,
    "cold_start_s_stock": 13.0,
    "rss_mib": 490.0,
}


def log(message: str) -> None:
    print(f"[server-bench] {message}", file=sys.stderr, flush=True)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (uvicorn's workers, under `--workers N`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


# -- the store ----------------------------------------------------------------------------


def seed(store: Path, events: int) -> tuple[str, list[str]]:
    """A model with three versions and `events` production deployments over a year; an admin
    token; and instants spread over the history for `?at=` queries."""
    reg = Registry(store, user="bench")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "coefficients.json").write_text('{"income": 0.25}')
        for i in range(3):
            (Path(folder) / "coefficients.json").write_text(f'{{"income": 0.2{i}}}')
            reg.register(MODEL, folder, code=False, environment=False)
    rng = random.Random(5)
    rows = [
        {
            "environment": ENV,
            "effective_at": T0 + timedelta(hours=8760 * k / events),
            "versions": {1 + k % 3: 1.0},
        }
        for k in range(events)
    ]
    reg.import_deployments(MODEL, rows, source="benchmark")
    reg.deploy(MODEL, 3, env=ENV, reason="current")
    _, secret = reg.create_token("bench", "admin")
    instants = [
        (T0 + timedelta(seconds=rng.uniform(0, 8760 * 3600))).strftime("%Y-%m-%dT%H:%M:%SZ")
        for _ in range(500)
    ]
    reg.close()
    return secret, instants


@contextlib.contextmanager
def server(store: Path, workers: int, logs: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [sys.executable, "-m", "modelrepo", "--store", str(store), "serve"]
    with running([*command, "--port", str(port), "--workers", str(workers)], logs, port) as p:
        yield port, p


@contextlib.contextmanager
def running(
    command: list[str], logs: Path, port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, its output in `logs/serve-PORT.log`; stopped (killed after 30 s)
    and its log closed on the way out."""
    out = open(logs / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()


def first_answer(port: int, path: str, token: str, process: subprocess.Popen[bytes]) -> None:
    """Poll every 2 ms until `path` answers 200."""
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.002)


LIVE = f"/api/v1/models/{MODEL}/environments/{ENV}/live"


# -- 1. cold start ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used: its own cost, whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_start(store: Path, token: str, logs: Path, runs: int) -> dict[str, Any]:
    bare = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - begin)
    starts, cpu = [], []
    for _ in range(runs):
        begin = time.perf_counter()
        with server(store, 1, logs) as (port, process):
            first_answer(port, LIVE, token, process)
            starts.append(time.perf_counter() - begin)
            cpu.append(cpu_seconds(process.pid))
            rss = rss_mib(process.pid)
    return {
        "cold_start_s": statistics.median(starts),
        "cold_start_max_s": max(starts),
        "cold_start_cpu_s": statistics.median(cpu),
        "python_start_s": statistics.median(bare),
        "idle_rss_mib_one_process": rss,
    }


# -- 2. latency ---------------------------------------------------------------------------


def latency(port: int, token: str, paths: list[str], count: int) -> tuple[float, float]:
    """p50 and p99 in ms of `count` sequential GETs cycling through `paths` on one
    keep-alive connection (`http.client`: a thin client, so the server's time dominates)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for i in range(count + 200):
        begin = time.perf_counter()
        conn.request("GET", paths[i % len(paths)], headers=headers)
        reply = conn.getresponse()
        reply.read()
        elapsed = time.perf_counter() - begin
        if reply.status != 200:
            raise RuntimeError(f"{paths[i % len(paths)]}: {reply.status}")
        if i >= 200:  # the first 200 warm the server up
            samples.append(elapsed * 1000)
    conn.close()
    samples.sort()
    return percentile(samples, 50), percentile(samples, 99)


def in_process_live(store: Path, instants: list[str], count: int) -> tuple[float, float]:
    reg = Registry(store, user="bench")
    samples = []
    for i in range(count + 200):
        begin = time.perf_counter()
        reg.live(MODEL, env=ENV, at=instants[i % len(instants)])
        if i >= 200:
            samples.append((time.perf_counter() - begin) * 1000)
    reg.close()
    samples.sort()
    return percentile(samples, 50), percentile(samples, 99)


# -- 3. throughput ------------------------------------------------------------------------


def _client(port: int, token: str, paths: list[str], seconds: float, queue: Any, go: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    done = 0
    queue.put("ready")
    go.wait()  # all clients start together, once every one has started up
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        conn.request("GET", paths[done % len(paths)], headers=headers)
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            raise RuntimeError(str(reply.status))
        done += 1
    queue.put(done)


def throughput(
    port: int, token: str, paths: list[str], seconds: float, connections: int, work: Path
) -> tuple[float, str]:
    """Requests/s, and which load generator measured it."""
    wrk = shutil.which("wrk")
    if wrk:
        script = work / "paths.lua"
        quoted = ", ".join(json.dumps(p) for p in paths)
        script.write_text(
            f"local paths = {{{quoted}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            '  return wrk.format("GET", paths[i])\nend\n'
        )
        options = [f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script)]
        done = subprocess.run(
            [
                wrk,
                "-t2",
                *options,
                "-H",
                f"Authorization: Bearer {token}",
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "Non-2xx" in done:
            raise RuntimeError(done)
        rate = next(line for line in done.splitlines() if line.startswith("Requests/sec:"))
        return float(rate.split()[1]), f"wrk -t2 -c{connections}"
    context = multiprocessing.get_context("spawn")
    queue, go = context.Queue(), context.Event()
    procs = [
        context.Process(target=_client, args=(port, token, paths, seconds, queue, go))
        for _ in range(connections)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        queue.get()
    go.set()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds, f"{connections} http.client processes"


# -- 5. decision batches ------------------------------------------------------------------


def decision_batches(count: int, size: int) -> list[list[dict[str, Any]]]:
    rng = random.Random(9)
    batches = []
    for b in range(count):
        batches.append(
            [
                {
                    "model": MODEL,
                    "version": 3,
                    "decision_id": f"b{b}-{i}",
                    "inputs": {"income": rng.randint(1, 10**6), "age": rng.randint(18, 90)},
                    "output": rng.random(),
                }
                for i in range(size)
            ]
        )
    return batches


def ingest(port: int, token: str, store: Path, batches: int, size: int) -> dict[str, float]:
    """Decisions/s over HTTP and in-process, batch about (they share the machine's mood)."""
    http_batches = decision_batches(batches, size)
    local_batches = [
        [{**d, "decision_id": "local-" + d["decision_id"]} for d in batch]
        for batch in decision_batches(batches, size)
    ]
    reg = Registry(store, user="bench")
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    spent = {"http": 0.0, "local": 0.0}
    bodies = [json.dumps({"decisions": batch}).encode() for batch in http_batches]
    for body, local in zip(bodies, local_batches, strict=True):  # both prebuilt, untimed
        begin = time.perf_counter()
        conn.request("POST", "/api/v1/decisions/batch", body, headers)
        reply = conn.getresponse()
        body = reply.read()
        spent["http"] += time.perf_counter() - begin
        if reply.status != 201:
            raise RuntimeError(body.decode())
        begin = time.perf_counter()
        reg.log_decisions(local)
        spent["local"] += time.perf_counter() - begin
    reg.close()
    conn.close()
    total = batches * size
    return {"http_per_s": total / spent["http"], "in_process_per_s": total / spent["local"]}


# -- 6. 1 GiB -----------------------------------------------------------------------------


def warm_memory(gib: int) -> float:
    """Untimed: touch `gib` GiB of memory once, then free it; seconds taken.

    On a virtual machine whose memory the host backs lazily, the first write to a page the
    guest never used costs a fault in the host: writing 1 GiB into such pages took 2.5-3.6 s
    here, against 0.23 s once they had been used. `cp` overwrites one file, so it reuses the
    pages it freed, while every upload and download writes a new file into fresh pages. After
    this, both sides write into memory that has been used before."""
    begin = time.perf_counter()
    blocks = []
    for _ in range(gib):
        blocks.append(bytearray(1 << 30))  # zero-filled: every page is written
    del blocks
    return time.perf_counter() - begin


def sha256_seconds(path: Path) -> float:
    """Hashing the file alone, in-process with hashlib (the floor of any verified copy)."""
    import hashlib

    digest = hashlib.sha256()
    buffer = bytearray(4 * MIB)
    view = memoryview(buffer)
    begin = time.perf_counter()
    with open(path, "rb", buffering=0) as source:
        while n := source.readinto(buffer):
            digest.update(view[:n])
    return time.perf_counter() - begin


def loopback_seconds(path: Path) -> float:
    """The file's bytes through a bare TCP connection over loopback: `sendfile` into a
    socket, `recv_into` one reused buffer on the other end; nothing parsed or stored."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    received: list[int] = []

    def drain() -> None:
        conn, _ = listener.accept()
        buffer = bytearray(4 * MIB)
        total = 0
        while n := conn.recv_into(buffer):
            total += n
        received.append(total)
        conn.close()

    reader = threading.Thread(target=drain)
    reader.start()
    begin = time.perf_counter()
    with socket.create_connection(listener.getsockname()) as sender, open(path, "rb") as f:
        sender.sendfile(f)
    reader.join()
    spent = time.perf_counter() - begin
    listener.close()
    if received != [path.stat().st_size]:
        raise RuntimeError("the loopback copy lost bytes")
    return spent


def big_file(port: int, token: str, work: Path, mib: int, rounds: int) -> dict[str, float]:
    """Median seconds of cp, cp + fsync, upload and download of one `mib` MiB file, and of
    the two floors under any verified transfer of it: SHA-256 alone, and a bare loopback
    TCP copy."""
    src = work / "big.bin"
    make_big_file(src, mib)
    dst = work / "cp.bin"
    subprocess.run(["cp", str(src), str(dst)], check=True)  # warms the source's pages
    _settle(dst)
    times: dict[str, list[float]] = {
        k: [] for k in ("cp", "cp_sync", "upload", "download", "sha256", "loopback")
    }
    # A long timeout: on a busy machine, registering 1 GiB can take longer than a minute.
    remote = RemoteRegistry(f"http://127.0.0.1:{port}", token=token, timeout=900)
    for turn in range(rounds):
        log(f"{mib} MiB round {turn + 1}/{rounds}")
        begin = time.perf_counter()
        subprocess.run(["cp", str(src), str(dst)], check=True)
        times["cp"].append(time.perf_counter() - begin)
        _settle(dst)
        begin = time.perf_counter()
        subprocess.run(["cp", str(src), str(dst)], check=True)
        subprocess.run(["sync", str(dst)], check=True)
        times["cp_sync"].append(time.perf_counter() - begin)
        _settle(dst)
        times["sha256"].append(sha256_seconds(src))
        times["loopback"].append(loopback_seconds(src))
        begin = time.perf_counter()
        version = remote.register(f"big-{turn}", src, code=False).version
        times["upload"].append(time.perf_counter() - begin)
        time.sleep(1)
        target = work / f"download-{turn}"
        begin = time.perf_counter()
        remote.download(f"big-{turn}", version, target)
        times["download"].append(time.perf_counter() - begin)
        if (target / src.name).stat().st_size != mib * MIB:
            raise RuntimeError("the download has the wrong size")
        _settle(target / src.name)
    remote.close()
    src.unlink()
    return {k: statistics.median(v) for k, v in times.items()}


# -- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    store = work / "store"
    log(f"seeding a store with {args.events} deployment events")
    token, instants = seed(store, args.events)
    at_paths = [f"{LIVE}?at={t}" for t in instants]

    log(f"cold start, {args.starts} launches")
    out.update(cold_start(store, token, work, args.starts))

    with server(store, 2, work) as (port, process):
        first_answer(port, LIVE, token, process)
        workers = [p for p in children(process.pid) if "spawn_main" in cmdline(p)]
        out["workers"] = len(workers)
        log(f"latency, {args.requests} requests per path")
        out["healthz_ms"] = latency(port, token, ["/healthz"], args.requests)
        out["live_ms"] = latency(port, token, [LIVE], args.requests)
        out["live_at_ms"] = latency(port, token, at_paths, args.requests)
        out["in_process_live_at_ms"] = in_process_live(store, instants, args.requests)
        log(f"throughput, {args.seconds} s per path")
        out["healthz_per_s"], _ = throughput(
            port, token, ["/healthz"], args.seconds, args.connections, work
        )
        out["live_per_s"], out["load_generator"] = throughput(
            port, token, [LIVE], args.seconds, args.connections, work
        )
        out["live_at_per_s"], _ = throughput(
            port, token, at_paths, args.seconds, args.connections, work
        )
        out["worker_rss_mib"] = [rss_mib(p) for p in workers]
        out["supervisor_rss_mib"] = rss_mib(process.pid)
        log(f"decision ingest, {args.batches} batches of {args.batch_size}")
        out["ingest"] = ingest(port, token, store, args.batches, args.batch_size)
        log("so far: " + json.dumps(out))
        if args.big_mib:
            if args.warm_gib:
                log(f"touching {args.warm_gib} GiB of memory once (see warm_memory)")
                out["warm_memory_s"] = warm_memory(args.warm_gib)
            log(f"{args.big_mib} MiB upload and download, {args.big_rounds} rounds")
            out["big"] = big_file(port, token, work, args.big_mib, args.big_rounds)
            out["big_mib"] = args.big_mib
    out["load_average_at_end"] = os.getloadavg()
    return out


def cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(r: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str, str]] = []

    def ms(pair: tuple[float, float]) -> str:
        return f"p50 {pair[0]:.2f} / p99 {pair[1]:.2f} ms"

    rows.append(
        (
            "cold start to first answer (median)",
            f"{r['cold_start_s']:.2f} s (max {r['cold_start_max_s']:.2f}), "
            f"{r['cold_start_cpu_s']:.2f} s of CPU",
            f"python -c pass {r['python_start_s'] * 1000:.0f} ms; MLflow 6.6 s / 13 s",
            f"<= 1 s {verdict(r['cold_start_s'] <= 1)}",
        )
    )
    base = f"/healthz {ms(r['healthz_ms'])}; in-process {ms(r['in_process_live_at_ms'])}"
    for key, label in (("live_ms", "GET live"), ("live_at_ms", "GET live?at=")):
        rows.append(
            (label, ms(r[key]), base, f"p50 <= 2 ms {verdict(r[key][0] <= 2)}; MLflow 11/52 ms")
        )
    for key, label in (("live_per_s", "live req/s"), ("live_at_per_s", "live?at= req/s")):
        rows.append(
            (
                f"{label}, --workers 2",
                f"{r[key]:,.0f} /s",
                f"/healthz {r['healthz_per_s']:,.0f} /s ({r['load_generator']})",
                f">= 2,000 /s {verdict(r[key] >= 2000)}",
            )
        )
    worst = max(r["worker_rss_mib"])
    rows.append(
        (
            f"RSS per worker after load ({r['workers']} workers)",
            ", ".join(f"{x:.0f}" for x in r["worker_rss_mib"]) + " MiB",
            f"supervisor {r['supervisor_rss_mib']:.0f} MiB; MLflow 490 MiB",
            f"<= 150 MiB {verdict(worst <= 150)}",
        )
    )
    ing = r["ingest"]
    rows.append(
        (
            "decision batch ingest over HTTP",
            f"{ing['http_per_s']:,.0f} /s",
            f"in-process log_decisions {ing['in_process_per_s']:,.0f} /s",
            f">= 50,000 /s {verdict(ing['http_per_s'] >= 50_000)}",
        )
    )
    if "big" in r:
        big, size = r["big"], r["big_mib"] * MIB / 1e6
        for key in ("upload", "download"):
            rows.append(
                (
                    f"{r['big_mib']} MiB {key} through the server",
                    f"{size / big[key]:,.0f} MB/s",
                    f"cp {size / big['cp']:,.0f} MB/s ({big['cp'] / big[key]:.2f}x), "
                    f"cp+fsync {size / big['cp_sync']:,.0f} MB/s "
                    f"({big['cp_sync'] / big[key]:.2f}x)",
                    f">= 0.5x cp {verdict(big['cp'] / big[key] >= 0.5)}",
                )
            )
        rows.append(
            (
                "floors under any verified transfer",
                f"SHA-256 alone {size / big['sha256']:,.0f} MB/s "
                f"({big['cp'] / big['sha256']:.2f}x cp)",
                f"bare loopback TCP {size / big['loopback']:,.0f} MB/s "
                f"({big['cp'] / big['loopback']:.2f}x cp)",
                "0.5x cp needs SHA-256 >= 0.5x cp",
            )
        )
    print(
        f"load average {r['load_average_at_start'][0]:.2f} at start, "
        f"{r['load_average_at_end'][0]:.2f} at end"
    )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--big-mib", type=int, default=1024, help="0 skips")
    parser.add_argument("--big-rounds", type=int, default=3)
    parser.add_argument(
        "--warm-gib",
        type=int,
        default=8,
        help="GiB of memory to touch once before the large-file rounds (0: none)",
    )
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given still win
        parser.set_defaults(
            starts=2, requests=500, seconds=3, batches=3, big_mib=64, big_rounds=1, warm_gib=0
        )
    args = parser.parse_args()
    parent = REPO_ROOT / ".bench-tmp"
    parent.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="server-bench-", dir=parent))
    try:
        result = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()
