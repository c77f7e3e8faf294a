"""Every SQL statement of the store, as SQLAlchemy Core expressions (one source of truth).

Statements are referred to by name and executed through `raw.Compiled`: compiled once per
dialect, or for SQLite read from `sqlite_forms.py`, which `scripts/gen_sqlite_forms.py`
generates from this module (a test keeps it current), so opening a store does not import
SQLAlchemy. Parameters are named bind parameters (`p("name")`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import bindparam as p

# PostgreSQL's INSERT construct: its ON CONFLICT DO NOTHING compiles for SQLite as well.
from sqlalchemy.dialects.postgresql import insert

from .tables import (
    access_denials,
    api_tokens,
    audit_checkpoints,
    audit_entries,
    audit_nodes,
    decision_policies,
    decisions,
    deployment_events,
    deployment_requests,
    environment_events,
    environment_snapshots,
    environments,
    inline_blobs,
    model_events,
    model_tags,
    models,
    registration_keys,
    request_decisions,
    role_bindings,
    serving_periods,
    signing_keys,
    signing_policies,
    store_info,
    version_events,
    version_files,
    version_tags,
    versions,
    web_sessions,
    webhook_attempts,
    webhook_cursor,
    webhook_deliveries,
    webhooks,
)

V = versions.c

# -- store ---------------------------------------------------------------------------------

STORE_ID = sa.select(store_info.c.value).where(store_info.c.key == "store_id")
SQLITE_VERSION = sa.select(sa.func.sqlite_version())

# -- models and versions -------------------------------------------------------------------

MODEL_FOR_UPDATE = (
    sa.select(models.c.id, models.c.last_version, models.c.deleted_at)
    .where(models.c.name == p("name"))
    .with_for_update()
)
SET_MODEL_DELETED = (
    sa.update(models)
    .where(models.c.id == p("model_id"))
    .values(deleted_at=p("at"), deleted_by=p("actor"), description="")
)
SET_MODEL_CREATED_AGAIN = (
    sa.update(models)
    .where(models.c.id == p("model_id"))
    .values(deleted_at=None, deleted_by=None, created_at=p("at"), created_by=p("actor"))
)
RENAME_MODEL = sa.update(models).where(models.c.id == p("model_id")).values(name=p("name"))
DELETE_OWN_TAGS = sa.delete(model_tags).where(model_tags.c.model_id == p("model_id"))
KEPT_VERSIONS = (
    sa.select(versions.c.id, versions.c.number)
    .where(versions.c.model_id == p("model_id"), versions.c.deleted_at.is_(None))
    .order_by(versions.c.number)
)
NEW_MODEL = (
    sa.insert(models)
    .values(name=p("name"), created_at=p("at"), created_by=p("actor"), last_version=0)
    .returning(models.c.id)
)
SET_LAST_VERSION = (
    sa.update(models).where(models.c.id == p("model_id")).values(last_version=p("number"))
)
NEW_VERSION = (
    sa.insert(versions)
    .values(
        model_id=p("model_id"),
        number=p("number"),
        digest=p("digest"),
        created_at=p("created_at"),
        created_by=p("created_by"),
        description=p("description"),
        flavor=p("flavor"),
        params=p("params"),
        metrics=p("metrics"),
        signature=p("signature"),
        lineage=p("lineage"),
        deprecated=False,
    )
    .returning(V.id)
)
RK = registration_keys.c
REGISTRATION_KEYS = (
    sa.select(RK.actor, RK.key, models.c.name, RK.number, RK.digest, RK.created_at)
    .join(models, models.c.id == RK.model_id)
    .order_by(RK.created_at, RK.actor, RK.key)
)
"""Every registration made with an idempotency key (checked against the log)."""
REGISTRATION_KEY = (
    sa.select(models.c.name, registration_keys.c.number, registration_keys.c.digest)
    .join(models, models.c.id == registration_keys.c.model_id)
    .where(registration_keys.c.actor == p("actor"), registration_keys.c.key == p("key"))
)
NEW_REGISTRATION_KEY = sa.insert(registration_keys).values(
    actor=p("actor"),
    key=p("key"),
    model_id=p("model_id"),
    number=p("number"),
    digest=p("digest"),
    created_at=p("at"),
)
NEW_ENVIRONMENT_SNAPSHOT = (
    insert(environment_snapshots)
    .values(digest=p("digest"), body=p("body"))
    .on_conflict_do_nothing()
)
ENVIRONMENT_SNAPSHOT = sa.select(environment_snapshots.c.body).where(
    environment_snapshots.c.digest == p("digest")
)
NEW_FILE = sa.insert(version_files).values(
    version_id=p("version_id"),
    path=p("path"),
    size=p("size"),
    sha256=p("sha256"),
    executable=p("executable"),
)
NEW_TAG = sa.insert(version_tags).values(version_id=p("version_id"), key=p("key"), value=p("value"))
TAG_VALUE = sa.select(version_tags.c.value).where(
    version_tags.c.version_id == p("version_id"), version_tags.c.key == p("key")
)
UPDATE_TAG = (
    sa.update(version_tags)
    .where(version_tags.c.version_id == p("version_id"), version_tags.c.key == p("key"))
    .values(value=p("value"))
)
DELETE_TAG = sa.delete(version_tags).where(
    version_tags.c.version_id == p("version_id"), version_tags.c.key == p("key")
)
LOCATE_VERSION = (
    sa.select(V.id, V.model_id, V.deleted_at, V.deprecated)
    .join(models, models.c.id == V.model_id)
    .where(models.c.name == p("model"), V.number == p("number"))
)
NEW_VERSION_EVENT = sa.insert(version_events).values(
    version_id=p("version_id"),
    kind=p("kind"),
    key=p("key"),
    value=p("value"),
    actor=p("actor"),
    at=p("at"),
    reason=p("reason"),
)
SET_DEPRECATED = sa.update(versions).where(V.id == p("version_id")).values(deprecated=p("flag"))
SET_DELETED = (
    sa.update(versions)
    .where(V.id == p("version_id"))
    .values(deleted_at=p("at"), deleted_by=p("actor"))
)
_MODELS = (
    sa.select(
        models.c.name,
        models.c.created_at,
        models.c.created_by,
        models.c.last_version,
        models.c.description,
        models.c.deleted_at,
        models.c.deleted_by,
        sa.func.count(V.id).filter(V.deleted_at.is_(None)).label("live"),
    )
    .select_from(models.outerjoin(versions, V.model_id == models.c.id))
    .group_by(models.c.id)
    .order_by(models.c.name)
)
MODELS = _MODELS
MODEL = _MODELS.where(models.c.name == p("name"))
# Tags and description of models themselves (`MODEL_TAGS` above is every version's tags).
OWN_TAG_VALUE = sa.select(model_tags.c.value).where(
    model_tags.c.model_id == p("model_id"), model_tags.c.key == p("key")
)
NEW_OWN_TAG = sa.insert(model_tags).values(model_id=p("model_id"), key=p("key"), value=p("value"))
UPDATE_OWN_TAG = (
    sa.update(model_tags)
    .where(model_tags.c.model_id == p("model_id"), model_tags.c.key == p("key"))
    .values(value=p("value"))
)
DELETE_OWN_TAG = sa.delete(model_tags).where(
    model_tags.c.model_id == p("model_id"), model_tags.c.key == p("key")
)
OWN_TAGS = (
    sa.select(models.c.name, model_tags.c.key, model_tags.c.value)
    .join(models, models.c.id == model_tags.c.model_id)
    .where(models.c.name == p("name"))
)
ALL_OWN_TAGS = sa.select(models.c.name, model_tags.c.key, model_tags.c.value).join(
    models, models.c.id == model_tags.c.model_id
)
SET_MODEL_DESCRIPTION = (
    sa.update(models).where(models.c.id == p("model_id")).values(description=p("text"))
)
MODEL_DESCRIPTION = sa.select(models.c.description).where(models.c.id == p("model_id"))
NEW_MODEL_EVENT = sa.insert(model_events).values(
    model_id=p("model_id"),
    kind=p("kind"),
    key=p("key"),
    value=p("value"),
    actor=p("actor"),
    at=p("at"),
)
OWN_EVENTS = (
    sa.select(model_events)
    .where(model_events.c.model_id == p("model_id"))
    .order_by(model_events.c.id)
)
_VERSIONS = sa.select(versions, models.c.name.label("model_name")).join(
    models, models.c.id == V.model_id
)
VERSION = _VERSIONS.where(models.c.name == p("model"), V.number == p("number"))
MODEL_VERSIONS = _VERSIONS.where(V.model_id == p("model_id")).order_by(V.number)
VERSION_FILES = (
    sa.select(version_files)
    .where(version_files.c.version_id == p("version_id"))
    .order_by(version_files.c.path)
)
MODEL_FILES = (
    sa.select(version_files)
    .join(versions, V.id == version_files.c.version_id)
    .where(V.model_id == p("model_id"))
    .order_by(version_files.c.version_id, version_files.c.path)
)
VERSION_TAGS = sa.select(version_tags).where(version_tags.c.version_id == p("version_id"))
MODEL_TAGS = (
    sa.select(version_tags)
    .join(versions, V.id == version_tags.c.version_id)
    .where(V.model_id == p("model_id"))
)
VERSION_EVENTS = (
    sa.select(version_events)
    .where(version_events.c.version_id == p("version_id"))
    .order_by(version_events.c.id)
)
FILE_REFERENCES = (
    sa.select(
        models.c.name, V.number, version_files.c.path, version_files.c.sha256, version_files.c.size
    )
    .select_from(
        version_files.join(versions, V.id == version_files.c.version_id).join(
            models, models.c.id == V.model_id
        )
    )
    .where(V.deleted_at.is_(None))
    .order_by(models.c.name, V.number, version_files.c.path)
)
VERSION_DIGEST = (
    sa.select(V.digest)
    .join(models, models.c.id == V.model_id)
    .where(models.c.name == p("model"), V.number == p("number"))
)

# -- deployments ---------------------------------------------------------------------------

E = deployment_events.c
MODEL_ID = sa.select(models.c.id).where(models.c.name == p("name"), models.c.deleted_at.is_(None))
MODEL_ID_ANY = sa.select(models.c.id).where(models.c.name == p("name"))
"""A deleted model's too: what its records are read by, for `audit verify`."""
ENVIRONMENT = sa.select(
    environments.c.id, environments.c.protected, environments.c.require_sso
).where(environments.c.model_id == p("model_id"), environments.c.name == p("name"))
ENV_ID = (
    sa.select(environments.c.id)
    .join(models, models.c.id == environments.c.model_id)
    .where(models.c.name == p("model"), environments.c.name == p("env"))
)
NEW_ENVIRONMENT = (
    sa.insert(environments)
    .values(
        model_id=p("model_id"),
        name=p("name"),
        protected=False,
        created_at=p("at"),
        created_by=p("actor"),
    )
    .returning(environments.c.id)
)
SET_PROTECTED = (
    sa.update(environments)
    .where(environments.c.id == p("env_id"))
    .values(protected=p("flag"), require_sso=p("sso"))
)
ENVIRONMENT_EVENT = sa.insert(environment_events).values(
    environment_id=p("env_id"),
    kind=p("kind"),
    actor=p("actor"),
    at=p("at"),
    request_id=p("request_id"),
    reason=p("reason"),
    actor_auth=p("auth"),
)
LAST_RECORDED = sa.select(sa.func.max(E.recorded_at))
LAST_ENV_EVENT = sa.select(sa.func.max(E.id)).where(E.environment_id == p("env_id"))
ENV_CHANGES = (
    sa.select(environment_events)
    .where(environment_events.c.environment_id == p("env_id"))
    .order_by(environment_events.c.id)
)
VERSION_STATE = sa.select(versions.c.deleted_at, versions.c.id).where(
    versions.c.model_id == p("model_id"), versions.c.number == p("number")
)
ENV_EVENTS = sa.select(deployment_events).where(E.environment_id == p("env_id")).order_by(E.id)
NEW_EVENT = (
    sa.insert(deployment_events)
    .values(
        model_id=p("model_id"),
        environment_id=p("env_id"),
        kind=p("kind"),
        versions=p("versions"),
        effective_at=p("effective_at"),
        recorded_at=p("recorded_at"),
        actor=p("actor"),
        reason=p("reason"),
        request_id=p("request_id"),
        approved_by=p("approved_by"),
        approved_at=p("approved_at"),
        unknown_from=p("unknown_from"),
        earliest_at=p("earliest_at"),
        actor_auth=p("actor_auth"),
        approved_auth=p("approved_auth"),
    )
    .returning(E.id)
)
NEW_EVENT_BULK = sa.insert(deployment_events).values(
    model_id=p("model_id"),
    environment_id=p("env_id"),
    kind=p("kind"),
    versions=p("versions"),
    effective_at=p("effective_at"),
    recorded_at=p("recorded_at"),
    actor=p("actor"),
    reason=p("reason"),
    request_id=p("request_id"),
    approved_by=p("approved_by"),
    approved_at=p("approved_at"),
    unknown_from=p("unknown_from"),
    earliest_at=p("earliest_at"),
)
# "What was live at `at`" is `domain.deployments.live_event` in one statement: the earliest
# observation that leaves `at` unknown, else the latest event in force. Each half is answered
# from its own covering index: (environment, effective, id, recorded) for the event in force,
# and the partial index of observations for the unknown stretch (its `kind` is a literal so
# both engines match the index's condition).
_IN_FORCE = (
    sa.select(E.id)
    .where(E.environment_id == p("env_id"), E.effective_at <= p("at"))
    .order_by(E.effective_at.desc(), E.id.desc())
    .limit(1)
)
_COVERING = (
    sa.select(E.id)
    .where(
        E.environment_id == p("env_id"),
        E.kind == sa.literal_column("'observe'"),
        E.effective_at > p("at"),
        sa.or_(E.unknown_from.is_(None), E.unknown_from < p("at")),
    )
    .order_by(E.effective_at, E.id)
    .limit(1)
)


