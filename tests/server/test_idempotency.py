"""`Idempotency-Key` on registrations: a repeated request answers the version the first one
made, writes nothing, and a key reused for other files is refused."""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import httpx

from .conftest import Api

BIG = os.urandom(100 * 1024)  # over 64 KiB: streamed into a blob writer, not kept inline


def post(
    api: Api, name: str, files: dict[str, bytes], key: str | None, who: str = "contributor"
) -> httpx.Response:
    headers = api.as_(who) | ({"Idempotency-Key": key} if key is not None else {})
    return api.client.post(
        f"/api/v1/models/{name}/versions",
        headers=headers,
        files=[("files", (path, data)) for path, data in files.items()],
        data={"metadata": json.dumps({"metrics": {"auc": 0.9}})},
    )


def registered(api: Api, name: str) -> list[dict[str, Any]]:
    return [e for e in api.registry.audit_log(f"model:{name}") if e["kind"] == "version.registered"]


def test_an_upload_repeated_with_its_key_answers_the_same_version(api: Api) -> None:
    files = {"coefficients.json": b'{"income": 0.25}', "weights.bin": BIG}
    first = post(api, "credit-risk", files, "run-42")
    assert first.status_code == 201, first.text
    again = post(api, "credit-risk", files, "run-42")
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert [v.version for v in api.registry.versions("credit-risk")] == [1]
    assert len(registered(api, "credit-risk")) == 1
    assert list(api.registry.backend.blobs.partials()) == []  # the repeat's upload is gone too

    other = post(api, "credit-risk", {"coefficients.json": b'{"income": 9}'}, "run-42")
    assert other.status_code == 409, other.text
    assert other.json() == {
        "code": "conflict",
        "message": "idempotency key 'run-42' was already used for credit-risk@1 with other files",
    }
    # Keys are per user, and without a key every upload is a new version.
    assert post(api, "credit-risk", files, "run-42", who="admin").json()["version"] == 2
    assert post(api, "credit-risk", files, None).json()["version"] == 3
    assert post(api, "credit-risk", files, None).json()["version"] == 4
    assert len(registered(api, "credit-risk")) == 4
    assert api.registry.fsck().ok


def test_a_malformed_key_is_refused_before_anything_is_written(api: Api) -> None:
    files = {"coefficients.json": b"{}"}
    for bad in ("two words", "x" * 129, "caf\u00e9".encode()):
        reply = api.client.post(
            "/api/v1/models/credit-risk/versions",
            headers={**api.as_("contributor"), "Idempotency-Key": bad},  # type: ignore[dict-item]
            files=[("files", (path, data)) for path, data in files.items()],
        )
        assert reply.status_code == 422, (bad, reply.text)
    assert api.registry.models() == []


def test_an_archive_repeated_with_its_key_answers_the_same_version(api: Api) -> None:
    def archive(content: bytes) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("model/coefficients.json", content)
        return out.getvalue()

    def send(data: bytes) -> httpx.Response:
        return api.client.post(
            "/api/v1/models/credit-risk/versions/archive",
            headers=api.as_("contributor") | {"Idempotency-Key": "ci-7"},
            files=[("archive", ("model.zip", data))],
        )

    first = send(archive(b"{}"))
    assert first.status_code == 201, first.text
    assert send(archive(b"{}")).json() == first.json()
    assert send(archive(b"[]")).status_code == 409
    assert [v.version for v in api.registry.versions("credit-risk")] == [1]
    assert len(registered(api, "credit-risk")) == 1


def test_the_header_is_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("", "/archive", "/source"):
        route = paths[f"/api/v1/models/{{name}}/versions{path}"]["post"]
        headers = {p["name"].lower(): p for p in route["parameters"] if p["in"] == "header"}
        assert "idempotency-key" in headers, path
        assert "retry" in headers["idempotency-key"]["description"]
