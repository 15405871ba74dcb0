# `make test` is what CI runs (.ci/run). `make help` lists every target.
# Each tool with conflicting pins gets its own virtual environment:
#   .venv           the package's dependencies, the test tools and the project itself (editable)
#   .venv-sam       aws-sam-cli (pins boto3)
#   .venv-emulator  ministack (pins botocore); Lambda handlers run on its interpreter
#   .venv-awscli    the AWS CLI (pins botocore), for the e2e tier's documented commands
#   .venv-checkov   checkov (pins boto3 and many more), the security scan of the template
# The web example (web/) is built with npm from its package-lock.json; its e2e test
# drives Debian's Chromium (/usr/bin/chromium).

SHELL := /bin/bash
# The real interpreter's path (not a pyenv shim, which would loop once its folder is on PATH).
PYTHON313 ?= $(shell for candidate in $$(ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1) $$(command -v python3.13); do \
	"$$candidate" -c 'import sys; print(sys.executable)' 2>/dev/null && break; done)
# sam build looks for the runtime's interpreter (python3.13) on PATH.
export PATH := $(if $(PYTHON313),$(dir $(PYTHON313)):)$(PATH)
export SAM_CLI_TELEMETRY := 0
PIP_FLAGS := --disable-pip-version-check --quiet
NEEDS_PYTHON313 = @test -n "$(PYTHON313)" || { echo "Python 3.13 is required: put python3.13 on PATH or install it with pyenv (pyenv install 3.13)"; exit 1; }

VENV := .venv
SAM := .venv-sam/bin/sam
PY := $(VENV)/bin/python

.PHONY: help system-packages dev venvs lint validate scan build deploy web docs docs-build unit unit-fast e2e local-invoke test sandbox bench clean smoke-aws

help: ## list the targets
	@awk -F':.*## ' '/^[a-z][a-z0-9-]*:.*## / {printf "make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

sandbox: ## main job: deploy into the local emulator and sign in with a code (SANDBOX_ARGS="--keep" keeps it running, "--web" serves the web example)
	$(MAKE) -j3 $(VENV)/.installed .venv-sam/.installed .venv-emulator/.installed $(if $(findstring --web,$(SANDBOX_ARGS)),web/dist/main.js)
	$(PY) -m sms_otp_client sandbox $(SANDBOX_ARGS)

test: ## every check and test, as CI runs them: lint, types, sam validate --lint, the checkov scan, sam build, the web example, the docs site, every test tier
	$(MAKE) system-packages
	$(MAKE) -j4 venvs
	$(MAKE) lint validate scan build web docs-build
# No __pycache__ in the source folders, which sam build's cache hashes: the build tier's `sam build` then reuses `make build`'s.
	PYTHONDONTWRITEBYTECODE=1 $(PY) -m pytest

# Debian packages the tiers need: Chromium (the web example's browser test), npm (its build),
# and Docker's engine and debootstrap (the local-invoke tier). Docker's packages keep their
# recommended ones (its engine needs some of them); the others go without.
BROWSER_PACKAGES = $(if $(shell command -v chromium),,chromium) $(if $(shell command -v npm),,nodejs npm)
CONTAINER_PACKAGES = $(if $(shell command -v dockerd),,docker.io) $(if $(shell command -v debootstrap),,debootstrap)

