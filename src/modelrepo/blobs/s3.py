"""Blobs in an S3-compatible bucket, one object per SHA-256, never visible half-written.

Layout under `s3://<bucket>/<prefix>/`: `sha256/<2 hex>/<62 hex>` for complete blobs and
`staging/<uuid>` for uploads in progress. A blob is streamed to a staging key (one PutObject
for small blobs, a multipart upload otherwise, memory bounded by about one part) while its
SHA-256 is computed; only then is its address known, and the final key is created by one
server-side copy, which S3 makes visible atomically. Nothing ever refers to a staging key, so a
crash or an error leaves at worst a staging object or an unfinished multipart upload, which
`partials()` reports and `delete_partial` removes.

Every part, and every small blob, is sent with its SHA-256 so that the service refuses bytes
damaged in transit; `open` returns a stream that checks the blob's digest when fully read.

boto3 is an optional dependency (`pip install 'modelrepo[s3]'`), imported only by this module
and its two helpers: `s3_client` (the client and its endpoint) and `s3_transfers` (the bytes).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, NoReturn, TypeVar, cast
from urllib.parse import urlsplit

from ..domain.errors import CorruptBlobError, InvalidInput, MissingBlobError, StorageError
from ..domain.manifest import validate_sha256
from ..ports import BlobInfo, Progress
from ..streams import PipelinedBlobWriter, copy_hashing
from .s3_client import ENDPOINT_ENV as ENDPOINT_ENV  # where it was first published
from .s3_client import MISSING_KEY as _MISSING_KEY
from .s3_client import NO_UPLOAD as _NO_UPLOAD
from .s3_client import RetryMode, make_client
from .s3_client import error_code as _error_code
from .s3_transfers import StagingUpload, StagingWriter, VerifyingReader, b64

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

    from .s3_uploads import S3Uploads

MiB = 1 << 20
MIN_PART_SIZE = 5 * MiB
"""S3's smallest allowed part (every part but the last)."""
DEFAULT_PART_SIZE = 8 * MiB
DEFAULT_CONCURRENCY = 4  # parts in flight at once during an upload
MAX_PARTS = 10_000
MAX_SINGLE_COPY = 5 << 30
"""The largest object a single CopyObject may copy."""
DEFAULT_COPY_PART_SIZE = 512 * MiB
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")

_HEX2 = re.compile(r"[0-9a-f]{2}")
_HEX62 = re.compile(r"[0-9a-f]{62}")
_UPLOAD = "upload:"

T = TypeVar("T")
LockMode = Literal["COMPLIANCE", "GOVERNANCE"]

_MISSING_BUCKET = {"NoSuchBucket", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}


