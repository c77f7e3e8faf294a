"""Refused-request flood benchmark: a real `modelrepo serve` process on the embedded store.

Client processes send 10,000 refused requests (by default) over keep-alive connections: an
unknown token with a new id each time (every one a distinct refusal, so the cap on distinct
records is what holds), no token at all, and a viewer's token trying to deploy. Meanwhile
another client times `GET /healthz` one request after the other. The same client times
`/healthz` on the quiet server first, in the same run. Then an administrator reads the
record (`GET /api/v1/audit/denied`, which writes what the server still holds) and the run
reports how many records and audit entries the flood added.

The same is done first against a control: the same server with its record of refusals
taken away, so what the flood itself costs on this machine is told apart from what the
record adds. Last, the cost of noting one refusal, in-process.

    .venv/bin/python benchmarks/denied_bench.py            # about a minute
    .venv/bin/python benchmarks/denied_bench.py --json

Targets: `/healthz` p99 under 10 ms during the flood; a bounded number of records (at most
the cap plus one overflow record per window, whatever the flood).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry_bench import percentile
from server_bench import first_answer, running

from modelrepo import Registry
from modelrepo.domain.denials import DEFAULT_CAP, DEFAULT_WINDOW_SECONDS
from modelrepo.testing.s3server import free_port

DEPLOY = "/api/v1/models/credit-risk/environments/production/deploy"


def seed(store: Path) -> tuple[str, str]:
    """An admin token and a viewer token."""
    with Registry(store, user="bench") as reg:
        _, admin = reg.create_token("bench", "admin")
        _, viewer = reg.create_token("vic", "viewer")
    return admin, viewer


def _flood(port: int, viewer: str, count: int, go: Any, done: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    go.wait()
    refused = 0
    for i in range(count):
        kind = i % 3
        if kind == 0:  # an unknown token, a new id each time
            headers = {
                "Authorization": f"Bearer mr_{secrets.token_hex(6)}_{secrets.token_urlsafe(8)}"
            }
        elif kind == 1:
            headers = {}
        else:
            headers = {"Authorization": f"Bearer {viewer}"}
        conn.request("POST", DEPLOY, body=b'{"version": 1}', headers={
            **headers, "Content-Type": "application/json"})  # fmt: skip
        reply = conn.getresponse()
        reply.read()
        refused += reply.status in (401, 403)
    conn.close()
    done.put(refused)


def health(port: int, *, count: int | None = None, until: Any = None) -> list[float]:
    """Latencies in ms of sequential `GET /healthz` on one keep-alive connection: `count`
    of them, or as many as fit until the `until` event is set."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples: list[float] = []
    while (count is not None and len(samples) < count) or (
        until is not None and not until.is_set()
    ):
        begin = time.perf_counter()
        conn.request("GET", "/healthz")
        reply = conn.getresponse()
        reply.read()
        samples.append((time.perf_counter() - begin) * 1000)
        if reply.status != 200:
            raise RuntimeError(f"/healthz: {reply.status}")
        time.sleep(0.001)  # a probe, not a second flood
    conn.close()
    samples.sort()
    return samples


