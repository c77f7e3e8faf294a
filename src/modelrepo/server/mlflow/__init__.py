"""MLflow's Model Registry REST API (`/api/2.0/mlflow/...`) and the part of its artifact proxy
that downloads a registered version, over the registry, for unmodified MLflow clients."""