def _live(known: bool) -> sa.Select[tuple[int]]:
    in_force, covering = _IN_FORCE, _COVERING
    if known:
        in_force = in_force.where(E.recorded_at <= p("known"))
        covering = covering.where(E.recorded_at <= p("known"))
    return sa.select(sa.func.coalesce(covering.scalar_subquery(), in_force.scalar_subquery()))


EVENT = sa.select(deployment_events).where(E.id == p("event_id"))
LIVE = _live(known=False)
LIVE_KNOWN = _live(known=True)
# Only the event in force: exact for an environment with no observation (see `OBSERVED_ENVS`).
LIVE_IN_FORCE = _IN_FORCE
LIVE_KNOWN_IN_FORCE = _IN_FORCE.where(E.recorded_at <= p("known"))
OBSERVED_ENVS = (
    sa.select(E.environment_id).where(E.kind == sa.literal_column("'observe'")).distinct()
)
MODEL_EVENTS = (
    sa.select(deployment_events, environments.c.name.label("env_name"))
    .join(environments, environments.c.id == E.environment_id)
    .where(E.model_id == p("model_id"))
    .order_by(E.id)
)
MODEL_ENVIRONMENTS = (
    sa.select(environments)
    .where(environments.c.model_id == p("model_id"))
    .order_by(environments.c.name)
)
MODEL_ENVIRONMENT = sa.select(environments).where(
    environments.c.model_id == p("model_id"), environments.c.name == p("name")
)
NEW_REQUEST = (
    sa.insert(deployment_requests)
    .values(
        model_id=p("model_id"),
        environment_id=p("env_id"),
        kind=p("kind"),
        versions=p("versions"),
        effective_at=p("effective_at"),
        requested_by=p("actor"),
        requested_at=p("at"),
        reason=p("reason"),
        base_event_id=p("base_event_id"),
        requested_auth=p("auth"),
    )
    .returning(deployment_requests.c.id)
)
_REQUESTS = (
    sa.select(
        deployment_requests,
        models.c.name.label("model_name"),
        environments.c.name.label("env_name"),
        request_decisions.c.decision,
        request_decisions.c.decided_by,
        request_decisions.c.decided_at,
        request_decisions.c.reason.label("decision_reason"),
        request_decisions.c.event_id,
        request_decisions.c.decided_auth,
    )
    .join(models, models.c.id == deployment_requests.c.model_id)
    .join(environments, environments.c.id == deployment_requests.c.environment_id)
    .outerjoin(request_decisions, request_decisions.c.request_id == deployment_requests.c.id)
    .order_by(deployment_requests.c.id)
)
REQUEST = _REQUESTS.where(deployment_requests.c.id == p("request_id"))
REQUESTS = _REQUESTS
MODEL_REQUESTS = _REQUESTS.where(deployment_requests.c.model_id == p("model_id"))
NEW_DECISION = sa.insert(request_decisions).values(
    request_id=p("request_id"),
    decision=p("decision"),
    decided_by=p("actor"),
    decided_at=p("at"),
    reason=p("reason"),
    event_id=p("event_id"),
    decided_auth=p("auth"),
)
EVENT_ALLOCATIONS = sa.select(E.versions).where(E.model_id == p("model_id"))
REQUEST_ALLOCATIONS = sa.select(deployment_requests.c.versions).where(
    deployment_requests.c.model_id == p("model_id")
)

