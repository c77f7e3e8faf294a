"""`modelrepo serve --workers 2` as a real process: both workers answer, a revocation reaches
both within the token cache's bound, and stopping the server leaves no process behind."""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from modelrepo.server.auth import TOKEN_CACHE_SECONDS

from ..cli.conftest import Run
from ..serving import serve

pytestmark = pytest.mark.sqlite_only


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from `client_port`."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            return inode
    return None


def owner(pids: list[int], inode: str) -> int | None:
    """Which of `pids` holds the socket `inode` open."""
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if fd.readlink().name == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def answer_round(port: int, token: str, workers: list[int], count: int) -> dict[int, set[int]]:
    """`count` connections opened at once, one GET /api/v1/whoami on each: the statuses seen
    by each worker that answered (the worker holding the server's end of the connection)."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(count)]
    for conn in connections:
        conn.connect()
    seen: dict[int, set[int]] = {}
    try:
        for conn in connections:
            conn.request("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
            reply = conn.getresponse()
            reply.read()
            assert conn.sock is not None
            inode = socket_inode(port, conn.sock.getsockname()[1])
            assert inode is not None
            pid = owner(workers, inode)
            assert pid is not None, "a connection answered by no worker"
            seen.setdefault(pid, set()).add(reply.status)
    finally:
        for conn in connections:
            conn.close()
    return seen


def test_two_workers_answer_see_a_revocation_and_stop_cleanly(
    store_dir: Path, tmp_path: Path, run: Run
) -> None:
    run("init")
    created = run("token", "create", "--user", "alice", "--role", "viewer", "--json").json
    run("token", "create", "--user", "root", "--role", "admin")
    options = ["--store", str(store_dir)]
    with serve(options, {}, tmp_path / "server.log", ["--workers", "2"]) as (url, process):
        port = urlsplit(url).port
        assert port is not None
        deadline = time.monotonic() + 30
        while len(workers := children(process.pid)) < 2:
            assert time.monotonic() < deadline, "two workers did not start"
            time.sleep(0.05)
        assert len(workers) == 2
        # Both workers answer: the kernel hands connections opened together to either.
        answered: dict[int, set[int]] = {}
        for _ in range(30):
            for pid, statuses in answer_round(port, created["token"], workers, 8).items():
                answered.setdefault(pid, set()).update(statuses)
            if len(answered) == 2:
                break
        assert sorted(answered) == sorted(workers)
        assert all(statuses == {200} for statuses in answered.values())

        # Revoked by another process: every worker refuses it once the cache bound passed.
        run("token", "revoke", created["token_id"])
        time.sleep(TOKEN_CACHE_SECONDS)
        refused: dict[int, set[int]] = {}
        for _ in range(30):
            for pid, statuses in answer_round(port, created["token"], workers, 8).items():
                refused.setdefault(pid, set()).update(statuses)
            if len(refused) == 2:
                break
        assert sorted(refused) == sorted(workers)
        assert all(statuses == {401} for statuses in refused.values())
    assert process.returncode is not None
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived the server"
        time.sleep(0.05)
