"""Resumable uploads into an S3 blob store: each session is an S3 multipart upload.

Layout under the store's prefix: `uploads/<id>/session.json` (the session),
`uploads/<id>/parts/<n>.json` (a part S3 holds: its size, SHA-256 and ETag) and
`uploads/<id>/data`, the multipart upload's key. Each part goes to S3 with its SHA-256, so
the service checks it too; completing the session completes the multipart upload, and
publishing copies the object to its blob address server-side, S3 checking the copy's digest.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ..domain.errors import Conflict
from ..domain.uploads import PartRecord, UploadSession, check_upload_id
from ..ports import BlobInfo
from .s3_client import MISSING_KEY, NO_UPLOAD, error_code
from .s3_transfers import b64

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

    from .s3 import S3BlobStore

SPOOL_IN_MEMORY = 8 << 20  # a part beyond this waits on local disk until it is sent


class S3Uploads:
    """The sessions of one `S3BlobStore`."""

    min_part_size = 5 << 20

    def __init__(self, store: S3BlobStore) -> None:
        self._store = store
        self._root = store._objects.removesuffix("sha256/") + "uploads/"

    def _key(self, upload_id: str, name: str) -> str:
        return f"{self._root}{check_upload_id(upload_id)}/{name}"

    def _put(self, key: str, raw: dict[str, Any]) -> None:
        body = json.dumps(raw, sort_keys=True).encode()
        self._store._call("write", key, self._store.client.put_object, Key=key, Body=body)

    def _get(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            got = self._store.client.get_object(Bucket=self._store.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in MISSING_KEY:
                return None
            self._store._fail(exc, "read", key)
        except BotoCoreError as exc:
            self._store._fail(exc, "read", key)
        return cast("dict[str, Any]", json.loads(got["Body"].read()))

    def begin(self, session: UploadSession) -> UploadSession:
        store = self._store
        data = self._key(session.id, "data")
        extra = {"ChecksumAlgorithm": "SHA256"} if store.checksums else {}
        created = store._call(
            "start an upload to", data, store.client.create_multipart_upload, Key=data, **extra
        )
        begun = replace(session, handle=created["UploadId"])
        self._put(self._key(session.id, "session.json"), begun.to_dict())
        return begun

    def session(self, upload_id: str) -> UploadSession | None:
        raw = self._get(self._key(upload_id, "session.json"))
        return None if raw is None else UploadSession.from_dict(raw)

    def sessions(self) -> Iterator[UploadSession]:
        for item in self._store._objects_under(self._root, "list upload sessions in"):
            rest = item["Key"][len(self._root) :]
            upload_id, _, name = rest.partition("/")
            if name == "session.json":
                found = self.session(upload_id)
                if found is not None:
                    yield found

    def parts(self, session: UploadSession) -> list[PartRecord]:
        prefix = self._key(session.id, "parts/")
        records = []
        for item in self._store._objects_under(prefix, "list the parts of"):
            raw = self._get(item["Key"])
            if raw is not None:
                records.append(PartRecord.from_dict(raw))
        return sorted(records, key=lambda p: p.number)

    def part_sink(self, session: UploadSession, number: int) -> _PartSink:
        session.part_span(number)
        record = self._key(session.id, f"parts/{number}.json")
        self._store._call("forget a part at", record, self._store.client.delete_object, Key=record)
        return _PartSink(self, session, number, record)

    def assemble(self, session: UploadSession, parts: list[PartRecord]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        store = self._store
        data = self._key(session.id, "data")
        done: list[CompletedPartTypeDef] = []
        for part in parts:
            entry: CompletedPartTypeDef = {"PartNumber": part.number, "ETag": part.tag}
            if store.checksums:
                entry["ChecksumSHA256"] = b64(bytes.fromhex(part.sha256))
            done.append(entry)
        try:
            store.client.complete_multipart_upload(
                Bucket=store.bucket,
                Key=data,
                UploadId=session.handle,
                MultipartUpload={"Parts": done},
            )
        except ClientError as exc:
            # Completed before (a retried completion): the object is there, or it is not.
            if error_code(exc) not in NO_UPLOAD:
                store._fail(exc, "complete the upload to", data)
            head = store._head(data, "check")
            if head is None or head.get("ContentLength") != session.size:
                raise Conflict(
                    f"upload {session.id} is no longer kept; send the file again"
                ) from None
        except BotoCoreError as exc:
            store._fail(exc, "complete the upload to", data)

    def read(self, session: UploadSession, offset: int) -> BinaryIO:
        store = self._store
        data = self._key(session.id, "data")
        extra = {"Range": f"bytes={offset}-"} if offset else {}
        got = store._call("read", data, store.client.get_object, Key=data, **extra)
        return cast(BinaryIO, got["Body"])

    def seal(self, session: UploadSession) -> None:
        self._put(self._key(session.id, "session.json"), session.to_dict())

    def publish(self, session: UploadSession) -> BlobInfo:
        if session.sha256 is None:
            raise Conflict(f"upload {session.id} is not complete")
        store = self._store
        data = self._key(session.id, "data")
        if store._head(data, "check") is None:
            if store.exists(session.sha256):  # published before
                return BlobInfo(session.sha256, session.size)
            raise Conflict(f"upload {session.id}: its bytes are no longer kept; send it again")
        store.publish_copy({"Bucket": store.bucket, "Key": data}, session.sha256, session.size)
        store._call("remove the upload's copy at", data, store.client.delete_object, Key=data)
        return BlobInfo(session.sha256, session.size)

    def held(self, session: UploadSession) -> int:
        head = self._store._head(self._key(session.id, "data"), "check")
        if head is not None:
            return int(head.get("ContentLength", 0))
        return sum(p.size for p in self.parts(session))

    def drop(self, session: UploadSession) -> None:
        store = self._store
        if session.handle:
            store._abort(self._key(session.id, "data"), session.handle)
        prefix = f"{self._root}{check_upload_id(session.id)}/"
        keys = [item["Key"] for item in store._objects_under(prefix, "list the upload at")]
        # The session record last, so a half-dropped session is still found and dropped.
        keys.sort(key=lambda k: k.endswith("/session.json"))
        for key in keys:
            store._call("remove", key, store.client.delete_object, Key=key)


class _PartSink:
    """A part spooled (in memory up to `SPOOL_IN_MEMORY`, then on local disk) while it is
    received and checked, then sent to S3 with its SHA-256 on commit."""

    def __init__(self, uploads: S3Uploads, session: UploadSession, number: int, record: str):
        self._uploads = uploads
        self._session = session
        self._number = number
        self._record = record
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def __call__(self, data: memoryview) -> None:
        self._spool.write(data)

    def commit(self, sha256: str, size: int, at: datetime) -> PartRecord:
        uploads = self._uploads
        store = uploads._store
        data = uploads._key(self._session.id, "data")
        self._spool.seek(0)
        extra = {"ChecksumSHA256": b64(bytes.fromhex(sha256))} if store.checksums else {}
        try:
            sent = store._call(
                "upload a part to",
                data,
                store.client.upload_part,
                Key=data,
                UploadId=self._session.handle,
                PartNumber=self._number,
                Body=self._spool,
                ContentLength=size,
                **extra,
            )
        finally:
            self._spool.close()
        record = PartRecord(self._number, size, sha256, at, sent["ETag"])
        uploads._put(self._record, record.to_dict())
        return record

    def abort(self) -> None:
        self._spool.close()
