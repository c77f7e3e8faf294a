"""PostgreSQL: TRUNCATE refused on every table whose rows are never deleted.

The row-level DELETE triggers of earlier revisions do not fire on TRUNCATE, so until now
`TRUNCATE audit_entries` emptied the log. Each such table gets a statement-level BEFORE
TRUNCATE trigger; the decision log's partitions get their own (a parent's statement-level
trigger is not cloned to partitions), here for those made so far and in
`stores/sql/partitions.py` for those made later. `decision_inputs` allows DELETE (retention
drops or deletes expired inputs and records the purge), but a TRUNCATE would purge without
a record, so it is refused too. SQLite has no TRUNCATE statement, and its DELETE without
WHERE fires the row triggers: this revision changes nothing there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from modelrepo.stores.sql.migrations.helpers import allow_truncate, refuse_truncate

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APPEND_ONLY = (
    "version_events", "version_files", "model_events", "environment_events",
    "deployment_events", "deployment_requests", "request_decisions", "audit_entries",
    "audit_nodes", "audit_checkpoints", "webhook_attempts",
)  # fmt: skip

NEVER_DELETED = {
    "versions": "versions are never deleted, only tombstoned",
    "environment_snapshots": "environment snapshots are immutable",
    "environments": "environments are never deleted",
    "decisions": "decisions are never deleted",
    "decision_keys": "a decision id is recorded once and never changes",
    "decision_purges": "a purge of decision inputs is never undone",
    "decision_inputs": "decision inputs are only purged by retention",
    "serving_periods": "serving periods are never deleted",
    "api_tokens": "API tokens are revoked, never deleted",
    "webhooks": "webhooks are disabled, never deleted",
    "webhook_deliveries": "the webhook delivery log is kept",
}
"""The message each table's DELETE trigger gives, reused for TRUNCATE."""


def upgrade() -> None:
    for table in APPEND_ONLY:
        refuse_truncate(table, f"{table} is append-only")
    for table, message in NEVER_DELETED.items():
        refuse_truncate(table, message)


def downgrade() -> None:
    for table in (*APPEND_ONLY, *NEVER_DELETED):
        allow_truncate(table)
