"""Import a model kept as the object versions of one key in a versioned S3 bucket.

- Every object version of the key (oldest first, by LastModified) becomes a version holding
  one file, named like the key's last part; its tags name the source (`import.ref` =
  `s3://BUCKET/KEY?versionId=ID`, `import.from` = `s3://BUCKET/KEY`, `s3.version_id`,
  `s3.etag`, `import.created_at` = LastModified). Delete markers are reported.
- With a deployment key (a pointer object), every version of the pointer becomes a deploy
  to the environment (default `production`), effective at that pointer version's
  LastModified, of the model version its content names. Accepted contents (surrounding
  whitespace ignored):
    * an object version id of the model key;
    * `s3://BUCKET/KEY?versionId=ID` naming the model key;
    * the model key itself, or `s3://BUCKET/KEY`: the object version that was the key's
      latest at the pointer version's LastModified;
    * a JSON object with `version_id` (or `versionId`) and/or `key` (and optionally
      `bucket`), read by the same rules;
    * nothing (an empty object): nothing is live, an undeploy.
  A delete marker on the pointer is an undeploy too. Anything else is reported.

The client is configured like the S3 blob store's: the endpoint from
`MODELREPO_S3_ENDPOINT_URL`, else the standard AWS configuration.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ..domain.deployments import check_environment_name
from ..domain.errors import InvalidInput, StorageError
from ..domain.names import validate_model_name
from .common import (
    ImportReport,
    PlannedEvent,
    check_source_path,
    local_name,
    record_events,
    record_version,
)

if TYPE_CHECKING:
    from ..registry import Registry

POINTER_MAX = 64 * 1024
"""The largest pointer content read; a pointer names a version, it does not hold one."""


def parse_s3_url(url: str, what: str = "--url") -> tuple[str, str]:
    """`s3://BUCKET/KEY` as (bucket, key); anything else is refused."""
    if not url or any(ord(c) < 32 for c in url):
        raise InvalidInput(f"invalid {what}: empty or with control characters")
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise InvalidInput(f"unsupported {what} scheme {parts.scheme!r}: use s3://BUCKET/KEY")
    if not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
        raise InvalidInput(f"invalid {what} {url!r}: name a bucket, as s3://BUCKET/KEY")
    if parts.query or parts.fragment:
        raise InvalidInput(f"invalid {what} {url!r}: no ?query or #fragment")
    key = parts.path[1:]
    if not key or key.endswith("/"):
        raise InvalidInput(f"invalid {what} {url!r}: name one object, as s3://BUCKET/KEY")
    return parts.netloc, key


def check_options(
    url: str, deployment_key: str | None, model: str | None, env: str
) -> tuple[str, str, tuple[str, str] | None, str, str]:
    """(bucket, key, pointer, model, environment), checked before anything is read: the
    model's name defaults to the key's file name without its extension."""
    bucket, key = parse_s3_url(url)
    pointer = parse_s3_url(deployment_key, "--deployment-key") if deployment_key else None
    file_name = check_source_path(PurePosixPath(key).name)
    if model is not None:
        name = validate_model_name(model)
    else:
        name = local_name(PurePosixPath(key).stem or file_name)
    return bucket, key, pointer, name, check_environment_name(env)


@dataclass(frozen=True, slots=True)
class _ObjectVersion:
    version_id: str
    modified: datetime
    etag: str
    deleted: bool


def import_s3(
    reg: Registry,
    url: str,
    *,
    model: str | None = None,
    deployment_key: str | None = None,
    env: str = "production",
    client: Any = None,
) -> ImportReport:
    """Import every object version at `url` as a version of `model` (default: named after
    the key), and the history of the pointer at `deployment_key` as deployments to `env`."""
    bucket, key, pointer, name, environment = check_options(url, deployment_key, model, env)
    file_name = PurePosixPath(key).name
    s3 = _Bucket(client)
    location = f"s3://{bucket}/{key}"
    report = ImportReport(f"s3 {location}")
    numbers: dict[str, int] = {}
    history = s3.versions(bucket, key)
    if not history:
        raise InvalidInput(f"no object at {location}")
    for item in history:
        ref = f"{location}?versionId={item.version_id}"
        if item.deleted:
            report.skip(ref, "a delete marker: the object was deleted, not a version")
            continue
        with tempfile.TemporaryDirectory(prefix="modelrepo-import-") as scratch:
            path = Path(scratch) / file_name
            s3.download(bucket, key, item.version_id, path)
            number = record_version(
                reg,
                report,
                name,
                path,
                ref=ref,
                location=location,
                source_version=item.version_id,
                tags={"s3.version_id": item.version_id, "s3.etag": item.etag},
                created_at=item.modified,
            )
        if number is not None:
            numbers[item.version_id] = number
    if pointer is not None:
        source = (bucket, key)
        planned = _pointer_events(s3, report, pointer, environment, source, history, numbers)
        record_events(reg, report, name, report.source, list(planned))
    return report


def _pointer_events(
    s3: _Bucket,
    report: ImportReport,
    pointer: tuple[str, str],
    env: str,
    source: tuple[str, str],
    history: list[_ObjectVersion],
    numbers: dict[str, int],
) -> Iterator[PlannedEvent]:
    where = f"s3://{pointer[0]}/{pointer[1]}"
    versions = s3.versions(*pointer)
    if not versions:
        raise InvalidInput(f"no object at {where}")
    for item in versions:
        identity = f"{where}?versionId={item.version_id}"
        if item.deleted:
            yield PlannedEvent(env, item.modified, {}, identity, f"pointer {where} deleted")
            continue
        content = s3.read_small(*pointer, item.version_id)
        try:
            named = _named_version(content, *source, history, item.modified)
        except InvalidInput as exc:
            report.skip(identity, str(exc))
            continue
        if named is None:
            yield PlannedEvent(env, item.modified, {}, identity, f"pointer {where} is empty")
            continue
        number = numbers.get(named)
        if number is None:
            report.skip(identity, f"it names object version {named}, which was not imported")
            continue
        yield PlannedEvent(
            env,
            item.modified,
            {number: 1.0},
            identity,
            f"pointer {where} names object version {named}, effective at its LastModified",
        )


def _named_version(
    content: bytes | None,
    bucket: str,
    key: str,
    history: list[_ObjectVersion],
    at: datetime,
) -> str | None:
    """The object version id a pointer's content names (None: nothing is live)."""
    if content is None:
        raise InvalidInput(f"the pointer is larger than {POINTER_MAX} bytes")
    try:
        text = content.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidInput("the pointer is not UTF-8 text") from None
    if not text:
        return None
    known = {v.version_id for v in history if not v.deleted}
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            raise InvalidInput("the pointer is not valid JSON") from None
        if not isinstance(doc, dict):
            raise InvalidInput("the pointer's JSON is not an object")
        version = doc.get("version_id", doc.get("versionId"))
        named_key = doc.get("key", key)
        if doc.get("bucket", bucket) != bucket or named_key != key:
            raise InvalidInput(f"the pointer names another object: {text[:200]!r}")
        if version is None:
            return _latest_at(history, at)
        return _known(str(version), known)
    if text.startswith("s3://"):
        parts = urlsplit(text)
        if parts.netloc != bucket or parts.path[1:] != key or parts.fragment:
            raise InvalidInput(f"the pointer names another object: {text[:200]!r}")
        ids = parse_qs(parts.query).get("versionId")
        return _known(ids[0], known) if ids else _latest_at(history, at)
    if text == key:
        return _latest_at(history, at)
    return _known(text, known)


