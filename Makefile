# One entry point for everything: `make demo`, `make test`, `make package`.
# Every target installs what it needs: a virtual environment from the pinned
# requirements-dev.txt and a Terraform CLI config that uses a local provider
# mirror when one exists (TF_PROVIDER_MIRROR), the public registry otherwise.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
TF_PROVIDER_MIRROR ?= /opt/tf-plugins

export TF_CLI_CONFIG_FILE := $(CURDIR)/build/terraformrc
export TF_IN_AUTOMATION := 1
export PYTHONDONTWRITEBYTECODE := 1

ZIP := dist/fanout.zip
LAMBDA_SOURCES := $(shell find lambda_src -name '*.py' 2>/dev/null | sort)

.PHONY: all help venv tfrc package lint fmt test test-unit test-module test-e2e demo invoke bench docs clean

EVENT ?= examples/events/mixed-batch.json

all: test

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Create the virtual environment from requirements-dev.txt

tfrc: ## Write the Terraform CLI config (local provider mirror when present)
	@mkdir -p build
	@tools/terraformrc.sh "$(TF_PROVIDER_MIRROR)" > build/terraformrc

$(ZIP): $(LAMBDA_SOURCES) tools/package.py | venv
	$(PY) tools/package.py lambda_src $(ZIP)

package: $(ZIP) ## Build dist/fanout.zip (byte-identical on every build)

lint: venv tfrc ## ruff and terraform fmt
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	terraform fmt -check -recursive -diff

fmt: venv ## Format Python and Terraform in place
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	terraform fmt -recursive

test: lint package tfrc ## Everything: lint, handler, module, examples, checkov, end-to-end on moto
	$(PY) -m pytest

test-unit: venv ## Handler tests only (fast)
	$(PY) -m pytest tests/unit

test-module: package tfrc ## Terraform tests, validation, checkov, README tables
	$(PY) -m pytest tests/module

test-e2e: package tfrc ## The module applied to moto_server with a workload
	$(PY) -m pytest tests/e2e

demo: package tfrc ## Run the whole fan-out locally on moto (no AWS account)
	$(PY) -m localrun.demo $(DEMO_ARGS)

invoke: venv ## Run the handler on one sample event (EVENT=examples/events/….json) on moto
	$(PY) -m localrun.invoke $(EVENT) $(INVOKE_ARGS)

bench: venv ## Benchmarks against the older implementations' strategies
	PYTHONPATH=lambda_src:. $(PY) -m bench.run $(BENCH_ARGS)

docs: venv ## Regenerate the README inputs/outputs tables
	$(PY) -m tools.readme_tables --write

clean: ## Remove build outputs and the virtual environment
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis
	find . -name .terraform -type d -prune -exec rm -rf {} +
	find . -name '.terraform.lock.hcl' -path './tests/*' -delete
