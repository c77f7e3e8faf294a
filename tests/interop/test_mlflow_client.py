"""An unmodified MLflow client against a real `modelrepo serve`: register logged models,
move the `champion` alias, search, load by alias; then the CLI tells the alias history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..cli.conftest import Run
from ..serving import serve

mlflow = pytest.importorskip("mlflow")

pytestmark = [
    pytest.mark.slow,
    # MLflow's own import-time and logging warnings are not ours to fix.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])


def _log(intercept: float) -> Any:
    """Log a small scikit-learn model to the local MLflow tracking store; its ModelInfo."""
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, X[:, 0] * 2.0 + intercept)
    with mlflow.start_run():
        return mlflow.sklearn.log_model(
            model, name="model", serialization_format="cloudpickle", pip_requirements=[]
        )


def _midpoint(a: str, b: str) -> str:
    first, second = datetime.fromisoformat(a), datetime.fromisoformat(b)
    return (first + (second - first) / 2).isoformat().replace("+00:00", "Z")


def test_register_alias_search_and_load_with_the_mlflow_client(
    run: Run, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    run("init")
    admin = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json
    viewer = run("token", "create", "--user", "auditor", "--role", "viewer", "--json").json
    tracking = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    first, second = _log(0.0), _log(10.0)
    sources = ["--mlflow-source", tracking]
    with serve(["--store", str(store_dir)], {}, tmp_path / "log", sources) as (base, _):
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", base)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin["token"])
        v1 = mlflow.register_model(first.model_uri, "credit-risk")
        v2 = mlflow.register_model(second.model_uri, "credit-risk")
        assert (v1.version, v2.version) == ("1", "2")
        assert v1.source == first.model_uri and v1.status == "READY"

        client = MlflowClient(registry_uri=base)
        client.set_registered_model_alias("credit-risk", "champion", "1")
        champion = mlflow.pyfunc.load_model("models:/credit-risk@champion")
        assert champion.predict(X[:2]).tolist() == pytest.approx([0.0, 2.0])
        client.set_registered_model_alias("credit-risk", "champion", "2")
        champion = mlflow.pyfunc.load_model("models:/credit-risk@champion")
        assert champion.predict(X[:2]).tolist() == pytest.approx([10.0, 12.0])
        assert client.get_model_version_by_alias("credit-risk", "champion").version == "2"
        client.transition_model_version_stage("credit-risk", "1", "Production")
        production = mlflow.pyfunc.load_model("models:/credit-risk/Production")
        assert production.predict(X[:1]).tolist() == pytest.approx([0.0])

        client.set_model_version_tag("credit-risk", "1", "validated", "yes")
        found = client.search_model_versions("name = 'credit-risk' AND tags.validated = 'yes'")
        assert [v.version for v in found] == ["1"]
        models = client.search_registered_models(filter_string="name LIKE 'credit%'")
        assert [m.name for m in models] == ["credit-risk"]
        assert models[0].aliases == {"champion": "2", "production": "1"}

        with pytest.raises(MlflowException) as missing:
            client.get_registered_model("no-such-model")
        assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", viewer["token"])
        with pytest.raises(MlflowException) as denied:
            client.set_registered_model_alias("credit-risk", "champion", "1")
        assert denied.value.error_code == "PERMISSION_DENIED"
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "auditor")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", viewer["token"])
        assert client.get_registered_model("credit-risk").aliases["champion"] == "2"

    events = run("history", "credit-risk", "--env", "champion", "--json").json["events"]
    assert [(e["versions"][0]["version"], e["actor"]) for e in events] == [
        (1, "ml-lead"),
        (2, "ml-lead"),
    ]
    human = run("history", "credit-risk").out
    assert all(e["effective_at"] in human for e in events)
    between = _midpoint(events[0]["effective_at"], events[1]["effective_at"])
    live = run("live", "credit-risk", "--env", "champion", "--at", between, "--json").json
    assert [v["version"] for v in live["versions"]] == [1]
    after = run("live", "credit-risk", "--env", "champion", "--json").json
    assert [v["version"] for v in after["versions"]] == [2]