class S3BlobStore:
    """Content-addressed blobs in an S3 bucket (AWS or any S3-compatible service).

    `bucket` must exist; it is checked when the store is created. `prefix` places the store
    inside the bucket (several stores may share one). `part_size` is the multipart upload's
    part size (at least 5 MiB); blobs up to one part are sent in a single PutObject, and
    memory per upload stays near one part. `lock_days` writes every blob with an S3 Object
    Lock retention of that many days in `lock_mode` (the bucket must have Object Lock
    enabled); storing content that already exists extends its retention. `checksums` sends
    each part's SHA-256 for the service to verify and asks it for the copy's SHA-256, checked
    against the address (disable only for a service that refuses S3's checksum headers).
    `copy_part_size` is the part size of the server-side copy of blobs larger than it.
    Transient errors (5xx, throttling, dropped connections, timeouts) are tried
    `max_attempts` times in total, with backoff; `retry_mode="adaptive"` also rate-limits
    the client when the service throttles.

    Either pass `client` (a boto3 S3 client you configured) or let the store build one from
    `endpoint_url` (else `MODELREPO_S3_ENDPOINT_URL`, else the standard AWS configuration),
    `region`, `profile` and the retry and timeout settings.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        copy_part_size: int = DEFAULT_COPY_PART_SIZE,
        lock_days: int | None = None,
        lock_mode: LockMode = "COMPLIANCE",
        checksums: bool = True,
        max_attempts: int = 8,
        retry_mode: RetryMode = "standard",
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        if not bucket or "/" in bucket:
            raise InvalidInput(f"invalid S3 bucket name {bucket!r}")
        if part_size < MIN_PART_SIZE:
            raise InvalidInput(f"S3 part size must be at least {MIN_PART_SIZE} bytes")
        if not 1 <= concurrency <= 64:
            raise InvalidInput("S3 upload concurrency must be between 1 and 64 parts")
        if not MIN_PART_SIZE <= copy_part_size <= MAX_SINGLE_COPY:
            raise InvalidInput("S3 copy part size must be between 5 MiB and 5 GiB")
        if lock_days is not None and lock_days < 1:
            raise InvalidInput("Object Lock retention must be at least one day")
        if lock_mode not in LOCK_MODES:
            raise InvalidInput(f"Object Lock mode must be one of {', '.join(LOCK_MODES)}")
        if retry_mode not in ("standard", "adaptive"):
            raise InvalidInput("S3 retry mode must be 'standard' or 'adaptive'")
        if max_attempts < 1:
            raise InvalidInput("S3 max_attempts must be at least 1")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = part_size
        self.concurrency = concurrency
        self.copy_part_size = copy_part_size
        self.lock_days = lock_days
        self.lock_mode = lock_mode
        self.checksums = checksums
        base = f"{self.prefix}/" if self.prefix else ""
        self._objects = base + "sha256/"
        self._staging = base + "staging/"
        if client is None:
            client = make_client(
                endpoint=endpoint_url,
                region=region,
                profile=profile,
                max_attempts=max_attempts,
                retry_mode=retry_mode,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            )
        self.client = client
        self._check_bucket()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3BlobStore:
        """A store at `s3://bucket/prefix`; `options` are the constructor's keywords."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise InvalidInput(f"not an S3 blob store URL (s3://bucket/prefix): {url!r}")
        return cls(parts.netloc, parts.path, **options)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __repr__(self) -> str:
        return f"S3BlobStore({self.url!r})"

    # -- keys --------------------------------------------------------------------------------

    def _key(self, sha256: str) -> str:
        validate_sha256(sha256)
        return f"{self._objects}{sha256[:2]}/{sha256[2:]}"

    def _where(self, key: str | None = None) -> str:
        return f"s3://{self.bucket}/{key}" if key else f"S3 bucket {self.bucket!r}"

    # -- errors ------------------------------------------------------------------------------

    def _fail(self, exc: Exception, action: str, key: str | None = None) -> NoReturn:
        """Raise a one-line StorageError for an S3 failure that retrying did not cure."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        where = self._where(key)
        if isinstance(exc, ClientError):
            code = _error_code(exc)
            if (code in _MISSING_BUCKET and key is None) or code == "NoSuchBucket":
                message = f"S3 bucket {self.bucket!r} does not exist"
            elif code in _BAD_CREDENTIALS:
                message = f"S3 refused the credentials ({code}) while trying to {action} {where}"
            elif code in _DENIED:
                message = f"access denied to {where} (cannot {action}); check the IAM policy"
            else:
                detail = exc.response.get("Error", {}).get("Message") or code
                message = f"S3 error {code} while trying to {action} {where}: {detail}"
        elif isinstance(exc, NoCredentialsError):
            message = f"no AWS credentials found to {action} {where}"
        elif isinstance(exc, ConnectionError | HTTPClientError | ReadTimeoutError):
            endpoint = self.client.meta.endpoint_url
            message = f"cannot reach S3 at {endpoint} to {action} {where}: {exc}"
        elif isinstance(exc, BotoCoreError):
            message = f"S3 failure while trying to {action} {where}: {exc}"
        else:  # pragma: no cover - only botocore errors are passed here
            raise exc
        raise StorageError(message) from exc

    def _call(self, action: str, key: str | None, fn: Callable[..., T], **kwargs: Any) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, action, key)

    def _check_bucket(self) -> None:
        self._call("open", None, self.client.head_bucket)
        if self.lock_days is None:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if _error_code(exc) != "ObjectLockConfigurationNotFoundError":
                self._fail(exc, "read the Object Lock configuration of", None)
            config = {}  # type: ignore[typeddict-item]
        except BotoCoreError as exc:
            self._fail(exc, "read the Object Lock configuration of", None)
        enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise StorageError(
                f"S3 bucket {self.bucket!r} does not have Object Lock enabled; "
                "create the bucket with Object Lock or open the store without lock_days"
            )

    # -- writing -----------------------------------------------------------------------------

    def put(self, source: BinaryIO, *, progress: Progress | None = None) -> BlobInfo:
        staging = f"{self._staging}{uuid.uuid4().hex}"
        upload = StagingUpload(self, staging)
        try:
            sha, size = copy_hashing(source, lambda chunk: upload.write(chunk, progress))
            upload.finish(progress)
            self.publish_copy(upload.source(), sha, size)
        except BaseException:
            upload.discard()
            raise
        upload.discard()  # the blob is stored: a staging object left here is only a partial
        return BlobInfo(sha, size)

    def writer(self, *, progress: Progress | None = None) -> PipelinedBlobWriter:
        return StagingWriter(self, progress)

    @property
    def uploads(self) -> S3Uploads:
        from .s3_uploads import S3Uploads

        return S3Uploads(self)

    def publish_copy(self, source: CopySourceTypeDef, sha: str, size: int) -> None:
        """Make `sha256/<sha>` exist with the bytes of the object `source` (a staging
        object, or a complete upload session), by a server-side copy checked by S3."""
        final = self._key(sha)
        existing = self._head(final, "check")
        if existing is not None and existing.get("ContentLength") == size:
            # Same content already stored: keep the existing object, only extend its lock.
            self._retain(final, existing)
        else:
            checksum = self._copy(source, final, size)
            stored = self._head(final, "check")
            got = None if stored is None else stored.get("ContentLength")
            if got != size:
                self._drop(final)
                raise StorageError(
                    f"S3 copy to {self._where(final)} produced {got} bytes, expected {size}"
                )
            if checksum is not None and checksum != b64(bytes.fromhex(sha)):
                self._drop(final)
                raise CorruptBlobError(
                    f"S3 object {self._where(final)} does not hash to its address "
                    "(its SHA-256 as computed by the service differs)",
                    digest=sha,
                )
            # Retention is set before `put` returns, so no blob is referenced unretained.
            self._retain(final, None)

    def _drop(self, key: str) -> None:
        """Best-effort removal of a bad copy, so a later put makes it again."""
        from botocore.exceptions import BotoCoreError, ClientError

        with contextlib.suppress(ClientError, BotoCoreError):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def _retain(self, key: str, head: dict[str, Any] | None) -> None:
        """Give the object at `key` an Object Lock retention of `lock_days` from now, unless
        it already has one at least that long (`head`: its HeadObject, if already read)."""
        if self.lock_days is None:
            return
        until = datetime.now(UTC) + timedelta(days=self.lock_days)
        if head is not None:
            current = head.get("ObjectLockRetainUntilDate")
            if current is not None and current >= until and head.get("ObjectLockMode"):
                return
        self._call(
            "set the Object Lock retention of",
            key,
            self.client.put_object_retention,
            Key=key,
            Retention={"Mode": self.lock_mode, "RetainUntilDate": until},
        )

    def _copy(self, source: CopySourceTypeDef, final: str, size: int) -> str | None:
        """Server-side copy; multipart (UploadPartCopy) for objects above one copy part.

        Returns the copy's full-object SHA-256 (base64) when the service computed one."""
        extra: dict[str, Any] = {"ChecksumAlgorithm": "SHA256"} if self.checksums else {}
        if size <= self.copy_part_size:
            copied = self._call(
                "copy to",
                final,
                self.client.copy_object,
                Key=final,
                CopySource=source,
                MetadataDirective="REPLACE",
                **extra,
            )
            result = copied.get("CopyObjectResult", {})
            checksum = result.get("ChecksumSHA256")
            if not checksum or "-" in checksum or result.get("ChecksumType") == "COMPOSITE":
                return None
            return checksum
        part = max(self.copy_part_size, -(-size // MAX_PARTS))
        created = self._call(
            "start a multipart copy to",
            final,
            self.client.create_multipart_upload,
            Key=final,
            **extra,
        )
        upload_id = created["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            for number, start in enumerate(range(0, size, part), start=1):
                end = min(start + part, size) - 1
                part_copied = self._call(
                    "copy a part to",
                    final,
                    self.client.upload_part_copy,
                    Key=final,
                    CopySource=source,
                    CopySourceRange=f"bytes={start}-{end}",
                    PartNumber=number,
                    UploadId=upload_id,
                )
                part_result = part_copied["CopyPartResult"]
                done: CompletedPartTypeDef = {"PartNumber": number, "ETag": part_result["ETag"]}
                if "ChecksumSHA256" in part_result:
                    done["ChecksumSHA256"] = part_result["ChecksumSHA256"]
                parts.append(done)
            self._call(
                "complete the multipart copy to",
                final,
                self.client.complete_multipart_upload,
                Key=final,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(final, upload_id)
            raise
        return None  # a multipart copy's checksum is of its parts, not of the blob

    def _abort(self, key: str, upload_id: str) -> None:
        """Best-effort abort; a failure here leaves an upload that `partials()` reports."""
        from botocore.exceptions import BotoCoreError, ClientError

        with contextlib.suppress(ClientError, BotoCoreError):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    # -- reading -----------------------------------------------------------------------------

    def _head(self, key: str, action: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return cast("dict[str, Any]", self.client.head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING_KEY:
                return None
            self._fail(exc, action, key)
        except BotoCoreError as exc:
            self._fail(exc, action, key)

    def open(self, sha256: str) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(sha256)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_KEY:
                raise MissingBlobError(f"blob {sha256} is missing", digest=sha256) from None
            self._fail(exc, "read", key)
        except BotoCoreError as exc:
            self._fail(exc, "read", key)
        stream = VerifyingReader(self, key, sha256, response["Body"], response["ContentLength"])
        return cast(BinaryIO, stream)

    def exists(self, sha256: str) -> bool:
        return self._head(self._key(sha256), "check") is not None

    def delete(self, sha256: str) -> None:
        """Remove a blob. Under Object Lock every stored version of it is removed, so a
        retained one fails with StorageError instead of being hidden behind a delete marker."""
        key = self._key(sha256)
        if self.lock_days is None:
            self._call("delete", key, self.client.delete_object, Key=key)
            return
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
                entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                for entry in entries:
                    if entry.get("Key") != key:
                        continue
                    try:
                        self.client.delete_object(
                            Bucket=self.bucket, Key=key, VersionId=entry["VersionId"]
                        )
                    except ClientError as exc:
                        if _error_code(exc) in _DENIED:
                            until = self._retained_until(key, entry["VersionId"])
                            if until is not None:
                                raise StorageError(
                                    f"blob {sha256} at {self._where(key)} is under Object Lock "
                                    f"retention until {until.isoformat()} and cannot be deleted"
                                ) from exc
                        raise
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "delete", key)

    def _retained_until(self, key: str, version_id: str) -> datetime | None:
        """When the retention of one version of `key` ends, if it is still retained."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, VersionId=version_id)
        except (ClientError, BotoCoreError):
            return None
        until = head.get("ObjectLockRetainUntilDate")
        return until if until is not None and until > datetime.now(UTC) else None

    def list(self) -> Iterator[BlobInfo]:
        for item in self._objects_under(self._objects, "list"):
            rest = item["Key"][len(self._objects) :]
            shard, _, name = rest.partition("/")
            if not _HEX2.fullmatch(shard) or not _HEX62.fullmatch(name):
                continue
            yield BlobInfo(shard + name, item["Size"], item["LastModified"])

    def partials(self) -> Iterator[BlobInfo]:
        """Staging objects left by interrupted uploads, then unfinished multipart uploads
        (of staging objects or of copies), each with an opaque handle for `delete_partial`."""
        for item in self._objects_under(self._staging, "list staging objects in"):
            name = item["Key"][len(self._staging) :]
            yield BlobInfo(name, item["Size"], item["LastModified"])
        base = self._objects.removesuffix("sha256/")
        for key, upload_id, initiated in self._uploads(base):
            relative = key[len(base) :]
            if not relative.startswith(("staging/", "sha256/")) or ":" in relative:
                continue
            size = self._uploaded_bytes(key, upload_id)
            if size is None:
                continue  # completed or aborted meanwhile
            yield BlobInfo(f"{_UPLOAD}{relative}:{upload_id}", size, initiated)

    def delete_partial(self, handle: str) -> None:
        base = self._objects.removesuffix("sha256/")
        if handle.startswith(_UPLOAD):
            relative, sep, upload_id = handle[len(_UPLOAD) :].partition(":")
            if not sep or not upload_id or not relative.startswith(("staging/", "sha256/")):
                raise InvalidInput(f"invalid upload handle {handle!r}")
            key = base + relative
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except ClientError as exc:
                if _error_code(exc) not in _NO_UPLOAD:
                    self._fail(exc, "abort the multipart upload to", key)
            except BotoCoreError as exc:
                self._fail(exc, "abort the multipart upload to", key)
            return
        if not re.fullmatch(r"[0-9a-f]{32}", handle):
            raise InvalidInput(f"invalid upload handle {handle!r}")
        key = self._staging + handle
        self._call("delete the staging object", key, self.client.delete_object, Key=key)

    # -- listing helpers ---------------------------------------------------------------------

    def _objects_under(self, prefix: str, action: str) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield cast("dict[str, Any]", item)
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, action, prefix)

    def _uploads(self, prefix: str) -> Iterator[tuple[str, str, datetime | None]]:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    yield upload["Key"], upload["UploadId"], upload.get("Initiated")
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "list multipart uploads in", prefix)

    def _uploaded_bytes(self, key: str, upload_id: str) -> int | None:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_parts")
        total = 0
        try:
            for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
                total += sum(part.get("Size", 0) for part in page.get("Parts", []))
        except ClientError as exc:
            if _error_code(exc) in _NO_UPLOAD:
                return None
            self._fail(exc, "list the parts of the multipart upload to", key)
        except BotoCoreError as exc:
            self._fail(exc, "list the parts of the multipart upload to", key)
        return total