system-packages: ## install the Debian packages the test tiers need, when missing (chromium, npm, docker.io, debootstrap; as root)
	@if [ -z "$(strip $(BROWSER_PACKAGES) $(CONTAINER_PACKAGES))" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make test needs these Debian packages; install them as root: apt-get install $(strip $(BROWSER_PACKAGES) $(CONTAINER_PACKAGES))"; exit 1; fi; \
	set -e; apt-get update -qq; \
	if [ -n "$(strip $(BROWSER_PACKAGES))" ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES); fi; \
	if [ -n "$(strip $(CONTAINER_PACKAGES))" ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CONTAINER_PACKAGES); fi

dev: venvs ## set up a development checkout: every virtual environment and the pre-commit hooks
	$(VENV)/bin/pre-commit install

venvs: $(VENV)/.installed .venv-sam/.installed .venv-emulator/.installed .venv-awscli/.installed .venv-checkov/.installed ## create the five virtual environments

lint: $(VENV)/.installed ## ruff, ruff format and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

validate: .venv-sam/.installed ## sam validate --lint (cfn-lint)
	$(SAM) validate --lint

# checkov does not expand Fn::ForEach (it would skip the resources of the template's loops): it scans
# the template as cfn-lint expands it. Each check the template does not meet is skipped in the
# resource's Metadata (checkov: skip:) with its reason, which the scan prints.
CHECKOV_TEMPLATE := .artifacts/checkov/template.json

scan: $(VENV)/.installed .venv-checkov/.installed ## checkov's security scan of the template (loops expanded); each skipped check says why
	$(PY) -m tests.testkit.template $(CHECKOV_TEMPLATE)
	.venv-checkov/bin/checkov --file $(CHECKOV_TEMPLATE) --framework cloudformation --skip-download --compact

build: .venv-sam/.installed ## sam build into .aws-sam/build, with .venv-sam's SAM and Python 3.13 first on PATH
	$(NEEDS_PYTHON313)
	$(SAM) build

# `sam deploy --guided` saves the region it asks for in samconfig.toml's [default]: until it has, deploy is guided.
DEPLOY_MODE = $(PYTHON313) -c 'import tomllib; parameters = tomllib.load(open("samconfig.toml", "rb"))["default"]["deploy"]["parameters"]; \
	print("" if "region" in parameters else "--guided")'

# Credentials are checked first: the guided deploy asks all its questions before it needs them.
deploy: build $(VENV)/.installed ## deploy to your AWS account: guided the first time (your answers go to samconfig.toml), then from samconfig.toml (DEPLOY_ARGS passes options)
	@$(PY) -m sms_otp_client check-credentials
	@mode=$$($(DEPLOY_MODE)) || exit 1; \
	if [ -n "$$mode" ]; then echo "First deployment: sam deploy --guided asks for the stack name, region and parameters, and saves them in samconfig.toml"; fi; \
	set -x; $(SAM) deploy $$mode $(DEPLOY_ARGS)

web: web/dist/main.js ## build the web example (npm ci, then an esbuild bundle in web/dist)

# The documentation site (mkdocs.yml, docs/). Material for MkDocs prints a notice about its future
# on every build, which says nothing about this site.
MKDOCS = NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs

docs: $(VENV)/.installed ## serve the documentation site on http://127.0.0.1:8000/, rebuilt as you edit (mkdocs serve)
	$(MKDOCS) serve

docs-build: $(VENV)/.installed ## build the documentation site into .site/ with mkdocs build --strict (a broken link fails it)
	$(MKDOCS) build --strict --site-dir .site

unit: $(VENV)/.installed ## the unit tier only
	$(PY) -m pytest -m unit

unit-fast: $(VENV)/.installed ## the unit tier without its long simulations (marker slow), for a quick check while editing
	$(PY) -m pytest -m "unit and not slow"

e2e: venvs web ## the e2e tier only (deploys into the emulator)
	$(PY) -m pytest -m e2e

local-invoke: venvs ## the local-invoke tier only (sam local in Docker; as root it installs and starts what it needs)
	$(PY) -m pytest -m local_invoke

bench: $(VENV)/.installed .venv-sam/.installed ## the performance benchmark: cold starts compiled and from source, warm latency, sizes (BENCH_ARGS passes options)
	$(PY) -m bench $(BENCH_ARGS)

clean: ## remove builds, virtual environments and caches
	rm -rf .aws-sam .venv .venv-sam .venv-emulator .venv-awscli .pytest_cache .mypy_cache .ruff_cache .artifacts .site web/node_modules web/dist

$(VENV)/.installed: requirements-dev.txt layers/sms_otp/requirements.txt pyproject.toml
	$(NEEDS_PYTHON313)
	$(PYTHON313) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-dev.txt
	# The project itself, editable: puts the import roots named in pyproject.toml on the path.
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps -e .
	@touch $@

.venv-%/.installed: requirements-%.txt
	$(NEEDS_PYTHON313)
	$(PYTHON313) -m venv .venv-$*
	.venv-$*/bin/pip install $(PIP_FLAGS) -r requirements-$*.txt
	@touch $@

# Exactly the locked versions; no dependency's install script runs (esbuild works without its own).
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

web/dist/main.js: web/node_modules/.installed web/src/main.js web/index.html
	cd web && npm run build

# Mutation testing of codes, custom_auth, limits, pumping and custom_sms with mutmut (over an hour on
# two cores; not part of `make test`). MUTATION_ARGS passes mutant names or globs to `mutmut run`.
.PHONY: mutation

mutation: $(VENV)/.installed ## mutation testing of the layer's core modules (mutmut; over an hour, not in CI)
	$(PY) tests/mutation/run.py $(MUTATION_ARGS)

smoke-aws: $(VENV)/.installed .venv-sam/.installed ## the existing-pool round trip on a scratch pool in YOUR account (test mode): STACK_NAME=... USER_POOL_ID=... [REGION=...]
	@test -n "$(STACK_NAME)" || { echo "make smoke-aws deploys and deletes a stack in your AWS account: name a new, scratch one with STACK_NAME=..."; exit 1; }
	@test -n "$(USER_POOL_ID)" || { echo "make smoke-aws needs USER_POOL_ID=... (a scratch user pool it may attach to and give back)"; exit 1; }
	$(PY) -m sms_otp_client smoke-aws --stack "$(STACK_NAME)" --user-pool-id "$(USER_POOL_ID)" $(if $(REGION),--region "$(REGION)") $(SMOKE_ARGS)