# -- audit log -----------------------------------------------------------------------------

AE = audit_entries.c
AUDIT_SIZE = sa.select(sa.func.max(AE.seq))
NEW_AUDIT_ENTRY = sa.insert(audit_entries).values(
    seq=p("seq"), at=p("at"), kind=p("kind"), subject=p("subject"), body=p("body"), leaf=p("leaf")
)
AUDIT_LEAF = sa.select(AE.leaf).where(AE.seq == p("seq"))
AUDIT_LAST = sa.select(AE.seq, AE.leaf).where(
    AE.seq == sa.select(sa.func.max(AE.seq)).scalar_subquery()
)  # not ORDER BY ... LIMIT: SQLite binds the limit (LIMIT ? OFFSET ?), three times slower
AUDIT_NODE = sa.select(audit_nodes.c.hash).where(audit_nodes.c.pos == p("pos"))
NEW_AUDIT_NODE = sa.insert(audit_nodes).values(pos=p("pos"), hash=p("hash"))
AUDIT_ENTRIES = (
    sa.select(AE.seq, AE.body, AE.leaf)
    .where(AE.seq >= p("start"), AE.seq <= p("end"))
    .order_by(AE.seq)
)
AUDIT_ROWS = (
    sa.select(AE.seq, AE.body, AE.leaf, AE.at, AE.kind, AE.subject)
    .where(AE.seq >= p("start"), AE.seq <= p("end"))
    .order_by(AE.seq)
)
AUDIT_TREE = (
    sa.select(audit_nodes.c.pos, audit_nodes.c.hash)
    .where(audit_nodes.c.pos > p("after"))
    .order_by(audit_nodes.c.pos)
    .limit(p("limit"))
)
AUDIT_ENTRY = sa.select(AE.seq, AE.body).where(AE.seq == p("seq"))
SUBJECT_ENTRIES = sa.select(AE.seq, AE.body).where(AE.subject == p("subject")).order_by(AE.seq)
SHARED_SUBJECT_ENTRIES = (
    sa.select(AE.seq, AE.subject, AE.body)
    .where(sa.or_(AE.subject == "models", AE.subject.startswith("models:", autoescape=True)))
    .order_by(AE.seq)
)
NEW_CHECKPOINT = sa.insert(audit_checkpoints).values(size=p("size"), at=p("at"), body=p("body"))
CHECKPOINTS = sa.select(
    audit_checkpoints.c.size, audit_checkpoints.c.at, audit_checkpoints.c.body
).order_by(audit_checkpoints.c.id)
LAST_CHECKPOINT = (
    sa.select(audit_checkpoints.c.size, audit_checkpoints.c.at)
    .order_by(audit_checkpoints.c.id.desc())
    .limit(1)
)

