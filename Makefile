# Every target here is what CI runs (.ci/run calls `make test`).
# Each tool with conflicting pins gets its own virtual environment:
#   .venv           the package's dependencies and the test tools
#   .venv-sam       aws-sam-cli (pins boto3)
#   .venv-emulator  ministack (pins botocore); Lambda handlers run on its interpreter
#   .venv-awscli    the AWS CLI (pins botocore), for the e2e tier's documented commands

SHELL := /bin/bash
# The real interpreter's path (not a pyenv shim, which would loop once its folder is on PATH).
PYTHON313 ?= $(shell for candidate in $$(ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1) $$(command -v python3.13); do \
	"$$candidate" -c 'import sys; print(sys.executable)' 2>/dev/null && break; done)
# sam build looks for the runtime's interpreter (python3.13) on PATH.
export PATH := $(dir $(PYTHON313)):$(PATH)
export SAM_CLI_TELEMETRY := 0
PIP_FLAGS := --disable-pip-version-check --quiet

VENV := .venv
SAM := .venv-sam/bin/sam
PY := $(VENV)/bin/python

.PHONY: help venvs lint validate build unit e2e test sandbox clean

help:
	@echo "make sandbox   deploy into the local emulator and sign in with a code (main command)"
	@echo "make test      every check and test: lint, types, sam validate --lint, sam build, unit and e2e tiers"
	@echo "make unit      the unit tier only"
	@echo "make bench     the performance benchmark (cold start, warm latency, decrypt, sizes, sandbox sign-in)"

$(VENV)/.installed: requirements-dev.txt layers/sms_otp/requirements.txt
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required (python3.13 on PATH or under ~/.pyenv)"; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-dev.txt
	@touch $@

.venv-sam/.installed: requirements-sam.txt
	$(PYTHON313) -m venv .venv-sam
	.venv-sam/bin/pip install $(PIP_FLAGS) -r requirements-sam.txt
	@touch $@

.venv-emulator/.installed: requirements-emulator.txt
	$(PYTHON313) -m venv .venv-emulator
	.venv-emulator/bin/pip install $(PIP_FLAGS) -r requirements-emulator.txt
	@touch $@

.venv-awscli/.installed: requirements-awscli.txt
	$(PYTHON313) -m venv .venv-awscli
	.venv-awscli/bin/pip install $(PIP_FLAGS) -r requirements-awscli.txt
	@touch $@

venvs: $(VENV)/.installed .venv-sam/.installed .venv-emulator/.installed .venv-awscli/.installed

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

validate: .venv-sam/.installed
	$(SAM) validate --lint

build: .venv-sam/.installed
	$(SAM) build

unit: $(VENV)/.installed
	$(PY) -m pytest -m unit

e2e: venvs
	$(PY) -m pytest -m e2e

test:
	$(MAKE) -j4 venvs
	$(MAKE) lint validate build
	$(PY) -m pytest
	$(MAKE) bench-quick

sandbox:
	$(MAKE) -j3 $(VENV)/.installed .venv-sam/.installed .venv-emulator/.installed
	PYTHONPATH=src $(PY) -m sms_otp_client sandbox $(SANDBOX_ARGS)

clean:
	rm -rf .aws-sam .venv .venv-sam .venv-emulator .venv-awscli .pytest_cache .mypy_cache .ruff_cache

# Performance benchmark (issue 5): every table printed, results in .bench/results.json.
# bench-quick is its smoke run for CI: few runs and iterations, never judged on timings
# (non-zero exit only if something crashed). BENCH_ARGS passes options (--no-e2e, --sections ...).
.PHONY: bench bench-quick

bench: $(VENV)/.installed .venv-sam/.installed .venv-emulator/.installed
	PYTHONPATH=layers/sms_otp:src:. $(PY) -m bench $(BENCH_ARGS)

bench-quick: $(VENV)/.installed .venv-sam/.installed .venv-emulator/.installed
	PYTHONPATH=layers/sms_otp:src:. $(PY) -m bench --quick $(BENCH_ARGS)

# Mutation testing of codes, custom_auth, limits and custom_sms with mutmut (about an hour on
# two cores; not part of `make test`). MUTATION_ARGS passes mutant names or globs to `mutmut run`.
.PHONY: mutation

mutation: $(VENV)/.installed
	$(PY) tests/mutation/run.py $(MUTATION_ARGS)
