"""Decision use-cases: log (one or in bulk), explain, list, import. Used by `Registry`."""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .domain.canonical import canonical_text, canonical_texts, number_records
from .domain.decisions import (
    LIVE_UNKNOWN,
    NO_ENVIRONMENT,
    NOT_LIVE,
    VERSION_UNKNOWN,
    DecisionColumns,
    canonical_json,
    check_decision_id,
    check_decision_ids,
    check_inputs_digest,
    check_inputs_digests,
    flags_json,
    inputs_digest,
)
from .domain.deployments import (
    OBSERVE,
    DeploymentEvent,
    Unknown,
    check_environment_name,
    live_event,
    unknown_at,
)
from .domain.errors import InvalidInput, NotFound
from .domain.names import validate_model_name
from .domain.outputs import canonical_outputs
from .domain.principals import auth_dict
from .domain.times import format_time, from_micros, parse_time, to_micros

if TYPE_CHECKING:
    from .api import RegistryAPI


_MISSING: Any = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_FLAGS = flags_json(())


class _History:
    """The deployment history of one model in one environment, loaded once per batch:
    effective times in microseconds, and the versions each event made live."""

    def __init__(self, events: Iterable[DeploymentEvent]) -> None:
        ordered = sorted(events, key=lambda e: e.order)
        self.starts = [to_micros(e.effective_at) for e in ordered]
        self.versions = [tuple(a.version for a in e.versions) for e in ordered]
        self.newest = max((e.event_id for e in ordered), default=0)
        # What observations leave unknown (`DeploymentEvent.covers`): open (from, to) stretches.
        self.observations = [e for e in ordered if e.kind == OBSERVE]

    def unknown(self, micros: int) -> Unknown | None:
        """Why what served at `micros` is unknown, or None when it is known."""
        if not self.observations:
            return None
        return unknown_at(live_event(self.observations, from_micros(micros)), from_micros(micros))

    def position(self, micros: int) -> int:
        """1 + the index of the event in force at `micros` (0: before any event)."""
        return bisect.bisect_right(self.starts, micros)

    def live(self, position: int) -> tuple[int, ...]:
        return self.versions[position - 1] if position else ()

    def positions(self, times: list[int]) -> list[int] | int:
        """The event position of each time; one number when a single event spans them all
        (the usual batch: found from its first and last time, not row by row) and no
        observation leaves any of them unknown."""
        first = self.position(min(times))
        if not self.observations and first == self.position(max(times)):
            return first
        return [bisect.bisect_right(self.starts, t) for t in times]


class _Batch:
    """What a batch looks up once, however many decisions it holds."""

    def __init__(self, reg: RegistryAPI) -> None:
        self.store = reg.backend.metadata
        self._histories: dict[tuple[str, str], _History] = {}
        self._known: dict[tuple[str, int], bool] = {}

    def history(self, model: str, env: str) -> _History:
        found = self._histories.get((model, env))
        if found is None:
            found = _History(self.store.deployment_events(model, env))
            self._histories[(model, env)] = found
        return found

    def seen(self) -> dict[tuple[str, str], int]:
        """The newest event of each history the batch was checked against."""
        return {key: history.newest for key, history in self._histories.items()}

    def known(self, model: str, version: int) -> bool:
        found = self._known.get((model, version))
        if found is None:
            try:
                self.store.digest(model, version)
                found = True
            except NotFound:
                found = False
            self._known[(model, version)] = found
        return found

    def versions(
        self, model: str, env: str | None, version: int | None, times: list[int]
    ) -> tuple[list[int], str, list[str]]:
        """(version, how it was obtained, flags as JSON) of each decision of one (model,
        environment, given version or None) in the batch, decided at `times`."""
        count = len(times)
        if version is None:
            if env is None:
                raise InvalidInput(
                    "a decision needs its version, or an environment to resolve it from"
                )
            history = self.history(model, env)
            found = history.positions(times)
            positions = [found] * count if isinstance(found, int) else found
            resolved = []
            for position, when in zip(positions, times, strict=True):
                unknown = history.unknown(when)
                if unknown is not None:
                    raise InvalidInput(
                        f"what was live in {model}@{env} at {format_time(from_micros(when))} is "
                        f"{unknown.describe()}: give the version"
                    )
                live = history.live(position)
                if len(live) != 1:
                    what = "nothing was live" if not live else "traffic was split"
                    raise InvalidInput(
                        f"{what} in {model}@{env} at {format_time(from_micros(when))}: "
                        "give the version"
                    )
                resolved.append(live[0])
                if isinstance(found, int):  # one event for all: its version for all
                    return [live[0]] * count, "resolved", [_NO_FLAGS] * count
            return resolved, "resolved", [_NO_FLAGS] * count
        base = () if self.known(model, version) else (VERSION_UNKNOWN,)
        if env is None:
            return [version] * count, "given", [flags_json((*base, NO_ENVIRONMENT))] * count
        history = self.history(model, env)
        was_live, not_live = flags_json(base), flags_json((*base, NOT_LIVE))
        unchecked = flags_json((*base, LIVE_UNKNOWN))
        found = history.positions(times)
        if isinstance(found, int):
            flags = was_live if version in history.live(found) else not_live
            return [version] * count, "given", [flags] * count
        return (
            [version] * count,
            "given",
            [
                unchecked
                if history.unknown(t) is not None
                else was_live
                if version in history.live(p)
                else not_live
                for p, t in zip(found, times, strict=True)
            ],
        )


