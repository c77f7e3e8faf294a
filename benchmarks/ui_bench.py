"""Web UI benchmark: a model with 10,000 deployment events (imported as backfills over five
environments, some of them splits), as the UI's timeline chart sees it.

1. `GET /api/v1/models/{name}/timeline` through the ASGI app on the embedded store: p50/max
   wall time (target p50 <= 1 s: the chart loads it once), the JSON size (target <= 4 MB)
   and the bytes sent (gzip-compressed, as browsers ask);
2. the chart's code in JavaScript (the UI's `timeline.mjs`, what the browser runs) over that
   response under Node, when Node is installed: `lanes` once per load (target p50 <= 100 ms)
   and `layout` per redraw of the whole history on 1,200 pixels (target p50 <= 16 ms, one
   frame), and the number of bars drawn (at most about one per pixel column and lane);
3. `GET /ui/` and `/ui/app.mjs`: bytes shipped to the browser.

The browser's own drawing (SVG nodes) is not measured here: it needs a headless browser.
On a shared machine, other work moves every figure: the load average is printed at start and
end. The exit status is 0 whether targets are met or not.

    .venv/bin/python benchmarks/ui_bench.py          # 10,000 events
    .venv/bin/python benchmarks/ui_bench.py --json --events 20000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.server import create_app

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMELINE_JS = REPO_ROOT / "src" / "modelrepo" / "server" / "ui" / "timeline.mjs"
ENVIRONMENTS = ("production", "staging", "canary", "shadow", "eu-production")
LAYOUT_SCRIPT = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const { lanes, layout } = await import(pathToFileURL(process.argv.at(-1)).href);
const intervals = JSON.parse(readFileSync(0, "utf8"));
const loads = [];
const draws = [];
let bars = 0;
for (let k = 0; k < 21; k++) {
  const begin = performance.now();
  const data = lanes(intervals, Date.now());
  const middle = performance.now();
  bars = 0;
  for (const env of data.envs) {
    bars += layout(data.byEnv.get(env), data.start, data.end, 1200).length;
  }
  draws.push(performance.now() - middle);
  loads.push(middle - begin);
}
const p50 = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log(JSON.stringify({ lanes_ms: p50(loads), layout_ms: p50(draws), bars }));
"""


def seed(reg: Registry, model: str, events: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "coefficients.json").write_text('{"income": 0.25}')
        for _ in range(3):
            reg.register(model, folder, code=False, environment=False)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    records = []
    for k in range(events):
        split = {1 + k % 3: 1.0} if k % 7 else {1: 0.9, 2: 0.1}
        at = start + timedelta(minutes=37 * k)
        records.append({"environment": ENVIRONMENTS[k % 5], "effective_at": at, "versions": split})
    reg.import_deployments(model, records, source="the old registry")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"events": args.events, "load_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as folder:
        reg = Registry(Path(folder) / "store", user="bench")
        begin = time.perf_counter()
        seed(reg, "credit-risk", args.events)
        out["import_s"] = time.perf_counter() - begin
        _, secret = reg.create_token("viewer", "viewer")
        headers = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(reg)) as client:
            url = "/api/v1/models/credit-risk/timeline"
            samples = []
            body = b""
            for _ in range(args.runs):
                begin = time.perf_counter()
                reply = client.get(url, headers=headers)  # gzip accepted, as by browsers
                samples.append(time.perf_counter() - begin)
                assert reply.status_code == 200, reply.text
                body = reply.content
            intervals = json.loads(body)
            assert len(intervals) == args.events
            out["timeline_p50_ms"] = statistics.median(samples) * 1000
            out["timeline_max_ms"] = max(samples) * 1000
            out["timeline_bytes"] = len(body)
            out["timeline_wire_bytes"] = int(reply.headers.get("content-length", len(body)))
            out["ui_bytes"] = sum(
                len(client.get(p).content)
                for p in ("/ui/", "/ui/app.css", "/ui/app.mjs", "/ui/timeline.mjs")
            )
        reg.close()
    node = shutil.which("node")
    if node:
        result = subprocess.run(
            [node, "--input-type=module", "-e", LAYOUT_SCRIPT, str(TIMELINE_JS)],
            input=body,
            capture_output=True,
            check=True,
            timeout=300,
        )
        layout = json.loads(result.stdout)
        out["js_lanes_p50_ms"] = layout["lanes_ms"]
        out["js_layout_p50_ms"] = layout["layout_ms"]
        out["js_bars"] = layout["bars"]
    else:
        print("node not found: the JavaScript layout is not measured", file=sys.stderr)
    targets = {
        "timeline_p50_ms": out["timeline_p50_ms"] <= 1000,
        "timeline_bytes": out["timeline_bytes"] <= 4_000_000,
        "js_lanes_p50_ms": out.get("js_lanes_p50_ms", 0) <= 100,
        "js_layout_p50_ms": out.get("js_layout_p50_ms", 0) <= 16,
    }
    out["load_at_end"] = os.getloadavg()[0]
    out["targets_met"] = all(targets.values())
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:>22}: {value:,.1f}" if isinstance(value, float) else f"{key:>22}: {value}")
        for key, ok in targets.items():
            print(f"{'target ' + key:>30}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
