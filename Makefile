# One entry point for everything: `make demo`, `make test`, `make package`.
# Every target installs what it needs into .venv, in stages that each print a
# line with their time: the demo's small pinned set (requirements-demo.txt:
# boto3, moto, python-terraform) for demo/invoke/bench, the test tools on top
# (requirements-dev.txt) only for test/lint; and a Terraform CLI config that
# uses a local provider mirror when one exists (TF_PROVIDER_MIRROR), the public
# registry otherwise.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
TF_PROVIDER_MIRROR ?= /opt/tf-plugins
STAGE := $(PYTHON) tools/stage.py run

export TF_CLI_CONFIG_FILE := $(CURDIR)/build/terraformrc
export TF_IN_AUTOMATION := 1
export PYTHONDONTWRITEBYTECODE := 1

ZIP := dist/fanout.zip
LAMBDA_SOURCES := $(shell find lambda_src -name '*.py' 2>/dev/null | sort)

.PHONY: all help venv venv-run tfrc package lint fmt test test-unit test-cli test-module test-e2e release-check release-tags demo invoke bench docs clean
.DEFAULT_GOAL := help

# Install stages, in the order they are defined: $(call pip_stage,NAME,FILES,PIP ARGS,GROUP)
# makes .venv/.NAME (redone when FILES change) by `pip install PIP ARGS`, after every
# earlier stage, and adds it to GROUP: `run` stages serve every target, `test` stages only
# the test and lint targets. One more line adds a stage, e.g. this checkout's own package,
# after the demo stage: $(eval $(call pip_stage,cli,pyproject.toml,--no-deps -e .,run))
RUN_STAGES :=
TEST_STAGES :=
define pip_stage
$(VENV)/.$(1): $(2) $(RUN_STAGES) $(TEST_STAGES) | $(VENV)/bin/python
	@$$(STAGE) "install $(1) (pip install $(3))" --brief -- $$(PY) -m pip install $(3)
	@touch $$@
$(if $(filter run,$(4)),RUN_STAGES += $(VENV)/.$(1),TEST_STAGES += $(VENV)/.$(1))
endef
$(eval $(call pip_stage,demo,requirements-demo.txt,-r requirements-demo.txt,run))
$(eval $(call pip_stage,dev,requirements-dev.txt requirements-demo.txt,-r requirements-dev.txt,test))

EVENT ?= examples/events/mixed-batch.json

# The variables a command line may set, as `make help` lists them (lines "#: NAME text"):
#: EVENT       the stream event `make invoke` runs (default examples/events/mixed-batch.json)
#: INVOKE_ARGS more options of `make invoke`, e.g. --summary (INVOKE_ARGS=--help lists them)
#: DEMO_ARGS   options of `make demo`, e.g. --bus-outage (DEMO_ARGS=--help lists them)
#: BENCH_ARGS  options of `make bench`, e.g. BENCH_ARGS="--write BENCHMARKS.md"
#: XDIST       pytest-xdist options of each test phase (default "-n 2 --dist loadfile"; "-n 0": one process)
#: E2E_XDIST   the same for the end-to-end phase (default "-n 3 --dist loadfile")
#: PYTHON      the Python that creates .venv (default python3; 3.11 or newer)
#: TF_PROVIDER_MIRROR  a local Terraform provider mirror for `make tfrc` (default /opt/tf-plugins, used when present)

all: test

help: ## List the targets and variables (what a bare `make` does)
	@echo "make TARGET, one of:"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "Variables, e.g. make invoke EVENT=examples/events/insert.json:"
	@grep -hE '^#: ' $(MAKEFILE_LIST) | awk '{name = $$2; $$1 = $$2 = ""; sub(/^ +/, ""); printf "  %-19s %s\n", name, $$0}'

$(VENV)/bin/python:
	@$(STAGE) "create $(VENV) ($$($(PYTHON) --version))" -- $(PYTHON) -m venv $(VENV)

venv-run: $(RUN_STAGES) ## Install what demo/invoke/bench need (requirements-demo.txt)

venv: $(RUN_STAGES) $(TEST_STAGES) ## Install everything, test tools included (requirements-dev.txt)

tfrc: ## Write the Terraform CLI config (local provider mirror when present)
	@mkdir -p build
	@tools/terraformrc.sh "$(TF_PROVIDER_MIRROR)" > build/terraformrc

$(ZIP): $(LAMBDA_SOURCES) tools/package.py | $(VENV)/bin/python
	$(PY) tools/package.py lambda_src $(ZIP)

package: $(ZIP) ## Build dist/fanout.zip (byte-identical on every build)

lint: venv tfrc ## ruff, mypy (lambda_src/, cli/, bench/, tools/) and terraform fmt
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	terraform fmt -check -recursive -diff

