"""Request bodies and the main responses of the API, as pydantic models (the OpenAPI schema).

Responses are built from the domain objects' `to_dict()`, the same documents the CLI prints
with `--json`; these models describe them, they do not replace them.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, NotRequired, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from ..domain.access import MAX_PATTERN_LENGTH, ROLES
from ..domain.names import MAX_ENVIRONMENT_LENGTH, MAX_NAME_LENGTH, MAX_NUMBER
from ..domain.roles import MAX_ISSUER_LENGTH

T = TypeVar("T")

JSON = Any


class Error(BaseModel):
    """Every error: a stable `code` (e.g. `not_found`, `forbidden`) and a human message."""

    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next (null: the end)."""

    items: list[T]
    next_cursor: str | None


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    audit_size: int


class WhoAmI(BaseModel):
    user: str
    role: str | None
    model_pattern: str | None
    token_id: str | None
    authentication: dict[str, Any]
    authenticated_as: str
    service_account: bool
    grants: list[dict[str, Any]]


class SignOnOut(BaseModel):
    """The identity provider the web UI and `modelrepo login` sign in through."""

    issuer: str
    client_id: str
    scopes: str


class AuthConfigOut(BaseModel):
    oidc: SignOnOut | None = Field(description="null: the server trusts no identity provider.")


class SessionOut(BaseModel):
    """Who the request acts as and, when a web session's cookie authenticated it, the CSRF
    token every change made with that cookie repeats (`X-CSRF-Token`)."""

    principal: dict[str, Any]
    csrf_token: str | None
    expires_at: str | None


# -- models and versions -------------------------------------------------------------------


class ModelOut(BaseModel):
    model: str
    created_at: str
    created_by: str
    latest_version: int
    version_count: int
    description: str
    tags: dict[str, str]


class ModelEventOut(BaseModel):
    seq: int
    model: str
    kind: str
    key: str | None
    value: str | None
    actor: str
    at: str


class FileOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    size: int
    sha256: str
    executable: bool


class VersionOut(BaseModel):
    model: str
    version: int
    digest: str
    created_at: str
    created_by: str
    description: str
    flavor: str
    params: dict[str, JSON]
    metrics: dict[str, float]
    tags: dict[str, str]
    signature: dict[str, JSON] | None
    lineage: dict[str, JSON]
    deprecated: bool
    deleted_at: str | None
    deleted_by: str | None
    size: int
    files: list[FileOut]


class VersionEventOut(BaseModel):
    seq: int
    model: str
    version: int
    kind: str
    key: str | None
    value: str | None
    actor: str
    at: str
    reason: str | None


class DiffOut(BaseModel):
    """Two versions compared: changed params, metrics (with deltas), tags, files, text diffs."""

    model_config = ConfigDict(extra="allow")

    a: str
    b: str
    same_content: bool
    metadata: dict[str, JSON]
    params: dict[str, JSON]
    metrics: dict[str, JSON]
    tags: dict[str, JSON]
    files: dict[str, JSON]
    text_diffs: dict[str, str]


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commit: str = Field(min_length=1, max_length=256)
    dirty: bool = False
    remote: str | None = None
    branch: str | None = None


