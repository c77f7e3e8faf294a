"""Import an MLflow model registry: registered models, versions, aliases and legacy stages.

The source is read through MLflow's own client (`MlflowClient(tracking_uri=URI)`), so a file
store, an SQLite or other SQL store and a tracking server all work; artifacts come from the
source's artifact store through MLflow's artifact repositories.

- Each registered model becomes a model (its name lowercased, other characters as '-').
- Each READY version becomes a version, in MLflow's version order, with the files of its
  artifacts, its description, its tags, the params and metrics of the run that made it, and
  tags naming where it came from (`import.ref` = `mlflow:NAME/VERSION`, `import.from` = the
  tracking URI without credentials, `import.created_at`, `mlflow.run_id`). modelrepo numbers
  versions itself; the number is MLflow's when the model is new and MLflow's versions have
  no gaps, and the report gives the mapping either way.
- The registered model's description and tags become the model's own description and tags
  (each change recorded; importing again changes nothing that is already equal).
- Each alias becomes a deploy to the environment named like the alias. MLflow does not keep
  when an alias was set, so the event is effective at the creation time of the version the
  alias names (the earliest instant it can have named it); its reason says so.
- A legacy stage (Staging, Production) becomes a deploy to the environment `staging` or
  `production`, effective at the version's `last_updated_timestamp` (the stage transition,
  or a later edit of the version). MLflow keeps no stage history, only the current stage;
  `Archived` names no environment and is reported.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..domain.errors import InvalidInput, ModelrepoError
from ..domain.model import MODEL_DESCRIPTION_LIMIT, check_metrics, check_params
from ..domain.names import validate_key
from ..lineage import redact_remote
from .common import (
    ImportReport,
    PlannedEvent,
    check_source_path,
    local_name,
    record_events,
    record_version,
    refuse_links,
    tree_manifest,
)

if TYPE_CHECKING:
    from ..registry import Registry

SCHEMES = ("file", "sqlite", "postgresql", "mysql", "mssql", "http", "https")
"""Tracking URI schemes accepted (SQL schemes may name a driver, e.g. postgresql+psycopg)."""
STAGES = {"Staging": "staging", "Production": "production"}
PAGE = 1000


def parse_tracking_uri(uri: str) -> tuple[str, str]:
    """The URI for MLflow's client, and the location to record (no credentials, no query).

    A plain path is a file store. Any other scheme is refused."""
    if not uri or any(c in uri for c in "\x00\r\n"):
        raise InvalidInput("invalid MLflow tracking URI: empty or with control characters")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme:
        path = Path(uri).resolve()
        if not path.is_dir():
            raise InvalidInput(f"no MLflow file store at {uri!r}")
        client_uri = path.as_uri()
        return client_uri, client_uri
    base, plus, _driver = scheme.partition("+")
    if base not in SCHEMES or (plus and base in ("file", "http", "https")):
        raise InvalidInput(
            f"unsupported MLflow tracking URI scheme {parts.scheme!r}: use one of "
            f"{', '.join(SCHEMES)} or a folder path"
        )
    if scheme in ("http", "https", "file") and parts.fragment:
        raise InvalidInput("an MLflow tracking URI has no #fragment")
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return uri, uri
    location = redact_remote(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    return uri, location


def import_mlflow(reg: Registry, tracking_uri: str, *, models: Sequence[str] = ()) -> ImportReport:
    """Import every registered model of the MLflow registry at `tracking_uri` (or those
    named in `models`); running it again records nothing twice."""
    client_uri, location = parse_tracking_uri(tracking_uri)
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:  # pragma: no cover - depends on the installation
        raise InvalidInput(
            "importing from MLflow needs mlflow: pip install 'modelrepo[mlflow]'"
        ) from None
    report = ImportReport(f"mlflow {location}")
    # MLflow's file registry store opens a client with the default tracking URI (which
    # would create ./mlflow.db): that default is the source while importing.
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    try:
        with _read_only(client_uri) as client_uri, _use_tracking_uri(client_uri):
            client = MlflowClient(tracking_uri=client_uri, registry_uri=client_uri)
            names = list(models) or [m.name for m in _registered_models(client)]
            taken: dict[str, str] = {}
            for name in names:
                try:
                    model = local_name(name)
                except InvalidInput as exc:
                    report.skip(f"registered model {name!r}", str(exc))
                    continue
                if taken.setdefault(model, name) != name:
                    report.skip(
                        f"registered model {name!r}",
                        f"{taken[model]!r} becomes model {model} too: the names must differ",
                    )
                    continue
                _import_model(reg, report, client, client_uri, location, name, model)
    except MlflowException as exc:
        raise InvalidInput(f"MLflow at {location}: {exc.message}") from None
    return report


@contextlib.contextmanager
def _read_only(client_uri: str) -> Iterator[str]:
    """The URI to read the source through, such that the import leaves it as it found it.

    MLflow's client upgrades an SQLite store in place when its schema is older than the
    client (or lacks a table the client knows), after which the team's own MLflow may refuse
    it: an SQLite source is therefore read from a consistent copy (SQLite's online backup,
    opened read-only), removed afterwards."""
    scheme, sep, rest = client_uri.partition(":///")
    if scheme.lower() != "sqlite" or not sep or rest.startswith(":memory:") or "?" in rest:
        yield client_uri
        return
    import sqlite3

    source = Path(rest)  # `sqlite:////abs/path`, or relative to here as SQLAlchemy reads it
    if not source.is_file():
        raise InvalidInput(f"no MLflow SQLite store at {source}")
    with tempfile.TemporaryDirectory(prefix="modelrepo-mlflow-") as folder:
        copy = Path(folder) / "mlflow.db"
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            writer = sqlite3.connect(copy)
            try:
                reader.backup(writer)
            finally:
                writer.close()
        except sqlite3.Error as exc:
            raise InvalidInput(f"cannot read the MLflow SQLite store at {source}: {exc}") from None
        finally:
            reader.close()
        yield f"sqlite:///{copy}"


def _registered_models(client: Any) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_registered_models(max_results=PAGE, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _model_versions(client: Any, name: str) -> list[Any]:
    found: list[Any] = []
    token = None
    while True:
        page = client.search_model_versions(f"name = '{name}'", max_results=PAGE, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return sorted(found, key=lambda v: int(v.version))


def _time(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


def _import_model(
    reg: Registry,
    report: ImportReport,
    client: Any,
    client_uri: str,
    location: str,
    name: str,
    model: str,
) -> None:
    from mlflow.exceptions import MlflowException

    if "'" in name or "\\" in name:
        report.skip(f"registered model {name!r}", "quotes in a name cannot be searched for")
        return
    registered = client.get_registered_model(name)
    numbers: dict[str, int] = {}
    created: dict[str, datetime] = {}
    planned: list[PlannedEvent] = []
    for mv in _model_versions(client, name):
        what = f"{name} version {mv.version}"
        if mv.status != "READY":
            report.skip(what, f"MLflow status {mv.status}: no complete artifacts to import")
            continue
        try:
            number = _import_version(reg, report, client, client_uri, location, model, mv)
        except (InvalidInput, OSError) as exc:
            report.skip(what, str(exc))
            continue
        except MlflowException as exc:  # e.g. artifacts missing from the artifact store
            report.skip(what, exc.message)
            continue
        if number is None:
            continue
        numbers[str(mv.version)] = number
        created_at = _time(mv.creation_timestamp)
        if created_at is not None:
            created[str(mv.version)] = created_at
        planned.extend(_stage_event(report, name, mv, number))
    if numbers:
        _model_metadata(reg, report, registered, model)
    for alias, version in sorted((registered.aliases or {}).items()):
        event = _alias_event(report, name, alias, str(version), numbers, created)
        if event is not None:
            planned.append(event)
    for item in report.versions:
        if item["model"] == model and item["source_ref"].startswith(f"mlflow:{name}/"):
            item["renumbered"] = str(item["version"]) != item["source_version"]
    if planned:
        record_events(reg, report, model, report.source, planned)


def _model_metadata(reg: Registry, report: ImportReport, registered: Any, model: str) -> None:
    """The registered model's description and tags onto `model` (which now exists); a value
    already equal records nothing, so importing again is a no-op."""
    found = reg.model(model)
    description = (registered.description or "")[:MODEL_DESCRIPTION_LIMIT]
    if description and found.description != description:
        reg.describe_model(model, description)
    for key, value in sorted((registered.tags or {}).items()):
        if found.tags.get(key) == str(value):
            continue
        try:
            reg.tag_model(model, key, str(value))
        except InvalidInput as exc:
            report.skip(f"registered model {registered.name!r} tag {key!r}", str(exc))


def _import_version(
    reg: Registry,
    report: ImportReport,
    client: Any,
    client_uri: str,
    location: str,
    model: str,
    mv: Any,
) -> int | None:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    ref = f"mlflow:{mv.name}/{mv.version}"
    download_uri = client.get_model_version_download_uri(mv.name, mv.version)
    repo: Any = get_artifact_repository(
        download_uri, tracking_uri=client_uri, registry_uri=client_uri
    )
    _refuse_local_links(repo)
    listed = set(_list_files(repo, None))
    if not listed:
        raise InvalidInput(f"no artifacts at {redact_remote(download_uri)}")
    params: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    tags = {k: str(v) for k, v in (mv.tags or {}).items()}
    if mv.run_id:
        tags["mlflow.run_id"] = mv.run_id
        run = client.get_run(mv.run_id)
        params = _valid(report, ref, "param", dict(run.data.params), check_params)
        metrics = _valid(report, ref, "metric", dict(run.data.metrics), check_metrics)
    if mv.source:
        tags["mlflow.source"] = redact_remote(str(mv.source))[:4096]
    with tempfile.TemporaryDirectory(prefix="modelrepo-import-") as scratch:
        target = Path(scratch) / "artifacts"
        target.mkdir()
        repo.download_artifacts("", dst_path=os.fspath(target))
        got = {e.path for e in tree_manifest(target)}
        if got != listed:
            raise InvalidInput(
                f"the files downloaded for {ref} differ from those the source lists: "
                f"{sorted(got ^ listed)[:5]}"
            )
        return record_version(
            reg,
            report,
            model,
            target,
            ref=ref,
            location=location,
            source_version=str(mv.version),
            tags=tags,
            params=params,
            metrics=metrics,
            description=mv.description or "",
            created_at=_time(mv.creation_timestamp),
        )


def _valid(
    report: ImportReport, ref: str, what: str, values: dict[str, Any], check: Any
) -> dict[str, Any]:
    """The params or metrics modelrepo accepts; each other one is reported."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            validate_key(key, what)
            out.update(check({key: value}))
        except ModelrepoError as exc:
            report.skip(f"{ref} {what} {key}", str(exc))
    return out


