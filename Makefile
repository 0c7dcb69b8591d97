# Hub dei Talenti: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# Two test processes (the machine's two cores); a file's tests stay together in one process, the
# browser package too, and the longest files go first (pytest_xdist_make_scheduler, tests/conftest.py).
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile
# The slowest tests of each run are listed at the end, to keep `make test` under 15 minutes.
PYTEST_REPORT ?= --durations=15
export FLASK_APP := wsgi

.PHONY: run test test-sqlite test-postgresql test-browser system-deps lint venv deps translations translations-update bench clean help

help:
	@echo "make run    - set up everything and serve the demo on http://$(HOST):$(PORT)"
	@echo "make test   - lint and run the whole suite on SQLite and on PostgreSQL"
	@echo "make test-browser - only the browser tests (Chromium + axe-core), on SQLite"
	@echo "make bench  - load test at scale 1 and 0.01 on PostgreSQL (docs/benchmarks.md)"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "ERROR: $(PYTHON) is required (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip check
	touch $@

venv deps: $(VENV)/.installed

translations: deps
	$(BIN)/pybabel compile --statistics -d app/translations

translations-update: deps
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

run: deps translations
	$(BIN)/flask db upgrade
	HUB_DEMO=$${HUB_DEMO:-1} $(BIN)/flask seed-demo
	@echo "Intranet su http://$(HOST):$(PORT)  (Ctrl+C per fermare)"
	HUB_DEMO=$${HUB_DEMO:-1} $(BIN)/flask run --host $(HOST) --port $(PORT) --no-reload

lint: deps
	$(BIN)/ruff check app tests tools wsgi.py

system-deps:
	bash tools/system-deps.sh

test: deps translations lint system-deps
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python tools/check-postgres.py
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgresql

test-sqlite: deps
	HUB_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_REPORT) $(PYTEST_ARGS)

test-browser: deps translations system-deps
	HUB_TEST_DB=sqlite $(BIN)/pytest -m browser tests/browser $(PYTEST_ARGS)

test-postgresql: deps
	HUB_TEST_DB=postgresql TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_REPORT) $(PYTEST_ARGS)

# Load test at scale 1 and 0.01 (PostgreSQL on 127.0.0.1:5432, databases hub_bench_s1 / hub_bench_s001,
# reused while scale, seed and schema match); see docs/benchmarks.md. BENCH_ARGS e.g. --duration 30.
BENCH_ARGS ?=
bench: deps translations
	TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres $(BIN)/python tools/check-postgres.py
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