class RegisterIn(BaseModel):
    """The `metadata` part of an upload (a JSON object); every field is optional."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, JSON] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    data: list[str] = Field(
        default_factory=list,
        description="Data references `URI[#ALGO:HEX]`; remote URIs only (no server paths).",
    )
    description: str = ""
    flavor: str = "generic"
    signature: dict[str, JSON] | None = None
    code: CodeIn | None = None
    executable: list[str] = Field(
        default_factory=list, description="Paths of uploaded files to mark executable."
    )
    number: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The version's number instead of the next one (to keep another "
        "registry's numbers); above every number the model ever had, else 409.",
    )
    trusted_types: list[str] = Field(
        default_factory=list,
        description="Types the files need trusted to load (skops), recorded with the version; "
        "the token needs the `trust` permission too.",
    )
    sign: bool = Field(
        default=False,
        description="Sign the version with the store's key as it is registered (also done "
        "when a signing policy says so); the token needs the `version.sign` operation.",
    )
    uploads: dict[str, str] = Field(
        default_factory=dict,
        max_length=10_000,
        description="Files sent beforehand as resumable uploads: path in the version -> "
        "the id of a complete upload session of this model, made by the same caller.",
    )

    def options(self) -> dict[str, Any]:
        """What `Registry.register` and `register_stored` take from it, as keywords."""
        from ..domain.model import CodeRef

        return {
            "params": self.params,
            "metrics": self.metrics,
            "tags": self.tags,
            "data": self.data,
            "description": self.description,
            "flavor": self.flavor,
            "signature": self.signature,
            "code": CodeRef(**self.code.model_dump()) if self.code else False,
            "number": self.number,
            "trusted_types": self.trusted_types,
            "sign": self.sign,
        }


class DeletedVersionIn(BaseModel):
    """A version another registry deleted, recorded here by its number with no files."""

    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=10_000)


class TrustIn(BaseModel):
    """Types to trust for a version, and why."""

    model_config = ConfigDict(extra="forbid")

    types: list[str] = Field(min_length=1, description="Dotted type names, as skops names them.")
    reason: str = Field(description="Why they are trusted (recorded).")


class TrustOut(BaseModel):
    model: str
    version: int
    trusted_types: list[str] = Field(description="Every type now trusted for the version.")


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str


class ModelIn(BaseModel):
    """A model created before its first version."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class RenameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_name: str = Field(min_length=1, max_length=256)
    reason: str | None = Field(default=None, max_length=10_000)


class DescriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str


class DeprecateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deprecated: bool = True
    reason: str | None = None


# -- deployments ---------------------------------------------------------------------------


