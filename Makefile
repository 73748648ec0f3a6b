# Reproducibility kit for LLM serving benchmarks on Huawei Ascend NPUs.
# `make` (or `make help`) lists every target. Every variable can be overridden:
#   make bench BASE_URL=http://127.0.0.1:30000 PROFILE=seed
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON       ?= python3
VENV         ?= .venv
PY           := $(VENV)/bin/python
PIP          := $(PY) -m pip --disable-pip-version-check -q
SGLANG_BENCH_VERSION ?= 0.5.3

MODEL          ?= Qwen/Qwen2-7B-Instruct
MODEL_REVISION ?= master
TP             ?= 1
NPUS           ?= 0
MEM_FRACTION   ?= 0.9
PORT           ?= 30000
BASE_URL       ?= http://127.0.0.1:$(PORT)
PROFILE        ?= seed
RESULTS_DIR    ?= results
WORK_DIR       ?= .work

##@ Start here

.PHONY: help
help: ## list every target (this page)
	@awk 'BEGIN {FS = ":.*## "} \
	  /^##@/ {printf "\n%s\n", substr($$0, 5)} \
	  /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables (override with VAR=value): MODEL MODEL_REVISION TP NPUS MEM_FRACTION PORT"
	@echo "  BASE_URL PROFILE RESULTS_DIR PYTHON VENV"

.PHONY: demo
demo: venv ## the whole pipeline against the simulator; ends with a report (numbers simulated)
	@$(PY) -m bench demo-not-yet-wired 2>/dev/null || { echo "make demo: not yet available (the simulator has not landed)"; exit 1; }

.PHONY: test
test: venv-test ## every test and static check
	$(PY) -m ruff check bench tests tools
	$(PY) -m ruff format --check bench tests tools
	$(PY) -m pytest -q

##@ Development

.PHONY: venv
venv: $(VENV)/.installed ## create .venv in the repo and install the kit (fast when nothing changed)

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	@touch $@

.PHONY: venv-test
venv-test: $(VENV)/.installed-test ## install the test extras and sglang.bench_serving (no torch)

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e '.[test,sglang]'
	$(PIP) install --no-deps 'sglang==$(SGLANG_BENCH_VERSION)'
	@touch $@

.PHONY: lint
lint: venv-test ## ruff on the package, tests and tools
	$(PY) -m ruff check bench tests tools
	$(PY) -m ruff format --check bench tests tools

.PHONY: validate
validate: venv ## validate every result document under RESULTS_DIR
	$(PY) -m bench validate $$(find $(RESULTS_DIR) -name '*.json' | sort)

.PHONY: clean
clean: ## remove the virtual environment, caches and work files (never results/)
	rm -rf $(VENV) $(WORK_DIR) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
