# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/python examples/demo.py

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts
	$(BIN)/lint-imports --no-logo

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed
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
	$(BIN)/python benchmarks/remote_decisions_bench.py
	$(BIN)/python benchmarks/partitions_bench.py
	$(BIN)/python benchmarks/denied_bench.py
	$(BIN)/python benchmarks/cli_bench.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