@dataclass
class Given:
    """Decisions as sent, column by column, before any check: from records, from a caller's
    columns, or from a Parquet table. A column left None was not sent at all."""

    models: list[Any]
    environments: list[Any]
    versions: list[Any]
    outputs: list[Any]
    decided_at: list[Any] | None = None  # datetimes or ISO text; None (or None in it): now
    inputs: list[Any] | None = None  # with `_MISSING` where a decision sent none
    inputs_digests: list[Any] | None = None  # None where a decision sent none
    metadata: list[Any] | None = None
    decision_ids: list[Any] | None = None  # a missing (None or "") id is generated
    decided_micros: list[int | None] | None = None  # instead of `decided_at`, when known


_FIELDS = ("model", "environment", "version", "output", "decided_at", "inputs",
           "inputs_digest", "metadata", "decision_id")  # fmt: skip
"""The fields a decision record may have."""


def prepare(reg: RegistryAPI, records: Iterable[Mapping[str, Any]]) -> DecisionColumns:
    """Validate records, resolve or check versions against the history, apply input policy."""
    rows = records if isinstance(records, list) else list(records)
    if set(map(type, rows)) - {dict} and not all(isinstance(r, Mapping) for r in rows):
        raise InvalidInput("a decision must be a JSON object (a mapping)")
    count = len(rows)
    fields = _same_fields(rows)
    if fields is None:  # records with different fields: field by field, record by record
        fields = {name: [r.get(name) for r in rows] for name in _FIELDS if name != "inputs"}
        fields["inputs"] = [r.get("inputs", _MISSING) for r in rows]
    inputs = fields.get("inputs")
    missing = count if inputs is None else inputs.count(_MISSING)

    def column(name: str) -> list[Any]:
        found = fields.get(name)
        return [None] * count if found is None else found

    return prepare_columns(
        reg,
        Given(
            models=column("model"),
            environments=column("environment"),
            versions=column("version"),
            outputs=column("output"),
            decided_at=column("decided_at"),
            inputs=None if rows and missing == count else inputs,
            inputs_digests=column("inputs_digest") if missing else None,
            metadata=column("metadata"),
            decision_ids=column("decision_id"),
        ),
    )


def _same_fields(rows: list[Mapping[str, Any]]) -> dict[str, list[Any]] | None:
    """The records' fields, one list per field present, when every record has the same known
    fields and no other (the usual batch): each field's column made in C, without a lookup
    per field and record in Python. None otherwise."""
    if not rows:
        return None
    names = [name for name in _FIELDS if name in rows[0]]
    if not names or len(rows[0]) != len(names) or len(set(map(len, rows))) != 1:
        return None
    try:  # each record has all the first one's fields, and as many: exactly those
        return {name: list(map(itemgetter(name), rows)) for name in names}
    except KeyError:
        return None


