# `make serve` and `make test` do all the set-up: a .venv with the project (and, for the
# tests and checks, its tools).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
INSTALLED := $(VENV)/.installed

.PHONY: install serve migrate migration test lint format bench bench-setup clean

# What serving needs; the tools for tests and checks come on top, for those targets only.
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable .
	touch $(RUNTIME)

$(INSTALLED): $(RUNTIME)
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

serve: $(RUNTIME)
	$(BIN)/todo-api serve

migrate: $(RUNTIME)
	$(BIN)/todo-api migrate

# A new migration from the models: make migration m="add reminders"
migration: $(INSTALLED)
	$(BIN)/todo-api revision -m "$(m)"

test: $(INSTALLED)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(INSTALLED)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

# Benchmarks (not part of the tests): wrk from Debian's packages, then server CPU per request
# against the raw baseline, memory of one worker, list latency at scale.
bench-setup:
	sh bench/setup.sh

bench: $(INSTALLED)
	$(BIN)/python bench/cpu_per_request.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/list_scale.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
