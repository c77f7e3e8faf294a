"""Version uploads streamed into the store: large and many files, any part order, and
bodies that fail half-way leave no version, no blob and no staged file."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.domain.errors import CorruptBlobError
from modelrepo.server import create_app

from .conftest import Api

MiB = 1 << 20


def _stored(registry: Registry) -> tuple[set[str], list[object]]:
    blobs = registry.backend.blobs
    return {b.sha256 for b in blobs.list()}, list(blobs.partials())


def test_large_and_many_files_are_hashed_as_they_arrive(api: Api) -> None:
    big = os.urandom(9 * MiB + 123)  # over two of the writer's 4 MiB buffers
    smalls = {f"shards/{i:03}.bin": os.urandom(60 * 1024) for i in range(150)}  # 8.8 MiB
    files = [("files", ("weights/model.bin", big))]
    files += [("files", (path, data)) for path, data in smalls.items()]
    reply = api.client.post(
        "/api/v1/models/big-model/versions",
        headers=api.as_("contributor"),
        files=files,
        data={"metadata": json.dumps({"executable": ["shards/000.bin"], "metrics": {"a": 1}})},
    )
    assert reply.status_code == 201, reply.text
    created = reply.json()
    expected = {"weights/model.bin": big, **smalls}
    listed = {f["path"]: f for f in created["files"]}
    assert set(listed) == set(expected)
    for path, data in expected.items():
        assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest(), path
        assert listed[path]["size"] == len(data)
        assert listed[path]["executable"] == (path == "shards/000.bin")
    # Small files travel in the database up to 8 MiB per version; the rest became blobs.
    blobs, partials = _stored(api.registry)
    assert hashlib.sha256(big).hexdigest() in blobs and partials == []
    assert any(hashlib.sha256(d).hexdigest() in blobs for d in smalls.values())
    url = "/api/v1/models/big-model/versions/1/files/weights/model.bin"
    whole = api.client.get(url, headers=api.as_("viewer"))
    assert whole.content == big
    assert api.registry.fsck().ok


def test_metadata_may_come_after_the_files(api: Api) -> None:
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n'
        "alpha\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="metadata"\r\n\r\n'
        '{"tags": {"order": "files-first"}}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    reply = api.client.post(
        "/api/v1/models/m/versions",
        content=body,
        headers={
            **api.as_("contributor"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["tags"] == {"order": "files-first"}


def _refused(api: Api, body: bytes | Iterator[bytes], content_type: str, status: int) -> str:
    before = _stored(api.registry)
    reply = api.client.post(
        "/api/v1/models/m/versions",
        content=body,
        headers={**api.as_("contributor"), "Content-Type": content_type},
    )
    assert reply.status_code == status, reply.text
    assert _stored(api.registry) == before
    assert api.client.get("/api/v1/models/m", headers=api.as_("viewer")).status_code == 404
    return str(reply.json()["code"])


def test_a_body_cut_off_in_a_large_file_leaves_nothing(api: Api) -> None:
    def cut() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="w.bin"\r\n\r\n'
        for _ in range(12):
            yield os.urandom(MiB)
        # no closing boundary: the body ends in the middle of the file

    assert _refused(api, cut(), "multipart/form-data; boundary=x", 400) == "bad_request"


def test_bad_parts_and_content_types_are_refused_before_anything_is_kept(api: Api) -> None:
    def body(name: str, filename: str | None) -> bytes:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        return (
            f"--x\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + os.urandom(6 * MiB)
            + b"\r\n--x--\r\n"
        )

    multipart = "multipart/form-data; boundary=x"
    assert _refused(api, body("weights", "w.bin"), multipart, 422) == "invalid_input"
    assert _refused(api, body("comment", None), multipart, 422) == "invalid_input"
    assert _refused(api, body("files", "../w.bin"), multipart, 422) == "invalid_input"
    assert _refused(api, b"--x--\r\n", multipart, 422) == "invalid_input"  # no files
    assert _refused(api, body("files", "w.bin"), "application/json", 415)
    assert _refused(api, body("files", "w.bin"), "multipart/form-data", 415)
    late = body("files", "w.bin")[: -len(b"--x--\r\n")] + (
        b'--x\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"flavor": 1}\r\n--x--\r\n'
    )
    assert _refused(api, late, multipart, 422) == "invalid_input"


def test_a_large_upload_over_the_limit_stops_and_leaves_nothing(registry: Registry) -> None:
    _, secret = registry.create_token("ops", "admin")
    client = TestClient(create_app(registry, upload_limit=10 * MiB))

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="w.bin"\r\n\r\n'
        for _ in range(20):
            yield os.urandom(MiB)
        yield b"\r\n--x--\r\n"

    with client:
        reply = client.post(
            "/api/v1/models/m/versions",
            content=chunks(),
            headers={
                "Authorization": f"Bearer {secret}",
                "Content-Type": "multipart/form-data; boundary=x",
            },
        )
    assert reply.status_code == 413, reply.text
    assert list(registry.backend.blobs.list()) == []
    assert list(registry.backend.blobs.partials()) == []
    assert registry.models() == []


@pytest.mark.sqlite_only  # corrupts a blob in the local folder
def test_a_download_is_hashed_on_the_way_unless_the_client_hashes_it(api: Api) -> None:
    data = os.urandom(5 * MiB)
    reply = api.client.post(
        "/api/v1/models/m/versions",
        headers=api.as_("contributor"),
        files=[("files", ("w.bin", data))],
    )
    sha = reply.json()["files"][0]["sha256"]
    url = "/api/v1/models/m/versions/1/files/w.bin"
    viewer = api.as_("viewer")
    assert api.client.get(url, params={"verify": "false"}, headers=viewer).content == data
    blob = api.registry.backend.blobs._path(sha)  # type: ignore[attr-defined]
    blob.chmod(0o644)
    blob.write_bytes(b"X" + data[1:])
    unchecked = api.client.get(url, params={"verify": "false"}, headers=api.as_("viewer"))
    assert unchecked.content[:1] == b"X"  # as stored: the client's own check will refuse it
    # Hashed on the way, it is cut short: never sent whole as if it were good.
    with pytest.raises(RuntimeError, match="response already started") as cut:
        api.client.get(url, headers=viewer)
    assert isinstance(cut.value.__cause__, CorruptBlobError)


def test_an_upload_whose_files_do_not_fit_its_flavor_is_refused(api: Api) -> None:
    for flavor, message in (("sklern", "unknown flavor 'sklern'"), ("onnx", "one .onnx file")):
        reply = api.client.post(
            "/api/v1/models/m/versions",
            headers=api.as_("contributor"),
            files=[("files", ("notes.txt", b"no model here"))],
            data={"metadata": json.dumps({"flavor": flavor})},
        )
        assert reply.status_code == 422 and message in reply.text, reply.text
    assert _stored(api.registry) == (set(), []) and api.registry.models() == []
