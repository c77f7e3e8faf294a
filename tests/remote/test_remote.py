"""The remote registry's own rules: which URLs it accepts, how answers become exceptions,
what it retries, what it refuses to trust, what it does not offer yet."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.domain.errors import (
    ApprovalRequired,
    Conflict,
    CorruptBlobError,
    Forbidden,
    IntegrityError,
    InvalidInput,
    ModelrepoError,
    NotFound,
    NotSupported,
    StorageError,
    Unauthenticated,
)
from modelrepo.remote import EMBEDDED_ONLY, RemoteRegistry, check_url, error_from_response
from modelrepo.server import create_app

pytestmark = pytest.mark.sqlite_only

WHOAMI = {"user": "alice", "role": "admin", "model_pattern": None, "token_id": "0" * 12}


def test_plain_http_only_to_this_machine_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert check_url("http://localhost:8080") == "http://localhost:8080"
    assert check_url("http://[::1]:8080") == "http://[::1]:8080"
    assert (
        check_url("HTTPS://registry.example.com/prefix/") == "https://registry.example.com/prefix"
    )
    with pytest.raises(InvalidInput, match="in clear"):
        check_url("http://registry.example.com")
    assert check_url("http://registry.example.com", allow_insecure_http=True)
    monkeypatch.setenv("MODELREPO_ALLOW_INSECURE_HTTP", "1")
    assert check_url("http://registry.example.com")
    with pytest.raises(InvalidInput, match="credentials"):
        check_url("https://alice:secret@registry.example.com")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"code": "unauthenticated", "message": "m"}, Unauthenticated),
        (403, {"code": "forbidden", "message": "m"}, Forbidden),
        (404, {"code": "not_found", "message": "m"}, NotFound),
        (409, {"code": "conflict", "message": "m"}, Conflict),
        (409, {"code": "approval_required", "message": "m"}, ApprovalRequired),
        (422, {"code": "invalid_input", "message": "m"}, InvalidInput),
        (503, {"code": "storage_error", "message": "m"}, StorageError),
        (500, {"code": "integrity_error", "message": "m"}, IntegrityError),
        (404, "<html>not here</html>", NotFound),
        (502, "Bad Gateway", ModelrepoError),
    ],
)
def test_error_answers_become_the_registry_exceptions(
    status: int, body: object, kind: type[ModelrepoError]
) -> None:
    text = json.dumps(body) if isinstance(body, dict) else str(body)
    error = error_from_response(status, text)
    assert type(error) is kind
    if isinstance(body, dict):
        assert str(error) == "m"


def test_the_server_errors_keep_their_messages(registry: Registry, artifact: Path) -> None:
    _, viewer = registry.create_token("victor", "viewer")
    registry.register("credit-risk", artifact, code=False)
    with TestClient(create_app(registry)) as client:
        remote = RemoteRegistry(
            "http://testserver", token=viewer, client=client, allow_insecure_http=True
        )
        assert remote.user == "victor" and remote.role == "viewer"
        with pytest.raises(Forbidden, match="role viewer may not deploy"):
            remote.deploy("credit-risk", 1, env="production")
        with pytest.raises(Unauthenticated, match="unknown API token"):
            RemoteRegistry(
                "http://testserver",
                token="mr_000000000000_forged",
                client=client,
                allow_insecure_http=True,
            )
        with pytest.raises(InvalidInput, match="token's user"):
            RemoteRegistry(
                "http://testserver",
                token=viewer,
                user="someone-else",
                client=client,
                allow_insecure_http=True,
            )


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> RemoteRegistry:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/whoami":
            return httpx.Response(200, json=WHOAMI)
        if request.url.path.endswith("/signatures"):  # asked by a download: none here
            return httpx.Response(200, json=[])
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    return RemoteRegistry("http://127.0.0.1:9", token="t", client=client)


def test_reads_are_retried_on_connection_errors_changes_are_not() -> None:
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "GET" and calls.count("GET") < 3:
            raise httpx.ReadError("connection reset", request=request)
        if request.method == "POST":
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    remote = _mock(flaky)
    assert remote.models() == []
    assert calls == ["GET", "GET", "GET"]
    calls.clear()
    with pytest.raises(StorageError, match="cannot reach"):
        remote.deploy("credit-risk", 1, env="production")
    assert calls == ["POST"], "a change that may have reached the server is not sent again"


def test_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot reach the server at http://127.0.0.1:9"):
        Registry(
            "http://127.0.0.1:9",
            token="mr_x",
        )


@pytest.fixture
def served_version(artifact: Path) -> Iterator[dict[str, object]]:
    with Registry.in_memory(user="alice") as reg:
        yield reg.register("credit-risk", artifact, code=False).to_dict()


def test_downloaded_bytes_and_manifests_are_checked_here(
    served_version: dict[str, object], tmp_path: Path
) -> None:
    def tampered_file(request: httpx.Request) -> httpx.Response:
        if "/files/" in request.url.path:
            return httpx.Response(200, content=b"not what the manifest says")
        return httpx.Response(200, json=served_version)

    remote = _mock(tampered_file)
    with pytest.raises(CorruptBlobError, match="does not match its manifest"):
        remote.read_file("credit-risk", 1, "features.csv")
    with pytest.raises(CorruptBlobError):
        remote.download("credit-risk", 1, tmp_path / "out")
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == [tmp_path / "artifact"]

    files = list(served_version["files"])  # type: ignore[call-overload]
    forged = {**served_version, "files": files[:-1]}
    remote = _mock(lambda request: httpx.Response(200, json=forged))
    with pytest.raises(IntegrityError, match="does not hash to the version's digest"):
        remote.download("credit-risk", 1, tmp_path / "out")


def _cut_after(data: bytes) -> httpx.SyncByteStream:
    """A body that breaks off after `data`, as a dropped connection does."""

    class Cut(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield data
            raise httpx.ReadError("connection reset")

    return Cut()


def _big_version(tmp_path: Path) -> tuple[bytes, dict[str, object]]:
    big = os.urandom(9 * 1024 * 1024 + 5)  # more than one of the writer's buffers
    (tmp_path / "artifact").mkdir()
    (tmp_path / "artifact" / "weights.bin").write_bytes(big)
    with Registry.in_memory(user="alice") as reg:
        version = reg.register("credit-risk", tmp_path / "artifact", code=False).to_dict()
    return big, version


def test_a_download_cut_off_mid_file_resumes_where_it_stopped(tmp_path: Path) -> None:
    big, version = _big_version(tmp_path)
    etag = f'"sha256:{hashlib.sha256(big).hexdigest()}"'
    asked: list[tuple[str, str | None, str | None]] = []
    cuts = [5 << 20, 7 << 20, (9 << 20) + 1]  # each answer breaks off at the next of these

    def serve(request: httpx.Request) -> httpx.Response:
        if "/files/" not in request.url.path:
            return httpx.Response(200, json=version)
        ranged = request.headers.get("range")
        asked.append((str(request.url.params), ranged, request.headers.get("if-range")))
        first = int(ranged.removeprefix("bytes=").rstrip("-")) if ranged else 0
        if len(asked) <= len(cuts):
            body: httpx.SyncByteStream = _cut_after(big[first : cuts[len(asked) - 1]])
        else:
            body = httpx.ByteStream(big[first:])
        headers = {"content-range": f"bytes {first}-{len(big) - 1}/{len(big)}"} if first else {}
        return httpx.Response(206 if first else 200, stream=body, headers=headers)

    moved: list[int] = []
    out = _mock(serve).download(
        "credit-risk", 1, tmp_path / "out", progress=lambda path, size: moved.append
    )
    assert (out / "weights.bin").read_bytes() == big
    assert sum(moved) == len(big)
    # Three drops, each after some progress: more than `retries` (3), and never given up.
    # The bytes are hashed here, so the server is asked not to hash them again.
    assert asked == [
        ("verify=false", None, None),
        ("verify=false", "bytes=5242880-", etag),
        ("verify=false", "bytes=7340032-", etag),
        ("verify=false", "bytes=9437185-", etag),
    ]


def test_a_resumed_download_starts_over_when_the_server_sends_the_file_whole(
    tmp_path: Path,
) -> None:
    big, version = _big_version(tmp_path)
    asked: list[str | None] = []

    def serve(request: httpx.Request) -> httpx.Response:
        if "/files/" not in request.url.path:
            return httpx.Response(200, json=version)
        asked.append(request.headers.get("range"))
        if len(asked) == 1:
            return httpx.Response(200, stream=_cut_after(big[: 5 << 20]))
        return httpx.Response(200, content=big)  # the file changed, or no ranges here

    moved: list[int] = []
    out = _mock(serve).download(
        "credit-risk", 1, tmp_path / "out", progress=lambda path, size: moved.append
    )
    assert (out / "weights.bin").read_bytes() == big
    assert asked == [None, "bytes=5242880-"]
    assert sum(moved) == len(big)  # the part fetched twice is not counted twice
    assert _mock(serve).read_file("credit-risk", 1, "weights.bin") == big


def test_a_download_that_gets_no_further_is_given_up_after_the_retries(tmp_path: Path) -> None:
    big, version = _big_version(tmp_path)
    asked: list[str | None] = []

    def serve(request: httpx.Request) -> httpx.Response:
        if "/files/" not in request.url.path:
            return httpx.Response(200, json=version)
        asked.append(request.headers.get("range"))
        if len(asked) == 1:
            return httpx.Response(200, stream=_cut_after(big[: 1 << 20]))
        return httpx.Response(
            206,
            stream=_cut_after(b""),
            headers={"content-range": f"bytes {1 << 20}-{len(big) - 1}/{len(big)}"},
        )

    with pytest.raises(StorageError, match=f"failed at byte {1 << 20} of {len(big)}"):
        _mock(serve).download("credit-risk", 1, tmp_path / "out")
    assert asked == [None, "bytes=1048576-", "bytes=1048576-"]  # retries=3 in a row
    assert not (tmp_path / "out").exists()


def test_a_resumed_answer_for_other_bytes_is_refused(tmp_path: Path) -> None:
    big, version = _big_version(tmp_path)

    def serve(request: httpx.Request) -> httpx.Response:
        if "/files/" not in request.url.path:
            return httpx.Response(200, json=version)
        if "range" not in request.headers:
            return httpx.Response(200, stream=_cut_after(big[: 1 << 20]))
        return httpx.Response(
            206, content=big, headers={"content-range": f"bytes 0-{len(big) - 1}/{len(big)}"}
        )

    with pytest.raises(StorageError, match="asked for bytes 1048576-"):
        _mock(serve).download("credit-risk", 1, tmp_path / "out")


def test_what_needs_the_store_itself_is_refused_in_one_clear_line() -> None:
    remote = _mock(lambda request: httpx.Response(404))
    assert "authenticate" in EMBEDDED_ONLY and "gc" not in EMBEDDED_ONLY
    with pytest.raises(NotSupported, match=r"^authenticate is not available through the server"):
        remote.authenticate("mr_x")
    with pytest.raises(NotSupported, match="direct access to the store"):
        _ = remote.backend
    with pytest.raises(NotSupported):
        remote.as_user("bob")
    with pytest.raises(NotSupported):
        remote.audit_verify(public_key_pem=b"key")
    assert isinstance(NotSupported("x"), InvalidInput)


def test_a_token_is_for_a_server_only(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="API token is for a modelrepo server"):
        Registry(tmp_path / "store", token="mr_x")


@pytest.fixture
def scored(registry: Registry, tmp_path: Path) -> Iterator[RemoteRegistry]:
    """A remote admin on an in-process server holding score@1 (text-coefficients)."""
    folder = tmp_path / "score"
    folder.mkdir()
    (folder / "coefficients.json").write_text(
        json.dumps({"features": ["x"], "coefficients": {"x": 1.0}, "intercept": 0.0})
    )
    registry.register("score", folder, flavor="text-coefficients", code=False)
    _, secret = registry.create_token("alice", "admin")
    with TestClient(create_app(registry)) as client:
        yield RemoteRegistry(
            "http://testserver",
            token=secret,
            client=client,
            allow_insecure_http=True,
            cache_dir=tmp_path / "cache",
        )


def test_a_loaded_version_is_cached_here_and_checked_again_before_each_load(
    scored: RemoteRegistry, tmp_path: Path
) -> None:
    handle = scored.load("score", 1)
    assert handle.path.parent == (tmp_path / "cache").absolute()
    assert handle.predict({"x": 0.0}, decision_id="d-0") == 0.5
    cached = handle.path / "coefficients.json"
    cached.write_text(json.dumps({"features": ["x"], "coefficients": {"x": 1.0}, "intercept": 9}))
    (handle.path / "planted.py").write_text("import os")
    again = scored.load("score", 1)  # the changed copy is fetched again, not used
    assert again.predict({"x": 0.0}, log=False) == 0.5
    assert not (again.path / "planted.py").exists()


def test_what_cannot_be_done_remotely_says_so(scored: RemoteRegistry, tmp_path: Path) -> None:
    with pytest.raises(NotSupported, match="module object cannot be sent"):
        scored.replay("d-0", module=object())
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "model.pkl").write_bytes(b"not loaded")
    scored.register("pickled", pickled, flavor="pickle", code=False)
    with pytest.raises(InvalidInput, match="trust_pickle=True"):
        scored.load("pickled", 1)
    with pytest.raises(NotSupported, match="replay it on the server"):
        scored.load("pickled", 1, trust_pickle=True)


def test_open_file_seeks_with_byte_ranges(scored: RemoteRegistry, tmp_path: Path) -> None:
    import os

    folder = tmp_path / "big"
    folder.mkdir()
    data = os.urandom(300_000)
    (folder / "weights.bin").write_bytes(data)
    scored.register("big", folder, code=False)
    entry, stream = scored.open_file("big", 1, "weights.bin")
    with stream:
        assert stream.seekable() and entry.size == len(data)
        stream.seek(250_000)
        assert stream.read(100) == data[250_000:250_100]
        assert stream.tell() == 250_100
        stream.seek(-7, 2)
        assert stream.read() == data[-7:]
        stream.seek(3)
        assert stream.read(4) == data[3:7]
    with pytest.raises(ValueError):
        stream.read(1)


def test_an_import_is_streamed_from_disk_never_held_whole(tmp_path: Path) -> None:
    import tracemalloc

    line = json.dumps({"model": "m", "version": 1, "inputs": {"x": "y" * 200}, "output": 1})
    path = tmp_path / "big.jsonl"
    with open(path, "w") as out:
        for _ in range(100):
            out.write((line + "\n") * 1000)
    size = path.stat().st_size
    assert size > 20_000_000
    seen = {"bytes": 0, "type": ""}

    class Reading(httpx.BaseTransport):
        """A server that reads the body as it comes (httpx's MockTransport reads it whole
        first, which would hide what the client holds)."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/v1/whoami":
                return httpx.Response(200, json=WHOAMI)
            seen["type"] = request.headers["content-type"]
            for block in request.stream:  # type: ignore[union-attr]
                seen["bytes"] += len(block)  # type: ignore[operator]
            return httpx.Response(201, json={"imported": 100_000})

    client = httpx.Client(transport=Reading())
    remote = RemoteRegistry("http://127.0.0.1:9", token="t", client=client)
    tracemalloc.start()
    try:
        assert remote.import_decisions(path) == 100_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == {"bytes": size, "type": "application/x-ndjson"}
    assert peak < 2_000_000, f"{peak} bytes held to send a {size}-byte file"


