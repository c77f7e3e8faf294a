"""Hostile input through HTTP: traversal in names and paths, NUL bytes, malformed JSON and
wrong content types all get a clean 4xx JSON error, and nothing is written."""

from __future__ import annotations

import pytest

from .conftest import Api

NAMES = [
    "..",
    "../etc",
    "%2e%2e%2f",
    "a%00b",
    "a/../../b",
    "/abs",
    "x" * 300,
    "a%3Ab",
    "rtl%E2%80%AEexe",
    "%0A",
    "%20%20",
]
PATHS = ["../escape", "/etc/passwd", "a/../../b", "..", "a//b", "", "./a", "a\\..\\b"]


def _entries(api: Api) -> int:
    return api.registry.backend.metadata.audit_size()


def _clean_4xx(reply: object) -> None:
    status = reply.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, (status, reply.text)  # type: ignore[attr-defined]
    body = reply.json()  # type: ignore[attr-defined]
    assert body.get("code") and body.get("message"), body


@pytest.mark.parametrize("name", NAMES)
def test_hostile_model_names(api: Api, name: str) -> None:
    before = _entries(api)
    for method, path, kwargs in [
        ("get", f"/api/v1/models/{name}", {}),
        ("get", f"/api/v1/models/{name}/versions", {}),
        (
            "post",
            f"/api/v1/models/{name}/versions",
            {"files": [("files", ("a.json", b"{}"))], "headers": api.as_("contributor")},
        ),
        (
            "post",
            f"/api/v1/models/{name}/environments/production/deploy",
            {"json": {"version": 1}, "headers": api.as_("deployer")},
        ),
    ]:
        headers = kwargs.pop("headers", api.as_("viewer"))
        reply = getattr(api.client, method)(path, headers=headers, **kwargs)
        _clean_4xx(reply)
    assert _entries(api) == before
    assert [m.name for m in api.registry.models()] == []


@pytest.mark.parametrize("path", PATHS)
def test_hostile_artifact_paths_are_refused_and_nothing_is_written(api: Api, path: str) -> None:
    before = _entries(api)
    reply = api.client.post(
        "/api/v1/models/credit-risk/versions",
        headers=api.as_("contributor"),
        files=[("files", ("ok.json", b"{}")), ("files", (path, b"evil"))],
    )
    _clean_4xx(reply)
    assert _entries(api) == before
    assert [m.name for m in api.registry.models()] == []


def test_escaped_names_are_kept_literally_never_decoded_into_a_path(api: Api) -> None:
    reply = api.client.post(
        "/api/v1/models/credit-risk/versions",
        headers=api.as_("contributor"),
        files=[("files", ("%2e%2e%2fx", b"one")), ("files", ("a\x00b", b"two"))],
    )
    assert reply.status_code == 201, reply.text
    # The client sends a NUL in a part's filename as %00: both names are plain text here.
    assert sorted(f["path"] for f in reply.json()["files"]) == ["%2e%2e%2fx", "a%00b"]


def test_hostile_download_paths(api: Api) -> None:
    api.upload("credit-risk")
    for path in ["../../etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "model/%00x", "nope"]:
        reply = api.client.get(
            f"/api/v1/models/credit-risk/versions/1/files/{path}", headers=api.as_("viewer")
        )
        _clean_4xx(reply)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"version": 1', "application/json"),
        (b'{"version": "one"}', "application/json"),
        (b"version=1", "application/x-www-form-urlencoded"),
        (b"\x00\x01\x02", "application/octet-stream"),
        (b"[]", "application/json"),
    ],
)
def test_malformed_bodies_and_wrong_content_types(
    api: Api, content: bytes, content_type: str
) -> None:
    api.upload("credit-risk")
    before = _entries(api)
    for path, who in [
        ("/api/v1/models/credit-risk/environments/production/deploy", "deployer"),
        ("/api/v1/decisions", "deployer"),
        ("/api/v1/decisions/batch", "deployer"),
        ("/api/v1/models/credit-risk/versions/1/deprecation", "contributor"),
    ]:
        reply = api.client.post(
            path, content=content, headers={**api.as_(who), "Content-Type": content_type}
        )
        _clean_4xx(reply)
    assert _entries(api) == before


# -- decision data, tokens, the audit log ------------------------------------------------------

