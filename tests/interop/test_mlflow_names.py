"""MLflow names work unchanged: an unmodified MLflow client registers `Credit Risk`,
`CreditRisk`, `risk@v2 (EU)` and `modèle-crédit` on a real `modelrepo serve`, sets an alias
and loads `models:/<name>@champion` and `models:/<name>/1`; the CLI then reads them back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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

X = np.array([[0.0], [1.0], [2.0]])
NAMES = ["Credit Risk", "CreditRisk", "risk@v2 (EU)", "modèle-crédit"]


def test_mlflow_names_through_an_unmodified_client(
    run: Run, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    run("init")
    admin = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json
    tracking = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    logged = {name: _log(float(i)) for i, name in enumerate(NAMES)}
    sources = ["--mlflow-source", tracking]
    with serve(["--store", str(store_dir)], {}, tmp_path / "log", sources) as (base, _):
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", base)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin["token"])
        client = MlflowClient(registry_uri=base)
        for i, name in enumerate(NAMES):
            if i % 2:
                client.create_registered_model(name)
                version = client.create_model_version(name, logged[name].model_uri)
            else:
                version = mlflow.register_model(logged[name].model_uri, name)
            assert (version.name, version.version) == (name, "1")
            client.set_registered_model_alias(name, "champion", "1")
            assert client.get_registered_model(name).aliases == {"champion": "1"}
            assert client.get_model_version_by_alias(name, "champion").name == name
            uris = [f"models:/{name}@champion", f"models:/{name}/1"]
            if "@" in name:
                # MLflow's own client reads models:/risk@v2 (EU)/1 as the alias `v2 (EU)` of
                # `risk` and a path `1` (ModelsArtifactRepository.split_models_uri), whatever
                # the server: such a name is loaded by alias (docs/interop.md)
                uris.pop()
            for uri in uris:
                loaded = mlflow.pyfunc.load_model(uri)
                assert loaded.predict(X[:1]).tolist() == pytest.approx([float(i)]), uri
            where = client.get_model_version_download_uri(name, "1")
            fetched = mlflow.artifacts.download_artifacts(where, dst_path=str(tmp_path / str(i)))
            assert (Path(fetched) / "MLmodel").is_file()
        found = client.search_registered_models(filter_string="name = 'Credit Risk'")
        assert [m.name for m in found] == ["Credit Risk"]
        assert sorted(m.name for m in client.search_registered_models()) == sorted(NAMES)
        with pytest.raises(MlflowException) as missing:
            client.get_registered_model("creditrisk")  # case-sensitive, as MLflow
        assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        for hostile in ("team/credit", "a\x00b"):
            with pytest.raises(MlflowException) as refused:
                client.create_registered_model(hostile)
            assert refused.value.error_code == "INVALID_PARAMETER_VALUE"

    for name in NAMES:
        live = run("live", name, "--env", "champion", "--json").json
        assert [v["version"] for v in live["versions"]] == [1]
        assert run("show", f"{name}@champion", "--json").json["model"] == name
