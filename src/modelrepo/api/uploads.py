"""The API of resumable uploads (one large file sent in parts), as both registries offer it.
A remote registry's `register` uses it for every large file by itself; these methods are
for a client that drives the parts itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..domain.uploads import PartRecord, UploadState


class UploadsAPI(Protocol):
    """Starting a session, sending its parts, completing it; the session's id then goes in
    a registration (`metadata.uploads` over HTTP)."""

    def start_upload(self, name: str, size: int, *, part_size: int | None = None) -> UploadState:
        """A new session for one file of `size` bytes of a version of `name`, sent in parts
        of `part_size` (by default 32 MiB, larger if the file needs more than 10,000)."""
        ...

    def upload(self, name: str, upload_id: str) -> UploadState:
        """The session as it stands: parts held, parts missing, when it lapses. NotFound if
        it is another principal's, or lapsed (24 hours without a part)."""
        ...

    def put_part(
        self, name: str, upload_id: str, number: int, data: bytes, sha256: str
    ) -> PartRecord:
        """Send part `number` (from 1), which must hash to `sha256` (hex): held only if it
        does (DigestMismatch otherwise); a part sent again replaces the one held."""
        ...

    def complete_upload(self, name: str, upload_id: str, sha256: str | None = None) -> UploadState:
        """Check that the parts held make the whole file and take its SHA-256 (which must
        be `sha256` when given); the session may then be named by a registration.
        Completing twice answers the same."""
        ...

    def abort_upload(self, name: str, upload_id: str) -> None:
        """Drop the session and every part it holds."""
        ...