class DeployIn(BaseModel):
    """Deploy one `version` (all traffic), or share traffic with `split` ({"7": 0.9, ...})."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, le=MAX_NUMBER)
    split: dict[str, float] | None = None
    reason: str | None = None
    effective_at: str | None = Field(default=None, description="ISO-8601 with a zone.")


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = None
    effective_at: str | None = Field(default=None, description="ISO-8601 with a zone.")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = None


class AllocationOut(BaseModel):
    version: int
    weight: float


class LiveVersionOut(AllocationOut):
    digest: str


AUTH_DESCRIPTION = (
    "How the actor authenticated: `method` oidc (with `issuer`, `subject`), token (with "
    "`token_id`, `minted_by`, `minted_via`) or local (asserted, not authenticated); null: "
    "recorded before this was kept."
)


def _auth_field() -> Any:
    return Field(default=None, description=AUTH_DESCRIPTION)


class EventOut(BaseModel):
    event_id: int
    model: str
    environment: str
    kind: str
    versions: list[AllocationOut]
    effective_at: str
    recorded_at: str
    backfill: bool
    actor: str
    reason: str | None
    request_id: int | None
    approved_by: str | None
    approved_at: str | None
    unknown_from: str | None = Field(
        default=None,
        description="An observation's: what served between this instant (null: the beginning "
        "of time) and effective_at is unknown.",
    )
    earliest_at: str | None = Field(
        default=None,
        description="An observation's bound: the earliest its versions could have started serving.",
    )
    actor_auth: dict[str, str] | None = _auth_field()
    approved_auth: dict[str, str] | None = _auth_field()


class RequestOut(BaseModel):
    request_id: int
    model: str
    environment: str
    kind: str
    versions: list[AllocationOut]
    effective_at: str | None
    requested_by: str
    requested_at: str
    reason: str | None
    status: str
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None
    event_id: int | None
    base_event_id: int | None
    requested_auth: dict[str, str] | None = _auth_field()
    decided_auth: dict[str, str] | None = _auth_field()


class OutcomeOut(BaseModel):
    """`status` is `live`, `scheduled` (an event) or `pending` (a request awaits approval)."""

    model_config = ConfigDict(extra="allow")

    status: str
    model: str
    environment: str
    kind: str
    versions: list[AllocationOut]
    event_id: int | None
    request_id: int | None
    recorded_at: str | None


class UnknownOut(BaseModel):
    """Why what served is unknown: an observation at `until` saw the environment, and
    nothing says what served between `since` (null: the beginning of time) and it."""

    since: str | None
    until: str
    reason: str
    earliest_at: str | None


class LiveOut(BaseModel):
    """What served; when that is unknown, `unknown` says why, `versions` is empty and `event`
    is the observation that leaves it unknown."""

    model: str
    environment: str
    at: str
    as_known_at: str | None
    versions: list[LiveVersionOut]
    event_id: int | None
    event: EventOut | None
    unknown: UnknownOut | None = None


class IntervalOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    environment: str
    versions: list[AllocationOut]
    from_: str | None = Field(alias="from", description="null: from the beginning of time")
    to: str | None
    event_id: int
    kind: str
    backfill: bool
    actor: str
    approved_by: str | None
    actor_auth: dict[str, str] | None = _auth_field()
    approved_auth: dict[str, str] | None = _auth_field()
    unknown: UnknownOut | None = Field(
        default=None, description="Set on a stretch during which what served is unknown."
    )


class EnvironmentOut(BaseModel):
    model: str
    environment: str
    protected: bool
    require_sso: bool = Field(
        default=False, description="Requests and approvals only from identity-provider users."
    )
    created_at: str
    created_by: str
    changes: list[dict[str, JSON]]


# -- decisions -----------------------------------------------------------------------------


class DecisionIn(BaseModel):
    """One decision: the version is given, or resolved from `environment` at `decided_at`."""

    model_config = ConfigDict(extra="forbid")

    model: str
    inputs: JSON
    output: JSON
    environment: str | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_NUMBER)
    decision_id: str | None = None
    decided_at: str | None = Field(default=None, description="ISO-8601 with a zone.")
    metadata: dict[str, JSON] | None = None


class DecisionBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decisions: list[DecisionIn] = Field(min_length=1, max_length=10_000)


# The same two bodies as plain dicts, for the routes that validate them in one pass
# (`routes.common.read_json`); tests/server/test_bodies.py keeps them equal to the models.


@with_config(ConfigDict(extra="forbid"))
class DecisionRow(TypedDict):
    model: str
    inputs: JSON
    output: JSON
    environment: NotRequired[str | None]
    version: NotRequired[Annotated[int | None, Field(ge=1, le=MAX_NUMBER)]]
    decision_id: NotRequired[str | None]
    decided_at: NotRequired[str | None]
    metadata: NotRequired[dict[str, JSON] | None]


@with_config(ConfigDict(extra="forbid"))
class DecisionBatchRows(TypedDict):
    decisions: Annotated[list[DecisionRow], Field(min_length=1, max_length=10_000)]


DECISION_BATCH = TypeAdapter(DecisionBatchRows)


class BatchOut(BaseModel):
    recorded: int


class DecisionOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    decision_id: str
    model: str
    version: int


# -- audit ---------------------------------------------------------------------------------


class VerifyOut(BaseModel):
    ok: bool
    size: int
    root_hash: str | None
    checkpoints_checked: int
    first_bad_seq: int | None
    problems: list[JSON]


class CheckpointOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    size: int


class ProofOut(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- webhooks ------------------------------------------------------------------------------


class WebhookIn(BaseModel):
    """A subscription: `url` (https) receives `events` of models matching `model_pattern`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    model_pattern: str = "*"
    events: list[str] = Field(min_length=1, max_length=16)
    allow_private: bool = Field(
        default=False, description="Allow loopback and private targets, and plain http."
    )


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    model_pattern: str
    events: list[str]
    allow_private: bool
    created_at: str
    created_by: str
    disabled_at: str | None
    disabled_by: str | None


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown only in this answer.")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    delivery_id: int
    webhook_id: str
    event_id: str
    kind: str
    status: str
    attempts: int


# -- version lifecycle, serving, replay, reports, maintenance --------------------------------


class DeleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=10_000)


class ResolveOut(BaseModel):
    model: str
    version: int


