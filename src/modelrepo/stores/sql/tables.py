"""The relational schema, as SQLAlchemy Core tables. Migrations create it; this mirrors it.

Instants are integer microseconds since the Unix epoch (UTC): exact, sortable, the same on
every database. JSON columns hold canonical JSON text (sorted keys, no whitespace).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

store_info = sa.Table(
    "store_info",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Column("deleted_by", sa.String(256), nullable=True),
)

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=True),
    sa.Column("lineage", sa.Text, nullable=False),
    sa.Column("deprecated", sa.Boolean, nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Column("deleted_by", sa.String(256), nullable=True),
    sa.UniqueConstraint("model_id", "number", name="uq_versions_model_number"),
)

registration_keys = sa.Table(
    "registration_keys",
    metadata,
    # A client's idempotency key of one registration: the version it made, by (actor, key).
    sa.Column("actor", sa.String(256), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

environment_snapshots = sa.Table(
    "environment_snapshots",
    metadata,
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)

version_files = sa.Table(
    "version_files",
    metadata,
    sa.Column("version_id", Id, sa.ForeignKey("versions.id"), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("executable", sa.Boolean, nullable=False),
    sa.Index("ix_version_files_sha256", "sha256"),
)

version_tags = sa.Table(
    "version_tags",
    metadata,
    sa.Column("version_id", Id, sa.ForeignKey("versions.id"), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

version_events = sa.Table(
    "version_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("version_id", Id, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("key", sa.String(128), nullable=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Index("ix_version_events_version", "version_id", "id"),
)

model_tags = sa.Table(
    "model_tags",
    metadata,
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

model_events = sa.Table(
    "model_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("key", sa.String(128), nullable=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Index("ix_model_events_model", "model_id", "id"),
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("protected", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("require_sso", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("model_id", "name", name="uq_environments_model_name"),
)

environment_events = sa.Table(
    "environment_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("environment_id", Id, sa.ForeignKey("environments.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("request_id", Id, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("actor_auth", sa.Text, nullable=True),
)

deployment_events = sa.Table(
    "deployment_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("environment_id", Id, sa.ForeignKey("environments.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("versions", sa.Text, nullable=False),
    sa.Column("effective_at", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("request_id", Id, nullable=True),
    sa.Column("approved_by", sa.String(256), nullable=True),
    sa.Column("approved_at", sa.BigInteger, nullable=True),
    sa.Column("unknown_from", sa.BigInteger, nullable=True),
    sa.Column("earliest_at", sa.BigInteger, nullable=True),
    sa.Column("actor_auth", sa.Text, nullable=True),
    sa.Column("approved_auth", sa.Text, nullable=True),
    sa.Index("ix_deployment_events_live", "environment_id", "effective_at", "id", "recorded_at"),
    sa.Index(
        "ix_deployment_events_observed",
        "environment_id",
        "effective_at",
        "id",
        "unknown_from",
        "recorded_at",
        sqlite_where=sa.text("kind = 'observe'"),
        postgresql_where=sa.text("kind = 'observe'"),
    ),
    sa.Index("ix_deployment_events_model", "model_id", "id"),
    sa.Index("ix_deployment_events_recorded", "recorded_at"),
)

deployment_requests = sa.Table(
    "deployment_requests",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("environment_id", Id, sa.ForeignKey("environments.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("versions", sa.Text, nullable=False),
    sa.Column("effective_at", sa.BigInteger, nullable=True),
    sa.Column("requested_by", sa.String(256), nullable=False),
    sa.Column("requested_at", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("base_event_id", Id, nullable=True),
    sa.Column("requested_auth", sa.Text, nullable=True),
)

request_decisions = sa.Table(
    "request_decisions",
    metadata,
    sa.Column("request_id", Id, sa.ForeignKey("deployment_requests.id"), primary_key=True),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.String(256), nullable=False),
    sa.Column("decided_at", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("event_id", Id, nullable=True),
    sa.Column("decided_auth", sa.Text, nullable=True),
)

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", Id, primary_key=True, autoincrement=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("leaf", sa.LargeBinary(32), nullable=False),  # SHA-256(0x00 || body)
)

audit_nodes = sa.Table(
    "audit_nodes",
    metadata,
    # Interior nodes only (leaves live with their entries). A perfect subtree (level L >= 1,
    # index i) sits at its in-order position i * 2^(L+1) + 2^L - 1: appends write at the end.
    sa.Column("pos", Id, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)

inline_blobs = sa.Table(
    "inline_blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(128), nullable=False, unique=True),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("environment", sa.String(255), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("version_source", sa.String(16), nullable=False),
    sa.Column("decided_at", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.Column("inputs_digest", sa.String(71), nullable=False),
    sa.Column("inputs_mode", sa.String(8), nullable=False),
    sa.Column("inputs", sa.Text, nullable=True),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("flags", sa.Text, nullable=False),
    sa.Column("inputs_purged_at", sa.BigInteger, nullable=True),
    sa.Index("ix_decisions_model_time", "model_id", "decided_at"),
)

decision_policies = sa.Table(
    "decision_policies",
    metadata,
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("inputs_mode", sa.String(8), nullable=False),
    sa.Column("retention_days", sa.Integer, nullable=True),
)

serving_periods = sa.Table(
    "serving_periods",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.String(128), nullable=False),
    sa.Column("host", sa.String(256), nullable=False),
    sa.Column("model_id", Id, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("environment", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("since", sa.BigInteger, nullable=False),
    sa.Column("last_seen", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
    sa.Index("ix_serving_periods_env", "model_id", "environment", "since"),
    sa.Index("ix_serving_periods_instance", "instance_id", "id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_name", sa.String(256), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("model_pattern", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    sa.Column("revoked_by", sa.String(256), nullable=True),
    sa.Column("minted_auth", sa.Text, nullable=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="person"),
)

role_bindings = sa.Table(
    "role_bindings",
    metadata,
    sa.Column("binding_id", sa.String(32), primary_key=True),
    sa.Column("issuer", sa.String(2048), nullable=False),
    sa.Column("principal", sa.String(256), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("model_pattern", sa.String(256), nullable=True),
    sa.Column("granted_at", sa.BigInteger, nullable=False),
    sa.Column("granted_by", sa.String(256), nullable=False),
    sa.Column("granted_auth", sa.Text, nullable=True),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    sa.Column("revoked_by", sa.String(256), nullable=True),
    sa.Index("ix_role_bindings_principal", "principal", "issuer"),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("principal", sa.String(256), nullable=False),
    sa.Column("issuer", sa.String(2048), nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("groups", sa.Text, nullable=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("webhook_id", sa.String(32), primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("model_pattern", sa.String(256), nullable=False),
    sa.Column("events", sa.Text, nullable=False),
    sa.Column("allow_private", sa.Boolean, nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("after_seq", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("disabled_at", sa.BigInteger, nullable=True),
    sa.Column("disabled_by", sa.String(256), nullable=True),
)

webhook_cursor = sa.Table(
    "webhook_cursor",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.String(32), sa.ForeignKey("webhooks.webhook_id"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.BigInteger, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("webhook_id", "seq", name="uq_webhook_deliveries_event"),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", Id, sa.ForeignKey("webhook_deliveries.id"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Index("ix_webhook_attempts_delivery", "delivery_id", "attempt"),
)

access_denials = sa.Table(
    "access_denials",
    metadata,
    # One refused request, or the repeats of one within a window (append-only).
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("first_at", sa.BigInteger, nullable=False),
    sa.Column("last_at", sa.BigInteger, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("user_name", sa.String(256), nullable=True),
    sa.Column("token_id", sa.String(32), nullable=True),
    sa.Column("client", sa.String(256), nullable=True),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("route", sa.String(512), nullable=False),
    sa.Column("operation", sa.String(64), nullable=True),
    sa.Column("model", sa.String(256), nullable=True),
    sa.Column("reason", sa.String(256), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.Index("ix_access_denials_last_at", "last_at"),
    sa.Index("ix_access_denials_model", "model", "last_at"),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("public_pem", sa.Text, nullable=False),
    sa.Column("label", sa.String(256), nullable=False),
    sa.Column("added_at", sa.BigInteger, nullable=False),
    sa.Column("added_by", sa.String(256), nullable=False),
    sa.Column("added_auth", sa.Text, nullable=True),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    sa.Column("revoked_by", sa.String(256), nullable=True),
    sa.Column("revoked_reason", sa.Text, nullable=True),
)

signing_policies = sa.Table(
    "signing_policies",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("set_at", sa.BigInteger, nullable=False),
    sa.Column("set_by", sa.String(256), nullable=False),
    sa.Column("set_auth", sa.Text, nullable=True),
    sa.Column("key_ids", sa.Text, nullable=True),
)
