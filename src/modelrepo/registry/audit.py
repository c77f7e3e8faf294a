"""The signed audit log: checkpoints, proofs, entries, and the record of refused requests, over an
embedded store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..api.arguments import optional_time
from ..api.audit import AuditAPI
from ..domain.errors import InvalidInput, NotFound
from ..domain.names import check_version, validate_model_name
from .core import Core, writes

if TYPE_CHECKING:
    from .. import auditing
    from ..domain.denials import Denial
    from ..domain.pages import Page


class Audit(Core, AuditAPI):
    def audit_key(self) -> str:
        return self.backend.signer.public_pem.decode()

    def audit_key_id(self) -> str:
        return self.backend.signer.key_id

    def audit_checkpoint(self) -> dict[str, Any]:
        from .. import auditing

        return auditing.make_checkpoint(
            self.backend.metadata,
            self.backend.signer,
            self.clock,
            self.checkpoint_dir,
            self._export_mode(),
        )

    def audit_checkpoints(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(body) for _, _, body in self.backend.metadata.checkpoints()]

    def audit_verify(
        self,
        checkpoints: Sequence[Mapping[str, Any]] = (),
        *,
        public_key_pem: bytes | None = None,
        records: bool = True,
    ) -> auditing.VerifyReport:
        key = public_key_pem or self.backend.signer.public_pem
        from .. import auditing
        from ..domain.evidence import Evidence

        store = self.backend.metadata
        evidence = Evidence() if records else None
        report = auditing.verify(store, key, [dict(c) for c in checkpoints], evidence=evidence)
        if evidence is not None:
            auditing.check_records(store, report, evidence)
        return report

    def audit_prove(
        self, seq: int, *, checkpoint: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        chosen = dict(checkpoint) if checkpoint else None
        if chosen is None:
            # Checked here, against the log itself: an entry past its end is not a reason
            # to sign a checkpoint, nor is a checkpoint's size the log's.
            size = self.backend.metadata.audit_size()
            if not 1 <= check_version(seq) <= size:
                raise NotFound(f"audit entry {seq} does not exist: the log has {size} entries")
            covering = [c for c in self.audit_checkpoints() if c["size"] >= seq]
            chosen = covering[-1] if covering else self.audit_checkpoint()
        from .. import auditing

        return auditing.prove(self.backend.metadata, check_version(seq), chosen)

    def audit_consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        from .. import auditing

        size = self.backend.metadata.audit_size() if new_size is None else new_size
        return {
            "old_size": old_size,
            "new_size": size,
            "proof": auditing.consistency(self.backend.metadata, old_size, size),
        }

    def audit_log(
        self, subject: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        import json

        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput("after must be an entry number (0 or more)")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):  # fmt: skip
            raise InvalidInput("limit must be a positive number of entries")
        store = self.backend.metadata
        if subject is None:
            size = store.audit_size()
            end = size if limit is None else min(size, after + limit)
            bodies = [(seq, body) for seq, body, _ in store.audit_entries(after + 1, end)]
        else:
            if subject.startswith("model:"):  # a renamed model's record reads on from before
                from ..domain.audit import model_record

                record = model_record(
                    subject.removeprefix("model:"),
                    lambda name: store.subject_entries(f"model:{name}"),
                )
            else:
                record = store.subject_entries(subject)
            bodies = [(seq, body) for seq, body in record if seq > after]
            bodies = bodies if limit is None else bodies[:limit]
        entries = []
        for seq, body in bodies:
            try:
                entries.append(json.loads(body))
            except ValueError:  # damaged: `audit verify` names it
                entries.append({"seq": seq, "kind": "unreadable", "damaged": True})
        return entries

    def audit_denied(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[Denial]:
        from ..domain.denials import check_limit

        return self.backend.metadata.denials(
            since=optional_time(since, "since"),
            model=None if model is None else validate_model_name(model),
            limit=check_limit(limit),
        )

    def audit_denied_page(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Denial]:
        from ..domain.pages import read_page

        after = optional_time(since, "since")
        name = None if model is None else validate_model_name(model)
        return read_page(
            lambda count, offset: self.backend.metadata.denials(
                since=after, model=name, limit=count, offset=offset
            ),
            limit,
            cursor,
            most=10_000,
        )

    @writes
    def record_denials(self, batch: Sequence[Denial]) -> list[Denial]:
        return self.backend.metadata.record_denials(batch, actor=self.user, at=self.clock.now())
