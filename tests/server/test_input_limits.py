"""Input that once reached the OS, the database or a parser unchecked: each is now a clean
4xx whose message names the caller's input, never a server path; and absolute URLs come from
the configured public address, never from the request's Host header."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelrepo import Registry
from modelrepo.server import create_app
from modelrepo.server.mlflow.sources import Sources
from modelrepo.sources import SourcePolicy

from .conftest import Api
from .test_lifecycle_api import inbox  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.sqlite_only  # the HTTP layer is under test

RM, MV = "/api/2.0/mlflow/registered-models", "/api/2.0/mlflow/model-versions"
LONG = "a" * 300  # longer than any file system's name limit (255 bytes)


def _api(registry: Registry, **options: object) -> Api:
    app = create_app(registry, **options)  # type: ignore[arg-type]
    api = Api(TestClient(app, raise_server_exceptions=False), registry)
    for role in ("viewer", "contributor", "deployer", "admin"):
        api.token(role, f"{role}-user", role)
    return api


def _refused(reply: object, *secrets: Path | str) -> str:
    """A 4xx whose message names none of the server's folders."""
    status = reply.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, (status, reply.text)  # type: ignore[attr-defined]
    text = reply.text  # type: ignore[attr-defined]
    for secret in secrets:
        assert str(secret) not in text, text
    message: str = reply.json().get("message", "")  # type: ignore[attr-defined]
    return message


@pytest.fixture
def mlruns(tmp_path: Path) -> Path:
    root = tmp_path / "mlruns"
    folder = root / "models" / "m-1" / "artifacts"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    return root


@pytest.fixture
def ml(registry: Registry, mlruns: Path) -> Iterator[Api]:
    api = _api(registry, mlflow_sources=Sources.parse([mlruns.as_uri()]))
    with api.client:
        _create_model(api)
        yield api


def _create_model(api: Api) -> None:
    """The model `m`, created first, as MLflow's clients do before a version."""
    reply = api.client.post(f"{RM}/create", headers=api.as_("admin"), json={"name": "m"})
    assert reply.status_code == 200, reply.text


def _create(api: Api, source: str) -> object:
    return api.client.post(
        f"{MV}/create", headers=api.as_("contributor"), json={"name": "m", "source": source}
    )


def test_mlflow_sources_with_a_nul_or_an_over_long_name(ml: Api, mlruns: Path) -> None:
    for source in (f"{mlruns.as_uri()}/a%00b", f"{mlruns.as_uri()}/{LONG}", f"{mlruns}/{LONG}"):
        message = _refused(_create(ml, source))
        assert message.startswith(f"source {source[:80]!r}"[:-1]), message
    assert ml.registry.versions("m") == []


