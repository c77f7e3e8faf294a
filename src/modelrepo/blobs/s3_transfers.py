"""How bytes move to and from an S3 blob store: staged uploads (single or multipart, parts in
parallel), the writer behind `S3BlobStore.writer`, and reads that check the digest at the end.

These are the moving parts of `S3BlobStore` (in `s3.py`), which owns the client, the key layout
and error handling they call back into.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from ..domain.errors import CorruptBlobError, StorageError
from ..streams import PipelinedBlobWriter

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

    from ..ports import BlobInfo, Progress

T = TypeVar("T")


class S3BlobStore(Protocol):
    """What a transfer uses of its store (`s3.S3BlobStore`), declared here so that this
    module, which the store imports, does not import the store back."""

    bucket: str
    client: S3Client
    part_size: int
    concurrency: int
    checksums: bool
    _staging: str

    @property
    def url(self) -> str: ...

    def _call(self, action: str, key: str | None, fn: Callable[..., T], **kwargs: Any) -> T: ...

    def _fail(self, exc: Exception, action: str, key: str | None = None) -> NoReturn: ...

    def publish_copy(self, source: CopySourceTypeDef, sha: str, size: int) -> None: ...

    def _abort(self, key: str, upload_id: str) -> None: ...


def object_version(version_id: str | None) -> str | None:
    """An object's version id; None when the bucket is not versioned ("null")."""
    return None if version_id in (None, "", "null") else version_id


def b64(digest: bytes) -> str:
    """A digest as S3's checksum headers carry it."""
    return base64.b64encode(digest).decode("ascii")


