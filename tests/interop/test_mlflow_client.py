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
        assert models[0].aliases == {"champion": "2"}  # a stage is no alias, as in MLflow
        client.update_registered_model("credit-risk", description="Scores loan applications.")
        client.set_registered_model_tag("credit-risk", "owner", "risk-team")
        client.set_registered_model_tag("credit-risk", "tier", "1")
        client.delete_registered_model_tag("credit-risk", "tier")
        described = client.get_registered_model("credit-risk")
        assert described.description == "Scores loan applications."
        assert described.tags == {"owner": "risk-team"}
        owned = client.search_registered_models(filter_string="tags.owner = 'risk-team'")
        assert [m.name for m in owned] == ["credit-risk"]
        assert client.search_registered_models(filter_string="tags.owner = 'x'") == []

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


def test_stages_copies_run_ids_and_refusals_with_the_mlflow_client(
    run: Run, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Legacy stages as MLflow has them (two versions in Production: the higher one serves),
    `copy_model_version`, run ids of logged models, reserved aliases, tracking calls."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    run("init")
    admin = run("token", "create", "--user", "ml-lead", "--role", "admin", "--json").json
    tracking = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    logged = [_log(float(intercept)) for intercept in (0, 10, 20)]
    sources = ["--mlflow-source", tracking]
    with serve(["--store", str(store_dir)], {}, tmp_path / "log", sources) as (base, _):
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", base)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin["token"])
        client = MlflowClient(registry_uri=base)
        for info in logged:
            mlflow.register_model(info.model_uri, "credit-risk")
        # The run id comes from the logged model, so a search by run finds the version.
        for version, info in enumerate(logged, start=1):
            assert info.run_id
            found = client.search_model_versions(f"run_id = '{info.run_id}'")
            assert [(v.name, v.version) for v in found] == [("credit-risk", str(version))]
            assert found[0].source == info.model_uri
        from sklearn.linear_model import LinearRegression

        with mlflow.start_run() as active:  # logged and registered in one call
            mlflow.sklearn.log_model(
                LinearRegression().fit(X, X[:, 0]), name="model", pip_requirements=[],
                serialization_format="cloudpickle", registered_model_name="credit-risk-lm",
            )  # fmt: skip
        found = client.search_model_versions(f"run_id = '{active.info.run_id}'")
        assert [(v.name, v.version) for v in found] == [("credit-risk-lm", "1")]

        client.transition_model_version_stage("credit-risk", "3", "Production")
        client.transition_model_version_stage("credit-risk", "2", "Production")
        production = mlflow.pyfunc.load_model("models:/credit-risk/Production")
        assert production.predict(X[:1]).tolist() == pytest.approx([20.0])  # the highest
        client.transition_model_version_stage("credit-risk", "3", "Archived")
        assert client.get_model_version("credit-risk", "3").current_stage == "Archived"
        production = mlflow.pyfunc.load_model("models:/credit-risk/Production")
        assert production.predict(X[:1]).tolist() == pytest.approx([10.0])
        client.transition_model_version_stage(
            "credit-risk", "1", "Production", archive_existing_versions=True
        )
        stages = {
            v.version: v.current_stage for v in client.search_model_versions("name = 'credit-risk'")
        }
        assert stages == {"1": "Production", "2": "Archived", "3": "Archived"}
        latest = client.get_latest_versions("credit-risk", stages=["Production"])
        assert [v.version for v in latest] == ["1"]

        copied = client.copy_model_version("models:/credit-risk/2", "credit-risk-eu")
        assert (copied.name, copied.version, copied.run_id) == (
            "credit-risk-eu", "1", logged[1].run_id,
        )  # fmt: skip
        eu = mlflow.pyfunc.load_model("models:/credit-risk-eu/1")
        assert eu.predict(X[:1]).tolist() == pytest.approx([10.0])

        with pytest.raises(MlflowException) as reserved:
            client.set_registered_model_alias("credit-risk", "latest", "1")
        assert reserved.value.error_code == "INVALID_PARAMETER_VALUE"
        with pytest.raises(MlflowException) as missing:
            client.get_model_version_by_alias("credit-risk", "champion")
        assert missing.value.error_code == "INVALID_PARAMETER_VALUE"
        assert client.get_model_version_by_alias("credit-risk", "latest").version == "3"
        client.delete_model_version_tag("credit-risk", "1", "no-such-tag")  # as MLflow: no error

        with pytest.raises(MlflowException) as tracking_call:
            MlflowClient(tracking_uri=base).get_run("0123456789abcdef")
        assert tracking_call.value.error_code == "ENDPOINT_NOT_FOUND"
        assert "model registry API only" in tracking_call.value.message

    copied_record = run("show", "credit-risk-eu@1", "--json").json
    source_record = run("show", "credit-risk@2", "--json").json
    assert copied_record["digest"] == source_record["digest"]
