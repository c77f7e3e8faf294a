"""Resumable uploads held by a blob store: sessions, their parts, and the step that turns a
complete session into a blob. The rules (part spans, expiry) are `domain.uploads`'s."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO, Protocol

from ..domain.uploads import PartRecord, UploadSession
from .blobs import BlobInfo


class PartSink(Protocol):
    """One part being received: its bytes in order, then `commit` once they are checked."""

    def __call__(self, data: memoryview) -> None: ...

    def commit(self, sha256: str, size: int, at: datetime) -> PartRecord:
        """The part's bytes are durable and it is recorded as held; a part sent again
        replaces the one held."""
        ...

    def abort(self) -> None:
        """Drop what was received; the part is as before (held or not)."""
        ...


class UploadStore(Protocol):
    """Sessions of a blob store. Nothing here is a blob until `publish`; `gc` drops
    sessions that lapsed (`drop`)."""

    min_part_size: int
    """The smallest part but the last that the backend takes (S3: 5 MiB)."""

    def begin(self, session: UploadSession) -> UploadSession:
        """Make the session's place and record it (the returned copy has its `handle`)."""
        ...

    def session(self, upload_id: str) -> UploadSession | None: ...

    def sessions(self) -> Iterator[UploadSession]: ...

    def parts(self, session: UploadSession) -> list[PartRecord]: ...

    def part_sink(self, session: UploadSession, number: int) -> PartSink: ...

    def assemble(self, session: UploadSession, parts: list[PartRecord]) -> None:
        """Join the parts into one file (S3: complete the multipart upload); idempotent."""
        ...

    def read(self, session: UploadSession, offset: int) -> BinaryIO:
        """The assembled bytes from `offset` (after `assemble`)."""
        ...

    def seal(self, session: UploadSession) -> None:
        """Record the session complete, with the whole file's checked SHA-256."""
        ...

    def publish(self, session: UploadSession) -> BlobInfo:
        """Make the complete session's bytes the blob `session.sha256`; done again after a
        first success, it finds the blob there and answers the same."""
        ...

    def held(self, session: UploadSession) -> int:
        """Bytes the session holds in the store (for `gc`'s report)."""
        ...

    def drop(self, session: UploadSession) -> None:
        """Remove everything the session holds; dropping twice is not an error."""
        ...
