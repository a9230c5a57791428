# `make serve` and `make test` do all the set-up: a .venv with the project (and, for the
# tests and checks, its tools).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
INSTALLED := $(VENV)/.installed

.PHONY: install serve migrate migration test lint lint-migrations format bench bench-setup clean

# What serving needs; the tools for tests and checks come on top, for those targets only.
# The first run installs quietly for a while: say so, and how long it takes.
$(RUNTIME): pyproject.toml
	@echo ">>> Installing todo-api and its dependencies into $(VENV) (first run, or after pyproject.toml changes: about 30 s)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable .
	touch $(RUNTIME)

$(INSTALLED): $(RUNTIME)
	@echo ">>> Installing the test and lint tools (pytest, ruff, mypy) into $(VENV) (about 30 s more)"
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

# The SQLite half and the rest (PostgreSQL and the tests of neither) run side by side, one
# pytest each: many tests wait on servers they start, so two cores do both in about the time of
# the longer. The SQLite half also takes some of the tests of neither (about 1.5 of their 3
# minutes), so that the two end together. With PYTEST_ARGS (a selection, say) one pytest runs
# them as given.
FIRST_HALF := sqlite or unit or test_cli or test_live_server or test_shutdown_server \
	or test_metrics_and_logs or test_instances_server
test: $(INSTALLED)
	@echo ">>> Running the tests on SQLite and PostgreSQL (about 9 minutes on two idle cores, more on a busy machine). PostgreSQL is expected on"
	@echo ">>> 127.0.0.1:5432 (TEST_DATABASE_URL), Redis on 127.0.0.1:6379: without them those tests skip."
ifeq ($(strip $(PYTEST_ARGS)),)
	@mkdir -p .pytest_cache; log=.pytest_cache/sqlite-half.log; \
	$(BIN)/pytest -q -k "$(FIRST_HALF)" > $$log 2>&1 & half=$$!; \
	$(BIN)/pytest -q -k "not ($(FIRST_HALF))"; rest=$$?; \
	wait $$half; sqlite=$$?; \
	echo ">>> The SQLite half:"; cat $$log; \
	test $$rest -eq 0 && test $$sqlite -eq 0
else
	$(BIN)/pytest $(PYTEST_ARGS)
endif

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/mypy --config-file bench/mypy.ini bench
	$(BIN)/lint-imports

# squawk (npm squawk-cli, into the ignored .tools/) on the SQL of every migration after 0021
# (scripts/lint_migrations.py; the rules in src/todo_api/migrations/online.py).
SQUAWK_VERSION := 2.66.0
SQUAWK := .tools/node_modules/.bin/squawk
$(SQUAWK):
	@echo ">>> Installing squawk $(SQUAWK_VERSION) (npm squawk-cli) into .tools/"
	npm install --silent --no-audit --no-fund --prefix .tools squawk-cli@$(SQUAWK_VERSION)

lint-migrations: $(INSTALLED) $(SQUAWK)
	$(BIN)/python scripts/lint_migrations.py

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
	rm -rf $(VENV) .tools build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