class SourceIn(BaseModel):
    """Register what the server fetches from `source` (an https:// or s3:// URI under one of
    the prefixes the server allows): a single file, or a tar or zip archive unpacked."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=2048)
    metadata: RegisterIn = Field(default_factory=RegisterIn)


class ImportRecordIn(BaseModel):
    """One past deployment: `versions` {"7": 1.0} (empty for an undeploy); or, with `kind`
    "observe", what a source that keeps no history served when it was looked at
    (`effective_at`), what it served before that being unknown back to `unknown_from`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["observe"] | None = None
    environment: str = Field(min_length=1, max_length=MAX_ENVIRONMENT_LENGTH)
    effective_at: str = Field(max_length=64, description="ISO-8601 with a zone.")
    versions: dict[str, float] = Field(default_factory=dict)
    reason: str | None = None
    unknown_from: str | None = Field(
        default=None, max_length=64, description="An observation's: null, the beginning of time."
    )
    earliest_at: str | None = Field(
        default=None, max_length=64, description="An observation's bound."
    )


class ImportDeploymentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=1024, description="Where the history came from.")
    records: list[ImportRecordIn] = Field(max_length=100_000)


# -- decision data: columns, imports, stored inputs, policy --------------------------------


class DecisionColumnsIn(BaseModel):
    """Decisions of one model, column by column (`Registry.log_decision_columns`): `outputs`
    sets how many there are; every other list has one value per decision, and
    `decided_at`/`metadata` may also be one value for all."""

    model_config = ConfigDict(extra="forbid")

    outputs: list[JSON]
    environment: str | None = Field(default=None, max_length=MAX_ENVIRONMENT_LENGTH)
    version: int | None = Field(default=None, ge=1, le=MAX_NUMBER, strict=True)
    decided_at: list[str | None] | str | None = Field(
        default=None, description="ISO-8601 with a zone (default: now)."
    )
    inputs: list[JSON] | None = None
    inputs_digests: list[str] | None = None
    decision_ids: list[str | None] | None = None
    metadata: list[dict[str, JSON] | None] | dict[str, JSON] | None = None


@with_config(ConfigDict(extra="forbid"))
class DecisionColumnsRows(TypedDict):
    outputs: list[JSON]
    environment: NotRequired[Annotated[str | None, Field(max_length=MAX_ENVIRONMENT_LENGTH)]]
    version: NotRequired[Annotated[int | None, Field(ge=1, le=MAX_NUMBER, strict=True)]]
    decided_at: NotRequired[list[str | None] | str | None]
    inputs: NotRequired[list[JSON] | None]
    inputs_digests: NotRequired[list[str] | None]
    decision_ids: NotRequired[list[str | None] | None]
    metadata: NotRequired[list[dict[str, JSON] | None] | dict[str, JSON] | None]


DECISION_COLUMNS = TypeAdapter(DecisionColumnsRows)


class ImportedOut(BaseModel):
    imported: int