# -- small files stored inline -------------------------------------------------------------

NEW_INLINE_BLOB = (
    insert(inline_blobs)
    .values(sha256=p("sha256"), size=p("size"), data=p("data"))
    .on_conflict_do_nothing()
)
INLINE_BLOB = sa.select(inline_blobs.c.data).where(inline_blobs.c.sha256 == p("sha256"))
INLINE_BLOBS = sa.select(inline_blobs.c.sha256, inline_blobs.c.size).order_by(inline_blobs.c.sha256)
DELETE_INLINE_BLOB = sa.delete(inline_blobs).where(inline_blobs.c.sha256 == p("sha256"))

# -- decisions ------------------------------------------------------------------------------

D = decisions.c
NEW_DECISION_RECORD = sa.insert(decisions).values(
    decision_id=p("decision_id"),
    model_id=p("model_id"),
    environment=p("environment"),
    version=p("version"),
    version_source=p("version_source"),
    decided_at=p("decided_at"),
    recorded_at=p("recorded_at"),
    inputs_digest=p("inputs_digest"),
    inputs_mode=p("inputs_mode"),
    inputs=p("inputs"),
    output=p("output"),
    metadata=p("metadata"),
    flags=p("flags"),
)
_DECISIONS = sa.select(decisions, models.c.name.label("model_name")).join(
    models, models.c.id == D.model_id
)
DECISION_BY_ID = _DECISIONS.where(D.decision_id == p("decision_id"))
DECISION_BATCH = _DECISIONS.where(
    D.id >= sa.select(D.id).where(D.decision_id == p("first")).scalar_subquery(),
    D.id <= sa.select(D.id).where(D.decision_id == p("last")).scalar_subquery(),
).order_by(D.id)
DECISION_EXISTS = sa.select(D.id).where(D.decision_id == p("decision_id"))
DECISION_ROWS = (
    sa.select(D.id, D.decision_id, models.c.name, D.environment, D.version, D.decided_at,
              D.inputs_digest, D.output, D.metadata, D.flags, D.recorded_at, D.inputs_purged_at)
    .join(models, models.c.id == D.model_id)
    .where(D.id > p("after"), D.id <= p("upto"))
    .order_by(D.id)
    .limit(p("limit"))
)  # fmt: skip
"""A page of decisions as verification reads them (`DecisionRow`, after the row id that keys
the next page)."""
MODEL_DECISIONS = (
    _DECISIONS.where(
        D.model_id == p("model_id"),
        D.decided_at >= p("since"),
        D.decided_at <= p("until"),
        sa.or_(p("environment").is_(None), D.environment == p("environment")),
        sa.or_(p("version").is_(None), D.version == p("version")),
    )
    .order_by(D.decided_at, D.id)
    .limit(p("limit"))
    .offset(p("offset"))
)
MODEL_USED = sa.select(
    sa.exists().where(environments.c.model_id == p("model_id")).label("deployed"),
    sa.exists().where(D.model_id == p("model_id")).label("decided"),
)
"""Whether a model was ever deployed (an environment of it exists: a deployment, a request
or a protection made it) and whether any decision names it."""
DELETE_INPUT_POLICY = sa.delete(decision_policies).where(
    decision_policies.c.model_id == p("model_id")
)
INPUT_POLICY = sa.select(decision_policies.c.inputs_mode, decision_policies.c.retention_days).where(
    decision_policies.c.model_id == p("model_id")
)
NEW_INPUT_POLICY = sa.insert(decision_policies).values(
    model_id=p("model_id"), inputs_mode=p("mode"), retention_days=p("days")
)
SET_INPUT_POLICY = (
    sa.update(decision_policies)
    .where(decision_policies.c.model_id == p("model_id"))
    .values(inputs_mode=p("mode"), retention_days=p("days"))
)
EXPIRED_INPUTS = (
    sa.select(D.id, D.decision_id, D.inputs_mode, D.inputs_digest)
    .where(
        D.model_id == p("model_id"),
        D.decided_at < p("cutoff"),
        D.inputs_purged_at.is_(None),
        D.inputs_mode != "digest",
    )
    .order_by(D.id)
)
PURGE_INPUTS = (
    sa.update(decisions).where(D.id == p("id")).values(inputs=None, inputs_purged_at=p("at"))
)
BLOB_INPUTS_IN_USE = (
    sa.select(D.inputs_digest)
    .where(D.inputs_mode == "blob", D.inputs_purged_at.is_(None))
    .distinct()
)

