"""Checking every stored byte against its digest, and collecting what nothing references, over an
embedded store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api.integrity import IntegrityAPI
from ..domain.errors import CorruptBlobError, MissingBlobError
from ..ports import BlobInfo, FileReference
from .uploads import Uploads

if TYPE_CHECKING:
    # Loaded where used: the reports' dataclasses cost start-up time no read needs.
    from ..api.types import FsckReport, GcReport, ProgressFactory


class Integrity(Uploads, IntegrityAPI):
    def fsck(self, *, progress: ProgressFactory | None = None) -> FsckReport:
        from ..api.types import FsckReport
        from ..streams import copy_hashing

        report = FsckReport()
        by_blob: dict[str, list[FileReference]] = {}
        for ref in self.backend.metadata.file_references():
            by_blob.setdefault(ref.sha256, []).append(ref)
        blobs = self.backend.blobs
        for sha, refs in by_blob.items():
            try:
                stream = self._open_blob(sha, refs[0].size)
            except MissingBlobError:
                report.missing.extend(refs)
                continue
            callback = progress(refs[0].path, refs[0].size) if progress else None
            try:
                with stream:
                    actual, size = copy_hashing(stream, lambda _b: None, callback)
            except CorruptBlobError:  # a store that verifies as it reads (S3) says so itself
                actual, size = "", refs[0].size
            report.blobs_checked += 1
            report.bytes_checked += size
            if actual != sha:
                report.corrupt.extend(refs)
        kept_inputs = self.backend.metadata.decision_input_blobs()
        report.orphaned = [
            b for b in blobs.list() if b.sha256 not in by_blob and b.sha256 not in kept_inputs
        ]
        report.orphaned += [
            BlobInfo(sha, size)
            for sha, size in self.backend.metadata.inline_blobs()
            if sha not in by_blob
        ]
        report.partials = list(blobs.partials())
        if self.backend.folder is not None and self.backend.mode is not None:
            from ..disk.modes import too_open

            report.too_open = list(too_open(self.backend.folder, self.backend.mode))
        return report

    def gc(self, *, dry_run: bool = False) -> GcReport:
        from ..api.types import GcReport

        report = GcReport(dry_run=dry_run)
        with self.backend.lock.exclusive():
            referenced = {r.sha256 for r in self.backend.metadata.file_references()}
            referenced |= self.backend.metadata.decision_input_blobs()
            blobs = self.backend.blobs
            for info in list(blobs.list()):
                if info.sha256 in referenced:
                    continue
                report.blobs_removed += 1
                report.bytes_freed += info.size
                if not dry_run:
                    blobs.delete(info.sha256)
            for sha, size in list(self.backend.metadata.inline_blobs()):
                if sha not in referenced:
                    report.blobs_removed += 1
                    report.bytes_freed += size
                    if not dry_run:
                        self.backend.metadata.delete_inline_blob(sha)
            for session, held in list(self._lapsed_uploads(self.clock.now())):
                report.uploads_removed += 1
                report.bytes_freed += held
                if not dry_run:
                    blobs.uploads.drop(session)
            for partial in list(blobs.partials()):
                report.partials_removed += 1
                report.bytes_freed += partial.size
                if not dry_run:
                    blobs.delete_partial(partial.sha256)
        return report
