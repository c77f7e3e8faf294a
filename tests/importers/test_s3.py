"""`import s3` against a versioned bucket on the S3 test endpoint: object versions become
versions, a pointer key's versions become deployments, and a second run adds nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrepo.domain.manifest import FileEntry, manifest_digest
from modelrepo.importers.s3 import import_s3

from ..cli.conftest import Run

KEY = "models/credit.bin"
POINTER = "models/LIVE"


@pytest.fixture
def s3(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A client of the test endpoint, configured as the importer finds it: by environment."""
    import boto3

    from modelrepo.testing.s3server import aws_test_environment

    for name, value in aws_test_environment(s3_endpoint, tmp_path).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    yield boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    from modelrepo.testing.s3server import new_bucket

    name = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _digest(content: bytes) -> str:
    entry = FileEntry("credit.bin", len(content), hashlib.sha256(content).hexdigest(), False)
    return manifest_digest([entry])


def _times(s3: Any, bucket: str, key: str) -> dict[str, datetime]:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    items = listing.get("Versions", []) + listing.get("DeleteMarkers", [])
    return {i["VersionId"]: i["LastModified"] for i in items if i["Key"] == key}


def test_object_versions_and_pointer_history(open_registry, s3: Any, bucket: str) -> None:
    contents = [b"weights A\n", b"weights B\n" * 100, b"weights C\n" * 1000]
    ids = [s3.put_object(Bucket=bucket, Key=KEY, Body=c)["VersionId"] for c in contents]
    url = f"s3://{bucket}/{KEY}"
    pointers = [
        (ids[0], [1]),  # a bare version id
        (json.dumps({"version_id": ids[1]}), [2]),  # JSON
        ("not a version of anything", None),  # reported, not mapped
        ("", []),  # empty: nothing is live
        (f"{url}?versionId={ids[2]}", [3]),  # an s3:// URL with the version
        (KEY, [3]),  # the key: its latest version then
    ]
    expected: list[tuple[str, list[int] | None]] = []
    for body, versions in pointers:
        put = s3.put_object(Bucket=bucket, Key=POINTER, Body=body.encode())
        expected.append((put["VersionId"], versions))
    marker = s3.delete_object(Bucket=bucket, Key=POINTER)["VersionId"]
    expected.append((marker, []))  # a delete marker: nothing is live

    reg = open_registry(user="alice")
    report = import_s3(reg, url, deployment_key=f"s3://{bucket}/{POINTER}")

    times = _times(s3, bucket, KEY)
    for number, (vid, content) in enumerate(zip(ids, contents, strict=True), start=1):
        got = reg.get("credit", number)
        assert got.digest == _digest(content)
        assert reg.read_file("credit", number, "credit.bin") == content
        assert got.tags["import.ref"] == f"{url}?versionId={vid}"
        assert got.tags["s3.version_id"] == vid
        assert got.tags["import.created_at"] == times[vid].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(reg.versions("credit")) == 3

    pointer_times = _times(s3, bucket, POINTER)
    mapped = [(pid, v) for pid, v in expected if v is not None]
    history = reg.history("credit", env="production")
    assert len(history) == len(mapped) == 6
    for event, (pid, versions) in zip(history, mapped, strict=True):
        assert event.effective_at == pointer_times[pid]
        assert [a.version for a in event.versions] == versions
        assert event.reason.endswith(f"[s3://{bucket}/{POINTER}?versionId={pid}]")
        assert event.reason.startswith(f"imported from s3 {url}: ")
        assert event.kind == ("deploy" if versions else "undeploy")
    assert [u["what"] for u in report.unmapped] == [
        f"s3://{bucket}/{POINTER}?versionId={expected[2][0]}"
    ]
    # What was live at each instant the pointer changed (S3 times have one-second
    # resolution, so several changes may share one), and just before the first.
    first = min(pointer_times.values())
    assert reg.live("credit", env="production", at=first - timedelta(microseconds=1)).versions == ()
    for at in sorted(set(pointer_times.values())):
        last = [v for pid, v in mapped if pointer_times[pid] <= at][-1]
        assert [v.version for v in reg.live("credit", env="production", at=at).versions] == last

    audit = len(reg.audit_log())
    again = import_s3(reg, url, deployment_key=f"s3://{bucket}/{POINTER}")
    assert again.counts() == {
        "versions_imported": 0,
        "versions_existing": 3,
        "versions_deleted": 0,
        "events_imported": 0,
        "events_existing": 6,
        "unmapped": 1,
    }
    assert len(reg.versions("credit")) == 3
    assert [e.event_id for e in reg.history("credit")] == [e.event_id for e in history]
    assert len(reg.audit_log()) == audit

    # A new object version and a new pointer version: only they are added.
    ids.append(s3.put_object(Bucket=bucket, Key=KEY, Body=b"weights D\n")["VersionId"])
    s3.put_object(Bucket=bucket, Key=POINTER, Body=ids[3].encode())
    third = import_s3(reg, url, deployment_key=f"s3://{bucket}/{POINTER}")
    assert third.counts()["versions_imported"] == 1
    assert third.counts()["events_imported"] == 1
    assert [v.version for v in reg.live("credit", env="production").versions] == [4]