# -- observed serving ---------------------------------------------------------------------

SP = serving_periods.c
NEW_SERVING_PERIOD = sa.insert(serving_periods).values(
    instance_id=p("instance_id"),
    host=p("host"),
    model_id=p("model_id"),
    environment=p("environment"),
    version=p("version"),
    digest=p("digest"),
    since=p("at"),
    last_seen=p("at"),
)
OPEN_PERIODS_OF_INSTANCE = sa.select(SP.id).where(
    SP.instance_id == p("instance_id"), SP.ended_at.is_(None)
)
OPEN_PERIODS_OF_INSTANCE_IN = sa.select(SP.id).where(
    SP.instance_id == p("instance_id"),
    SP.model_id == p("model_id"),
    SP.environment == p("environment"),
    SP.ended_at.is_(None),
)
INSTANCE_SERVED_IN = (
    sa.select(SP.id)
    .where(
        SP.instance_id == p("instance_id"),
        SP.model_id == p("model_id"),
        SP.environment == p("environment"),
    )
    .limit(1)
)
SERVING_HEARTBEAT = sa.update(serving_periods).where(SP.id == p("id")).values(last_seen=p("at"))
END_SERVING_PERIOD = (
    sa.update(serving_periods).where(SP.id == p("id")).values(ended_at=p("at"), last_seen=p("at"))
)
SERVING_PERIODS = (
    sa.select(serving_periods, models.c.name.label("model_name"))
    .join(models, models.c.id == SP.model_id)
    .where(SP.model_id == p("model_id"), SP.environment == p("environment"))
    .order_by(SP.since, SP.id)
)

