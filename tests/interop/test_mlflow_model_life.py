"""An unmodified MLflow client against a real `modelrepo serve`: a registered model created
with its description and tags before any version, deleted when never deployed, refused
deletion when it was; the name used again; a model renamed, its alias following it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..cli.conftest import Run
from ..serving import serve
from .test_mlflow_client import _log

mlflow = pytest.importorskip("mlflow")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def test_create_and_delete_registered_models_with_the_mlflow_client(
    run: Run, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    run("init")
    admin = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json
    tracking = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    logged = _log(0.0)
    sources = ["--mlflow-source", tracking]
    with serve(["--store", str(store_dir)], {}, tmp_path / "log", sources) as (base, _):
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", base)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin["token"])
        client = MlflowClient(registry_uri=base)
        created = client.create_registered_model(
            "fraud", tags={"team": "risk"}, description="Flags card fraud."
        )
        assert (created.name, created.description, created.tags) == (
            "fraud", "Flags card fraud.", {"team": "risk"},
        )  # fmt: skip
        with pytest.raises(MlflowException) as exists:
            client.create_registered_model("fraud")
        assert exists.value.error_code == "RESOURCE_ALREADY_EXISTS"
        version = mlflow.register_model(logged.model_uri, "fraud")  # create, then the version
        assert version.version == "1"
        kept = client.get_registered_model("fraud")
        assert (kept.description, kept.tags) == ("Flags card fraud.", {"team": "risk"})

        mlflow.register_model(logged.model_uri, "served")
        client.set_registered_model_alias("served", "champion", "1")
        with pytest.raises(MlflowException) as refused:
            client.delete_registered_model("served")
        assert refused.value.error_code == "RESOURCE_CONFLICT"
        assert "versions of this model were deployed" in refused.value.message

        client.delete_registered_model("fraud")
        with pytest.raises(MlflowException) as gone:
            client.get_registered_model("fraud")
        assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert [m.name for m in client.search_registered_models()] == ["served"]
        again = mlflow.register_model(logged.model_uri, "fraud")
        assert again.version == "2"  # after the deleted model's numbers

        client.rename_registered_model("served", "served-retail")
        assert client.get_registered_model("served-retail").aliases == {"champion": "1"}
        assert client.get_model_version_by_alias("served-retail", "champion").version == "1"
        with pytest.raises(MlflowException) as old:
            client.get_registered_model("served")
        assert old.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        loaded = mlflow.pyfunc.load_model("models:/served-retail@champion")
        assert loaded is not None
    assert run("audit", "verify").code == 0
