"""Eight processes deploying to one environment at once produce one total order."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from modelrepo import Registry

from ..processes import outputs

WORKER = textwrap.dedent(
    """
    import json, sys
    from modelrepo import Registry
    store, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ids = []
    with Registry(store, user=f"deployer-{worker}") as reg:
        for i in range(count):
            version = 1 + (worker + i) % 3
            outcome = reg.deploy("credit-risk", version, env="production", reason=f"w{worker}")
            ids.append([outcome.event.event_id, version])
    print(json.dumps(ids))
    """
)


def test_eight_processes_deploying_at_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    artifact = tmp_path / "m.json"
    with Registry(store) as reg:
        for i in range(3):
            artifact.write_text(str(i))
            reg.register("credit-risk", artifact, code=False)
    per_worker = 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(store), str(w), str(per_worker)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    mine: dict[int, int] = {}
    for out in outputs(procs):
        for event_id, version in json.loads(out):
            assert event_id not in mine
            mine[event_id] = version
    with Registry(store, create=False) as reg:
        events = reg.history("credit-risk", env="production")
        assert len(events) == 8 * per_worker
        assert sorted(mine) == [e.event_id for e in sorted(events, key=lambda e: e.event_id)]
        # One total order: recording order, effective order and ids agree.
        by_id = sorted(events, key=lambda e: e.event_id)
        assert [e.recorded_at for e in by_id] == sorted({e.recorded_at for e in events})
        assert by_id == events
        for e in events:
            assert e.versions[0].version == mine[e.event_id]
        last = by_id[-1]
        live = reg.live("credit-risk", env="production")
        assert live.event == last
        assert [v.version for v in live.versions] == [mine[last.event_id]]
