"""`modelrepo import mlflow` and `modelrepo import s3`: versions and deployment history from
an MLflow registry or a versioned S3 bucket.

Like `import gto`, each command is a plain function with its Click parameters, made a
command of the `import` group in `imports.py`.
"""

from __future__ import annotations

import click

from ..importers.common import ImportReport
from .base import Context, emit, pass_ctx


def show_report(as_json: bool, report: ImportReport) -> None:
    """The report as JSON, or one line per version, event and thing not mapped."""

    def human() -> None:
        for row in report.versions:
            if row["status"] == "imported":
                click.echo(f"Registered {row['model']}@{row['version']} from {row['source_ref']}")
            elif row["status"] == "deleted":
                click.echo(f"Recorded {row['model']}@{row['version']} as deleted in the source")
        for row in report.events:
            if row["status"] != "imported":
                continue
            what = ", ".join(f"v{v['version']}" for v in row["versions"]) or "nothing"
            if "observed_at" in row:  # a source that keeps no history: what it says now
                click.echo(
                    f"{row['model']}@{row['environment']}: {what} observed at "
                    f"{row['observed_at']} ({row['reason']})"
                )
            else:
                click.echo(
                    f"{row['model']}@{row['environment']}: {what} from {row['effective_at']} "
                    f"({row['source_ref']})"
                )
        counts = report.counts()
        click.echo(
            f"{counts['versions_imported']} versions and {counts['events_imported']} deployment "
            f"events imported; {counts['versions_existing']} versions and "
            f"{counts['events_existing']} events were already there"
        )
        for item in report.unmapped:
            click.echo(f"not mapped: {item['what']}: {item['why']}")

    emit(as_json, report.to_dict(), human)


@click.option(
    "--tracking-uri",
    required=True,
    metavar="URI",
    help="The MLflow tracking URI: sqlite:///mlflow.db, postgresql://..., http(s)://host, "
    "file:///path/mlruns or a folder.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="Import only this registered model (repeatable; default: all).",
)
@pass_ctx
def mlflow(ctx: Context, tracking_uri: str, models: tuple[str, ...], as_json: bool) -> None:
    """Import registered models, versions, aliases and stages from an MLflow registry.

    Models keep their names and versions their numbers; each version comes with its
    artifacts, description, tags and its run's params and metrics. MLflow keeps no history of
    aliases and stages, so what they name now is recorded as observed now: each alias in the
    environment named like it, Staging and Production in `staging` and `production`. Before
    the first import, what was live there is unknown, and `live --at` says so. Running it
    again records only what changed. The source is only read. What could not be mapped is
    listed.

    \b
    Examples:
      modelrepo import mlflow --tracking-uri sqlite:///mlflow.db
      modelrepo import mlflow --tracking-uri https://mlflow.example --model credit-risk --json
    """
    from ..importers.mlflow import import_mlflow, parse_tracking_uri

    parse_tracking_uri(tracking_uri)  # refused before the store is opened
    with ctx.registry(create=True) as reg:
        report = import_mlflow(reg, tracking_uri, models=models)
    show_report(as_json, report)


@click.option("--url", required=True, metavar="s3://BUCKET/KEY", help="The model object.")
@click.option(
    "--deployment-key",
    metavar="s3://BUCKET/KEY",
    help="A pointer object whose versions name the live model version (see docs/interop.md).",
)
@click.option("--model", help="Model name (default: the key's file name without extension).")
@click.option(
    "--env", default="production", show_default=True, help="Environment the pointer deploys to."
)
@pass_ctx
def s3(
    ctx: Context,
    url: str,
    deployment_key: str | None,
    model: str | None,
    env: str,
    as_json: bool,
) -> None:
    """Import every object version of a key in a versioned S3 bucket as a version.

    With --deployment-key, each version of the pointer object becomes a deployment of the
    version its content names, effective at the pointer version's LastModified. The endpoint
    is $MODELREPO_S3_ENDPOINT_URL, else the AWS configuration. Running it again imports
    nothing twice. What could not be mapped is listed.

    \b
    Examples:
      modelrepo import s3 --url s3://models/credit/model.onnx
      modelrepo import s3 --url s3://models/credit/model.onnx \\
          --deployment-key s3://models/credit/LIVE --env production --json
    """
    from ..importers.s3 import check_options, import_s3

    check_options(url, deployment_key, model, env)  # refused before the store is opened
    with ctx.registry(create=True) as reg:
        report = import_s3(reg, url, model=model, deployment_key=deployment_key, env=env)
    show_report(as_json, report)