class ServingStartIn(BaseModel):
    """A serving instance reports the version it now serves (`load_live` sends this)."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(min_length=1, max_length=128)
    host: str = Field(default="", max_length=255)
    version: int = Field(ge=1, le=MAX_NUMBER)
    digest: str = Field(min_length=1, max_length=128)


class ServingOut(BaseModel):
    """Observed serving next to what the history says; `drift` lists every period during
    which an instance served a version that was not live."""

    model_config = ConfigDict(extra="allow")

    model: str
    environment: str
    at: str
    ttl_seconds: float
    expected: list[int]
    serving: list[dict[str, JSON]]
    aged_out: list[dict[str, JSON]]
    drift: list[dict[str, JSON]]


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerance: float = Field(default=1e-9, ge=0)
    trust_pickle: bool = Field(
        default=False,
        description="Load a pickled version: refused unless the server was started trusting.",
    )


class ReplayOut(BaseModel):
    decision_id: str
    model: str
    version: int
    digest: str
    recorded: JSON
    replayed: JSON
    match: bool
    max_abs_diff: float
    tolerance: float


class ReportOut(BaseModel):
    """An evidence report (the JSON that `modelrepo report` writes beside its HTML)."""

    model_config = ConfigDict(extra="allow")


class GcIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


class FsckOut(BaseModel):
    ok: bool
    blobs_checked: int
    bytes_checked: int
    missing: list[dict[str, JSON]]
    corrupt: list[dict[str, JSON]]
    orphaned: list[dict[str, JSON]]
    partial_uploads: list[dict[str, JSON]]
    too_open: list[dict[str, str]] = Field(
        default=[],
        description="Files and folders of an embedded store more open than its mode allows "
        "(`path` inside the store, `mode` in octal).",
    )


class GcOut(BaseModel):
    dry_run: bool
    blobs_removed: int
    bytes_freed: int
    partial_uploads_removed: int
    upload_sessions_removed: int = 0


class DecisionInputsOut(BaseModel):
    decision_id: str
    inputs: JSON


class InputPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: str = Field(
        pattern="^(inline|blob|digest)$",
        description="Keep inputs in the record, in the blob store, or only their digest.",
    )
    retention_days: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)


class InputPolicyOut(BaseModel):
    model: str
    inputs: str
    retention_days: int | None


class PurgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="One model (default: every model).")


class PurgedOut(BaseModel):
    purged: dict[str, int] = Field(description="Inputs dropped, by model.")


# -- API tokens ----------------------------------------------------------------------------


class TokenIn(BaseModel):
    """A token with `role`, on models matching `model_pattern` (null: every model); never
    more than the caller may do itself. It acts as the caller (`user` null or the caller's
    own name), or as a service account (`svc:NAME`, admins only): never as another person."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, min_length=1, max_length=256)
    role: str = Field(pattern=f"^({'|'.join(ROLES)})$")
    model_pattern: str | None = Field(default=None, min_length=1, max_length=MAX_PATTERN_LENGTH)


class TokenOut(BaseModel):
    token_id: str
    user: str
    role: str
    model_pattern: str | None
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None
    kind: str = Field(description="`person`: acts as its minter; `service`: a service account.")
    minted_auth: dict[str, Any] | None = Field(
        description="How its minter was authenticated (null: not recorded)."
    )


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The API token itself; shown only in this answer.")


class RoleIn(BaseModel):
    """A role for the identity-provider user `principal` (their identity claim, e.g. an
    email), on models matching `model_pattern` (null: every model); never more than the
    calling token may do itself. `issuer` null: the server's identity provider."""

    model_config = ConfigDict(extra="forbid")

    principal: str = Field(min_length=1, max_length=256)
    role: str = Field(pattern=f"^({'|'.join(ROLES)})$")
    issuer: str | None = Field(default=None, min_length=1, max_length=MAX_ISSUER_LENGTH)
    model_pattern: str | None = Field(default=None, min_length=1, max_length=MAX_PATTERN_LENGTH)


class RoleBindingOut(BaseModel):
    binding_id: str
    issuer: str
    principal: str
    role: str
    model_pattern: str | None
    granted_at: str
    granted_by: str
    granted_auth: dict[str, Any] | None = Field(
        description="How the granter authenticated (method, and issuer and subject, or "
        "the API token's id); null if not recorded."
    )
    revoked_at: str | None
    revoked_by: str | None


# -- audit log -----------------------------------------------------------------------------


class ConsistencyOut(BaseModel):
    old_size: int
    new_size: int
    proof: list[str]


class AttemptOut(BaseModel):
    delivery_id: int
    attempt: int
    at: str
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class DenialOut(BaseModel):
    """A refused request, or its repeats within one window (`count`)."""

    id: int
    first_at: str
    last_at: str
    count: int
    user: str | None = Field(description="The user of the token, if it was recognised.")
    token_id: str | None = Field(description="The public id of the token presented, if any.")
    client: str | None
    method: str
    route: str = Field(description="The route template (`*`: the overflow record).")
    operation: str | None
    model: str | None
    reason: str
    status: int = Field(description="The status answered (0 in the overflow record).")


# -- signed versions -----------------------------------------------------------------------

MAX_BUNDLE_LENGTH = 32 * 1024 * 1024
"""A model signature lists every file's digest, about 170 bytes a file once in base64 (paths
of 20 characters): an archive's 100,000 files make a bundle of some 17 MB. The JSON body
limit bounds a request's bundles together."""


