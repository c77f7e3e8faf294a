"""Three `modelrepo serve` replicas on one PostgreSQL + S3: interchangeable, one total order,
and a replica killed mid-upload leaves nothing visible."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import scaleout_registry
from ..serving import serve

CLIENTS = 16
ROUNDS = 4


def replica(env: dict[str, str], log: Path) -> Any:
    """A replica: `modelrepo serve` on the store named by `env`."""
    return serve([], env, log)


def _files(i: int) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", ("model/coefficients.json", json.dumps({"i": i}).encode()))]


def test_three_replicas_sixteen_clients_one_history(pg_env: dict[str, str], tmp_path: Path) -> None:
    env = {**pg_env, "MODELREPO_USER": "operator"}
    with scaleout_registry(env, user="operator") as reg:
        tokens = [reg.create_token(f"client-{c}", "admin")[1] for c in range(CLIENTS)]
        (tmp_path / "v1.json").write_text("{}")
        reg.register("credit-risk", tmp_path / "v1.json", code=False)
    failures: list[str] = []
    deployed: list[int] = []
    registered: list[int] = []
    with ExitStack() as stack:
        bases = [
            stack.enter_context(replica(env, tmp_path / f"replica-{r}.log"))[0] for r in range(3)
        ]

        def client(c: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[c]}"}
            with httpx.Client(base_url=bases[c % 3], headers=headers, timeout=60) as http:
                for r in range(ROUNDS):
                    up = http.post("/api/v1/models/credit-risk/versions", files=_files(c * 100 + r))
                    if up.status_code != 201:
                        failures.append(f"register {up.status_code} {up.text}")
                        continue
                    registered.append(up.json()["version"])
                    dep = http.post(
                        "/api/v1/models/credit-risk/environments/production/deploy",
                        json={"version": up.json()["version"], "reason": f"client {c}"},
                    )
                    if dep.status_code != 200:
                        failures.append(f"deploy {dep.status_code} {dep.text}")
                        continue
                    deployed.append(dep.json()["event_id"])
                    batch = [
                        {"model": "credit-risk", "environment": "production",
                         "decision_id": f"c{c}-r{r}-{k}", "inputs": {"k": k}, "output": k}
                        for k in range(10)
                    ]  # fmt: skip
                    logged = http.post("/api/v1/decisions/batch", json={"decisions": batch})
                    if logged.status_code not in (200, 201):
                        failures.append(f"decisions {logged.status_code} {logged.text}")

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        admin = {"Authorization": f"Bearer {tokens[0]}"}
        # Versions are gap-free and none was handed out twice.
        assert sorted(registered) == list(range(2, 2 + CLIENTS * ROUNDS))
        # One total order of deployment events, nothing lost, the same on every replica.
        answers = []
        for base in bases:
            events: list[dict[str, Any]] = []
            cursor = None
            while True:
                page = httpx.get(
                    f"{base}/api/v1/models/credit-risk/history",
                    params={"env": "production", "limit": 500}
                    | ({"cursor": cursor} if cursor else {}),
                    headers=admin,
                ).json()
                events += page["items"]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            ids = [e["event_id"] for e in events]
            assert sorted(ids) == sorted(deployed) and len(set(ids)) == len(ids)
            assert ids == sorted(ids)
            recorded = [e["recorded_at"] for e in events]
            assert all(a < b for a, b in itertools.pairwise(recorded))
            live = httpx.get(
                f"{base}/api/v1/models/credit-risk/environments/production/live", headers=admin
            ).json()
            answers.append((live["event"]["event_id"], live["versions"][0]["version"]))
        assert len(set(answers)) == 1 and answers[0][0] == max(deployed)
        # Every decision is there once, stamped with the version live when it was made.
        for c in range(0, CLIENTS, 5):
            story = httpx.get(f"{bases[1]}/api/v1/decisions/c{c}-r0-0", headers=admin).json()
            assert story["version"] >= 2 and story["matches_history"] is True
            assert story["flags"] == []
        verify = httpx.get(f"{bases[2]}/api/v1/audit/verify", headers=admin).json()
        assert verify["ok"] is True, verify


def _slow_multipart(boundary: str, size: int, pause: threading.Event) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="weights.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    chunk = os.urandom(1 << 20)
    for i in range(size >> 20):
        if i == 4:
            pause.set()  # well inside the upload: the test kills the replica now
            time.sleep(2)
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_replica_killed_mid_upload_leaves_no_version(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**pg_env, "MODELREPO_USER": "operator"}
    with scaleout_registry(env, user="operator") as reg:
        token = reg.create_token("uploader", "contributor")[1]
    headers = {"Authorization": f"Bearer {token}"}
    with (
        replica(env, tmp_path / "a.log") as (first, process),
        replica(env, tmp_path / "b.log") as (second, _),
    ):
        boundary = "modelrepo-test-boundary"
        halfway = threading.Event()
        outcome: dict[str, Any] = {}

        def upload() -> None:
            try:
                outcome["reply"] = httpx.post(
                    f"{first}/api/v1/models/big/versions",
                    content=_slow_multipart(boundary, 12 << 20, halfway),
                    headers={**headers,
                             "Content-Type": f"multipart/form-data; boundary={boundary}"},
                    timeout=60,
                )  # fmt: skip
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=upload)
        sender.start()
        assert halfway.wait(30)
        process.send_signal(signal.SIGKILL)
        process.wait()
        sender.join(60)
        assert "error" in outcome, "the upload cannot have succeeded"
        # Nothing visible: no model, no version, on the surviving replica.
        assert httpx.get(f"{second}/api/v1/models/big", headers=headers).status_code == 404
        # The client retries through the other replica.
        retry = httpx.post(
            f"{second}/api/v1/models/big/versions",
            files=[("files", ("weights.bin", os.urandom(6 << 20)))],
            headers=headers,
            timeout=60,
        )
        assert retry.status_code == 201, retry.text
        assert retry.json()["version"] == 1
        with scaleout_registry(env, user="auditor") as check:
            assert [v.version for v in check.versions("big")] == [1]
            assert check.fsck().missing == []
            assert check.audit_verify().ok


pytestmark = pytest.mark.slow
