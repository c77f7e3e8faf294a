"""Connections to PostgreSQL and to S3 dropped and delayed while clients work: every
operation either succeeds or fails with a clear error, and nothing is lost or half-visible."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from modelrepo import ModelrepoError, Registry
from modelrepo.domain.errors import StoreFull, StoreUnreachable
from modelrepo.testing.s3server import aws_test_environment, new_bucket

from ..cli.conftest import MODELREPO
from ..faults import FaultyProxy
from ..serving import serve


@pytest.fixture
def s3_env(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in aws_test_environment(s3_endpoint, tmp_path).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODELREPO_AUDIT_KEY_FILE", str(tmp_path / "audit.pem"))
    return new_bucket(boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1"))


def _through(proxy: FaultyProxy, pg_url: str) -> str:
    parts = urlsplit(pg_url)
    return parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()


class Chaos:
    """Drops every connection through `proxy` at random moments until stopped."""

    def __init__(self, proxy: FaultyProxy, every: float) -> None:
        self.proxy = proxy
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(3)
        while not self._stop.wait(rng.uniform(0.2, 1.8) * self.every):
            self.proxy.drop()

    def __enter__(self) -> Chaos:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _attempt(outcomes: list[tuple[str, Any, BaseException | None]], op: str, fn: Any) -> Any:
    try:
        result = fn()
    except ModelrepoError as exc:  # the only kind of failure a client may see
        assert str(exc), "an error must say what went wrong"
        outcomes.append((op, None, exc))
        return None
    outcomes.append((op, result, None))
    return result


@pytest.mark.slow
def test_dropped_database_connections_lose_nothing(
    pg_url: str, s3_env: str, tmp_path: Path
) -> None:
    proxy = FaultyProxy("127.0.0.1", urlsplit(pg_url).port or 5432)
    blob_url = f"s3://{s3_env}/faults"
    outcomes: list[tuple[str, Any, BaseException | None]] = []
    with Registry(database_url=pg_url, blob_url=blob_url, user="setup") as direct:
        (tmp_path / "seed.json").write_text("{}")
        direct.register("m", tmp_path / "seed.json", code=False)
    reg = Registry(database_url=_through(proxy, pg_url), blob_url=blob_url, user="client")
    with Chaos(proxy, every=0.15):
        for i in range(60):
            path = tmp_path / f"f{i}.json"
            path.write_text(f'{{"i": {i}}}')
            _attempt(outcomes, "register", lambda p=path: reg.register("m", p, code=False))
            _attempt(outcomes, "deploy", lambda: reg.deploy("m", 1, env="production"))
            batch = [
                {"model": "m", "version": 1, "decision_id": f"d{i}-{k}", "inputs": {"k": k},
                 "output": k}
                for k in range(50)
            ]  # fmt: skip
            _attempt(outcomes, f"decisions:{i}", lambda b=batch: reg.log_decisions(b))
    reg.close()
    proxy.close()
    failed = [o for o in outcomes if o[2] is not None]
    assert proxy.dropped > 0 and failed, "the test must really have cut connections"

    with Registry(database_url=pg_url, blob_url=blob_url, user="auditor") as check:
        versions = [v.version for v in check.versions("m")]
        assert versions == list(range(1, len(versions) + 1)), "gap-free"
        registered = {o[1].version for o in outcomes if o[0] == "register" and o[2] is None}
        assert registered <= set(versions), "a version reported as registered is missing"
        history = check.history("m", env="production")
        ids = {e.event_id for e in history}
        deployed = {o[1].event.event_id for o in outcomes if o[0] == "deploy" and o[2] is None}
        assert deployed <= ids, "a deployment reported as done is missing"
        recorded = [e.recorded_at for e in history]
        assert recorded == sorted(recorded)
        for op, result, error in outcomes:
            if not op.startswith("decisions:"):
                continue
            i = op.split(":")[1]
            present = 0
            for k in range(50):
                try:
                    check.decision(f"d{i}-{k}")
                    present += 1
                except ModelrepoError:
                    pass
            assert present in (0, 50), f"batch {i} is half-visible ({present} of 50)"
            if error is None:
                assert present == 50 and result == 50
        report = check.audit_verify()
        assert report.ok, report.problems
        assert check.fsck().ok


@pytest.mark.slow
def test_dropped_and_slow_object_store_connections_leave_no_half_version(
    pg_url: str, s3_env: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = FaultyProxy("127.0.0.1", urlsplit(s3_endpoint).port or 80)
    monkeypatch.setenv("MODELREPO_S3_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
    blob_url = f"s3://{s3_env}/faults"
    outcomes: list[tuple[str, Any, BaseException | None]] = []
    reg = Registry(database_url=pg_url, blob_url=blob_url, user="client")
    proxy.delay = 0.002
    with Chaos(proxy, every=0.4):
        for i in range(12):
            folder = tmp_path / f"model-{i}"
            folder.mkdir()
            (folder / "weights.bin").write_bytes(os.urandom((3 + i % 5) << 20))
            _attempt(outcomes, "register", lambda f=folder: reg.register("big", f, code=False))
            time.sleep(0.05)
    reg.close()
    proxy.close()
    assert proxy.dropped > 0
    ok = [o[1].version for o in outcomes if o[2] is None]
    assert ok, "some uploads must get through between faults"
    monkeypatch.setenv("MODELREPO_S3_ENDPOINT_URL", s3_endpoint)
    with Registry(database_url=pg_url, blob_url=blob_url, user="auditor") as check:
        versions = [v.version for v in check.versions("big")]
        assert set(ok) <= set(versions)
        assert versions == list(range(1, len(versions) + 1))
        report = check.fsck()
        assert report.missing == [] and report.corrupt == [], "a version without its bytes"
        for v in versions:  # every visible version downloads whole and verified
            check.download("big", v, tmp_path / f"out-{v}")


@pytest.mark.slow
def test_a_server_whose_database_and_object_store_connections_fail(
    pg_url: str, s3_env: str, s3_endpoint: str, tmp_path: Path
) -> None:
    """Clients talk HTTP to a replica whose connections to PostgreSQL and to S3 both go
    through proxies that cut them at random: every answer is a success or a JSON error with
    a code, and afterwards nothing reported done is missing and nothing is half-visible."""
    import httpx

    blob_url = f"s3://{s3_env}/served"
    with Registry(database_url=pg_url, blob_url=blob_url, user="operator") as reg:
        token = reg.create_token("client", "admin")[1]
        (tmp_path / "v1.json").write_text("{}")
        reg.register("m", tmp_path / "v1.json", code=False)
    pg_proxy = FaultyProxy("127.0.0.1", urlsplit(pg_url).port or 5432)
    s3_proxy = FaultyProxy("127.0.0.1", urlsplit(s3_endpoint).port or 80)
    env = {
        "MODELREPO_DATABASE_URL": _through(pg_proxy, pg_url),
        "MODELREPO_BLOB_URL": blob_url,
        "MODELREPO_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_proxy.port}",
        "MODELREPO_USER": "operator",
    }
    answers: list[tuple[str, int, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    with (
        serve([], env, tmp_path / "replica.log") as (base, _),
        httpx.Client(base_url=base, headers=headers, timeout=120) as http,
    ):
        s3_proxy.delay = 0.001
        with Chaos(pg_proxy, every=0.3), Chaos(s3_proxy, every=0.5):
            for i in range(25):
                up = http.post(
                    "/api/v1/models/m/versions",
                    files=[("files", ("weights.bin", os.urandom((1 + i % 3) << 20)))],
                )
                answers.append(("register", up.status_code, up.json()))
                dep = http.post(
                    "/api/v1/models/m/environments/production/deploy", json={"version": 1}
                )
                answers.append(("deploy", dep.status_code, dep.json()))
                batch = [{"model": "m", "version": 1, "decision_id": f"d{i}-{k}",
                          "inputs": {"k": k}, "output": k} for k in range(20)]  # fmt: skip
                logged = http.post("/api/v1/decisions/batch", json={"decisions": batch})
                answers.append((f"decisions:{i}", logged.status_code, logged.json()))
    pg_proxy.close()
    s3_proxy.close()
    assert pg_proxy.dropped > 0 and s3_proxy.dropped > 0
    for op, status, body in answers:
        assert status < 300 or (status >= 400 and body.get("code") and body.get("message")), (
            op,
            status,
            body,
        )
    assert any(status >= 500 for _, status, _ in answers), "faults must have reached clients"
    assert any(status < 300 for op, status, _ in answers if op == "register")
    with Registry(database_url=pg_url, blob_url=blob_url, user="auditor") as check:
        versions = [v.version for v in check.versions("m")]
        assert versions == list(range(1, len(versions) + 1))
        for op, status, body in answers:
            if op == "register" and status == 201:
                assert body["version"] in versions
            if op.startswith("decisions:"):
                i = op.split(":")[1]
                present = sum(1 for k in range(20) if _exists(check, f"d{i}-{k}"))
                assert present in (0, 20), f"batch {i} half-visible"
                if status < 300:
                    assert present == 20
        events = {e.event_id for e in check.history("m", env="production")}
        for op, status, body in answers:
            if op == "deploy" and status == 200:
                assert body["event_id"] in events
        report = check.fsck()
        assert report.missing == [] and report.corrupt == []
        assert check.audit_verify().ok


def _exists(reg: Registry, decision_id: str) -> bool:
    try:
        reg.decision(decision_id)
    except ModelrepoError:
        return False
    return True


# -- the disk and the database failing under a command: one line that names the cause --------


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small file system of its own at `where` (needs root), unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def _fill(disk: Path) -> Path:
    """Take every free byte of `disk`; the file returned gives them back when removed."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def _cli(store: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [MODELREPO, "--store", str(store), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, done.stderr


