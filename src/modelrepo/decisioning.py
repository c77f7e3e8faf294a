"""Decision use-cases: log (one or in bulk), explain, list, import. Used by `Registry`."""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .domain.decisions import (
    NO_ENVIRONMENT,
    NOT_LIVE,
    VERSION_UNKNOWN,
    NewDecision,
    canonical_inputs,
    check_decision_id,
    check_inputs_digest,
    inputs_digest,
)
from .domain.deployments import DeploymentEvent, check_environment_name
from .domain.errors import InvalidInput, NotFound
from .domain.names import validate_model_name
from .domain.times import format_time, parse_time

if TYPE_CHECKING:
    from .service import Registry


class _History:
    """Deployment history of the environments a batch touches, loaded once per batch."""

    def __init__(self, reg: Registry) -> None:
        self._reg = reg
        self._events: dict[tuple[str, str], tuple[list[tuple[datetime, int]], list[Any]]] = {}

    def at(self, model: str, env: str, when: datetime) -> DeploymentEvent | None:
        key = (model, env)
        if key not in self._events:
            events = sorted(
                self._reg.backend.metadata.deployment_events(model, env), key=lambda e: e.order
            )
            self._events[key] = ([e.order for e in events], events)
        orders, events = self._events[key]
        position = bisect.bisect_right(orders, (when, 2**62))
        return events[position - 1] if position else None


def prepare(reg: Registry, records: Iterable[Mapping[str, Any]]) -> list[NewDecision]:
    """Validate records, resolve or check versions against the history, apply input policy."""
    store = reg.backend.metadata
    history = _History(reg)
    modes: dict[str, str] = {}
    known: dict[tuple[str, int], bool] = {}
    now = reg.clock.now()
    prepared = []
    names: set[tuple[Any, Any]] = set()
    prefix = uuid.uuid4().hex[:16]  # generated ids: one random prefix per batch, then a count
    for number, record in enumerate(records):
        model: str = record.get("model")  # type: ignore[assignment]  # checked just below
        env = record.get("environment")
        if (model, env) not in names:
            validate_model_name(model)
            if env is not None:
                check_environment_name(env)
            names.add((model, env))
        when = record.get("decided_at")
        decided_at = when if isinstance(when, datetime) and when.tzinfo else _time(when) or now
        flags: list[str] = []
        version = record.get("version")
        if version is None:
            if env is None:
                raise InvalidInput(
                    "a decision needs its version, or an environment to resolve it from"
                )
            event = history.at(model, env, decided_at)
            live = event.versions if event else ()
            if len(live) != 1:
                what = "nothing was live" if not live else "traffic was split"
                raise InvalidInput(
                    f"{what} in {model}@{env} at {format_time(decided_at)}: give the version"
                )
            version, source = live[0].version, "resolved"
        else:
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
            source = "given"
            if (model, version) not in known:
                try:
                    store.digest(model, version)
                    known[(model, version)] = True
                except NotFound:
                    known[(model, version)] = False
            if not known[(model, version)]:
                flags.append(VERSION_UNKNOWN)
            if env is None:
                flags.append(NO_ENVIRONMENT)
            else:
                event = history.at(model, env, decided_at)
                if event is None or all(a.version != version for a in event.versions):
                    flags.append(NOT_LIVE)
        mode = modes.get(model) or modes.setdefault(model, store.input_mode(model))
        inputs = record.get("inputs")
        if "inputs" not in record:
            # A caller that keeps its own inputs may send only their digest.
            if "inputs_digest" not in record:
                raise InvalidInput("a decision needs its inputs (or, digest only, their digest)")
            if mode != "digest":
                raise InvalidInput(
                    f"{model} keeps decision inputs ({mode}): send them, not only their digest"
                )
            digest = check_inputs_digest(record["inputs_digest"])
        else:
            payload = canonical_inputs(inputs)
            digest = "sha256:" + hashlib.sha256(payload).hexdigest()
            if mode == "blob":
                reg.backend.blobs.put(io.BytesIO(payload))
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise InvalidInput("decision metadata must be a JSON object")
        given = record.get("decision_id")
        prepared.append(
            NewDecision(
                check_decision_id(given) if given else f"{prefix}-{number:07d}",
                model,
                env,
                version,
                source,
                decided_at,
                digest,
                inputs if mode == "inline" else None,
                mode,
                record.get("output"),
                metadata,
                tuple(flags),
            )
        )
    return prepared


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_time(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"decision time {value.isoformat()} has no time zone")
        return value
    raise InvalidInput(f"invalid decision time {value!r}")


def stored_inputs(reg: Registry, decision_id: str) -> Any:
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


def explain(reg: Registry, decision_id: str) -> dict[str, Any]:
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
    if decision.environment is not None:
        try:
            event = reg.live(decision.model, env=decision.environment, at=decision.decided_at).event
        except NotFound:
            event = None
    story["deployment_event_id"] = event.event_id if event else None
    story["deployment"] = event.to_dict() if event else None
    story["approval"] = (
        {"approved_by": event.approved_by, "request_id": event.request_id,
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
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
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


def read_parquet(path: Path) -> list[dict[str, Any]]:
    """Decision records from Parquet: one row per decision; nested `inputs`/`output`/
    `metadata` columns as structs, or as JSON text in `inputs_json`/`output_json`/
    `metadata_json`; `decided_at` a timestamp with a time zone, or ISO text."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInput(
            "reading Parquet needs the 'parquet' extra: pip install 'modelrepo[parquet]'"
        ) from None
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise InvalidInput(f"{path}: not a readable Parquet file ({exc})") from None
    records = []
    for number, row in enumerate(rows, 1):
        record = dict(row)
        for name in ("inputs", "output", "metadata"):
            text = record.pop(f"{name}_json", None)
            if text is not None:
                try:
                    record[name] = json.loads(text)
                except ValueError as exc:
                    raise InvalidInput(f"{path}: row {number}: {name}_json is not JSON") from exc
        records.append(record)
    return records


def read_records(path: Path) -> list[dict[str, Any]]:
    """Decision records from a JSON Lines or Parquet file, chosen by its suffix."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return read_parquet(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path)
    raise InvalidInput(f"{path}: expected a .jsonl or .parquet file")
