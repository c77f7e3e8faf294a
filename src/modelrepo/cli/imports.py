"""`modelrepo import ...`: bring versions and history in from other registries."""

from __future__ import annotations

from .base import cli, command
from .import_gto import gto
from .import_sources import mlflow, s3


@cli.group("import")
def import_group() -> None:
    """Import versions and deployment history from other registries.

    \b
    Examples:
      modelrepo import mlflow --tracking-uri sqlite:///mlflow.db
      modelrepo import s3 --url s3://models/credit/model.onnx --deployment-key s3://models/LIVE
      modelrepo import gto --repo ../model-registry
    """


command(import_group, "gto")(gto)
command(import_group, "mlflow")(mlflow)
command(import_group, "s3")(s3)
