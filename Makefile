# JobMaster for Python — developer commands. Quick start: `make demo`, then `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
	command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test check lint typecheck unit bench services clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

## demo: run the embedded SQLite demo (no server needed)
demo: $(VENV)/.installed
	$(BIN)/jobmaster demo

## services: make sure the local PostgreSQL (and other) services are up
services:
	bash scripts/services.sh

## test: install dev dependencies, start services, run the whole test suite
test: $(VENV)/.installed-dev services
	$(BIN)/pytest -q $(PYTEST_ARGS)

## lint / typecheck: ruff and mypy --strict on src/
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src

## check: lint, types and tests
check: lint typecheck test

## bench: the standard benchmark (see docs/performance.md)
bench: $(VENV)/.installed-dev services
	$(BIN)/jobmaster bench --backend postgres --jobs 100000

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist src/*.egg-info