class SignIn(BaseModel):
    """Sign a version with the store's key; `reason` is kept in the audit log."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=10_000)


class SignaturesIn(BaseModel):
    """Signatures made elsewhere (Sigstore bundles v0.3, as `model_signing sign key` writes
    them, or `modelrepo sign --key` makes them): each is kept only if it verifies with a
    trusted, unrevoked key and states exactly this version's files, or its provenance."""

    model_config = ConfigDict(extra="forbid")

    bundles: list[Annotated[str, Field(min_length=1, max_length=MAX_BUNDLE_LENGTH)]] = Field(
        min_length=1, max_length=16
    )
    reason: str | None = Field(default=None, max_length=10_000)


class VersionSignatureOut(BaseModel):
    model: str
    version: int
    kind: Literal["model", "provenance"] = Field(
        description="`model`: the version's files (OpenSSF model-signing); `provenance`: "
        "its SLSA provenance."
    )
    key_id: str = Field(description="SHA-256 of the signing key's PEM (the bundle's key hint).")
    bundle_sha256: str
    signed_at: str
    signed_by: str
    bundle: str = Field(description="The Sigstore bundle, as `model_signing verify` reads it.")
    key_label: str | None = Field(
        default=None, description="Whose key it is, as trusted here (null: not trusted)."
    )
    standing: Literal["valid", "key revoked", "not trusted", "invalid"] | None = Field(
        default=None, description="Whether the signature counts now (checked again in full)."
    )
    standing_reason: str | None = Field(default=None, description="Why it does not count.")


class SigningKeyOut(BaseModel):
    key_id: str
    public_key: str = Field(description="PEM (SubjectPublicKeyInfo).")
    label: str
    added_at: str
    added_by: str
    revoked_at: str | None
    revoked_by: str | None
    revoked_reason: str | None
    active: bool


class TrustKeyIn(BaseModel):
    """A public key (PEM, EC P-256, P-384 or P-521) to trust for signing versions."""

    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(min_length=1, max_length=10_000)
    label: str = Field(min_length=1, max_length=256, description="Whose key it is.")


class RevokeKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=10_000)


class SigningPolicyIn(BaseModel):
    """`store` (no name): sign every new version; `model` NAME: sign that model's new
    versions; `environment` NAME: deploy only versions with a valid signature there (by one
    of `keys`, when given)."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["store", "model", "environment"]
    name: str = Field(default="", max_length=max(MAX_ENVIRONMENT_LENGTH, MAX_NAME_LENGTH))
    enabled: bool
    keys: list[Annotated[str, Field(min_length=8, max_length=64, pattern="^[0-9a-f]+$")]] = Field(
        default_factory=list,
        max_length=100,
        description="An environment's accepted keys: trusted key ids or unique prefixes "
        "(8 hex characters or more); none: any trusted key.",
    )


class SigningPolicyOut(BaseModel):
    scope: str
    name: str
    enabled: bool
    set_at: str
    set_by: str
    keys: list[str] = Field(description="The key ids an environment accepts (none: any).")


class UploadIn(BaseModel):
    """A resumable upload of one file: its size, and the part size wanted (by default
    32 MiB, or larger so that the file fits in 10,000 parts)."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=0, le=5 << 40, description="The file's size in bytes.")
    part_size: int | None = Field(
        default=None, ge=1, le=1 << 30, description="Bytes per part (all but the last)."
    )


class UploadPartOut(BaseModel):
    number: int
    size: int
    sha256: str
    at: str = Field(description="When the part was held.")


class UploadOut(BaseModel):
    """A resumable upload as it stands: the parts held, those missing, when it lapses."""

    id: str
    model: str
    size: int
    part_size: int
    part_count: int
    parts: list[UploadPartOut]
    missing: list[int] = Field(description="Numbers of the parts still to send.")
    complete: bool
    sha256: str | None = Field(description="The whole file's SHA-256, once complete.")
    created_at: str
    expires_at: str = Field(description="When it lapses if no part arrives before.")


class UploadCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-f]{64}$",
        description="The whole file's SHA-256, checked when given (every part was checked "
        "against its own already, so the file is the sender's either way).",
    )