fmt: venv ## Format Python and Terraform in place
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	terraform fmt -recursive

# The test phases, by directory: together they hold every test (a test in
# tests/tools checks that each test file belongs to exactly one). `make test` runs
# them all; test-unit, test-cli, test-module and test-e2e run one, the same way.
# Each spreads its files over two workers (pytest-xdist; a file stays on one, so
# its module-scoped fixtures, e.g. a moto_server or an applied stack, are set up once).
# The end-to-end files mostly wait for the provider's polling, so each gets its own.
UNIT_TESTS := tests/unit tests/tools
CLI_TESTS := tests/cli
MODULE_TESTS := tests/module
E2E_TESTS := tests/e2e
XDIST ?= -n 2 --dist loadfile
E2E_XDIST ?= -n 3 --dist loadfile
PYTEST := $(PY) -m pytest $(XDIST)
PYTEST_E2E := $(PY) -m pytest $(E2E_XDIST)

# Each phase runs even when an earlier one failed (the summary names every one);
# Ctrl-C (exit 130) stops them all. The end-to-end and cli phases spend much of
# their time waiting (for Terraform's provider to poll moto_server, for SQS long
# polls), so they run in the background from the start, their output kept in
# build/test-<phase>.out and printed when they are done, while the others use the
# CPU; the summary gives the wall time of all the phases. The end-to-end phase is
# the longest chain of work, so the others run at a lower priority (nice): they
# take the CPU whenever it waits instead of slowing it down.
TEST_LOG := build/test-phases.tsv
LOW := nice -n 10
E2E_OUT := build/test-e2e.out
CLI_OUT := build/test-cli.out
NEXT_PHASE := || [ $$? -ne 130 ]
test: venv package tfrc ## Everything, phase by phase: lint, handler and tools, cli, module, end to end
	@rm -f $(TEST_LOG)
	@$(PYTHON) tools/stage.py start "end to end" --log $(TEST_LOG) --output $(E2E_OUT) -- $(PYTEST_E2E) $(E2E_TESTS)
	@$(PYTHON) tools/stage.py start cli --log $(TEST_LOG) --output $(CLI_OUT) -- $(LOW) $(PYTEST) $(CLI_TESTS)
	@$(STAGE) lint --log $(TEST_LOG) -- $(LOW) $(MAKE) --no-print-directory lint $(NEXT_PHASE)
	@$(STAGE) "handler and tools" --log $(TEST_LOG) -- $(LOW) $(PYTEST) $(UNIT_TESTS) $(NEXT_PHASE)
	@$(STAGE) module --log $(TEST_LOG) -- $(LOW) $(PYTEST) $(MODULE_TESTS) $(NEXT_PHASE)
	@$(PYTHON) tools/stage.py wait cli --output $(CLI_OUT) $(NEXT_PHASE)
	@$(PYTHON) tools/stage.py wait "end to end" --output $(E2E_OUT) $(NEXT_PHASE)
	@$(PYTHON) tools/stage.py summary --title "make test" $(TEST_LOG)

test-unit: venv ## The handler and tools phase: tests/unit, tests/tools
	$(PYTEST) $(UNIT_TESTS)

test-cli: venv ## The operations CLI phase: tests/cli (moto_server, pip install .)
	$(PYTEST) $(CLI_TESTS)

test-module: venv ## The module phase: terraform test, validate, checkov, docs (tests/module)
	$(PYTEST) $(MODULE_TESTS)

test-e2e: venv ## The end-to-end phase: the module applied to moto_server (tests/e2e)
	$(PYTEST_E2E) $(E2E_TESTS)

release-check: ## The docs pin the CHANGELOG's newest release commit (its __version__); the module since is in [Unreleased]
	$(PYTHON) -m tools.release_check

release-tags: ## Annotated tags vX.Y.Z at the commits the CHANGELOG's releases name (for mirrors; never moves a tag)
	$(PYTHON) -m tools.release_tags

demo: venv-run package tfrc ## Run the whole fan-out locally on moto (no AWS account)
	$(PY) -m localrun.demo $(DEMO_ARGS)

invoke: venv-run ## Run the handler on one sample event (EVENT=examples/events/….json) on moto
	$(PY) -m localrun.invoke $(EVENT) $(INVOKE_ARGS)

bench: venv-run ## Benchmarks against the older implementations' strategies
	PYTHONPATH=lambda_src:. $(PY) -m bench.run $(BENCH_ARGS)

docs: venv-run ## Regenerate the inputs/outputs tables (docs/module.md, each example's README)
	$(PY) -m tools.readme_tables --write --examples

clean: ## Remove build outputs and the virtual environment
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis
	find . -name .terraform -type d -prune -exec rm -rf {} +
	find . -name '.terraform.lock.hcl' -path './tests/*' -delete