def test_a_full_disk_is_named_and_loses_nothing(tmp_path: Path) -> None:
    """On a full disk every command says so in one line, whether the store was open in
    another process or not, and once space is freed everything works and verifies."""
    small = tmp_path / "small.json"
    small.write_text('{"C": 0.5}')
    large = tmp_path / "weights.bin"
    large.write_bytes(os.urandom(200_000))
    with _tmpfs(tmp_path / "disk", "3m") as disk:
        store = disk / "store"
        assert _cli(store, "register", "m", str(small), "--no-code")[0] == 0
        assert _cli(store, "register", "m", str(large), "--no-code")[0] == 0
        before = _cli(store, "versions", "m", "--json")
        filler = _fill(disk)
        full = re.compile(
            rf"error: the disk holding {re.escape(str(store))} is full \([^)]*\); "
            r"free space and retry\n"
        )
        for args in (
            ("deploy", "m@1", "--env", "production"),
            ("register", "m", str(small), "--no-code"),
            ("register", "m", str(large), "--no-code"),
            ("versions", "m"),
            ("history", "m"),
        ):
            code, err = _cli(store, *args)
            assert code == 1 and full.fullmatch(err), (args, err)
        # The same store held open by a process while the disk fills up.
        filler.unlink()
        with Registry(store, user="alice") as reg:
            reg.versions("m")
            filler = _fill(disk)
            for write in (
                lambda: reg.register("m", small, code=False),
                lambda: reg.register("m", large, code=False),
                lambda: reg.deploy("m", 1, env="production"),
            ):
                with pytest.raises(StoreFull, match=f"the disk holding {re.escape(str(store))}"):
                    write()
            filler.unlink()
            assert reg.deploy("m", 1, env="production").status == "live"
        assert _cli(store, "audit", "verify") == (0, "")
        assert _cli(store, "fsck")[0] == 0
        assert _cli(store, "versions", "m", "--json") == before
        assert _cli(store, "register", "m", str(large), "--no-code")[0] == 0