# -- API tokens ----------------------------------------------------------------------------

TK = api_tokens.c
NEW_TOKEN = sa.insert(api_tokens).values(
    token_id=p("token_id"),
    token_hash=p("token_hash"),
    user_name=p("user"),
    role=p("role"),
    model_pattern=p("model_pattern"),
    created_at=p("created_at"),
    created_by=p("created_by"),
    kind=p("kind"),
    minted_auth=p("minted_auth"),
)
_TOKENS = sa.select(
    TK.token_id,
    TK.user_name,
    TK.role,
    TK.model_pattern,
    TK.created_at,
    TK.created_by,
    TK.revoked_at,
    TK.revoked_by,
    TK.kind,
    TK.minted_auth,
)
TOKEN_HASHES = sa.select(TK.token_id, TK.token_hash)
TOKEN_BY_HASH = _TOKENS.where(TK.token_hash == p("token_hash"))
TOKEN_BY_ID = _TOKENS.where(TK.token_id == p("token_id"))
TOKEN_HASH_IN_USE = sa.select(TK.token_id).where(
    sa.or_(TK.token_id == p("token_id"), TK.token_hash == p("token_hash"))
)
TOKENS = _TOKENS.order_by(TK.created_at, TK.token_id)
REVOKE_TOKEN = (
    sa.update(api_tokens)
    .where(TK.token_id == p("token_id"), TK.revoked_at.is_(None))
    .values(revoked_at=p("at"), revoked_by=p("actor"))
)

# -- role bindings -------------------------------------------------------------------------

RB = role_bindings.c
NEW_ROLE_BINDING = sa.insert(role_bindings).values(
    binding_id=p("binding_id"),
    issuer=p("issuer"),
    principal=p("principal"),
    role=p("role"),
    model_pattern=p("model_pattern"),
    granted_at=p("granted_at"),
    granted_by=p("granted_by"),
    granted_auth=p("granted_auth"),
)
_ROLE_BINDINGS = sa.select(
    RB.binding_id,
    RB.issuer,
    RB.principal,
    RB.role,
    RB.model_pattern,
    RB.granted_at,
    RB.granted_by,
    RB.granted_auth,
    RB.revoked_at,
    RB.revoked_by,
)
ROLE_BINDINGS = _ROLE_BINDINGS.order_by(RB.granted_at, RB.binding_id)
ROLE_BINDING_BY_ID = _ROLE_BINDINGS.where(RB.binding_id == p("binding_id"))
ROLE_BINDINGS_OF = _ROLE_BINDINGS.where(
    RB.principal == p("principal"), RB.issuer == p("issuer")
).order_by(RB.granted_at, RB.binding_id)
ROLE_BINDING_CLASHES = _ROLE_BINDINGS.where(
    sa.or_(
        RB.binding_id == p("binding_id"),
        sa.and_(RB.principal == p("principal"), RB.issuer == p("issuer")),
    )
)
REVOKE_ROLE_BINDING = (
    sa.update(role_bindings)
    .where(RB.binding_id == p("binding_id"), RB.revoked_at.is_(None))
    .values(revoked_at=p("at"), revoked_by=p("actor"))
)