def test_a_hard_link_in_a_source_is_refused_as_a_symbolic_link_is(
    ml: Api, mlruns: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "signing.key"
    secret.write_text("not for clients")
    artifacts = mlruns / "models" / "m-1" / "artifacts"
    os.link(secret, artifacts / "weights.bin")
    message = _refused(_create(ml, "models:/m-1"), mlruns, tmp_path)
    assert "'weights.bin' is a hard link" in message and "models:/m-1" in message
    (artifacts / "weights.bin").unlink()
    (artifacts / "link").symlink_to(secret)
    message = _refused(_create(ml, "models:/m-1"), mlruns, tmp_path)
    assert "'link' is a symbolic link" in message
    (artifacts / "link").unlink()
    assert _create(ml, "models:/m-1").status_code == 200  # type: ignore[attr-defined]
    (mlruns / "models" / "m-2" / "artifacts").mkdir(parents=True)
    assert "holds no files" in _refused(_create(ml, "models:/m-2"), mlruns)


def test_an_https_or_s3_source_named_longer_than_a_file_can_be(
    registry: Registry,
    inbox: tuple[object, str],  # noqa: F811
) -> None:
    s3, bucket = inbox
    s3.put_object(Bucket=bucket, Key=f"models/{LONG}", Body=b"{}")  # type: ignore[attr-defined]
    api = _api(registry, sources=SourcePolicy((f"s3://{bucket}/models/",), s3_client=s3))
    reply = api.client.post(
        "/api/v1/models/credit-risk/versions/source",
        headers=api.as_("contributor"),
        json={"source": f"s3://{bucket}/models/{LONG}"},
    )
    assert "at most 255 bytes" in _refused(reply)
    assert registry.models() == []


def test_an_archive_member_named_longer_than_a_file_can_be(api: Api) -> None:
    data = b"{}"
    info = tarfile.TarInfo(f"model/{LONG}.json")
    info.size = len(data)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(info, io.BytesIO(data))
    reply = api.client.post(
        "/api/v1/models/credit-risk/versions/archive",
        headers=api.as_("contributor"),
        files=[("archive", ("upload.tar.gz", buffer.getvalue()))],
    )
    message = _refused(reply, "modelrepo-archive-", "/tmp")
    assert "255 per step" in message


def test_a_range_of_thousands_of_digits_gets_the_whole_file(api: Api) -> None:
    api.upload("credit-risk")
    url = "/api/v1/models/credit-risk/versions/1/files/score.sh"
    for header in ("bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 40):
        reply = api.client.get(url, headers={**api.as_("viewer"), "Range": header})
        assert reply.status_code == 200 and reply.content.startswith(b"#!/bin/sh"), header


def test_a_malformed_ipv6_webhook_url(api: Api) -> None:
    for url in ("https://[::1/hook", "https://[v1.fe]/hook", "https://[zz::1]/hook"):
        reply = api.client.post(
            "/api/v1/webhooks",
            headers=api.as_("admin"),
            json={"url": url, "events": ["deployment"], "model_pattern": "*"},
        )
        _refused(reply)


def test_versions_beyond_64_bits(registry: Registry) -> None:
    api = _api(registry)
    with api.client:
        api.upload("credit-risk")
        deploy = "/api/v1/models/credit-risk/environments/production/deploy"
        for body in ({"version": 2**64}, {"version": 2**63}, {"split": {str(2**64): 1.0}}):
            _refused(api.client.post(deploy, headers=api.as_("deployer"), json=body))
        for version in (str(2**64), "9" * 20, "-1", "1e3"):
            reply = api.client.get(
                f"{MV}/get", headers=api.as_("viewer"), params={"name": "credit-risk",
                                                                 "version": version}
            )  # fmt: skip
            _refused(reply)
            alias = api.client.post(
                "/api/2.0/mlflow/registered-models/alias",
                headers=api.as_("deployer"),
                json={"name": "credit-risk", "alias": "champion", "version": version},
            )
            _refused(alias)
        decision = {"model": "credit-risk", "inputs": [1], "output": 0, "version": 2**64}
        _refused(api.client.post("/api/v1/decisions", headers=api.as_("deployer"), json=decision))
    with pytest.raises(ValueError, match="2\\*\\*62"):
        registry.deploy("credit-risk", 2**64, env="production")


def test_download_uris_come_from_the_public_url_never_from_the_host_header(
    registry: Registry, mlruns: Path
) -> None:
    sources = Sources.parse([mlruns.as_uri()])
    for public, expected in (
        ("https://models.bank.example/registry/", "https://models.bank.example/registry"),
        (None, "http://127.0.0.1:8080"),
    ):
        options: dict[str, object] = {"mlflow_sources": sources}
        if public:
            options["public_url"] = public
        api = _api(registry, **options)
        with api.client:
            if not registry.models():
                _create_model(api)
                assert _create(api, "models:/m-1").status_code == 200  # type: ignore[attr-defined]
            reply = api.client.get(
                f"{MV}/get-download-uri",
                headers={**api.as_("viewer"), "Host": "evil.example", "X-Forwarded-Host": "x.y"},
                params={"name": "m", "version": "1"},
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["artifact_uri"] == (
                f"{expected}/api/2.0/mlflow-artifacts/artifacts/models/m/versions/1"
            )
    for bad in ("ftp://x", "https://", "https://a/?q=1", "https://u:p@a/", "https://[::1"):
        with pytest.raises(ValueError, match="public URL"):
            create_app(registry, public_url=bad)