class LosesFirstAnswers(httpx.BaseTransport):
    """The in-process server behind a network that loses answers: each POST reaches the
    server and is carried out, but the answer to the first one sent with a given
    `Idempotency-Key` (and to every POST without one) never comes back."""

    def __init__(self, server: TestClient) -> None:
        self.server = server
        self.posts: list[tuple[str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        reply = self.server.send(request)
        if request.method == "POST":
            key = request.headers.get("idempotency-key")
            first = key is None or all(k != key for _, k in self.posts)
            self.posts.append((request.url.path, key))
            if first:
                raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(
            reply.status_code,
            headers={"content-type": reply.headers.get("content-type", "application/json")},
            content=reply.content,
        )


def test_a_registration_whose_answer_was_lost_is_sent_again_and_made_once(
    registry: Registry, artifact: Path, tmp_path: Path
) -> None:
    import tarfile

    _, secret = registry.create_token("alice", "admin")
    with TestClient(create_app(registry)) as server:
        network = LosesFirstAnswers(server)
        client = httpx.Client(transport=network)
        remote = RemoteRegistry(
            "http://testserver", token=secret, client=client, allow_insecure_http=True
        )
        made = remote.register("credit-risk", artifact, code=False)
        assert made == registry.get("credit-risk", 1)
        assert [v.version for v in registry.versions("credit-risk")] == [1]
        (path, key), again = network.posts
        assert again == (path, key) and path == "/api/v1/models/credit-risk/versions"
        assert key is not None and len(key) == 32  # a new random key, kept for the retry
        kinds = [e["kind"] for e in registry.audit_log("model:credit-risk")]
        assert kinds.count("version.registered") == 1

        # A key given by the caller is sent as it is; a later call with it is a replay too.
        assert remote.register("credit-risk", artifact, code=False, idempotency_key="ci-7") == (
            registry.get("credit-risk", 2)
        )
        assert remote.register("credit-risk", artifact, code=False, idempotency_key="ci-7") == (
            registry.get("credit-risk", 2)
        )
        with pytest.raises(Conflict, match="'ci-7' was already used for credit-risk@2"):
            remote.register("credit-risk", tmp_path, idempotency_key="ci-7", code=False)
        with pytest.raises(InvalidInput, match="invalid idempotency key"):
            remote.register("credit-risk", artifact, idempotency_key="a b", code=False)

        packed = tmp_path / "model.tar"
        with tarfile.open(packed, "w") as tar:
            tar.add(artifact / "features.csv", "features.csv")
        archived = remote.register_archive("fraud", packed, code=False)
        assert archived == registry.get("fraud", 1)
        assert [v.version for v in registry.versions("fraud")] == [1]

        # Any other change that may have reached the server is still never sent twice.
        network.posts.clear()
        with pytest.raises(StorageError, match="cannot reach"):
            remote.deploy("credit-risk", 1, env="production")
        assert [k for _, k in network.posts] == [None]
        assert registry.live("credit-risk", env="production").versions[0].version == 1
        client.close()


def test_if_changed_hashes_here_and_uploads_nothing_when_the_latest_holds_the_files(
    scored: RemoteRegistry, registry: Registry, tmp_path: Path
) -> None:
    folder = tmp_path / "score"
    latest = registry.get("score", 1)
    assert scored.register("score", folder, flavor="text-coefficients", code=False,
                           if_changed=True) == latest  # fmt: skip
    assert registry.model("score").version_count == 1
    with pytest.raises(InvalidInput, match="unknown flavor 'sklern'"):
        scored.register("score", folder, flavor="sklern", code=False, if_changed=True)
    (folder / "notes.txt").write_text("changed\n")
    made = scored.register("score", folder, flavor="text-coefficients", code=False,
                           if_changed=True)  # fmt: skip
    assert made.version == 2 and made.digest != latest.digest
    assert scored.register("fresh", folder, code=False, if_changed=True).version == 1


def test_no_token_names_the_variable_to_set(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELREPO_TOKEN", raising=False)
    with TestClient(create_app(registry)) as client, pytest.raises(Unauthenticated) as refused:
        RemoteRegistry("http://testserver", client=client, allow_insecure_http=True)
    assert str(refused.value) == (
        "the server at http://testserver needs a sign-in: `modelrepo login --server "
        "http://testserver`, or an API token in $MODELREPO_TOKEN (an admin makes one with "
        "`modelrepo token create`), or pass token="
    )