def prepare_columns(reg: RegistryAPI, given: Given) -> DecisionColumns:
    """Validate decisions given column by column, resolve or check their versions against the
    history, and apply the input policy.

    Whatever is the same for many decisions (names, versions, the deployment history, the
    input policy) is checked once per distinct value, not once per decision."""
    count = len(given.models)
    columns = [given.environments, given.versions, given.outputs, given.decided_at,
               given.inputs, given.inputs_digests, given.metadata, given.decision_ids,
               given.decided_micros]  # fmt: skip
    if any(column is not None and len(column) != count for column in columns):
        raise InvalidInput("every column needs one value per decision")
    batch = _Batch(reg)
    models: list[str] = given.models
    envs: list[str | None] = given.environments
    versions: list[int | None] = given.versions
    if not all([v.__class__ is int or v is None for v in versions]):
        for version in versions:  # True == 1.0 == 1: never let one pass for another below
            if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
                raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
        versions = [None if v is None else int(v) for v in versions]  # int subclasses
    # One model, environment and version for the whole batch (the usual case, and always
    # with `log_decision_columns`): every check below is then made once.
    one_model = count > 0 and _same(models)
    uniform = one_model and _same(envs) and _same(versions)
    for model, env in (
        [(models[0], envs[0])] if uniform else _distinct(zip(models, envs, strict=True))
    ):
        validate_model_name(model)
        if env is not None:
            check_environment_name(env)
    for version in versions[:1] if uniform else dict.fromkeys(versions):
        if version is not None and version < 1:
            raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
    now = to_micros(reg.clock.now())
    if given.decided_micros is not None:
        decided = [now if t is None else t for t in given.decided_micros]
    elif given.decided_at is not None:
        decided = _micros(given.decided_at, now)
    else:
        decided = [now] * count

    if uniform:
        if count:
            out_versions, source, flags = batch.versions(models[0], envs[0], versions[0], decided)
            sources = [source] * count
        else:
            out_versions, sources, flags = [], [], []
    else:  # several (model, environment, version): each checked once, then put in place
        members: dict[Any, list[int]] = {}
        for number, key in enumerate(zip(models, envs, versions, strict=True)):
            members.setdefault(key, []).append(number)
        out_versions, sources, flags = [0] * count, [""] * count, [""] * count
        for (model, env, version), numbers in members.items():
            found, source, found_flags = batch.versions(
                model, env, version, [decided[n] for n in numbers]
            )
            for n, v, f in zip(numbers, found, found_flags, strict=True):
                out_versions[n], sources[n], flags[n] = v, source, f

    if one_model:
        inputs_modes = [batch.store.input_mode(models[0])] * count
    else:
        modes = {model: batch.store.input_mode(model) for model in dict.fromkeys(models)}
        inputs_modes = [modes[m] for m in models]
    digests, stored = _inputs(reg, given.inputs, given.inputs_digests, models, inputs_modes)

    written = number_records(given.outputs)  # the usual outputs: checked and written at once
    if written is not None:
        outputs = written
    else:
        try:  # each in its canonical form first, refused naming where it is not JSON
            plain = canonical_outputs(given.outputs, "decision output")
        except RecursionError:
            raise InvalidInput("a decision output is nested too deeply") from None
        try:
            outputs = canonical_texts(plain)
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInput(f"decision record is not JSON: {exc}") from None
    sent = given.metadata
    metadata = [_metadata(m) for m in sent] if sent and any(sent) else ["{}"] * count

    ids: list[Any] = given.decision_ids or [None] * count
    prefix = uuid.uuid4().hex[:16]  # generated ids: one random prefix per batch, then a count
    if not any(ids):
        ids = [f"{prefix}-{number:07d}" for number in range(count)]
    elif all(ids):
        check_decision_ids(ids)
    else:
        ids = [
            check_decision_id(g) if g else f"{prefix}-{number:07d}" for number, g in enumerate(ids)
        ]
    return DecisionColumns(
        ids, models, envs, out_versions, sources, decided, digests, stored, inputs_modes,
        outputs, metadata, flags, batch.seen(),
    )  # fmt: skip


