"""Request bodies over the limit get 413 with a JSON error, and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.server import create_app


def _small_app(registry: Registry) -> tuple[TestClient, str]:
    _, secret = registry.create_token("ops", "admin")
    app = create_app(registry, json_limit=1000, upload_limit=5000)
    return TestClient(app), secret


def test_declared_and_streamed_bodies_over_the_limit(registry: Registry) -> None:
    client, secret = _small_app(registry)
    headers = {"Authorization": f"Bearer {secret}"}
    before = registry.backend.metadata.audit_size()
    with client:
        big = [{"model": "m", "version": 1, "inputs": {"x": "y" * 50}, "output": 1}] * 40
        declared = client.post("/api/v1/decisions/batch", json={"decisions": big}, headers=headers)
        assert declared.status_code == 413
        assert declared.json()["code"] == "too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(20):
                yield b"x" * 500

        streamed = client.post(
            "/api/v1/models/m/versions",
            content=chunks(),
            headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413, streamed.text
        assert streamed.json()["code"] == "too_large"
        upload = client.post(
            "/api/v1/models/m/versions",
            files=[("files", ("w.bin", b"z" * 6000))],
            headers=headers,
        )
        assert upload.status_code == 413
        small = client.post(
            "/api/v1/models/m/versions", files=[("files", ("w.bin", b"z" * 100))], headers=headers
        )
        assert small.status_code == 201, small.text
    assert registry.backend.metadata.audit_size() == before + 1  # only the small upload
    assert [v.version for v in registry.versions("m")] == [1]


def test_the_new_json_endpoints_have_the_json_limit(registry: Registry) -> None:
    client, secret = _small_app(registry)
    headers = {"Authorization": f"Bearer {secret}"}
    padding = "x" * 2000
    with client:
        for method, path, body in [
            ("post", "/api/v1/models/m/decisions/columns", {"outputs": [padding]}),
            ("put", "/api/v1/models/m/decisions/policy", {"inputs": padding}),
            ("post", "/api/v1/decisions/purge", {"model": padding}),
            ("post", "/api/v1/tokens", {"user": padding, "role": "viewer"}),
        ]:
            reply = client.request(method, path, json=body, headers=headers)
            assert reply.status_code == 413, (path, reply.text)
            assert reply.json()["code"] == "too_large"
    assert len(registry.tokens()) == 1


def test_limits_are_checked_when_the_app_is_made(registry: Registry) -> None:
    import pytest

    for bad in (0, -1, True, 2**60, 1.5):
        with pytest.raises(ValueError, match="import limit"):
            create_app(registry, import_limit=bad)  # type: ignore[arg-type]
