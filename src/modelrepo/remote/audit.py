"""The audit trail over HTTP: the log, its signing key, checkpoints, proofs, the server's
own verification, and the requests it refused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import auditing
from ..api.audit import AuditAPI
from ..domain.denials import Denial
from ..domain.errors import InvalidInput, NotSupported
from ..domain.names import check_version, validate_model_name
from ..domain.pages import Page
from .client import API, PAGE, ServerClient, _time_param


class Audit(ServerClient, AuditAPI):
    """The server's signed, append-only record of every change, read and checked."""

    def audit_key(self) -> str:
        return str(self._get(f"{API}/audit/key")["public_key"])

    def audit_key_id(self) -> str:
        return str(self._get(f"{API}/audit/key")["key_id"])

    def audit_checkpoint(self) -> dict[str, Any]:
        return dict(self._post(f"{API}/audit/checkpoints"))

    def audit_checkpoints(self) -> list[dict[str, Any]]:
        return list(self._get(f"{API}/audit/checkpoints"))

    def audit_verify(
        self,
        checkpoints: Sequence[Mapping[str, Any]] = (),
        *,
        public_key_pem: bytes | None = None,
        records: bool = True,
    ) -> auditing.VerifyReport:
        # The server's own check of its log, against its own key and checkpoints; for an
        # independent check, verify an export with `modelrepo-verifier` against the key you
        # trust.
        if checkpoints or public_key_pem is not None or not records:
            raise NotSupported(
                "checking a remote store against your own checkpoints or key is not available "
                "yet: verify an export with modelrepo-verifier"
            )
        return auditing.VerifyReport.from_dict(self._get(f"{API}/audit/verify"))

    def audit_prove(
        self, seq: int, *, checkpoint: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if checkpoint is not None:
            raise NotSupported("a proof against a given checkpoint is not available remotely yet")
        return dict(self._get(f"{API}/audit/proofs/{check_version(seq)}"))

    # -- audit log and consistency proofs -------------------------------------------------

    def audit_log(
        self, subject: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        # Read page by page: up to 1000 entries a request.
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput("after must be an entry number (0 or more)")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):  # fmt: skip
            raise InvalidInput("limit must be a positive number of entries")
        entries: list[dict[str, Any]] = []
        cursor: str | None = str(after)
        while cursor is not None and (limit is None or len(entries) < limit):
            size = PAGE if limit is None else min(PAGE, limit - len(entries))
            page = self._get(f"{API}/audit/log", subject=subject, limit=size, cursor=cursor)
            entries.extend(page["items"])
            cursor = page.get("next_cursor")
        return entries

    def audit_consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        found = self._get(f"{API}/audit/consistency", old_size=old_size, new_size=new_size)
        return dict(found)

    def audit_denied(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[Denial]:
        from ..domain.denials import check_limit

        found = self._pages(
            f"{API}/audit/denied",
            check_limit(limit),
            since=_time_param(since, "since"),
            model=None if model is None else validate_model_name(model),
        )
        return [Denial.from_dict(d) for d in found]

    def audit_denied_page(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Denial]:
        return self._page(
            f"{API}/audit/denied",
            Denial.from_dict,
            limit,
            cursor,
            since=_time_param(since, "since"),
            model=None if model is None else validate_model_name(model),
        )

    def record_denials(self, batch: Sequence[Denial]) -> list[Denial]:
        # Not available on a remote registry yet (one of `EMBEDDED_ONLY`).
        self._unsupported("record_denials")
