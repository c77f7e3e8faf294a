"""Import an MLflow model registry: registered models, versions, aliases and legacy stages.

The source is read through MLflow's own client (`MlflowClient(tracking_uri=URI)`), so a file
store, an SQLite or other SQL store and a tracking server all work; artifacts come from the
source's artifact store through MLflow's artifact repositories. The source is left exactly as
it was found (see `_read_only`).

- Each registered model becomes the model of the same name (with its description and tags),
  even one with no versions yet.
- Each READY version becomes the version with the same number, with the files of its
  artifacts, its description, its tags, the params and metrics of the run that made it, and
  where it came from (`import.ref` = `mlflow:NAME/VERSION`, `import.from` = the tracking URI
  without credentials, `import.created_at`, and the params `mlflow.run_id`, `mlflow.source`,
  `mlflow.model_id` the MLflow-compatible API answers with). A number MLflow no longer has
  (a deleted version) becomes a deleted version here, so that no number means two things.
  A version's legacy stage is kept in its `mlflow.stage` tag.
- MLflow keeps no history of aliases or stages, only what they name now. So what they name is
  recorded as an observation at the import's instant: before the first one, what served is
  unknown, and `live --at` says so instead of guessing. Each alias is observed in the
  environment named like it; each serving stage (Staging, Production) in `staging` or
  `production`, serving what `models:/NAME/Stage` resolves to (the highest-numbered version
  in the stage). A later import records only what changed since the last observation, and
  what served between the two is unknown; an alias since removed is observed serving nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..domain.deployments import check_environment_name
from ..domain.errors import Conflict, InvalidInput, ModelrepoError, NotFound
from ..domain.mlflow_fields import MODEL_ID_PARAM, RUN_ID_PARAM, SOURCE_PARAM
from ..domain.model import MODEL_DESCRIPTION_LIMIT, check_metrics, check_params
from ..domain.names import validate_key, validate_model_name
from ..domain.stages import (
    NONE,
    STAGE_ENVIRONMENTS,
    STAGE_TAG,
    canonical_stage,
    serving_in_stage,
    stage_of,
)
from ..lineage import redact_remote
from .common import (
    FROM_TAG,
    REF_TAG,
    ImportReport,
    Observation,
    check_source_path,
    record_observations,
    record_version,
    refuse_links,
    tree_manifest,
)

if TYPE_CHECKING:
    from ..registry import Registry

SCHEMES = ("file", "sqlite", "postgresql", "mysql", "mssql", "http", "https")
"""Tracking URI schemes accepted (SQL schemes may name a driver, e.g. postgresql+psycopg)."""
PAGE = 1000
DELETED_IN_MLFLOW = "deleted in MLflow"


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
    named in `models`); running it again on an unchanged source records nothing."""
    client_uri, location = parse_tracking_uri(tracking_uri)
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:  # pragma: no cover - depends on the installation
        raise InvalidInput(
            "importing from MLflow needs mlflow: pip install 'modelrepo[mlflow]'"
        ) from None
    report = ImportReport(f"MLflow ({location})")
    # MLflow's file registry store opens a client with the default tracking URI (which
    # would create ./mlflow.db): that default is the source while importing.
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    try:
        with _read_only(client_uri) as read_uri, _use_tracking_uri(read_uri):
            client = MlflowClient(tracking_uri=read_uri, registry_uri=read_uri)
            wanted = set(models)
            registered = [m for m in _registered_models(client) if not wanted or m.name in wanted]
            for missing in sorted(wanted - {m.name for m in registered}):
                report.skip(f"registered model {missing!r}", "MLflow has no such model")
            versions = _all_versions(client, {m.name for m in registered})
            for model in sorted(registered, key=lambda m: m.name):
                try:
                    validate_model_name(model.name)
                except InvalidInput as exc:
                    report.skip(f"registered model {model.name!r}", str(exc))
                    continue
                _import_model(reg, report, client, read_uri, location, model, versions)
    except MlflowException as exc:
        raise InvalidInput(f"MLflow at {location}: {exc.message}") from None
    return report


@contextlib.contextmanager
def _read_only(client_uri: str) -> Iterator[str]:
    """The URI to read the source through, such that the import leaves it as it found it.

    MLflow's client upgrades an SQL store in place when it lacks a table the client knows,
    after which the team's own MLflow may refuse it, and it writes a default experiment into
    an empty file store. So:
    - an SQLite source is read from a consistent copy (SQLite's online backup of the file
      opened read-only), removed afterwards;
    - a file store is read from a copy of its metadata (the artifacts stay where they are,
      read through their recorded locations);
    - a database server is read in read-only transactions, and refused when its schema is
      not the one this MLflow client expects (the client would migrate it);
    - a tracking server (http, https) is read through its REST API, which never migrates."""
    scheme = client_uri.partition(":")[0].lower()
    if scheme == "sqlite":
        with _sqlite_copy(client_uri) as uri:
            yield uri
    elif scheme == "file":
        with _file_store_copy(client_uri) as uri:
            yield uri
    elif scheme.partition("+")[0] in ("postgresql", "mysql", "mssql"):
        uri = _read_only_sql(client_uri)
        _check_sql_schema(uri)
        yield uri
    else:
        yield client_uri