CHANGES = [  # (method, path, role) of the JSON endpoints about decisions, tokens and webhooks
    ("post", "/api/v1/models/credit-risk/decisions/columns", "deployer"),
    ("put", "/api/v1/models/credit-risk/decisions/policy", "admin"),
    ("post", "/api/v1/decisions/purge", "admin"),
    ("post", "/api/v1/tokens", "admin"),
    ("post", "/api/v1/webhooks", "admin"),
]


@pytest.mark.sqlite_only  # the transport is under test: the store adds nothing here
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"outputs": [1]', "application/json"),
        (b'{"outputs": "one", "inputs": 7, "model": 3, "role": [], "url": {}}', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"outputs=1", "application/x-www-form-urlencoded"),
        (b"\x00\x01\x02", "application/octet-stream"),
        (b"[]", "application/json"),
        (b'"admin"', "application/json"),
    ],
)
def test_malformed_bodies_on_decision_token_and_webhook_endpoints(
    api: Api, content: bytes, content_type: str
) -> None:
    api.upload("credit-risk")
    before = _entries(api)
    tokens = len(api.registry.tokens())
    for method, path, who in CHANGES:
        reply = api.client.request(
            method, path, content=content, headers={**api.as_(who), "Content-Type": content_type}
        )
        if path.endswith("/purge") and reply.status_code == 200:
            continue  # a purge needs no body: one it cannot read is no purge of anything
        _clean_4xx(reply)
    assert _entries(api) == before and len(api.registry.tokens()) == tokens


@pytest.mark.sqlite_only  # the transport is under test: the store adds nothing here
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "application/x-ndjson"),
        (b"PAR1 not really parquet", "application/vnd.apache.parquet"),
        (b'{"model": "../../etc/passwd", "version": 1, "inputs": 1, "output": 1}\n',
         "application/x-ndjson"),
        (b'[{"model": "credit-risk"}]\n', "application/x-ndjson"),
        (b"{}", "application/json"),
        (b"model,version\n", "text/csv"),
        (b"", "multipart/form-data; boundary=x"),
    ],
)  # fmt: skip
def test_hostile_decision_files(api: Api, content: bytes, content_type: str) -> None:
    api.upload("credit-risk")
    before = _entries(api)
    reply = api.client.post(
        "/api/v1/decisions/import",
        content=content,
        headers={**api.as_("deployer"), "Content-Type": content_type},
    )
    _clean_4xx(reply)
    assert "/tmp" not in reply.json()["message"]
    assert _entries(api) == before


@pytest.mark.sqlite_only
@pytest.mark.parametrize("name", ["../../etc/passwd", "..%2f..%2fx", "a\\b", "x" * 400, "/etc/x"])
def test_hostile_import_file_names_are_refused(api: Api, name: str) -> None:
    reply = api.client.post(
        "/api/v1/decisions/import",
        params={"filename": name},
        content=b"",
        headers={**api.as_("deployer"), "Content-Type": "application/x-ndjson"},
    )
    _clean_4xx(reply)


IDS = ["..", "../../etc/passwd", "%2e%2e%2f%2e%2e%2f", "a%00b", "x" * 300, "Ünï", "%252e%252e"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("bad", IDS)
def test_traversal_ish_ids(api: Api, bad: str) -> None:
    api.upload("credit-risk")
    before = _entries(api)
    for method, path, who in [
        ("get", f"/api/v1/decision-inputs/{bad}", "viewer"),
        ("get", f"/api/v1/decisions/{bad}", "viewer"),
        ("post", f"/api/v1/tokens/{bad}/revoke", "admin"),
        ("post", f"/api/v1/webhooks/{bad}/disable", "admin"),
        ("get", f"/api/v1/webhooks/deliveries/{bad}/attempts", "admin"),
        ("put", f"/api/v1/models/{bad}/decisions/policy", "admin"),
        ("post", f"/api/v1/models/{bad}/decisions/columns", "deployer"),
    ]:
        body = {"inputs": "digest"} if method == "put" else {"outputs": [1], "inputs": [1]}
        kwargs = {"json": body} if method != "get" else {}
        reply = api.client.request(method, path, headers=api.as_(who), **kwargs)
        _clean_4xx(reply)
    log = api.client.get(
        "/api/v1/audit/log", params={"subject": "../" * 50}, headers=api.as_("viewer")
    )
    assert log.status_code == 200 and log.json() == {"items": [], "next_cursor": None}
    assert _entries(api) == before