def _known(version: str, known: set[str]) -> str:
    if version not in known:
        raise InvalidInput(f"the pointer names {version[:200]!r}, no version of the model key")
    return version


def _latest_at(history: list[_ObjectVersion], at: datetime) -> str:
    """The object version that was the key's latest at `at`."""
    current = [v for v in history if v.modified <= at]
    if not current or current[-1].deleted:
        raise InvalidInput("the pointer names the key, which had no object at that time")
    return current[-1].version_id


class _Bucket:
    """The few S3 reads an import makes, failures as one-line errors."""

    def __init__(self, client: Any) -> None:
        if client is None:
            from ..blobs.s3_client import make_client

            client = make_client()
        self.client = client

    def _fail(self, exc: Exception, action: str) -> StorageError:
        response = getattr(exc, "response", None) or {}
        code = response.get("Error", {}).get("Code") or type(exc).__name__
        return StorageError(f"S3 error {code} while trying to {action}")

    def versions(self, bucket: str, key: str) -> list[_ObjectVersion]:
        """The key's versions and delete markers, oldest first."""
        from botocore.exceptions import BotoCoreError, ClientError

        found: list[tuple[datetime, bool, int, _ObjectVersion]] = []
        position = {False: 0, True: 0}
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=bucket, Prefix=key
            )
            for page in pages:
                items = [(v, False) for v in page.get("Versions", [])]
                items += [(m, True) for m in page.get("DeleteMarkers", [])]
                for item, deleted in items:
                    if item["Key"] != key:
                        continue
                    entry = _ObjectVersion(
                        str(item.get("VersionId") or "null"),
                        item["LastModified"],
                        str(item.get("ETag", "")).strip('"'),
                        deleted,
                    )
                    # LastModified has one-second resolution: within a second, the latest
                    # goes last, and each list gives the newest first.
                    position[deleted] -= 1
                    latest = bool(item.get("IsLatest"))
                    found.append((entry.modified, latest, -position[deleted], entry))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, f"list the versions of s3://{bucket}/{key}") from None
        return [f[3] for f in sorted(found, key=lambda f: (f[0], f[1], -f[2]))]

    def download(self, bucket: str, key: str, version_id: str, target: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            got = self.client.get_object(Bucket=bucket, Key=key, VersionId=version_id)
            with open(target, "xb") as out:
                shutil.copyfileobj(got["Body"], out, 1 << 20)
        except (ClientError, BotoCoreError) as exc:
            where = f"s3://{bucket}/{key}?versionId={version_id}"
            raise self._fail(exc, f"read {where}") from None
        if target.stat().st_size != got["ContentLength"]:
            raise StorageError(f"s3://{bucket}/{key} ended early")

    def read_small(self, bucket: str, key: str, version_id: str) -> bytes | None:
        """A pointer's content, or None when it is too large to be one."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            got = self.client.get_object(Bucket=bucket, Key=key, VersionId=version_id)
            if got["ContentLength"] > POINTER_MAX:
                got["Body"].close()
                return None
            return bytes(got["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, f"read s3://{bucket}/{key}") from None
