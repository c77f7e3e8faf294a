"""Run a fixed list of MLflow Model Registry calls with the stock MLflow client against one
server and print what each answered, as one JSON document on stdout.

Run by the pinned side environment's interpreter (.compat-venv, see
tests/interop/mlflow-compat.txt), never by the project's own:

    .compat-venv/bin/python tests/interop/mlflow_scenario.py \\
        --uri http://127.0.0.1:5000 --work /tmp/empty-folder

A token for the server goes in $MLFLOW_TRACKING_TOKEN, as for any MLflow client.

Each step gives either `{"step": NAME, "result": ...}` or `{"step": NAME, "error":
{"error_code": ..., "http_status": ...}}`. Results are normalised so that two servers
answering alike give equal documents: timestamps and user ids are left out, run ids become
`run-N` (the N-th run this script logged), sources become the name of what they point to,
and lists whose order MLflow does not define are sorted.

Versions are made from runs' artifacts. The script logs its runs to the server's own
tracking API; a server that serves no tracking (the `log runs` step fails) gets versions from
runs logged to a local file store under --work instead (the folder the server must be told
it may fetch sources from).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
import mlflow.utils.rest_utils as rest_utils
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

MODEL = "credit-risk"  # most steps use a name every registry takes
NAMED = "Credit Risk"  # names MLflow takes: capitals and spaces
OTHER = "CreditRisk"
RENAMED = "Credit Risk Copy"
LOGGED = "logged-model"
REGISTERED = "scorecard"
MISSING = "No Such Model"
# The files of each run's `model` folder: three runs, three different contents.
CONTENTS = [
    {"model.txt": "weights one\n", "conf/params.json": '{"depth": 1}\n'},
    {"model.txt": "weights two\n", "conf/params.json": '{"depth": 2}\n'},
    {"model.txt": "weights three\n", "conf/params.json": '{"depth": 3}\n'},
]

_last_status: list[int] = []


def _remember_status(original: Callable[..., Any]) -> Callable[..., Any]:
    """MLflow's exceptions carry the error code but not the HTTP status: remember the status
    of each answer the client checks."""

    def verify(response: Any, *args: Any, **kwargs: Any) -> Any:
        _last_status.append(response.status_code)
        return original(response, *args, **kwargs)

    return verify


rest_utils.verify_rest_response = _remember_status(rest_utils.verify_rest_response)


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Scenario:
    def __init__(self, uri: str, work: Path) -> None:
        self.uri = uri
        self.work = work
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.runs: list[str] = []  # run ids, in the order logged
        self.sources: dict[str, str] = {}  # a source URI sent -> its name in results
        self.logged_models: dict[str, str] = {}  # a logged model id -> its name in results
        self.tracking_served = True
        self.logged_files: dict[str, str] | None = None  # the logged model's file digests
        self.steps: list[dict[str, Any]] = []

    # normalising -------------------------------------------------------------------------

    def run_id(self, run_id: str | None) -> str | None:
        if not run_id:
            return run_id
        if run_id in self.runs:
            return f"run-{self.runs.index(run_id) + 1}"
        return "<another run id>"

    def source(self, source: str | None) -> str | None:
        if not source:
            return source
        if source in self.sources:
            return self.sources[source]
        for model_id, name in self.logged_models.items():
            source = source.replace(model_id, name)
        for run_id in self.runs:
            source = source.replace(run_id, self.run_id(run_id) or "")
        if re.match(r"(models|runs):/", source):
            return source
        return "<a location of this server's>"

    def version(self, mv: Any) -> dict[str, Any]:
        return {
            "name": mv.name,
            "version": mv.version,
            "description": mv.description or "",
            "current_stage": mv.current_stage,
            "status": mv.status,
            "tags": dict(sorted((mv.tags or {}).items())),
            "aliases": sorted(mv.aliases or []),
            "run_id": self.run_id(mv.run_id),
            "source": self.source(mv.source),
        }

    def model(self, rm: Any) -> dict[str, Any]:
        return {
            "name": rm.name,
            "description": rm.description or "",
            "tags": dict(sorted((rm.tags or {}).items())),
            "aliases": dict(sorted((rm.aliases or {}).items())),
            "latest_versions": sorted(
                (v.current_stage, v.version) for v in rm.latest_versions or []
            ),
        }

    def files(self, uri: str) -> dict[str, Any]:
        """Download a `models:/` URI and say whose files came back."""
        target = self.work / "downloads" / str(len(self.steps))
        target.mkdir(parents=True)
        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=target))
        got = _digests(folder)
        for index, contents in enumerate(CONTENTS):
            expected = {
                name: hashlib.sha256(text.encode()).hexdigest() for name, text in contents.items()
            }
            if got == expected:
                return {"files": f"those of run-{index + 1}"}
        # A registered model's download adds MLflow's note of the name and version.
        got_model = {k: v for k, v in got.items() if k != "registered_model_meta"}
        if self.logged_files is not None and got_model == self.logged_files:
            return {"files": "those of the logged model"}
        return {"files": got}

    # running -----------------------------------------------------------------------------

    def step(self, name: str, call: Callable[[], Any]) -> Any:
        _last_status.clear()
        try:
            result = call()
        except MlflowException as error:
            status = next((s for s in reversed(_last_status) if s >= 300), None)
            self.steps.append(
                {"step": name, "error": {"error_code": error.error_code, "http_status": status}}
            )
            return None
        except Exception as error:
            self.steps.append({"step": name, "error": {"exception": type(error).__name__}})
            return None
        self.steps.append({"step": name, "result": result})
        return result

    def log_runs(self) -> list[str]:
        """Log one run per content, its files under the artifact path `model`."""
        experiment = mlflow.set_experiment("compatibility")
        sources = []
        for index, contents in enumerate(CONTENTS):
            folder = self.work / "contents" / str(index + 1)
            for name, text in contents.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
            with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
                mlflow.log_artifacts(str(folder), artifact_path="model")
            self.runs.append(run.info.run_id)
            source = f"{run.info.artifact_uri}/model"
            self.sources[source] = f"run-{index + 1}/model"
            sources.append(source)
        return sources

    def logged_model(self) -> Any:
        """`log_model(registered_model_name=...)`: the version the logging registered."""
        from mlflow.pyfunc import PythonModel

        class Echo(PythonModel):  # type: ignore[misc]
            def predict(self, context: Any, model_input: Any) -> Any:
                return model_input

        with mlflow.start_run() as run:
            self.runs.append(run.info.run_id)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=Echo(),
                pip_requirements=[],
                registered_model_name=LOGGED,
            )
        self.logged_models[info.model_id] = "<logged model>"
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=info.model_uri, dst_path=str(self.work / "logged")
        )
        self.logged_files = {
            k: v for k, v in _digests(Path(local)).items() if k != "registered_model_meta"
        }
        return self.version(self.client.get_model_version(LOGGED, info.registered_model_version))

    def run(self) -> dict[str, Any]:
        c, s = self.client, self.step
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        if s("log runs", lambda: {"runs": len(self.log_runs())}) is None:
            # No tracking here: log the runs to a local store; the server reads their files.
            self.tracking_served = False
            self.runs.clear()
            self.sources.clear()
            mlflow.set_tracking_uri((self.work / "mlruns").as_uri())
            self.log_runs()
        one, two, three = self.sources

        s(
            "search experiments",
            lambda: sorted(e.name for e in MlflowClient(self.uri).search_experiments()),
        )
        s(
            "create registered model with tags and description",
            lambda: self.model(
                c.create_registered_model(
                    MODEL, tags={"team": "risk", "tier": "1"}, description="Scores loans."
                )
            ),
        )
        s(
            "create registered model Credit Risk",
            lambda: self.model(
                c.create_registered_model(NAMED, tags={"team": "risk"}, description="Spaced.")
            ),
        )
        s(
            "create registered model CreditRisk",
            lambda: self.model(c.create_registered_model(OTHER)),
        )
        s("create registered model again", lambda: self.model(c.create_registered_model(MODEL)))
        s(
            "get registered model before any version",
            lambda: self.model(c.get_registered_model(MODEL)),
        )
        s("get registered model Credit Risk", lambda: self.model(c.get_registered_model(NAMED)))
        s("get registered model CreditRisk", lambda: self.model(c.get_registered_model(OTHER)))
        s("get missing registered model", lambda: self.model(c.get_registered_model(MISSING)))
        s(
            "create model version 1 with tags and description",
            lambda: self.version(
                c.create_model_version(
                    MODEL,
                    one,
                    run_id=self.runs[0],
                    tags={"data": "2024"},
                    description="First.",
                )
            ),
        )
        s(
            "create model version 2",
            lambda: self.version(c.create_model_version(MODEL, two, run_id=self.runs[1])),
        )
        s(
            "create model version 3",
            lambda: self.version(c.create_model_version(MODEL, three, run_id=self.runs[2])),
        )
        s(
            "create model version of a missing model",
            lambda: self.version(c.create_model_version(MISSING, one, run_id=self.runs[0])),
        )
        s("get model version 1", lambda: self.version(c.get_model_version(MODEL, "1")))
        s("get model version 'one'", lambda: self.version(c.get_model_version(MODEL, "one")))
        s("get missing model version 99", lambda: self.version(c.get_model_version(MODEL, "99")))
        s(
            "get model version of a missing model",
            lambda: self.version(c.get_model_version(MISSING, "1")),
        )
        s(
            "update model version description",
            lambda: self.version(c.update_model_version(MODEL, "2", description="Second.")),
        )
        s("set model version tag", lambda: c.set_model_version_tag(MODEL, "1", "checked", "yes"))
        s("set another model version tag", lambda: c.set_model_version_tag(MODEL, "1", "x", "y"))
        s("delete model version tag", lambda: c.delete_model_version_tag(MODEL, "1", "x"))
        s(
            "delete missing model version tag",
            lambda: c.delete_model_version_tag(MODEL, "1", "nope"),
        )
        s(
            "get model version 1 with its tags",
            lambda: self.version(c.get_model_version(MODEL, "1")),
        )
        s(
            "update registered model description",
            lambda: self.model(c.update_registered_model(MODEL, description="Scores loan files.")),
        )
        s("set registered model tag", lambda: c.set_registered_model_tag(MODEL, "owner", "ana"))
        s("delete registered model tag", lambda: c.delete_registered_model_tag(MODEL, "tier"))
        s(
            "delete missing registered model tag",
            lambda: c.delete_registered_model_tag(MODEL, "nope"),
        )
        s("get registered model with its tags", lambda: self.model(c.get_registered_model(MODEL)))

        s("set alias champion to 1", lambda: c.set_registered_model_alias(MODEL, "champion", "1"))
        s(
            "get version by alias champion",
            lambda: self.version(c.get_model_version_by_alias(MODEL, "champion")),
        )
        s("move alias champion to 2", lambda: c.set_registered_model_alias(MODEL, "champion", "2"))
        s(
            "get version by moved alias",
            lambda: self.version(c.get_model_version_by_alias(MODEL, "champion")),
        )
        s(
            "set alias challenger to 3",
            lambda: c.set_registered_model_alias(MODEL, "challenger", "3"),
        )
        s("set reserved alias latest", lambda: c.set_registered_model_alias(MODEL, "latest", "1"))
        s("set reserved alias v1", lambda: c.set_registered_model_alias(MODEL, "v1", "1"))
        s(
            "set alias to a missing version",
            lambda: c.set_registered_model_alias(MODEL, "broken", "99"),
        )
        s(
            "get version by missing alias",
            lambda: self.version(c.get_model_version_by_alias(MODEL, "nope")),
        )
        s("delete alias challenger", lambda: c.delete_registered_model_alias(MODEL, "challenger"))
        s("delete missing alias", lambda: c.delete_registered_model_alias(MODEL, "nope"))
        s(
            "get registered model with its aliases",
            lambda: self.model(c.get_registered_model(MODEL)),
        )

        s(
            "transition 1 to Staging",
            lambda: self.version(c.transition_model_version_stage(MODEL, "1", "Staging")),
        )
        s(
            "transition 2 to Production",
            lambda: self.version(c.transition_model_version_stage(MODEL, "2", "Production")),
        )
        s(
            "transition 3 to Production, keeping 2",
            lambda: self.version(
                c.transition_model_version_stage(
                    MODEL, "3", "Production", archive_existing_versions=False
                )
            ),
        )
        s(
            "get model version 2 still in Production",
            lambda: self.version(c.get_model_version(MODEL, "2")),
        )
        s(
            "get latest versions in Production",
            lambda: [self.version(v) for v in c.get_latest_versions(MODEL, ["Production"])],
        )
        s("download models:/NAME/Production", lambda: self.files(f"models:/{MODEL}/Production"))
        s(
            "transition 1 to Production, archiving the others",
            lambda: self.version(
                c.transition_model_version_stage(
                    MODEL, "1", "Production", archive_existing_versions=True
                )
            ),
        )
        s("get archived model version 2", lambda: self.version(c.get_model_version(MODEL, "2")))
        s("get archived model version 3", lambda: self.version(c.get_model_version(MODEL, "3")))
        s(
            "get latest versions of every stage",
            lambda: sorted(
                (self.version(v) for v in c.get_latest_versions(MODEL)),
                key=lambda v: int(v["version"]),
            ),
        )
        s(
            "transition to an unknown stage",
            lambda: self.version(c.transition_model_version_stage(MODEL, "1", "Live")),
        )

        s(
            "search registered models by name",
            lambda: [
                self.model(m)
                for m in c.search_registered_models(filter_string="name LIKE 'Credit%'")
            ],
        )
        s(
            "search model versions by name",
            lambda: sorted(
                (self.version(v) for v in c.search_model_versions(f"name = '{MODEL}'")),
                key=lambda v: int(v["version"]),
            ),
        )
        s(
            "search model versions by run_id",
            lambda: sorted(
                (self.version(v) for v in c.search_model_versions(f"run_id = '{self.runs[0]}'")),
                key=lambda v: (v["name"], int(v["version"])),
            ),
        )
        s(
            "search registered models by tag",
            lambda: [
                m.name for m in c.search_registered_models(filter_string="tags.team = 'risk'")
            ],
        )
        s(
            "search model versions by tag",
            lambda: sorted(
                (v.name, v.version)
                for v in c.search_model_versions(f"name = '{MODEL}' AND tags.checked = 'yes'")
            ),
        )
        s(
            "search model versions with a bad filter",
            lambda: [self.version(v) for v in c.search_model_versions("name === 'x'")],
        )

        s("download models:/NAME@alias", lambda: self.files(f"models:/{MODEL}@champion"))
        s("download models:/NAME/1", lambda: self.files(f"models:/{MODEL}/1"))
        s(
            "download models:/NAME/Production after archiving",
            lambda: self.files(f"models:/{MODEL}/Production"),
        )
        s("download models:/NAME/latest", lambda: self.files(f"models:/{MODEL}/latest"))
        s("download models:/NAME@missing", lambda: self.files(f"models:/{MODEL}@nope"))

        s(
            "create model version of Credit Risk",
            lambda: self.version(c.create_model_version(NAMED, three, run_id=self.runs[2])),
        )
        s(
            "set alias champion on Credit Risk",
            lambda: c.set_registered_model_alias(NAMED, "champion", "1"),
        )
        s("download models:/Credit Risk@champion", lambda: self.files(f"models:/{NAMED}@champion"))
        s("download models:/Credit Risk/1", lambda: self.files(f"models:/{NAMED}/1"))
        s(
            "search model versions of Credit Risk",
            lambda: [self.version(v) for v in c.search_model_versions(f"name = '{NAMED}'")],
        )
        s(
            "copy model version 2 to CreditRisk",
            lambda: self.version(c.copy_model_version(f"models:/{MODEL}/2", OTHER)),
        )
        s("download the copied version", lambda: self.files(f"models:/{OTHER}/1"))
        s("rename registered model", lambda: c.rename_registered_model(OTHER, RENAMED) and None)
        s("get renamed registered model", lambda: self.model(c.get_registered_model(RENAMED)))
        s("get registered model by its old name", lambda: self.model(c.get_registered_model(OTHER)))
        s(
            "get version of the renamed model",
            lambda: self.version(c.get_model_version(RENAMED, "1")),
        )
        s(
            "rename a missing registered model",
            lambda: c.rename_registered_model(MISSING, "X") and None,
        )
        s(
            "create model version 4, never deployed",
            lambda: self.version(c.create_model_version(MODEL, one, run_id=self.runs[0])),
        )
        s("delete model version 4, never deployed", lambda: c.delete_model_version(MODEL, "4"))
        s("get deleted model version 4", lambda: self.version(c.get_model_version(MODEL, "4")))
        s("delete model version 3, once in Production", lambda: c.delete_model_version(MODEL, "3"))
        s("delete missing model version", lambda: c.delete_model_version(MODEL, "99"))
        s(
            "create model version 5 after a deleted one",
            lambda: self.version(c.create_model_version(MODEL, two, run_id=self.runs[1])),
        )
        s("delete registered model never deployed", lambda: c.delete_registered_model(RENAMED))
        s("get deleted registered model", lambda: self.model(c.get_registered_model(RENAMED)))
        s("delete registered model once deployed", lambda: c.delete_registered_model(MODEL))
        s("delete missing registered model", lambda: c.delete_registered_model(MISSING))

        s("log model with registered_model_name", self.logged_model)
        s(
            "search model versions by the logged model's run_id",
            lambda: [
                self.version(v) for v in c.search_model_versions(f"run_id = '{self.runs[-1]}'")
            ],
        )
        s(
            "register_model from a runs:/ URI",
            lambda: self.version(mlflow.register_model(f"runs:/{self.runs[-1]}/model", REGISTERED)),
        )
        s(
            "download the version registered from runs:/",
            lambda: self.files(f"models:/{REGISTERED}/1"),
        )
        return {
            "mlflow_version": mlflow.__version__,
            "tracking_served": self.tracking_served,
            "steps": self.steps,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True, help="the server's tracking/registry URI")
    parser.add_argument("--work", required=True, type=Path, help="an empty folder to work in")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):  # MLflow prints links to runs: not ours
        document = Scenario(args.uri, args.work).run()
    json.dump(document, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
