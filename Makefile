# `make serve` and `make test` do all the set-up: a .venv with the project (and, for the
# tests and checks, its tools).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
INSTALLED := $(VENV)/.installed

# The message catalogs (src/todo_api/locale): the English source strings extracted from the
# code and templates, each language's catalog updated (the .po files are read and compiled in
# memory by kit/catalogs.py: nothing compiled is kept). `messages`: the web app's words, then
# `emails`: the words of the emails the service sends (locale/emails.cfg names their modules).
LOCALE := src/todo_api/locale
messages: $(INSTALLED)
	$(BIN)/pybabel extract --project=todo-api --no-location -F $(LOCALE)/web.cfg -o $(LOCALE)/messages.pot src/todo_api/web
	$(BIN)/pybabel update -D messages -i $(LOCALE)/messages.pot -d $(LOCALE)
	$(BIN)/pybabel extract --project=todo-api --no-location -F $(LOCALE)/emails.cfg -o $(LOCALE)/emails.pot src/todo_api
	$(BIN)/pybabel update -D emails -i $(LOCALE)/emails.pot -d $(LOCALE)

.PHONY: messages install serve migrate migration test test-container lint lint-migrations format bench bench-setup clean uv lock

# uv (from PyPI, pinned) installs from the lock files: every machine gets the same versions,
# and a fresh clone's first `make serve` takes seconds, not a minute of pip resolving.
UV_VERSION := 0.13.8
UV := .tools/uv/bin/uv
$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

uv: $(UV)

# What serving needs (requirements.lock); the tools for tests and checks come on top
# (requirements-dev.lock), for those targets only. After editing the dependencies in
# pyproject.toml, `make lock` pins them again (scripts/lock.sh).
$(RUNTIME): requirements.lock | $(UV)
	@echo ">>> Installing todo-api and its dependencies into $(VENV) from requirements.lock (first run: about 15 s)"
	test -x $(BIN)/python || $(UV) venv --quiet --seed --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --editable .
	touch $(RUNTIME)

$(INSTALLED): requirements-dev.lock $(RUNTIME)
	@echo ">>> Installing the test and lint tools (pytest, ruff, mypy) into $(VENV) from requirements-dev.lock"
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r requirements-dev.lock
	touch $(INSTALLED)

lock:
	sh scripts/lock.sh

install: $(INSTALLED)

serve: $(RUNTIME)
	$(BIN)/todo-api serve

migrate: $(RUNTIME)
	$(BIN)/todo-api migrate

# A new migration from the models: make migration m="add reminders"
migration: $(INSTALLED)
	$(BIN)/todo-api revision -m "$(m)"

# The suite runs in TEST_WORKERS pytest processes (pytest-xdist), each given whole files as it
# comes free, with a PostgreSQL database and SQLite files of its own: many tests wait on the
# servers, clients and clocks they start, so more processes than cores keep the cores busy:
# three left a tenth of them idle where four did not (a fresh clone's `.ci/run`: 893 s with
# four, 944 s with three), two a third; five, below. With PYTEST_ARGS (a selection, say) one pytest runs them as given.
# Where the time goes: docs/development.md, "How long CI takes", and the CPU of each file that
# `.ci/run` prints (tests/cpu_by_file.py). A test's server is forked from a process that has
# imported the service (tests/forking.py). Before that, CPU sampled with top: the pytest
# processes about 45 %, Chromium 26 %, the `todo-api` processes the tests start 24 % (each
# `serve` costs 3.3 to 4 s of CPU before it answers: imports, the route table, the quick-add
# parser's warm-up), PostgreSQL 2 %. Time by file (junit): the browser tests (Chromium drives
# the web app's pages on both databases, with JavaScript on and off) about 30 %, then the
# multi-process notifications, reminders, jobs, webhooks and shutdown servers (30 to 75 s a
# test) and the CalDAV report costs. xdist sorts the files by their number of tests unless
# told not to (--no-loadscope-reorder), so those came last and ran alone at the end while the
# other processes idled: tests/conftest.py starts them early (LONGEST_FILES, which mostly
# wait, spread among the others, the browser files first, which keep the cores busy).
# tests/accounts/test_recovery_server.py starts one pair of servers per database for the
# module, not per test. A test that needs a token such a server accepts mints it
# in-process (tests/helpers_server.py server_token), not with a `todo-api token` process (1.5 s
# of CPU each); caldav-server-tester is installed with uv, in seconds where pip took minutes.
# Passwords are hashed at OWASP's floor for Argon2id, in-process and in the servers the tests
# start (tests/support.py CHEAPEST_HASHES): at the default cost, a quarter of a second of CPU
# a sign-up or sign-in, hashing was half the CPU of the account and page tests.
# A test that hangs fails after 15 minutes (pytest-timeout, pyproject.toml), its stack printed.
# The tests write bytecode whatever the environment says (PYTHONDONTWRITEBYTECODE= below): with
# it set, each pytest process compiled every module it imports and rewrote every test module's
# assertions anew, 15 s of CPU a process on two idle cores.
# Five processes rather than four: a fresh clone's `.ci/run` on a quiet machine took 16 min 5 s
# (the suite 894 s) with five and 16 min 55 s (the suite 964 s) with four, its cores busy 94 %
# of the run with five.
TEST_WORKERS ?= 5
# The container test (tests/test_container.py: podman builds the image and runs it) is a job
# of its own, `make test-container`, which CI runs beside `make test`.
CONTAINER_TEST := tests/test_container.py
# Lighthouse's performance score is a measure of time: it runs after the others, by itself, so
# that the three other test processes do not take the page's CPU (under them its blocking time
# went from 60 ms to 900).
ALONE_TEST := tests/web/test_lighthouse_browser.py
test: $(INSTALLED)
	@echo ">>> Running the tests on SQLite and PostgreSQL in $(TEST_WORKERS) processes (about 14 minutes on two quiet cores, more on a busy machine). PostgreSQL is expected on"
	@echo ">>> 127.0.0.1:5432 (TEST_DATABASE_URL), Redis on 127.0.0.1:6379: without them those tests skip."
ifeq ($(strip $(PYTEST_ARGS)),)
	status=0; \
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --ignore=$(CONTAINER_TEST) --ignore=$(ALONE_TEST) || status=$$?; \
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q $(ALONE_TEST) || status=$$?; \
	exit $$status
else
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest $(PYTEST_ARGS)
endif

# Builds the image from the Dockerfile with podman (sh scripts/setup-container.sh installs it)
# and runs it on SQLite and PostgreSQL: about 6 minutes the first time on two idle cores (the
# base made with debootstrap, then the image), 2 once podman has the layers.
test-container: $(INSTALLED)
	$(BIN)/pytest -q -rP $(CONTAINER_TEST)

# mypy's caches, one for each configuration (.ci/run keeps them per machine, outside the clone).
MYPY_CACHE ?= .mypy_cache
lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --cache-dir $(MYPY_CACHE)/service
	$(BIN)/mypy --config-file bench/mypy.ini --cache-dir $(MYPY_CACHE)/bench bench
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
