"""Where MLflow's fields of a model version are kept on a version here, so that the
MLflow-compatible API answers with what a client, or an import from MLflow, recorded.

A version's record is immutable; its run, source and logged model are part of it (params).
A description set later through MLflow is a tag, so each change is recorded."""

SOURCE_PARAM = "mlflow.source"
RUN_ID_PARAM = "mlflow.run_id"
MODEL_ID_PARAM = "mlflow.model_id"
DESCRIPTION_TAG = "mlflow.description"