def test_a_read_only_store_folder_is_named(tmp_path: Path) -> None:
    model = tmp_path / "m.json"
    model.write_text("{}")
    with _tmpfs(tmp_path / "disk", "4m") as disk:
        store = disk / "store"
        assert _cli(store, "register", "m", str(model), "--no-code")[0] == 0
        _remount(disk, "ro")
        try:
            for args in (("versions", "m"), ("register", "m", str(model), "--no-code")):
                code, err = _cli(store, *args)
                assert (code, err) == (
                    1,
                    f"error: cannot write to the store folder {store} (read-only file system); "
                    "make it writable (remount it read-write, or fix its owner or mode) and "
                    "retry\n",
                ), args
        finally:
            _remount(disk, "rw")
        assert _cli(store, "audit", "verify") == (0, "")


def test_a_missing_blob_folder_is_named(tmp_path: Path) -> None:
    store = tmp_path / "store"
    large = tmp_path / "weights.bin"
    large.write_bytes(os.urandom(100_000))
    assert _cli(store, "register", "m", str(large), "--no-code")[0] == 0
    (store / "blobs").rename(tmp_path / "moved")
    message = (
        f"error: the store's blob folder {store / 'blobs'} is missing (deleted or moved?): put "
        "it back, or create it empty and run 'modelrepo fsck' to list the files that are lost\n"
    )
    for args in (("versions", "m"), ("download", "m@1", str(tmp_path / "out"))):
        assert _cli(store, *args) == (1, message), args
    assert not (store / "blobs").exists(), "the folder must not be made again, empty"
    (tmp_path / "moved").rename(store / "blobs")
    assert _cli(store, "fsck")[0] == 0


def test_an_unreachable_database_is_named_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://registry:s3cret@127.0.0.1:{port}/models"
    env = {
        "MODELREPO_DATABASE_URL": url,
        "MODELREPO_BLOB_URL": str(tmp_path / "blobs"),
        "MODELREPO_AUDIT_KEY_FILE": str(tmp_path / "audit.pem"),
        "MODELREPO_STORE": "",
    }
    model = tmp_path / "m.json"
    model.write_text("{}")
    for args in (
        ("deploy", "m@1", "--env", "production"),
        ("history", "m"),
        ("register", "m", str(model), "--no-code"),
        ("init",),
    ):
        done = subprocess.run([MODELREPO, *args], capture_output=True, text=True, timeout=120,
                              check=False, env={**os.environ, **env})  # fmt: skip
        assert (done.returncode, done.stderr) == (
            1,
            f"error: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused\n",
        ), args
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StoreUnreachable, match="connection refused") as caught:
        Registry(database_url=url, blob_url=str(tmp_path / "blobs"))
    assert "s3cret" not in str(caught.value)
