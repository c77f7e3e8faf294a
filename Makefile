# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean compat-venv signing-venv

# The stock MLflow (client and `mlflow server`) that tests/interop/test_mlflow_compat.py runs,
# in a side environment of its own: the pin lives in $(COMPAT_PIN) alone, and changing it
# rebuilds the environment from scratch.
COMPAT_VENV := .compat-venv
COMPAT_PIN := tests/interop/mlflow-compat.txt

# The stock OpenSSF `model_signing` CLI that tests/interop/test_model_signing.py verifies
# downloaded versions with: a separate tool, never our code, pinned in $(SIGNING_PIN) alone.
SIGNING_VENV := .signing-venv
SIGNING_PIN := tests/interop/model-signing.txt

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(COMPAT_VENV)/.installed: $(COMPAT_PIN)
	rm -rf $(COMPAT_VENV)
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(COMPAT_PIN)
	touch $@

compat-venv: $(COMPAT_VENV)/.installed

$(SIGNING_VENV)/.installed: $(SIGNING_PIN)
	rm -rf $(SIGNING_VENV)
	$(PYTHON) -m venv $(SIGNING_VENV)
	$(SIGNING_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(SIGNING_PIN)
	touch $@

signing-venv: $(SIGNING_VENV)/.installed

demo: $(VENV)/.demo-installed
	$(BIN)/python examples/demo.py

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts
	$(BIN)/lint-imports --no-logo

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed $(COMPAT_VENV)/.installed $(SIGNING_VENV)/.installed
	$(BIN)/pytest -n 2 --durations=15

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/registry_bench.py
	$(BIN)/python benchmarks/deployments_bench.py
	$(BIN)/python benchmarks/audit_bench.py
	$(BIN)/python benchmarks/decisions_bench.py
	$(BIN)/python benchmarks/scaleout_bench.py
	$(BIN)/python benchmarks/ui_bench.py
	$(BIN)/python benchmarks/server_bench.py
	$(BIN)/python benchmarks/transfer_bench.py
	$(BIN)/python benchmarks/remote_decisions_bench.py
	$(BIN)/python benchmarks/partitions_bench.py
	$(BIN)/python benchmarks/denied_bench.py
	$(BIN)/python benchmarks/cli_bench.py

clean:
	rm -rf $(VENV) $(COMPAT_VENV) $(SIGNING_VENV) .demo .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