# -- signing keys and policies -------------------------------------------------------------

SK = signing_keys.c
NEW_SIGNING_KEY = sa.insert(signing_keys).values(
    key_id=p("key_id"),
    public_pem=p("public_pem"),
    label=p("label"),
    added_at=p("added_at"),
    added_by=p("added_by"),
    added_auth=p("added_auth"),
)
_SIGNING_KEYS = sa.select(
    SK.key_id,
    SK.public_pem,
    SK.label,
    SK.added_at,
    SK.added_by,
    SK.added_auth,
    SK.revoked_at,
    SK.revoked_by,
    SK.revoked_reason,
)
SIGNING_KEYS = _SIGNING_KEYS.order_by(SK.added_at, SK.key_id)
SIGNING_KEY_BY_ID = _SIGNING_KEYS.where(SK.key_id == p("key_id"))
REVOKE_SIGNING_KEY = (
    sa.update(signing_keys)
    .where(SK.key_id == p("key_id"), SK.revoked_at.is_(None))
    .values(revoked_at=p("at"), revoked_by=p("actor"), revoked_reason=p("reason"))
)
SP = signing_policies.c
SIGNING_POLICIES = sa.select(
    SP.scope, SP.name, SP.enabled, SP.set_at, SP.set_by, SP.set_auth, SP.key_ids
).order_by(SP.scope, SP.name)
SET_SIGNING_POLICY = (
    insert(signing_policies)
    .values(
        scope=p("scope"),
        name=p("name"),
        enabled=p("enabled"),
        set_at=p("set_at"),
        set_by=p("set_by"),
        set_auth=p("set_auth"),
        key_ids=p("key_ids"),
    )
    .on_conflict_do_update(
        index_elements=["scope", "name"],
        set_={
            "enabled": insert(signing_policies).excluded.enabled,
            "set_at": insert(signing_policies).excluded.set_at,
            "set_by": insert(signing_policies).excluded.set_by,
            "set_auth": insert(signing_policies).excluded.set_auth,
            "key_ids": insert(signing_policies).excluded.key_ids,
        },
    )
)
_OWN_POLICY = signing_policies.alias("own")
DROP_POLICY_SET_AHEAD = sa.delete(signing_policies).where(
    SP.scope == "model",
    SP.name == p("new_name"),
    sa.exists().where(_OWN_POLICY.c.scope == "model", _OWN_POLICY.c.name == p("name")),
)
"""A renamed model's own policy replaces one set ahead for its new name."""
RENAME_SIGNING_POLICY = (
    sa.update(signing_policies)
    .where(SP.scope == "model", SP.name == p("name"))
    .values(name=p("new_name"))
)

# -- web sessions --------------------------------------------------------------------------

WS = web_sessions.c
NEW_WEB_SESSION = sa.insert(web_sessions).values(
    session_hash=p("session_hash"),
    principal=p("principal"),
    issuer=p("issuer"),
    subject=p("subject"),
    groups=p("groups"),
    csrf=p("csrf"),
    created_at=p("created_at"),
    expires_at=p("expires_at"),
)
WEB_SESSION = sa.select(web_sessions).where(WS.session_hash == p("session_hash"))
END_WEB_SESSION = (
    sa.update(web_sessions)
    .where(WS.session_hash == p("session_hash"), WS.ended_at.is_(None))
    .values(ended_at=p("at"))
)

# -- refused requests ----------------------------------------------------------------------

