# ALPR governance suite. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else bootstrapped into .tools/ from PyPI (needs only python3 and pip).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := 3.11
PYTEST_WORKERS ?= 2
SERVICES := access audit ingest hotlist sharing gateway

.PHONY: help install run test browser test-sqlite lint format typecheck migrate bench compliance \
        k8s-check ci cso clean pythons demo

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	@echo "bootstrapping uv into .tools/ (from PyPI)"
	python3 -m venv .tools && .tools/bin/pip install --quiet --disable-pip-version-check uv

install: $(UV) ## create .venv with every service and the dev tools (uv.lock, frozen)
	$(UV) sync --frozen
	$(UV) sync --frozen --quiet --project tools/checkov

run: install ## migrate SQLite and run the whole suite (gateway on :8000) until Ctrl-C
	$(UV) run --frozen python -m alpr_common.suite run --state-dir var

demo: install ## the suite with demo people, cameras, a hot list and a camera simulator (DEMO_ARGS=--rate 5 ...)
	$(UV) run --frozen python -m alpr_common.demo $(DEMO_ARGS)

test: install browser ## the whole test suite, on SQLite and on PostgreSQL (ALPR_TEST_PG_URL)
	$(UV) run --frozen pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The headless-browser tests (the audit report's HTML) need chromium and chromedriver: installed
# from Debian when missing and we are root with apt-get; otherwise those tests skip (fail in CI).
browser: ## install chromium and chromium-driver (Debian, as root) when missing
	@if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and chromium-driver (apt-get)"; \
	    apt-get update -qq >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
	    || echo "could not install chromium: the browser tests will skip"; \
	  else echo "chromium/chromedriver missing and not root: the browser tests will skip"; fi; \
	fi

lint: install ## ruff lint and format check
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: install ## ruff format and fix
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

typecheck: install ## mypy on the kernel, every service and the gateway ([tool.mypy] files)
	$(UV) run --frozen mypy

migrate: install ## apply every service's Alembic migrations (SQLite in var/ unless *_DATABASE_URL)
	@for s in $(SERVICES); do $(UV) run --frozen python -m alpr_$$s migrate || exit 1; done

cso: install ## create the first Chief Security Officer: echo PASS | make cso USERNAME=.. FULL_NAME=.. BADGE=..
	@test -n "$(USERNAME)" || { echo "usage: echo PASSWORD | make cso USERNAME=u FULL_NAME='First Last' BADGE=123"; exit 2; }
	$(UV) run --frozen python -m alpr_access create-cso --username "$(USERNAME)" \
	  --full-name "$(FULL_NAME)" --badge "$(BADGE)" --password-stdin

compliance: install ## run the tests and list every GO 344 clause with the tests that prove it
	-$(UV) run --frozen pytest -n $(PYTEST_WORKERS) -q --policy-report reports/policy.json
	$(UV) run --frozen python -m alpr_common.testing.compliance reports/policy.json

bench: install ## benchmarks (ratios against this machine's own ceilings)
	$(UV) run --frozen python bench/run.py

pythons: install ## install the lock on Python 3.12 and 3.13 too; import, build every app, unit tests
	UV=$(UV) bash .ci/pythons

k8s-check: install ## render every overlay; validate (Kubernetes + CRD schemas), checkov, policy checks
	$(UV) run --frozen pytest -q tests/k8s

ci: ## what CI runs (.ci/run: lint, typecheck, the other Pythons, then the tests)
	bash .ci/run

clean: ## remove local state (SQLite files, keys, logs) and caches
	rm -rf var reports .pytest_cache .ruff_cache .mypy_cache .venv-py*