@pytest.mark.sqlite_only
def test_cli_import_s3(run: Run, s3: Any, bucket: str) -> None:
    vid = s3.put_object(Bucket=bucket, Key="m/scorer.onnx", Body=b"onnx bytes")["VersionId"]
    s3.put_object(Bucket=bucket, Key="m/live.json", Body=json.dumps({"versionId": vid}).encode())
    args = ["import", "s3", "--url", f"s3://{bucket}/m/scorer.onnx"]
    args += ["--deployment-key", f"s3://{bucket}/m/live.json", "--env", "prod", "--json"]
    doc = run(*args).json
    assert doc["counts"]["versions_imported"] == 1
    assert doc["events"][0]["environment"] == "prod"
    assert run("live", "scorer", "--env", "prod", "--json").json["versions"][0]["version"] == 1
    again = run(*args[:-1])
    assert "0 versions and 0 deployment events imported; 1 versions and 1 events" in again.out


@pytest.mark.sqlite_only
def test_hostile_locations_are_refused(run: Run, s3: Any, bucket: str, store_dir: Path) -> None:
    s3.put_object(Bucket=bucket, Key="m/x", Body=b"x")
    for extra in (
        ["--url", f"http://{bucket}/m/x"],
        ["--url", f"s3://{bucket}"],
        ["--url", f"s3://{bucket}/m/"],
        ["--url", f"s3://user:secret@{bucket}/m/x"],
        ["--url", f"s3://{bucket}/m/x?versionId=1"],
        ["--url", f"s3://{bucket}/m/.."],  # would name the file '..'
        ["--url", f"s3://{bucket}/m/x", "--deployment-key", "file:///etc/passwd"],
        ["--url", f"s3://{bucket}/m/x", "--env", "../prod"],
    ):
        bad = run("import", "s3", *extra, ok=False)
        assert bad.code == 1, (extra, bad)
        assert bad.err.startswith("error: ") and bad.err.count("\n") == 1, bad.err
    assert not store_dir.exists()  # refused before the store was opened


@pytest.mark.sqlite_only
def test_a_protected_environment_is_reported_not_written(
    open_registry, s3: Any, bucket: str
) -> None:
    vid = s3.put_object(Bucket=bucket, Key=KEY, Body=b"weights")["VersionId"]
    s3.put_object(Bucket=bucket, Key=POINTER, Body=vid.encode())
    reg = open_registry(user="alice")
    reg.register("credit", Path(__file__))  # the model exists, so it can be protected
    reg.protect("credit", env="production")
    report = import_s3(reg, f"s3://{bucket}/{KEY}", deployment_key=f"s3://{bucket}/{POINTER}")
    assert [v["version"] for v in report.versions] == [2]
    assert [e["status"] for e in report.events] == ["refused"]
    assert "protected" in report.unmapped[-1]["why"]
    assert reg.history("credit", env="production") == []
