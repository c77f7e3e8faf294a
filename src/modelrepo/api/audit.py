"""The audit log's API (checkpoints, proofs, entries, refused requests), as both registries
offer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from .. import auditing
    from ..domain.denials import Denial
    from ..domain.pages import Page


class AuditAPI(Protocol):
    """The signed audit log, and the record of refused requests."""

    def audit_key(self) -> str:
        """The public key (PEM) that verifies this store's checkpoints."""
        ...

    def audit_key_id(self) -> str:
        """The short, stable name of the checkpoints' signing key (`ed25519:` and a hash of
        it), which every checkpoint names, so a verifier can tell which key it needs."""
        ...

    def audit_checkpoint(self) -> dict[str, Any]:
        """Sign the current tree head (size, root hash, time) and keep it (and export it to
        `checkpoint_dir` / `MODELREPO_CHECKPOINT_DIR` when set)."""
        ...

    def audit_checkpoints(self) -> list[dict[str, Any]]:
        """Every signed checkpoint kept so far, oldest first, to verify the log against."""
        ...

    def audit_verify(
        self,
        checkpoints: Sequence[Mapping[str, Any]] = (),
        *,
        public_key_pem: bytes | None = None,
        records: bool = True,
    ) -> auditing.VerifyReport:
        """Recompute the log and check it against every checkpoint (stored and given).

        `public_key_pem` is the key an auditor trusts (default: the store's own); `records`
        also checks that every row the registry answers from is one the log recorded, as it
        recorded it, and that every row it recorded is still there.
        """
        ...

    def audit_prove(
        self, seq: int, *, checkpoint: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """An inclusion proof bundle for entry `seq`, against the newest checkpoint covering
        it (one is signed now if none does)."""
        ...

    def audit_consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """A consistency proof that the log of `new_size` extends the one of `old_size`."""
        ...

    def audit_log(
        self, subject: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Audit entries in sequence order, all or of one subject (e.g. `model:credit-risk`);
        `after` and `limit` read one page: at most `limit` entries after entry `after`."""
        ...

    def audit_denied(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[Denial]:
        """Refused requests to the server (missing or bad tokens, roles or scopes that do not
        permit the action, self-approvals), newest first: each a record of one refusal or of
        its repeats within a window, with a count. `since`: last seen at or after it. At most
        `limit` of them (`audit_denied_page` pages through all of them)."""
        ...

    def audit_denied_page(
        self,
        *,
        since: datetime | str | None = None,
        model: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Denial]:
        """One page of `audit_denied` (newest first) and the `next_cursor` to pass for the
        next page, None on the last: a long list never ends without saying so. A page holds
        up to 10,000 records (1,000 through a server)."""
        ...

    def record_denials(self, batch: Sequence[Denial]) -> list[Denial]:
        """Keep a batch of refused requests (the server's record of them), with one audit
        entry carrying their digest; returns them with their ids."""
        ...