def admin_get(port: int, token: str, path: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    reply = conn.getresponse()
    body = json.loads(reply.read())
    conn.close()
    return body


def all_denied(port: int, token: str) -> list[dict[str, Any]]:
    """Every refused-request record, a page of 1,000 at a time."""
    records: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = admin_get(port, token, f"/api/v1/audit/denied?limit=1000{cursor}")
        records += page["items"]
        if page["next_cursor"] is None:
            return records
        cursor = f"&cursor={page['next_cursor']}"


@contextlib.contextmanager
def server(
    store: Path, work: Path, *, record: bool
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The app of `modelrepo serve` (one worker, no access log) on a free port; without
    `record`, the control: the same app with its record of refusals taken away."""
    port = free_port()
    command = [sys.executable, __file__, "--serve", str(port), *([] if record else ["--control"])]
    with running(command, work, port, {**os.environ, "MODELREPO_STORE": str(store)}) as process:
        yield port, process


def _serve(port: int, control: bool) -> None:
    import uvicorn

    from modelrepo.server.app import from_environment

    app = from_environment()
    if control:
        app.state.denials = None  # nothing is noted: the server as it was before the record
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()


def flood(
    store: Path, admin: str, viewer: str, requests: int, clients: int, work: Path, *, record: bool
) -> dict[str, Any]:
    with server(store, work, record=record) as (port, process):
        first_answer(port, "/api/v1/whoami", admin, process)
        health(port, count=300)  # warm up
        quiet = health(port, count=2000)
        size_before = admin_get(port, admin, "/readyz")["audit_size"]
        ctx = multiprocessing.get_context("spawn")
        go, done, stop = ctx.Event(), ctx.Queue(), ctx.Event()
        each = requests // clients
        floods = [
            ctx.Process(target=_flood, args=(port, viewer, each, go, done)) for _ in range(clients)
        ]
        for p in floods:
            p.start()
        time.sleep(0.5)  # every client has started
        prober = ctx.Process(target=_probe, args=(port, stop, done))
        prober.start()
        time.sleep(0.2)
        begin = time.perf_counter()
        go.set()
        refused = sum(done.get() for _ in floods)
        seconds = time.perf_counter() - begin
        stop.set()
        during: list[float] = done.get()
        for p in [*floods, prober]:
            p.join()
        records = all_denied(port, admin) if record else []
        size_after = admin_get(port, admin, "/readyz")["audit_size"]
    return {
        "requests": clients * each,
        "refused": refused,
        "flood_seconds": seconds,
        "flood_per_s": clients * each / seconds,
        "health_quiet_p50_ms": percentile(quiet, 50),
        "health_quiet_p99_ms": percentile(quiet, 99),
        "health_flood_p50_ms": percentile(during, 50),
        "health_flood_p99_ms": percentile(during, 99),
        "health_flood_samples": len(during),
        "records_added": len(records),
        "attempts_counted": sum(r["count"] for r in records),
        "overflow_attempts": sum(r["count"] for r in records if r["route"] == "*"),
        "audit_entries_added": size_after - size_before,
    }


def note_cost(count: int = 100_000) -> float:
    """Microseconds to note one refusal (what a refused request pays), in-process."""
    from modelrepo.domain.errors import Unauthenticated
    from modelrepo.server import create_app
    from modelrepo.server.denials import DenialRecorder

    registry = Registry.in_memory(user="bench")
    recorder = DenialRecorder(registry)
    scope: dict[str, Any] = {
        "type": "http", "method": "POST", "path": DEPLOY, "root_path": "",
        "client": ("192.0.2.1", 5000), "state": {}, "app": create_app(registry),
        "headers": [(b"authorization", b"Bearer mr_0123456789ab_nope")],
    }  # fmt: skip
    error = Unauthenticated("unknown API token")
    begin = time.perf_counter()
    for _ in range(count):
        recorder.refused(scope, error)
    return (time.perf_counter() - begin) / count * 1e6


def run(requests: int, clients: int, work: Path) -> dict[str, Any]:
    store = work / "store"
    admin, viewer = seed(store)
    control = flood(store, admin, viewer, requests, clients, work, record=False)
    recorded = flood(store, admin, viewer, requests, clients, work, record=True)
    return {
        "recording": recorded,
        "control": control,
        "note_us": note_cost(),
        "window_s": DEFAULT_WINDOW_SECONDS,
        "cap": DEFAULT_CAP,
    }


def _probe(port: int, stop: Any, done: Any) -> None:
    done.put(health(port, until=stop))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--control", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.control)
        return
    with tempfile.TemporaryDirectory() as folder:
        r = run(args.requests, args.clients, Path(folder))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    report(r, args.clients)


def report(r: dict[str, Any], clients: int) -> None:
    rec, ctl = r["recording"], r["control"]
    print(
        f"flood: {rec['requests']} requests ({rec['refused']} refused) from {clients} clients, "
        f"{rec['flood_per_s']:.0f}/s recorded ({ctl['flood_per_s']:.0f}/s without the record)"
    )
    print("/healthz (ms)          quiet p50  quiet p99  flood p50  flood p99")
    for name, x in (("recording", rec), ("control, no record", ctl)):
        print(
            f"{name:<20} {x['health_quiet_p50_ms']:>10.2f} {x['health_quiet_p99_ms']:>10.2f} "
            f"{x['health_flood_p50_ms']:>10.2f} {x['health_flood_p99_ms']:>10.2f}"
        )
    verdict = "PASS" if rec["health_flood_p99_ms"] < 10 else "FAIL"
    print(f"  target: p99 < 10 ms during the flood, recording: {verdict}")
    print(f"noting one refusal: {r['note_us']:.1f} us (in-process)")
    print(
        f"recorded: {rec['records_added']} records for {rec['attempts_counted']} refusals "
        f"({rec['overflow_attempts']} in the overflow record), {rec['audit_entries_added']} "
        f"audit entries; window {r['window_s']:.0f} s, cap {r['cap']}"
    )
    # per window: the cap, the overflow record, and the viewer's own refusals (not capped)
    bound = (r["cap"] + 1 + 2) * max(1, rec["audit_entries_added"])
    print(f"  bounded (at most {bound}): {'PASS' if rec['records_added'] <= bound else 'FAIL'}")


if __name__ == "__main__":
    main()