def as_column(values: Any, name: str) -> list[Any]:
    """A caller's column as a list: a list as it is, an array through its `to_pylist()`
    (Arrow) or `tolist()` (NumPy, pandas), any other sequence copied."""
    if isinstance(values, list):
        return values
    for method in ("to_pylist", "tolist"):
        convert = getattr(values, method, None)
        if callable(convert):
            return list(convert())
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise InvalidInput(f"{name}: expected one value per decision (a list or an array)")
    return list(values)


def _same(column: list[Any]) -> bool:
    """Whether every value equals the first (one pass in C; an empty column counts)."""
    return not column or column.count(column[0]) == len(column)


def _distinct(values: Iterable[Any]) -> Iterable[Any]:
    """Each value once (all of them, in order, if some cannot be hashed)."""
    values = list(values)
    try:
        return dict.fromkeys(values)
    except TypeError:
        return values


def _micros(whens: list[Any], now: int) -> list[int]:
    """Decision times in microseconds since the epoch (None: now)."""
    try:  # the usual case, every one a datetime with a time zone: one subtraction each
        return [(w - _EPOCH) // _MICROSECOND for w in whens]
    except TypeError:  # absent, text, or without a time zone: one by one
        return [now if w is None else to_micros(_time(w)) for w in whens]


def _inputs(
    reg: RegistryAPI,
    inputs: list[Any] | None,
    sent: list[Any] | None,
    models: list[str],
    modes: list[str],
) -> tuple[list[str], list[str | None]]:
    """(inputs digest, inputs kept inline or None) of each decision, by its model's policy;
    kept in the blob store as they go. `inputs` None: digest only, for every decision."""
    count = len(models)
    if inputs is None:  # digest only, sent by the caller
        if sent is None or None in sent:
            raise InvalidInput("a decision needs its inputs (or, digest only, their digest)")
        if not count:
            return [], []
        pairs = [(models[0], modes[0])] if _same(models) else zip(models, modes, strict=True)
        for model, mode in dict.fromkeys(pairs):
            _digest_only(model, mode)
        check_inputs_digests(sent)
        return sent, [None] * count
    digests: list[str] = []
    stored: list[str | None] = []
    blobs = reg.backend.blobs
    for number, (value, model, mode) in enumerate(zip(inputs, models, modes, strict=True)):
        if value is _MISSING:
            digest = None if sent is None else sent[number]
            if digest is None:
                raise InvalidInput("a decision needs its inputs (or, digest only, their digest)")
            _digest_only(model, mode)
            digests.append(check_inputs_digest(digest))
            stored.append(None)
            continue
        try:
            text = canonical_text(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInput(f"decision inputs are not JSON: {exc}") from None
        payload = text.encode()
        digests.append("sha256:" + hashlib.sha256(payload).hexdigest())
        if mode == "blob":
            blobs.put(io.BytesIO(payload))
        stored.append(text if mode == "inline" else None)
    return digests, stored


def _digest_only(model: str, mode: str) -> None:
    if mode != "digest":
        raise InvalidInput(
            f"{model} keeps decision inputs ({mode}): send them, not only their digest"
        )


def _metadata(value: Any) -> str:
    if not value:
        return "{}"
    if not isinstance(value, Mapping):
        raise InvalidInput("decision metadata must be a JSON object")
    return canonical_json(dict(value))


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        return parse_time(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"decision time {value.isoformat()} has no time zone")
        return value
    raise InvalidInput(f"invalid decision time {value!r}")


def stored_inputs(reg: RegistryAPI, decision_id: str) -> Any:
    """The inputs of a decision, from the record or the blob store; digest-only refuses."""
    decision = reg.backend.metadata.get_decision(decision_id)
    if decision.inputs_purged_at is not None:
        raise InvalidInput(
            f"the inputs of decision {decision_id!r} were purged on "
            f"{format_time(decision.inputs_purged_at)} under the model's retention policy; "
            "only their digest is kept"
        )
    if decision.inputs_mode == "inline":
        return decision.inputs
    if decision.inputs_mode == "blob":
        with reg.backend.blobs.open(decision.inputs_digest.removeprefix("sha256:")) as stream:
            data = stream.read()
        if inputs_digest(json.loads(data)) != decision.inputs_digest:
            raise InvalidInput(f"stored inputs of decision {decision_id!r} do not match")
        return json.loads(data)
    raise InvalidInput(
        f"decision {decision_id!r} kept only a digest of its inputs: they cannot be shown "
        "or replayed"
    )


def explain(reg: RegistryAPI, decision_id: str) -> dict[str, Any]:
    """The whole story of one decision, in one document."""
    decision = reg.backend.metadata.get_decision(check_decision_id(decision_id))
    story: dict[str, Any] = decision.to_dict()
    try:
        version = reg.get(decision.model, decision.version)
    except NotFound:
        version = None
    story["digest"] = version.digest if version else None
    story["lineage"] = version.lineage.to_dict() if version else None
    story["version_record"] = (
        {k: v for k, v in version.to_dict().items() if k not in ("lineage", "files")}
        if version
        else None
    )
    event = None
    unknown = None
    if decision.environment is not None:
        try:
            state = reg.live(decision.model, env=decision.environment, at=decision.decided_at)
        except NotFound:
            pass
        else:  # an unknown answer names no deployment: the observation came after
            event, unknown = (state.event, None) if state.unknown is None else (None, state.unknown)
    story["live_unknown"] = unknown.to_dict() if unknown else None
    story["deployment_event_id"] = event.event_id if event else None
    story["deployment"] = event.to_dict() if event else None
    story["approval"] = (
        {"approved_by": event.approved_by, "request_id": event.request_id,
         "approved_auth": auth_dict(event.approved_auth),
         "approved_at": format_time(event.approved_at) if event.approved_at else None}
        if event and event.approved_by
        else None
    )  # fmt: skip
    story["matches_history"] = bool(
        event and any(a.version == decision.version for a in event.versions)
    )
    return story


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Decision records from JSON Lines; a bad line is named with its number."""
    records = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"{path}:{number}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InvalidInput(f"{path}:{number}: a decision must be a JSON object")
            records.append(record)
    return records


def read_parquet(path: Path) -> Given:
    """Decisions from Parquet, column by column: one row per decision; nested `inputs`/
    `output`/`metadata` columns as structs, or as JSON text in `inputs_json`/`output_json`/
    `metadata_json`; `decided_at` a timestamp with a time zone, or ISO text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInput(
            "reading Parquet needs the 'parquet' extra: pip install 'modelrepo[parquet]'"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise InvalidInput(f"{path}: not a readable Parquet file ({exc})") from None
    count = table.num_rows
    names = set(table.column_names)

    def column(name: str) -> list[Any] | None:
        return table.column(name).to_pylist() if name in names else None

    def nested(name: str, absent: Any) -> list[Any]:
        values = column(name) or [absent] * count
        texts = column(f"{name}_json") or ()
        for number, text in enumerate(texts):
            if text is not None:
                try:
                    values[number] = json.loads(text)
                except ValueError as exc:
                    raise InvalidInput(
                        f"{path}: row {number + 1}: {name}_json is not JSON"
                    ) from exc
        return values

    inputs = nested("inputs", _MISSING)
    given = Given(
        models=column("model") or [None] * count,
        environments=column("environment") or [None] * count,
        versions=column("version") or [None] * count,
        outputs=nested("output", None),
        inputs=None if count and inputs.count(_MISSING) == count else inputs,
        inputs_digests=column("inputs_digest"),
        metadata=nested("metadata", None),
        decision_ids=column("decision_id"),
    )
    kind = table.schema.field("decided_at").type if "decided_at" in names else None
    if isinstance(kind, pa.TimestampType) and kind.tz is not None and kind.unit != "ns":
        # Microseconds straight from the column, without a datetime per decision.
        micros = table.column("decided_at").cast(pa.timestamp("us", tz="UTC"))
        given.decided_micros = micros.cast(pa.int64()).to_pylist()
    else:
        given.decided_at = column("decided_at")
    return given


def read_records(path: Path) -> list[dict[str, Any]] | Given:
    """Decisions from a JSON Lines file (records) or a Parquet file (columns), chosen by its
    suffix."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return read_parquet(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path)
    raise InvalidInput(f"{path}: expected a .jsonl or .parquet file")
