"""Resumable uploads: one large file sent in numbered parts, each checked on arrival, then
completed by a check of the whole file's digest, in the shape of S3's multipart upload.

A session belongs to one model and one principal; nothing of it is a version (or visible
to anyone else) until a registration names it. A session unused for `UPLOAD_TTL` expires,
and `gc` reclaims what it held. Pure rules: where a part starts, how long it must be, when
a session lapses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .errors import InvalidInput
from .times import format_time, parse_time

UPLOAD_TTL = timedelta(hours=24)
"""How long a session may sit without a part arriving before it lapses."""
DEFAULT_PART_SIZE = 32 << 20
MAX_PART_SIZE = 1 << 30
MAX_PARTS = 10_000
MAX_UPLOAD_SIZE = 5 << 40  # S3's largest object
_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class PartRecord:
    """A part the store holds: its number (from 1), length and SHA-256 (hex), when it
    arrived, and the backend's own tag for it (S3's ETag), if any."""

    number: int
    size: int
    sha256: str
    at: datetime
    tag: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "size": self.size,
            "sha256": self.sha256,
            "at": format_time(self.at),
            "tag": self.tag,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PartRecord:
        return cls(
            int(raw["number"]),
            int(raw["size"]),
            str(raw["sha256"]),
            parse_time(raw["at"]),
            str(raw.get("tag", "")),
        )


@dataclass(frozen=True, slots=True)
class UploadSession:
    """One file being uploaded in parts. `sha256` is set once the whole file has been
    checked (the session is then complete and may be named by a registration); `handle`
    is the backend's own name for the upload (S3's UploadId), if it has one."""

    id: str
    model: str
    owner: str
    size: int
    part_size: int
    created_at: datetime
    sha256: str | None = None
    handle: str = ""

    @property
    def part_count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    @property
    def complete(self) -> bool:
        return self.sha256 is not None

    def part_span(self, number: int) -> tuple[int, int]:
        """(offset, length) of part `number`; every part is `part_size` long but the last."""
        if not 1 <= number <= self.part_count:
            raise InvalidInput(
                f"upload {self.id} has parts 1 to {self.part_count}: no part {number}"
            )
        offset = (number - 1) * self.part_size
        return offset, min(self.part_size, self.size - offset)

    def expires_at(self, parts: list[PartRecord]) -> datetime:
        """When the session lapses: `UPLOAD_TTL` after its last activity."""
        last = max([self.created_at, *(p.at for p in parts)])
        return last + UPLOAD_TTL

    def missing(self, parts: list[PartRecord]) -> list[int]:
        held = {p.number for p in parts}
        return [n for n in range(1, self.part_count + 1) if n not in held]

    def completed(self, sha256: str) -> UploadSession:
        return replace(self, sha256=sha256)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "owner": self.owner,
            "size": self.size,
            "part_size": self.part_size,
            "created_at": format_time(self.created_at),
            "sha256": self.sha256,
            "handle": self.handle,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> UploadSession:
        return cls(
            id=check_upload_id(str(raw["id"])),
            model=str(raw["model"]),
            owner=str(raw["owner"]),
            size=int(raw["size"]),
            part_size=int(raw["part_size"]),
            created_at=parse_time(raw["created_at"]),
            sha256=raw.get("sha256"),
            handle=str(raw.get("handle", "")),
        )


@dataclass(frozen=True)
class UploadState:
    """A session as its owner sees it: the parts held, what is missing, when it lapses."""

    session: UploadSession
    parts: list[PartRecord]
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        s = self.session
        return {
            "id": s.id,
            "model": s.model,
            "size": s.size,
            "part_size": s.part_size,
            "part_count": s.part_count,
            "parts": [
                {"number": p.number, "size": p.size, "sha256": p.sha256, "at": format_time(p.at)}
                for p in self.parts
            ],
            "missing": s.missing(self.parts),
            "complete": s.complete,
            "sha256": s.sha256,
            "created_at": format_time(s.created_at),
            "expires_at": format_time(self.expires_at),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> UploadState:
        """A session as a server answers it (`to_dict`)."""
        session = UploadSession(
            id=check_upload_id(str(raw["id"])),
            model=str(raw["model"]),
            owner="",  # a server does not say: a session answers its owner only
            size=int(raw["size"]),
            part_size=int(raw["part_size"]),
            created_at=parse_time(raw["created_at"]),
            sha256=raw.get("sha256"),
        )
        parts = [PartRecord.from_dict(p) for p in raw["parts"]]
        return cls(session, parts, parse_time(raw["expires_at"]))


def check_upload_id(value: str) -> str:
    """A session id as the store makes them (32 hex digits); anything else is refused
    before it comes near a file name or an object key."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidInput(f"invalid upload id {value!r}: 32 lowercase hex digits")
    return value


def check_upload_shape(size: int, part_size: int, min_part: int) -> None:
    """A file size and part size the store can take: parts between the backend's
    smallest (`min_part`, S3's 5 MiB) and `MAX_PART_SIZE`, at most `MAX_PARTS` of them."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidInput("size must be a whole number of bytes, 0 or more")
    if size > MAX_UPLOAD_SIZE:
        raise InvalidInput(f"size {size} is over the largest file kept ({MAX_UPLOAD_SIZE} bytes)")
    if isinstance(part_size, bool) or not isinstance(part_size, int):
        raise InvalidInput("part_size must be a whole number of bytes")
    if not min_part <= part_size <= MAX_PART_SIZE:
        raise InvalidInput(
            f"part_size must be between {min_part} and {MAX_PART_SIZE} bytes for this store"
        )
    if -(-size // part_size) > MAX_PARTS:
        raise InvalidInput(
            f"a file of {size} bytes in parts of {part_size} makes more than {MAX_PARTS} "
            "parts: use larger parts"
        )


def part_size_for(size: int, wanted: int | None, min_part: int) -> int:
    """The part size to use: the one asked for, else the default grown until the file fits
    in `MAX_PARTS` parts (and never below the backend's smallest)."""
    if wanted is not None:
        return wanted
    return max(min_part, DEFAULT_PART_SIZE, -(-size // MAX_PARTS))


def expired(session: UploadSession, parts: list[PartRecord], now: datetime) -> bool:
    return session.expires_at(parts) <= now
