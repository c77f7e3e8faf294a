"""Resumable uploads into a blob folder: one folder per session under `<root>/uploads/`.

A session's file is written in place, each part at its offset (`data`); a part is held
once its bytes are synced and its record (`parts/<n>.json`) is renamed into place, so a
crash leaves at worst a part that is sent again. Publishing renames the file to its blob
address: no byte is copied.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..disk.modes import fsync_dir, make_folder, open_new, write_whole
from ..domain.errors import Conflict, InvalidInput
from ..domain.uploads import PartRecord, UploadSession, check_upload_id
from ..ports import BlobInfo
from ..streams import DirectFileSink

if TYPE_CHECKING:
    from .local import LocalBlobStore

SESSION_FILE = "session.json"
DATA_FILE = "data"


class LocalUploads:
    """The sessions of one `LocalBlobStore`."""

    min_part_size = 64 << 10

    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        self._root = store.root / "uploads"

    def _folder(self, upload_id: str) -> Path:
        return self._root / check_upload_id(upload_id)

    def begin(self, session: UploadSession) -> UploadSession:
        folder = self._folder(session.id)
        with self._store.faults():
            make_folder(self._root, self._store.mode)
            folder.mkdir(mode=self._store.mode.folder & 0o777)
            make_folder(folder / "parts", self._store.mode)
            os.close(open_new(folder / DATA_FILE, os.O_WRONLY, self._store.mode.file))
            write_whole(folder / SESSION_FILE, _encode(session.to_dict()), self._store.mode.file)
        return session

    def session(self, upload_id: str) -> UploadSession | None:
        try:
            raw = (self._folder(upload_id) / SESSION_FILE).read_bytes()
        except FileNotFoundError:
            return None
        return UploadSession.from_dict(json.loads(raw))

    def sessions(self) -> Iterator[UploadSession]:
        if not self._root.is_dir():
            return
        for entry in sorted(os.scandir(self._root), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            found = self.session(entry.name) if _is_id(entry.name) else None
            if found is not None:
                yield found

    def parts(self, session: UploadSession) -> list[PartRecord]:
        folder = self._folder(session.id) / "parts"
        records = []
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        for name in names:
            if name.endswith(".json") and not name.startswith("."):
                records.append(PartRecord.from_dict(json.loads((folder / name).read_bytes())))
        return sorted(records, key=lambda p: p.number)

    def part_sink(self, session: UploadSession, number: int) -> _PartSink:
        offset, _ = session.part_span(number)
        folder = self._folder(session.id)
        record = folder / "parts" / f"{number}.json"
        with self._store.faults():
            if record.exists():  # sent again: not held until this copy is checked
                record.unlink()
                fsync_dir(record.parent)
            return _PartSink(self._store, folder / DATA_FILE, offset, number, record)

    def assemble(self, session: UploadSession, parts: list[PartRecord]) -> None:
        return  # the parts were written in place

    def read(self, session: UploadSession, offset: int) -> BinaryIO:
        stream = open(self._folder(session.id) / DATA_FILE, "rb")  # noqa: SIM115
        stream.seek(offset)
        return stream

    def seal(self, session: UploadSession) -> None:
        path = self._folder(session.id) / SESSION_FILE
        with self._store.faults():
            write_whole(path, _encode(session.to_dict()), self._store.mode.file)

    def publish(self, session: UploadSession) -> BlobInfo:
        if session.sha256 is None:
            raise Conflict(f"upload {session.id} is not complete")
        data = self._folder(session.id) / DATA_FILE
        if data.exists():
            with self._store.faults():
                return self._store.adopt(data, session.sha256, session.size)
        if self._store.exists(session.sha256):  # published before
            return BlobInfo(session.sha256, session.size)
        raise Conflict(f"upload {session.id}: its bytes are no longer kept; send the file again")

    def held(self, session: UploadSession) -> int:
        try:
            return (self._folder(session.id) / DATA_FILE).stat().st_blocks * 512
        except FileNotFoundError:
            return 0

    def drop(self, session: UploadSession) -> None:
        folder = self._folder(session.id)
        if not folder.exists():
            return
        # Renamed out of sight first, so no half-removed session is ever read.
        doomed = self._root / f".drop-{session.id}"
        os.replace(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


class _PartSink:
    """A part written at its offset in the session's file (around the page cache where the
    file system allows it: `streams.DirectFileSink`); commit syncs the file, then records
    the part."""

    def __init__(
        self, store: LocalBlobStore, path: Path, offset: int, number: int, record: Path
    ) -> None:
        self._store = store
        self._file = DirectFileSink(path, offset)
        self._number = number
        self._record = record

    def __call__(self, data: memoryview) -> None:
        with self._store.faults():
            self._file(data)

    def commit(self, sha256: str, size: int, at: datetime) -> PartRecord:
        record = PartRecord(self._number, size, sha256, at)
        with self._store.faults():
            self._file.sync()
            self._file.close()
            write_whole(self._record, _encode(record.to_dict()), self._store.mode.file)
        return record

    def abort(self) -> None:
        self._file.close()


def _encode(raw: dict[str, object]) -> bytes:
    return json.dumps(raw, sort_keys=True).encode()


def _is_id(name: str) -> bool:
    try:
        check_upload_id(name)
    except InvalidInput:
        return False
    return True
