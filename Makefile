# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/rewards
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run serve install test test-fast test-sqlite test-postgres lint format browser redis-server bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

# `make run`: web server + Celery worker + beat (Procfile.dev, through honcho), so schedules really run.
# Broker: the local Redis when it answers (RUN_REDIS_URL), otherwise kombu's filesystem broker in .celery-broker/.
PORT ?= 8000
RUN_REDIS_URL ?= redis://127.0.0.1:6379/0
run: install
	@$(PY) manage.py migrate --noinput -v0
	@EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend $(PY) manage.py load_demo_data
	@if $(PY) -c "import redis; redis.Redis.from_url('$(RUN_REDIS_URL)', socket_connect_timeout=1).ping()" 2>/dev/null; \
	  then broker='$(RUN_REDIS_URL)'; else broker=filesystem://localhost/; mkdir -p .celery-broker/control; fi; \
	echo ""; \
	echo "  Public site:     http://127.0.0.1:$(PORT)/"; \
	echo "  Back-office:     http://127.0.0.1:$(PORT)/admin/   (Schedules: last and next runs)"; \
	echo "  Django admin:    http://127.0.0.1:$(PORT)/django-admin/"; \
	echo "  API docs:        http://127.0.0.1:$(PORT)/api/docs/"; \
	echo "  Celery broker:   $$broker   (logins above; stop with Ctrl-C)"; \
	echo ""; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CELERY_BROKER_URL=$$broker CELERY_TASK_ALWAYS_EAGER=0 $(VENV)/bin/honcho -f Procfile.dev start -p $(PORT)

# Debian's Chromium for the browser tests; installed only when missing and we may (root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "!!! chromium is not installed and we are not root: browser tests will be SKIPPED !!!"; fi; }

# redis-server for the production smoke test (PostgreSQL pass); installed only when missing and we may (root).
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "!!! redis-server is not installed and we are not root: the production smoke test will FAIL !!!"; fi; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The test loop. Both passes run on every core (pytest-xdist). Browser and schemathesis tests are slow and
# database-agnostic, so they run once, in the PostgreSQL pass (or in the SQLite pass when no PostgreSQL answers).
PYTEST := $(PY) -m pytest -n $(or $(TEST_WORKERS),auto) --dist loadgroup
SLOW := browser or fuzz
COVERAGE_FLOOR := $(shell cat .coverage-floor 2>/dev/null || echo 0)
PG_UP = $(PY) -c "import psycopg; psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres', connect_timeout=3).close()" 2>/dev/null

# The quick loop: no browser, fuzz, PostgreSQL-only or `slow` tests (real servers, subprocesses, waits of
# seconds); each worker's SQLite database is copied from a migrated snapshot
# (conftest.py), so only the first run after a migration change migrates.
test-fast: install
	@echo "=== unit tests on SQLite (no browser, fuzz, PostgreSQL-only or slow tests) ==="
	env -u DATABASE_URL $(PYTEST) -m "not ($(SLOW)) and not postgres and not slow" -q

test-sqlite: install browser
	@echo "=== test suite on SQLite ==="
	@if $(PG_UP); then \
	  env -u DATABASE_URL $(PYTEST) -m "not ($(SLOW))"; \
	else \
	  env -u DATABASE_URL $(PYTEST); \
	fi

test-postgres: install browser redis-server
	@if $(PG_UP); then \
	  echo "=== test suite on PostgreSQL ($(PG_URL)) ==="; \
	  DATABASE_URL=$(PG_URL) $(PYTEST) --create-db --cov --cov-report=term:skip-covered \
	    --cov-fail-under=$(COVERAGE_FLOOR); \
	else \
	  echo ""; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!!! PostgreSQL does not answer on 127.0.0.1:5432: the PostgreSQL pass is SKIPPED  !!!"; \
	  echo "!!! concurrency guarantees were NOT checked                                       !!!"; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

test: lint test-sqlite test-postgres

# `make bench`: every bench/*.py at full scale (BENCH_SCALE=0.05 for a quick run); BENCH_ONLY=redeem,bulk_upload runs
# only those and rebuilds bench/RESULTS.md from bench/results/*.json, keeping the other benches' last results.
bench: install
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || true
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) db.sqlite3 media private_media staticfiles .celery-broker test-artifacts