class StagingUpload:
    """One blob streamed to its staging key: a single PutObject if it fits in one part,
    else a multipart upload whose parts are sent as soon as they are full, up to
    `store.concurrency` at a time (memory: that many parts in flight plus the one filling)."""

    def __init__(self, store: S3BlobStore, key: str) -> None:
        self.store = store
        self.key = key
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[CompletedPartTypeDef] = []
        self.version_id: str | None = None
        self.sent = False  # whether anything may have reached S3
        self._pool: ThreadPoolExecutor | None = None
        self._flight: list[Future[tuple[CompletedPartTypeDef, int]]] = []
        self._numbered = 0

    def _checksum(self, data: bytearray) -> dict[str, str]:
        if not self.store.checksums:
            return {}
        return {"ChecksumSHA256": b64(hashlib.sha256(data).digest())}

    def write(self, chunk: memoryview, progress: Progress | None) -> None:
        self.buffer += chunk
        if len(self.buffer) >= self.store.part_size:
            self._send_part(progress)

    def _send_part(self, progress: Progress | None) -> None:
        store = self.store
        if self.upload_id is None:
            self.sent = True
            extra = {"ChecksumAlgorithm": "SHA256"} if store.checksums else {}
            created = store._call(
                "start an upload to",
                self.key,
                store.client.create_multipart_upload,
                Key=self.key,
                **extra,
            )
            self.upload_id = created["UploadId"]
        self._numbered += 1
        data, self.buffer = self.buffer, bytearray()
        if store.concurrency == 1:
            part, moved = self._part(self._numbered, data)
            self.parts.append(part)
            if progress is not None:
                progress(moved)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(store.concurrency, thread_name_prefix="s3-part")
        while len(self._flight) >= store.concurrency:  # bounded: wait for one to land
            done, _ = wait(self._flight, return_when=FIRST_COMPLETED)
            self._land(done, progress)
        self._flight.append(self._pool.submit(self._part, self._numbered, data))

    def _part(self, number: int, data: bytearray) -> tuple[CompletedPartTypeDef, int]:
        store = self.store
        checksum = self._checksum(data)
        sent = store._call(
            "upload a part to",
            self.key,
            store.client.upload_part,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
            **checksum,
        )
        part: CompletedPartTypeDef = {"PartNumber": number, "ETag": sent["ETag"]}
        if checksum:
            part["ChecksumSHA256"] = checksum["ChecksumSHA256"]
        return part, len(data)

    def _land(
        self, done: set[Future[tuple[CompletedPartTypeDef, int]]], progress: Progress | None
    ) -> None:
        for future in done:
            self._flight.remove(future)
            part, moved = future.result()  # a failed part raises here
            self.parts.append(part)
            if progress is not None:
                progress(moved)

    def _drain(self, progress: Progress | None) -> None:
        """Wait for every part in flight; the first failure is raised."""
        if self._flight:
            done, _ = wait(self._flight)
            self._land(done, progress)
        self.parts.sort(key=lambda p: p["PartNumber"])

    def _stop(self) -> None:
        if self._pool is not None:
            for future in self._flight:
                future.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None
            self._flight = []

    def finish(self, progress: Progress | None) -> None:
        """Complete the staging object (durable and whole when this returns)."""
        store = self.store
        if self.upload_id is None:
            moved = len(self.buffer)
            self.sent = True
            put = store._call(
                "upload",
                self.key,
                store.client.put_object,
                Key=self.key,
                Body=self.buffer,
                **self._checksum(self.buffer),
            )
            self.version_id = object_version(put.get("VersionId"))
            self.buffer = bytearray()
            if progress is not None and moved:
                progress(moved)
            return
        if self.buffer:
            self._send_part(progress)
        try:
            self._drain(progress)
        finally:
            self._stop()
        done = store._call(
            "complete the upload to",
            self.key,
            store.client.complete_multipart_upload,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )
        self.upload_id = None
        self.version_id = object_version(done.get("VersionId"))

    def source(self) -> CopySourceTypeDef:
        """The staging object as a copy source (the exact version written, if versioned)."""
        source: CopySourceTypeDef = {"Bucket": self.store.bucket, "Key": self.key}
        if self.version_id:
            source["VersionId"] = self.version_id
        return source

    def remove(self) -> None:
        """Delete the staging object; in a versioned bucket its version, leaving no trace."""
        store = self.store
        version = {"VersionId": self.version_id} if self.version_id else {}
        store._call(
            "remove the staging object",
            self.key,
            store.client.delete_object,
            Key=self.key,
            **version,
        )

    def discard(self) -> None:
        """Undo whatever reached S3; best effort, as the original error is what matters."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.buffer = bytearray()
        self._stop()  # parts still in flight end (or are cancelled) before the abort
        if not self.sent:
            return
        if self.upload_id is not None:
            self.store._abort(self.key, self.upload_id)
        with contextlib.suppress(ClientError, BotoCoreError, StorageError):
            self.remove()


class StagingWriter(PipelinedBlobWriter):
    """Bytes go to a staging upload (parts sent as they fill); commit copies it to its
    address, as `put` does."""

    def __init__(self, store: S3BlobStore, progress: Progress | None) -> None:
        self._store = store
        self._upload = StagingUpload(store, f"{store._staging}{uuid.uuid4().hex}")
        super().__init__(progress)

    def _sink(self, data: memoryview) -> None:
        self._upload.write(data, None)

    def _staged(self, sha256: str, size: int) -> None:
        self._upload.finish(None)

    def _publish(self, info: BlobInfo) -> None:
        self._store.publish_copy(self._upload.source(), info.sha256, info.size)
        self._upload.discard()  # the blob is stored: a staging object left is only a partial

    def _discard(self) -> None:
        self._upload.discard()


class VerifyingReader(io.RawIOBase):
    """The body of a GET, streamed; raises CorruptBlobError at the end if the bytes read do
    not hash to the blob's address."""

    def __init__(self, store: S3BlobStore, key: str, sha256: str, body: Any, length: int) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._sha256 = sha256
        self._body = body
        self._length = length
        self._digest = hashlib.sha256()
        self._seen = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        view = memoryview(buffer).cast("B")
        if not len(view) or self._checked:
            return 0
        try:
            data = self._body.read(len(view))
        except (ClientError, BotoCoreError) as exc:
            self._store._fail(exc, "read", self._key)
        n = len(data)
        if n:
            view[:n] = data
            self._digest.update(data)
            self._seen += n
            return n
        self._checked = True
        if self._seen != self._length or self._digest.hexdigest() != self._sha256:
            raise CorruptBlobError(
                f"blob {self._sha256} is corrupt in {self._store.url} "
                f"(read {self._seen} bytes hashing to {self._digest.hexdigest()})",
                digest=self._sha256,
            )
        return 0

    def readall(self) -> bytes:
        chunks = []
        buffer = bytearray(1 << 20)
        while n := self.readinto(buffer):
            chunks.append(bytes(buffer[:n]))
        return b"".join(chunks)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