@contextlib.contextmanager
def _sqlite_copy(client_uri: str) -> Iterator[str]:
    _scheme, sep, rest = client_uri.partition(":///")
    if not sep or rest.startswith(":memory:") or "?" in rest:
        raise InvalidInput(f"unsupported MLflow SQLite URI {client_uri!r}: name the file")
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


@contextlib.contextmanager
def _file_store_copy(client_uri: str) -> Iterator[str]:
    from urllib.request import url2pathname

    source = Path(url2pathname(urlsplit(client_uri).path))
    if not source.is_dir():
        raise InvalidInput(f"no MLflow file store at {source}")
    with tempfile.TemporaryDirectory(prefix="modelrepo-mlflow-") as folder:
        copy = Path(folder) / "mlruns"
        # Metadata only: a run's `artifacts` folder is copied empty (MLflow checks it is
        # there), its files are read where the source's records say they are.
        shutil.copytree(
            source,
            copy,
            symlinks=True,
            ignore=lambda folder, names: names if Path(folder).name == "artifacts" else [],
        )
        yield copy.as_uri()


def _read_only_sql(client_uri: str) -> str:
    """The same database URI, with every transaction read-only where the driver can say so."""
    parts = urlsplit(client_uri)
    base = parts.scheme.lower().partition("+")[0]
    extra = {
        "postgresql": "options=-c%20default_transaction_read_only%3Don",
        "mysql": "init_command=SET%20SESSION%20TRANSACTION%20READ%20ONLY",
    }.get(base)
    if extra is None:
        return client_uri
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _check_sql_schema(uri: str) -> None:
    """Refuse a database whose MLflow schema differs from the one the installed client
    expects: the client would migrate it in place (or fail half way)."""
    import sqlalchemy
    from mlflow.store.db.utils import _get_alembic_config

    try:
        from alembic.script import ScriptDirectory

        config = _get_alembic_config(uri)  # type: ignore[no-untyped-call]
        expected = ScriptDirectory.from_config(config).get_current_head()
        engine = sqlalchemy.create_engine(uri)
        try:
            with engine.connect() as conn:
                found = conn.execute(
                    sqlalchemy.text("SELECT version_num FROM alembic_version")
                ).scalar()
        finally:
            engine.dispose()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise InvalidInput(f"cannot read the MLflow database: {exc.__class__.__name__}") from None
    if found != expected:
        import mlflow

        raise InvalidInput(
            f"the MLflow database's schema is at revision {found}, and the installed MLflow "
            f"{mlflow.__version__} client expects {expected}: it would migrate the database "
            "in place. Import through the team's MLflow server instead "
            "(--tracking-uri http://HOST:PORT), or install the MLflow release that made it"
        )


