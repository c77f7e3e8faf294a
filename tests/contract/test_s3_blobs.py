"""The blob contract on S3, against moto's standalone server on loopback.

The server runs in its own process (once per test session and xdist worker), so the store
speaks to it exactly as to any S3 endpoint: through boto3, HTTP and the endpoint URL from
`MODELREPO_S3_ENDPOINT_URL`. Memory measured in this process is the client's alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import re
import socket
import threading
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from modelrepo.blobs import LocalBlobStore, open_blob_store
from modelrepo.blobs.s3 import S3BlobStore
from modelrepo.domain.errors import CorruptBlobError, InvalidInput, StorageError
from modelrepo.ports import BlobStore
from modelrepo.testing.blobs import BlobStoreContract
from modelrepo.testing.s3server import aws_test_environment, free_port, new_bucket

MiB = 1 << 20


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, tmp_path: Path) -> None:
    """Dummy credentials and the endpoint, for these tests only; no real AWS configuration."""
    for name, value in aws_test_environment(s3_endpoint, tmp_path).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.fixture
def s3(s3_endpoint: str, _aws_env: None) -> Any:
    """A plain boto3 client on the server, to arrange and inspect what the store did."""
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


def _new_bucket(s3: Any, **options: Any) -> str:
    return new_bucket(s3, **options)


@pytest.fixture
def bucket(s3: Any) -> str:
    return _new_bucket(s3)


@pytest.fixture
def locked_bucket(s3: Any) -> str:
    return _new_bucket(s3, ObjectLockEnabledForBucket=True)


def _keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _uploads(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


class _Generated(io.RawIOBase):
    """`size` pseudo-random bytes made on demand (never all in memory); can fail midway."""

    def __init__(self, size: int, *, seed: int = 7, fail_after: int | None = None) -> None:
        self.size = size
        self.pos = 0
        self.fail_after = fail_after
        self.random = random.Random(seed)
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise OSError("source went away")
        n = min(len(buffer), self.size - self.pos, 256 * 1024)
        data = self.random.randbytes(n)
        buffer[:n] = data
        self.digest.update(data)
        self.pos += n
        return n


# -- one contract, every backend ----------------------------------------------------------


class TestS3Blobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self, bucket: str) -> BlobStore:
        return open_blob_store(f"s3://{bucket}/models/store")


class TestS3BlobsAtBucketRoot(BlobStoreContract):
    @pytest.fixture
    def blobs(self, bucket: str) -> BlobStore:
        return S3BlobStore(bucket, checksums=False)


# -- S3 specifics --------------------------------------------------------------------------


def test_url_and_layout(s3: Any, bucket: str) -> None:
    store = S3BlobStore.from_url(f"s3://{bucket}/a/b/")
    assert store.url == f"s3://{bucket}/a/b"
    info = store.put(io.BytesIO(b"layout"))
    assert _keys(s3, bucket) == [f"a/b/sha256/{info.sha256[:2]}/{info.sha256[2:]}"]
    listed = list(store.list())
    assert [(b.sha256, b.size) for b in listed] == [(info.sha256, 6)]
    assert listed[0].modified is not None and listed[0].modified.tzinfo is not None


def test_open_blob_store_chooses_by_location(tmp_path: Path, bucket: str) -> None:
    assert isinstance(open_blob_store(tmp_path / "blobs"), LocalBlobStore)
    assert isinstance(open_blob_store(f"s3://{bucket}"), S3BlobStore)
    for bad in ("gs://bucket/x", "s3://", f"s3://{bucket}/x?y=1"):
        with pytest.raises(InvalidInput):
            open_blob_store(bad)


@pytest.mark.parametrize("concurrency", [1, 2])
def test_multipart_upload_streams_with_bounded_memory(
    s3: Any, bucket: str, concurrency: int
) -> None:
    store = S3BlobStore(bucket, "p", part_size=5 * MiB, concurrency=concurrency)
    parts = 5 if concurrency == 1 else 10  # well more than what may be in memory at once
    size = (parts - 1) * 5 * MiB - 2 * MiB + 123
    source = _Generated(size)
    moved: list[int] = []
    tracemalloc.start()
    try:
        info = store.put(source, progress=moved.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.sha256 == source.digest.hexdigest()
    assert info.size == size == sum(moved)
    assert len(moved) == parts - 1  # full parts and the rest: the multipart path
    # The parts in flight, the one filling (a bytearray over-allocates as it grows), and one
    # more for what the HTTP client holds while sending; never the whole blob.
    bound = (concurrency + 2) * store.part_size
    assert bound < size
    assert peak < bound, f"peak {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB blob"
    assert _keys(s3, bucket) == [f"p/sha256/{info.sha256[:2]}/{info.sha256[2:]}"]
    assert _uploads(s3, bucket) == []
    digest = hashlib.sha256()
    with store.open(info.sha256) as stream:
        while chunk := stream.read(MiB):
            digest.update(chunk)
    assert digest.hexdigest() == info.sha256


def test_large_blob_is_copied_in_parts(s3: Any, bucket: str) -> None:
    store = S3BlobStore(bucket, part_size=5 * MiB, copy_part_size=5 * MiB)
    source = _Generated(12 * MiB + 5, seed=3)
    info = store.put(source)
    assert _uploads(s3, bucket) == []
    assert list(store.partials()) == []
    with store.open(info.sha256) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == source.digest.hexdigest()


def test_interrupted_put_leaves_nothing(s3: Any, bucket: str) -> None:
    store = S3BlobStore(bucket, "p", part_size=5 * MiB)
    with pytest.raises(OSError, match="source went away"):
        store.put(_Generated(20 * MiB, fail_after=11 * MiB))
    assert _keys(s3, bucket) == []
    assert _uploads(s3, bucket) == []
    assert list(store.partials()) == []
    assert list(store.list()) == []


def test_crashed_uploads_are_partials_until_removed(
    s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One part at a time, so the two parts are sent (not still in flight) when the source fails.
    store = S3BlobStore(bucket, "p", part_size=5 * MiB, concurrency=1)
    # A process killed mid-upload never cleans up: two parts sent, nothing completed.
    monkeypatch.setattr("modelrepo.blobs.s3_transfers.StagingUpload.discard", lambda self: None)
    with pytest.raises(OSError):
        store.put(_Generated(20 * MiB, fail_after=11 * MiB))
    # ... and one killed between the upload and the copy leaves a staging object.
    s3.put_object(Bucket=bucket, Key=f"p/staging/{uuid.uuid4().hex}", Body=b"half")
    partials = list(store.partials())
    assert sorted(p.size for p in partials) == [4, 10 * MiB]
    assert all(p.modified is not None for p in partials)
    assert list(store.list()) == []
    for partial in partials:
        store.delete_partial(partial.sha256)
    assert list(store.partials()) == []
    assert _uploads(s3, bucket) == [] and _keys(s3, bucket) == []
    store.delete_partial(partials[0].sha256)  # already gone: not an error
    for bad in ("../sha256/aa", "upload:../x:id", "upload:staging/x", ""):
        with pytest.raises(InvalidInput):
            store.delete_partial(bad)


def test_corrupt_object_fails_verification_on_read(s3: Any, bucket: str) -> None:
    store = S3BlobStore(bucket)
    data = b"the real bytes" * 1000
    info = store.put(io.BytesIO(data))
    key = f"sha256/{info.sha256[:2]}/{info.sha256[2:]}"
    for damaged in (data[:-1] + b"X", data[:-1], data + b"!"):
        s3.put_object(Bucket=bucket, Key=key, Body=damaged)
        with store.open(info.sha256) as stream, pytest.raises(CorruptBlobError) as caught:
            stream.read()
        assert caught.value.digest == info.sha256
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    with store.open(info.sha256) as stream:
        assert stream.read() == data


def test_equal_content_is_stored_once(s3: Any, bucket: str) -> None:
    store = S3BlobStore(bucket, "p")
    first = store.put(io.BytesIO(b"model weights"))
    second = S3BlobStore(bucket, "p").put(io.BytesIO(b"model weights"))
    assert first == second
    assert _keys(s3, bucket) == [f"p/sha256/{first.sha256[:2]}/{first.sha256[2:]}"]


def test_missing_bucket_is_a_clear_error() -> None:
    with pytest.raises(StorageError, match="S3 bucket 'no-such-bucket-here' does not exist"):
        S3BlobStore.from_url("s3://no-such-bucket-here/prefix")


def test_unreachable_endpoint_is_a_clear_error(bucket: str) -> None:
    port = free_port()
    with pytest.raises(StorageError, match=f"cannot reach S3 at http://127.0.0.1:{port}"):
        S3BlobStore(bucket, endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1)


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("AccessDenied", 403, "access denied to S3 bucket 'b-1' (cannot open)"),
        ("InvalidAccessKeyId", 403, "S3 refused the credentials (InvalidAccessKeyId)"),
        ("NoSuchBucket", 404, "S3 bucket 'b-1' does not exist"),
    ],
)
def test_permanent_errors_name_the_cause(code: str, status: int, message: str) -> None:
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("head_bucket", code, http_status_code=status)
        with pytest.raises(StorageError, match=re.escape(message)):
            S3BlobStore("b-1", client=client)


def test_invalid_settings_are_refused(bucket: str) -> None:
    for options in (
        {"part_size": MiB},
        {"lock_days": 0},
        {"lock_mode": "FOREVER"},
        {"max_attempts": 0},
    ):
        with pytest.raises(InvalidInput):
            S3BlobStore(bucket, **options)


# -- transient errors ----------------------------------------------------------------------


class _FlakyProxy:
    """A TCP proxy to the S3 endpoint that mistreats its first connections as told:
    "reset" drops the connection (TCP RST) after reading the request, "503" answers S3's
    SlowDown throttling error; every later connection is relayed untouched."""

    SLOW_DOWN = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
        b"<Message>Please reduce your request rate.</Message></Error>"
    )

    def __init__(self, upstream: str, faults: list[str]) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.faults = list(faults)
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            fault = self.faults.pop(0) if self.faults else None
            threading.Thread(target=self._handle, args=(client, fault), daemon=True).start()

    def _handle(self, client: socket.socket, fault: str | None) -> None:
        with client:
            self._relay(client, fault)

    def _relay(self, client: socket.socket, fault: str | None) -> None:
        if fault is not None:
            client.recv(65536)
            if fault == "503":
                head = (
                    "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                    f"Content-Length: {len(self.SLOW_DOWN)}\r\nConnection: close\r\n\r\n"
                )
                client.sendall(head.encode() + self.SLOW_DOWN)
            else:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            return
        upstream = socket.create_connection(self.upstream)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        with upstream:
            back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            back.start()
            pump(client, upstream)
            back.join()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def flaky(s3_endpoint: str) -> Iterator[list[_FlakyProxy]]:
    proxies: list[_FlakyProxy] = []
    yield proxies
    for proxy in proxies:
        proxy.close()


@pytest.mark.parametrize("fault", ["reset", "503"])
def test_transient_errors_are_retried(
    s3_endpoint: str, bucket: str, flaky: list[_FlakyProxy], fault: str
) -> None:
    proxy = _FlakyProxy(s3_endpoint, [fault])
    flaky.append(proxy)
    store = S3BlobStore(bucket, endpoint_url=proxy.url, max_attempts=3)
    assert proxy.faults == [] and proxy.connections == 2
    info = store.put(io.BytesIO(b"after a hiccup"))
    with store.open(info.sha256) as stream:
        assert stream.read() == b"after a hiccup"


def test_transient_errors_give_up_with_a_clear_error(
    s3_endpoint: str, bucket: str, flaky: list[_FlakyProxy]
) -> None:
    proxy = _FlakyProxy(s3_endpoint, ["503"])
    flaky.append(proxy)
    with pytest.raises(StorageError, match=r"S3 error (SlowDown|503) while trying to open"):
        S3BlobStore(bucket, endpoint_url=proxy.url, max_attempts=1)


# -- Object Lock ---------------------------------------------------------------------------


def _retention(s3: Any, bucket: str, key: str) -> tuple[str, datetime]:
    head = s3.head_object(Bucket=bucket, Key=key)
    return head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]


def test_object_lock_retains_blobs(s3: Any, locked_bucket: str) -> None:
    store = S3BlobStore(locked_bucket, "p", lock_days=2)
    before = datetime.now(UTC)
    info = store.put(io.BytesIO(b"evidence"))
    key = f"p/sha256/{info.sha256[:2]}/{info.sha256[2:]}"
    mode, until = _retention(s3, locked_bucket, key)
    assert mode == "COMPLIANCE"
    assert before + timedelta(days=2) - timedelta(minutes=1) <= until
    assert until <= datetime.now(UTC) + timedelta(days=2, minutes=1)
    # No staging version is left behind in the (versioned) bucket.
    versions = s3.list_object_versions(Bucket=locked_bucket)
    assert [v["Key"] for v in versions.get("Versions", [])] == [key]
    assert versions.get("DeleteMarkers", []) == []
    with pytest.raises(StorageError, match="under Object Lock retention until 20"):
        store.delete(info.sha256)
    assert store.exists(info.sha256)
    # Storing it again (e.g. for a new version) extends the retention, never shortens it.
    S3BlobStore(locked_bucket, "p", lock_days=5).put(io.BytesIO(b"evidence"))
    assert _retention(s3, locked_bucket, key)[1] >= before + timedelta(days=5) - timedelta(hours=1)
    store.put(io.BytesIO(b"evidence"))
    assert _retention(s3, locked_bucket, key)[1] >= before + timedelta(days=5) - timedelta(hours=1)


def test_object_lock_needs_a_lock_enabled_bucket(bucket: str) -> None:
    with pytest.raises(StorageError, match="does not have Object Lock enabled"):
        S3BlobStore(bucket, lock_days=30)


def test_object_lock_on_a_multipart_copy(s3: Any, locked_bucket: str) -> None:
    store = S3BlobStore(locked_bucket, lock_days=1, part_size=5 * MiB, copy_part_size=5 * MiB)
    info = store.put(_Generated(11 * MiB, seed=5))
    key = f"sha256/{info.sha256[:2]}/{info.sha256[2:]}"
    assert _retention(s3, locked_bucket, key)[0] == "COMPLIANCE"
    assert list(store.partials()) == []