AD = access_denials.c
LAST_DENIAL_ID = sa.select(sa.func.max(AD.id))
NEW_DENIAL = sa.insert(access_denials).values(
    id=p("id"),
    first_at=p("first_at"),
    last_at=p("last_at"),
    count=p("count"),
    user_name=p("user"),
    token_id=p("token_id"),
    client=p("client"),
    method=p("method"),
    route=p("route"),
    operation=p("operation"),
    model=p("model"),
    reason=p("reason"),
    status=p("status"),
    recorded_at=p("recorded_at"),
)
_DENIALS = sa.select(
    AD.id, AD.first_at, AD.last_at, AD.count, AD.user_name, AD.token_id, AD.client, AD.method,
    AD.route, AD.operation, AD.model, AD.reason, AD.status,
)  # fmt: skip
DENIALS = (
    _DENIALS.where(AD.last_at >= p("since"))
    .order_by(AD.last_at.desc(), AD.id.desc())
    .limit(p("limit"))
    .offset(p("offset"))
)
DENIALS_OF_MODEL = (
    _DENIALS.where(AD.model == p("model"), AD.last_at >= p("since"))
    .order_by(AD.last_at.desc(), AD.id.desc())
    .limit(p("limit"))
    .offset(p("offset"))
)
DENIALS_BETWEEN = _DENIALS.where(AD.id >= p("first"), AD.id <= p("last")).order_by(AD.id)

# -- webhooks ------------------------------------------------------------------------------

WH = webhooks.c
WD = webhook_deliveries.c
WA = webhook_attempts.c
NEW_WEBHOOK = sa.insert(webhooks).values(
    webhook_id=p("webhook_id"),
    url=p("url"),
    model_pattern=p("model_pattern"),
    events=p("events"),
    allow_private=p("allow_private"),
    secret=p("secret"),
    after_seq=p("after_seq"),
    created_at=p("created_at"),
    created_by=p("created_by"),
)
WEBHOOKS = sa.select(webhooks).order_by(WH.created_at, WH.webhook_id)
WEBHOOK_BY_ID = sa.select(webhooks).where(WH.webhook_id == p("webhook_id"))
DISABLE_WEBHOOK = (
    sa.update(webhooks)
    .where(WH.webhook_id == p("webhook_id"), WH.disabled_at.is_(None))
    .values(disabled_at=p("at"), disabled_by=p("actor"))
)
WEBHOOK_CURSOR = sa.select(webhook_cursor.c.seq).where(webhook_cursor.c.name == "fanout")
SET_WEBHOOK_CURSOR = (
    sa.update(webhook_cursor).where(webhook_cursor.c.name == "fanout").values(seq=p("seq"))
)
NEW_DELIVERY = (
    insert(webhook_deliveries)
    .values(
        webhook_id=p("webhook_id"),
        seq=p("seq"),
        event_id=p("event_id"),
        kind=p("kind"),
        payload=p("payload"),
        status="pending",
        attempts=0,
        created_at=p("at"),
        next_attempt_at=p("at"),
    )
    .on_conflict_do_nothing(index_elements=["webhook_id", "seq"])
)
_DELIVERIES = sa.select(
    WD.id,
    WD.webhook_id,
    WD.seq,
    WD.event_id,
    WD.kind,
    WD.payload,
    WD.status,
    WD.attempts,
    WD.created_at,
    WD.next_attempt_at,
    WD.last_error,
    WD.delivered_at,
)
DUE_DELIVERIES = (
    _DELIVERIES.join(webhooks, WH.webhook_id == WD.webhook_id)
    .where(
        WD.status == "pending",
        WD.next_attempt_at <= p("now"),
        sa.or_(WD.lease_until.is_(None), WD.lease_until <= p("now")),
        WH.disabled_at.is_(None),
    )
    .order_by(WD.next_attempt_at, WD.id)
    .limit(p("limit"))
)
LEASE_DELIVERY = (
    sa.update(webhook_deliveries)
    .where(WD.id == p("id"))
    .values(lease_owner=p("owner"), lease_until=p("until"))
)
DELIVERY_BY_ID = _DELIVERIES.where(WD.id == p("id"))
DELIVERIES = _DELIVERIES.order_by(WD.id.desc()).limit(p("limit")).offset(p("offset"))
DELIVERIES_OF_WEBHOOK = (
    _DELIVERIES.where(WD.webhook_id == p("webhook_id"))
    .order_by(WD.id.desc())
    .limit(p("limit"))
    .offset(p("offset"))
)
FINISH_ATTEMPT = (
    sa.update(webhook_deliveries)
    .where(WD.id == p("id"))
    .values(
        status=p("status"),
        attempts=p("attempts"),
        next_attempt_at=p("next_attempt_at"),
        last_error=p("last_error"),
        delivered_at=p("delivered_at"),
        lease_owner=None,
        lease_until=None,
    )
)
NEW_ATTEMPT = sa.insert(webhook_attempts).values(
    delivery_id=p("delivery_id"),
    attempt=p("attempt"),
    at=p("at"),
    ok=p("ok"),
    status_code=p("status_code"),
    error=p("error"),
    duration_ms=p("duration_ms"),
    owner=p("owner"),
)
ATTEMPTS = (
    sa.select(WA.delivery_id, WA.attempt, WA.at, WA.ok, WA.status_code, WA.error, WA.duration_ms)
    .where(WA.delivery_id == p("delivery_id"))
    .order_by(WA.attempt, WA.id)
)
