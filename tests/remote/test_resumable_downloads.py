"""A large download through a connection that keeps dropping: the SDK resumes each time
where it stopped (a byte range of the same file) and ends with every byte verified."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.remote import RemoteRegistry
from modelrepo.server import create_app
from modelrepo.testing.proxy import DroppingProxy

from ..serving import serve

MiB = 1 << 20


def _random_file(path: Path, size: int) -> str:
    """`size` random bytes written at `path`; their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for left in range(size, 0, -16 * MiB):
            block = os.urandom(min(left, 16 * MiB))
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(16 * MiB):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real server over a fresh store: its URL and a viewer's token."""
    store = tmp_path / "store"
    with Registry(store, user="ops") as reg:
        reg.create_store()
        _, token = reg.create_token("reader", "viewer")
    with serve(["--store", str(store)], {}, tmp_path / "server.log") as (url, _):
        yield url, token


def _download_through_cuts(
    tmp_path: Path,
    served: tuple[str, str],
    size: int,
    *,
    cuts: int,
    cut_after: tuple[int, int],
    reset: bool,
    window: int,
) -> None:
    """Download a `size`-byte file through a proxy that cuts the connection `cuts` times,
    each after a number of bytes in `cut_after`, and check that each cut cost less than
    `window` bytes sent again: what was in flight, never the file up to there (every cut
    comes later than `window`, so starting over would cost more)."""
    assert cut_after[0] > window and cuts * cut_after[1] < size
    url, token = served
    (tmp_path / "model").mkdir()
    sha = _random_file(tmp_path / "model" / "weights.bin", size)
    with Registry(tmp_path / "store", user="ops") as reg:
        reg.register("big", tmp_path / "model", code=False)
    (tmp_path / "model" / "weights.bin").unlink()  # the copy downloaded is compared by hash

    port = int(url.rsplit(":", 1)[1])
    with DroppingProxy(
        ("127.0.0.1", port), cut_after=cut_after, max_cuts=cuts, seed=size, reset=reset
    ) as proxy:
        with Registry(proxy.url, token=token) as remote:
            assert isinstance(remote, RemoteRegistry)
            out = remote.download("big", 1, tmp_path / "copy")
        assert _sha256(out / "weights.bin") == sha
        assert proxy.cuts == cuts  # every cut came inside the file
        assert proxy.downstream < size + cuts * window
        assert proxy.downstream < 2 * size


def test_a_download_cut_four_times_resumes_each_time(
    tmp_path: Path, served: tuple[str, str]
) -> None:
    # A cut closes the connection: the client gets every byte sent before it, so a resume
    # sends nothing twice but the answers' headers.
    _download_through_cuts(
        tmp_path, served, 256 * MiB, cuts=4, cut_after=(8 * MiB, 48 * MiB), reset=False,
        window=4 * MiB,
    )  # fmt: skip


def test_a_download_reset_three_times_resumes_each_time(
    tmp_path: Path, served: tuple[str, str]
) -> None:
    # A reset drops what sat in the socket buffers: up to a few MiB sent again per cut.
    _download_through_cuts(
        tmp_path, served, 256 * MiB, cuts=3, cut_after=(65 * MiB, 80 * MiB), reset=True,
        window=64 * MiB,
    )  # fmt: skip


@pytest.mark.slow
def test_a_one_gib_download_cut_eight_times_resumes_each_time(
    tmp_path: Path, served: tuple[str, str]
) -> None:
    _download_through_cuts(
        tmp_path, served, 1024 * MiB, cuts=8, cut_after=(65 * MiB, 120 * MiB), reset=True,
        window=64 * MiB,
    )  # fmt: skip


class _CutOnceThenChange(httpx.BaseTransport):
    """Breaks the first file answer off after `keep` bytes and sends the resumed request
    with another file's validator, as if the file had changed in between."""

    def __init__(self, inner: httpx.BaseTransport, keep: int) -> None:
        self.inner = inner
        self.keep = keep
        self.asked: list[tuple[str | None, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/files/" not in request.url.path:
            return self.inner.handle_request(request)
        if "if-range" in request.headers:
            request.headers["If-Range"] = f'"sha256:{"0" * 64}"'
        reply = self.inner.handle_request(request)
        self.asked.append((request.headers.get("range"), reply.status_code))
        if len(self.asked) > 1:
            return reply
        body = reply.read()[: self.keep]

        class Cut(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                yield body
                raise httpx.ReadError("connection reset")

        return httpx.Response(reply.status_code, headers=reply.headers, stream=Cut())


def test_a_file_changed_between_attempts_is_fetched_again_from_its_start(
    tmp_path: Path, registry: Registry
) -> None:
    (tmp_path / "model").mkdir()
    data = os.urandom(9 * MiB + 3)  # more than one of the writer's buffers
    (tmp_path / "model" / "weights.bin").write_bytes(data)
    registry.register("big", tmp_path / "model", code=False)
    _, token = registry.create_token("alice", "viewer")
    with TestClient(create_app(registry)) as client:
        tampering = _CutOnceThenChange(client._transport, keep=5 * MiB)
        client._transport = tampering
        remote = RemoteRegistry(
            "http://testserver", token=token, client=client, allow_insecure_http=True
        )
        out = remote.download("big", 1, tmp_path / "copy")
    assert (out / "weights.bin").read_bytes() == data
    # The server answered the mismatched If-Range with the whole file; the SDK took it whole.
    assert tampering.asked == [(None, 200), (f"bytes={5 * MiB}-", 200)]