def _list_files(repo: Any, path: str | None) -> Iterator[str]:
    """Every file below `path`, each path checked before anything is downloaded."""
    for info in repo.list_artifacts(path):
        rel = check_source_path(info.path)
        if path is not None and not rel.startswith(f"{path}/"):
            raise InvalidInput(f"unsafe path from the source: {rel!r} is outside {path!r}")
        if info.is_dir:
            yield from _list_files(repo, rel)
        else:
            yield rel


def _refuse_local_links(repo: Any) -> None:
    """A local artifact folder is copied by following links: refuse any link in it first."""
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    while not isinstance(repo, LocalArtifactRepository) and hasattr(repo, "repo"):
        repo = repo.repo
    if isinstance(repo, LocalArtifactRepository) and os.path.isdir(repo.artifact_dir):
        refuse_links(Path(repo.artifact_dir))


def _stage_event(report: ImportReport, name: str, mv: Any, number: int) -> Iterator[PlannedEvent]:
    stage = mv.current_stage
    if not stage or stage == "None":
        return
    what = f"{name} version {mv.version} stage {stage}"
    env = STAGES.get(stage)
    when = _time(mv.last_updated_timestamp)
    if env is None:
        report.skip(what, "the stage names no environment (MLflow keeps no stage history)")
        return
    if when is None:
        report.skip(what, "MLflow gives no time for it")
        return
    yield PlannedEvent(
        environment=env,
        effective_at=when,
        versions={number: 1.0},
        identity=f"mlflow:{name}/{mv.version} stage {stage} at {mv.last_updated_timestamp}",
        note=(
            f"MLflow stage {stage} of {name} version {mv.version}, effective at the version's "
            "last update in MLflow (MLflow keeps no stage history)"
        ),
    )


def _alias_event(
    report: ImportReport,
    name: str,
    alias: str,
    version: str,
    numbers: dict[str, int],
    created: dict[str, datetime],
) -> PlannedEvent | None:
    what = f"{name} alias {alias}"
    try:
        env = local_name(alias, "environment name")
    except InvalidInput as exc:
        report.skip(what, str(exc))
        return None
    if version not in numbers or version not in created:
        report.skip(what, f"it names version {version}, which was not imported")
        return None
    return PlannedEvent(
        environment=env,
        effective_at=created[version],
        versions={numbers[version]: 1.0},
        identity=f"mlflow:{name}/{version} alias {alias}",
        note=(
            f"MLflow alias {alias} of {name} names version {version}; MLflow keeps no alias "
            "times, so effective at that version's creation"
        ),
    )