def _registered_models(client: Any) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_registered_models(max_results=PAGE, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _all_versions(client: Any, names: set[str]) -> dict[str, list[Any]]:
    """Every version of the models in `names`, by model, oldest number first: one search
    over all versions (a name with quotes cannot be put in a filter)."""
    found: dict[str, list[Any]] = {}
    token = None
    while True:
        page = client.search_model_versions(max_results=PAGE, page_token=token)
        for mv in page:
            if mv.name in names:
                found.setdefault(mv.name, []).append(mv)
        token = page.token
        if not token:
            break
    return {name: sorted(vs, key=lambda v: int(v.version)) for name, vs in found.items()}


def _time(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


def _import_model(
    reg: Registry,
    report: ImportReport,
    client: Any,
    client_uri: str,
    location: str,
    registered: Any,
    versions: dict[str, list[Any]],
) -> None:
    from mlflow.exceptions import MlflowException

    name = registered.name
    try:
        latest = max((v.version for v in reg.versions(name, include_deleted=True)), default=0)
    except NotFound:
        latest = 0
    imported: dict[int, Any] = {}
    for mv in versions.get(name, []):
        number, what = int(mv.version), f"{name} version {mv.version}"
        for gap in range(latest + 1, number):  # numbers MLflow no longer has: deleted there
            reg.record_deleted_version(name, gap, reason=DELETED_IN_MLFLOW)
            report.versions.append(
                {
                    "model": name,
                    "source_ref": f"mlflow:{name}/{gap}",
                    "source_version": str(gap),
                    "version": gap,
                    "digest": None,
                    "status": "deleted",
                }
            )
        latest = max(latest, number)
        if mv.status != "READY":
            report.skip(what, f"MLflow status {mv.status}: no complete artifacts to import")
            continue
        try:
            kept = _import_version(reg, report, client, client_uri, location, name, mv)
        except (InvalidInput, Conflict, OSError) as exc:
            report.skip(what, str(exc))
            continue
        except MlflowException as exc:  # e.g. artifacts missing from the artifact store
            report.skip(what, exc.message)
            continue
        if kept is None:
            continue
        if kept != number:
            report.skip(what, f"imported before as version {kept}: MLflow's number is not kept")
            continue
        imported[number] = mv
        _keep_stage(reg, name, number, mv.current_stage or NONE)
    _model_metadata(reg, report, registered)
    _forget_deleted(reg, report, name, location, imported)
    record_observations(
        reg, report, name, report.source, _observations(report, name, registered, imported)
    )


def _keep_stage(reg: Registry, name: str, number: int, stage: str) -> None:
    """A version's MLflow stage as its `mlflow.stage` tag (a change only when it differs)."""
    stage = canonical_stage(stage)
    current = stage_of(reg.get(name, number).tags)
    if current == stage:
        return
    if stage == NONE:
        reg.untag(name, number, STAGE_TAG)
    else:
        reg.tag(name, number, STAGE_TAG, stage)


def _forget_deleted(
    reg: Registry, report: ImportReport, name: str, location: str, imported: dict[int, Any]
) -> None:
    """A version an earlier import brought from this source that MLflow no longer has is
    deleted here too (its record is kept, as for any deleted version)."""
    try:
        kept = reg.versions(name)
    except NotFound:
        return
    for version in kept:
        ref = version.tags.get(REF_TAG, "")
        if version.tags.get(FROM_TAG) != location or not ref.startswith(f"mlflow:{name}/"):
            continue
        if version.version in imported:
            continue
        try:
            reg.delete(name, version.version, reason=DELETED_IN_MLFLOW)
        except ModelrepoError as exc:
            report.skip(f"{name} version {version.version}", f"deleted in MLflow; {exc}")
            continue
        report.versions.append(
            {
                "model": name,
                "source_ref": ref,
                "source_version": ref.rpartition("/")[2],
                "version": version.version,
                "digest": version.digest,
                "status": "deleted",
            }
        )


def _observations(
    report: ImportReport, name: str, registered: Any, imported: dict[int, Any]
) -> list[Observation]:
    """What MLflow says serves now: each alias in the environment of its name, each serving
    stage in its environment (the version `models:/NAME/Stage` resolves to). An alias and a
    stage that name the same environment: the alias is kept, the stage reported."""
    created = {n: _time(mv.creation_timestamp) for n, mv in imported.items()}
    found: dict[str, Observation] = {}
    for alias, version in sorted((registered.aliases or {}).items()):
        what, number = f"{name} alias {alias}", int(version)
        try:
            check_environment_name(alias)
        except InvalidInput as exc:
            report.skip(what, str(exc))
            continue
        if number not in imported:
            report.skip(what, f"it names version {version}, which was not imported")
            continue
        found[alias] = Observation(
            alias, {number: 1.0}, created[number], f"alias {alias} names version {number}"
        )
    stages = {n: canonical_stage(mv.current_stage or NONE) for n, mv in imported.items()}
    for stage in sorted(set(stages.values()) - {NONE}):
        env = STAGE_ENVIRONMENTS.get(stage)
        if env is None:
            continue  # Archived serves nowhere; the versions keep it in their tag
        serving = serving_in_stage(stages, stage)
        if serving is None:
            continue
        if env in found:
            report.skip(
                f"{name} stage {stage}",
                f"the alias {env} names the environment {env} too: the alias is kept",
            )
            continue
        holders = sorted(n for n, s in stages.items() if s == stage)
        note = f"stage {stage} resolves to version {serving}"
        if len(holders) > 1:
            note += f", the highest of versions {', '.join(map(str, holders))} in it"
        found[env] = Observation(env, {serving: 1.0}, created[serving], note)
    return list(found.values())


def _model_metadata(reg: Registry, report: ImportReport, registered: Any) -> None:
    """The registered model, with its description and tags; a value already equal records
    nothing, so importing again is a no-op."""
    name = registered.name
    description = (registered.description or "")[:MODEL_DESCRIPTION_LIMIT]
    try:
        found = reg.model(name)
    except NotFound:
        found = reg.create_model(name, description=description)
    if description and found.description != description:
        reg.describe_model(name, description)
    for key, value in sorted((registered.tags or {}).items()):
        if found.tags.get(key) == str(value):
            continue
        try:
            reg.tag_model(name, key, str(value))
        except InvalidInput as exc:
            report.skip(f"registered model {name!r} tag {key!r}", str(exc))


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
        run = client.get_run(mv.run_id)
        params = _valid(report, ref, "param", dict(run.data.params), check_params)
        metrics = _valid(report, ref, "metric", dict(run.data.metrics), check_metrics)
        params[RUN_ID_PARAM] = mv.run_id
    if mv.source:
        params[SOURCE_PARAM] = redact_remote(str(mv.source))[:4096]
    if getattr(mv, "model_id", None):
        params[MODEL_ID_PARAM] = str(mv.model_id)
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
            number=int(mv.version),
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
