# Reproducibility kit for LLM serving benchmarks on Huawei Ascend NPUs.
# `make` (or `make help`) lists every target. Every variable can be overridden:
#   make bench BASE_URL=http://127.0.0.1:30000 PROFILE=seed
# `make -n all` prints every command the full pipeline would run, without running it.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON       ?= python3
VENV         ?= .venv
PY           := $(VENV)/bin/python
PIP          := $(PY) -m pip --disable-pip-version-check -q
SGLANG_BENCH_VERSION ?= 0.5.3

# --- what is served and how (see docs/containers.md) ---------------------------------
MODEL          ?= Qwen/Qwen2-7B-Instruct
# A commit id or tag on ModelScope; empty on purpose (`make model` says how to pick one).
MODEL_REVISION ?=
MODELS_DIR     ?= models
TP             ?= 1
# Data-parallel copies of the model, each on TP NPUs (SGLang --dp-size): TP x DP NPUs in all.
DP             ?= 1
NPUS           ?= 0
MEM_FRACTION   ?= 0.9
PORT           ?= 30000
BASE_URL       ?= http://127.0.0.1:$(PORT)
SGLANG_FLAGS   ?= --attention-backend ascend --device npu --tp-size $(TP) --mem-fraction-static $(MEM_FRACTION) --dp-size $(DP)
SGLANG_EXTRA_ARGS ?=
SGLANG_IMAGE   ?= quay.io/ascend/sglang:v0.5.9-cann8.5.0-910b
IMAGE_PLATFORM ?= linux/arm64
SERVE_TIMEOUT  ?= 1800
ASCEND_RUNTIME ?=

# --- what is measured and where it goes ----------------------------------------------
PROFILE        ?= seed
RESULTS_DIR    ?= results
# Unsubmitted runs (git-ignored; `make clean` keeps them). `make submit` files one under results/.
RUN_DIR        ?= runs
ifndef RUN_NAME
RUN_NAME       := $(PROFILE)-$(shell date -u +%Y%m%dT%H%M%SZ)
endif
RESULT         ?= $(RUN_DIR)/$(RUN_NAME).json
REPORT         ?= $(RESULTS_DIR)/REPORT.md
SUBMITTER      ?= anonymous
# An SSH private key: `make submit SIGN=~/.ssh/id_ed25519` signs the result it files.
SIGN           ?=
WORK_DIR       ?= .work
LOG_DIR        ?= $(WORK_DIR)/logs
SERVER_LOG     ?= $(LOG_DIR)/server.log
DEMO_DIR       ?= $(WORK_DIR)/demo
# 1 = simulated real time, numbers comparable with the article; F > 1 divides every
# simulated duration by F (faster, and the report labels the run "simulated xF speed").
SIM_SPEED      ?= 1
DEMO_PROFILE   ?= demo
THROUGHPUT_ARGS ?=
LATENCY_ARGS   ?=
# Studies (docs/studies.md): the study file, its directory (default runs/studies/NAME-STAMP),
# extra flags (STUDY_ARGS=--resume with STUDY_OUT to continue one), and make study-demo's.
STUDY          ?= studies/demo.toml
STUDY_OUT      ?=
STUDY_ARGS     ?=
STUDY_DEMO_DIR ?= $(WORK_DIR)/study-demo
# Two hosts (compose.multinode.yaml, docs/scaling.md): `make serve-node NODE_RANK=N` on each.
# TP is the total over every node (16 on two hosts of 8); NPUS lists this host's NPUs.
NNODES         ?= 2
NODE_RANK      ?=
DIST_INIT_ADDR ?=
HCCL_SOCKET_IFNAME ?=
GLOO_SOCKET_IFNAME ?= $(HCCL_SOCKET_IFNAME)
HCCL_BUFFSIZE  ?= 200
# This host's `bench env --json`, written by `make serve-node` (copy rank 1's to rank 0).
NODE_ENV       ?= $(WORK_DIR)/node-$(NODE_RANK).env.json
# `make bench NODE_ENVS="0=FILE 1=FILE"`: every node's capture, recorded in system.nodes.
NODE_ENVS      ?=

# --- images and compose ----------------------------------------------------------------
KIT_VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
VCS_REF        ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_URL     ?= $(shell git config --get remote.origin.url 2>/dev/null || echo unknown)
IMAGE          ?= ascend-bench-kit:$(KIT_VERSION)-ascend
DOCKER         ?= docker
NPU_SMI        ?= npu-smi
COMPOSE        ?= $(DOCKER) compose
LOG_TAIL       ?= 60
# compose names the server container <project>-<service>-<index> (project: ascend-bench)
SERVER_CONTAINER ?= ascend-bench-server-1

comma := ,
NPU_LIST   := $(subst $(comma), ,$(NPUS))
NPU_DEVICE := $(firstword $(NPU_LIST))
NPU_FILE   := $(WORK_DIR)/compose.npus.yaml
COMPOSE_FILES := -f compose.yaml $(if $(ASCEND_RUNTIME),-f compose.ascend-runtime.yaml,-f $(NPU_FILE))
# The settings compose.yaml reads, passed explicitly so that `make -n` shows them.
# API_KEY is not listed: it reaches compose through the environment, never a command line.
# The kit's client reads the key as OPENAI_API_KEY (as the OpenAI SDK and sglang.bench_serving do).
export OPENAI_API_KEY ?= $(API_KEY)
COMPOSE_ENV = MODEL='$(MODEL)' MODEL_REVISION='$(MODEL_REVISION)' MODELS_DIR='$(abspath $(MODELS_DIR))' \
  TP=$(TP) DP=$(DP) NPUS=$(NPUS) NPU_DEVICE=$(NPU_DEVICE) MEM_FRACTION=$(MEM_FRACTION) PORT=$(PORT) \
  SGLANG_FLAGS='$(SGLANG_FLAGS)' SGLANG_EXTRA_ARGS='$(SGLANG_EXTRA_ARGS)' \
  SGLANG_IMAGE='$(SGLANG_IMAGE)' IMAGE='$(IMAGE)' LOG_DIR='$(abspath $(LOG_DIR))' \
  PROFILE='$(PROFILE)' RUN_DIR='$(abspath $(RUN_DIR))' \
  BENCH_UID=$$(id -u) BENCH_GID=$$(id -g)
COMPOSE_NPU = $(COMPOSE_ENV) $(COMPOSE) $(COMPOSE_FILES) --profile npu
COMPOSE_NODE = $(COMPOSE_ENV) NNODES=$(NNODES) NODE_RANK='$(NODE_RANK)' DIST_INIT_ADDR='$(DIST_INIT_ADDR)' \
  HCCL_SOCKET_IFNAME='$(HCCL_SOCKET_IFNAME)' GLOO_SOCKET_IFNAME='$(GLOO_SOCKET_IFNAME)' \
  HCCL_BUFFSIZE=$(HCCL_BUFFSIZE) $(COMPOSE) $(COMPOSE_FILES) -f compose.multinode.yaml --profile npu
# The devices file that maps each NPU of NPUS into the server, and `up` until healthy (the
# log's last lines and one line on failure): $(call SERVER_UP,COMPOSE COMMAND,TARGET,HINT).
NPU_FILE_CMD = printf '%s\n' 'services:' '  server:' '    devices:' $(foreach n,$(NPU_LIST),'      - /dev/davinci$(n)') > $(NPU_FILE)
SERVER_UP = $(1) up --detach --no-deps --wait --wait-timeout $(SERVE_TIMEOUT) server \
	  || { $(1) logs --no-color --tail $(LOG_TAIL) server >&2; \
	       echo "make $(2): $(3) not healthy within $(SERVE_TIMEOUT)s$(4); last $(LOG_TAIL) lines above, full log $(SERVER_LOG)" >&2; \
	       exit 1; }
# NPUs this host must map: TP x DP over the nodes (`serve-node` sets PF_NODES=NNODES); with
# --enable-dp-attention the DP groups live inside the TP NPUs (SGLang's rule, bench/system/parallel.py).
PF_NODES ?= 1

# Preflight: one shell snippet printing what this host lacks for the NPU pipeline (empty:
# nothing). It runs when `preflight` is about to execute, never under `make -n`, and a
# failure is one line from $(error), not a shell trace.
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
PREFLIGHT_SH = missing=""; \
  if ! command -v $(DOCKER) >/dev/null 2>&1; then missing="$$missing, the docker command"; \
  elif ! timeout 20 $(DOCKER) info >/dev/null 2>&1; then missing="$$missing, a running Docker engine (docker info failed)"; fi; \
  command -v $(NPU_SMI) >/dev/null 2>&1 || missing="$$missing, npu-smi (no Ascend driver)"; \
  arch=$$(uname -m); case "$(IMAGE_PLATFORM):$$arch" in \
    linux/arm64:aarch64|linux/arm64:arm64|linux/amd64:x86_64) ;; \
    *) missing="$$missing, a $(IMAGE_PLATFORM) host for the $(IMAGE_PLATFORM) image (this one is $$arch)";; esac; \
  need=$$(( $(TP) * $(DP) )) 2>/dev/null || need=0; \
  case " $(SGLANG_FLAGS) $(SGLANG_EXTRA_ARGS) " in *" --enable-dp-attention "*) need=$(TP);; esac; \
  need=$$(( (need + $(PF_NODES) - 1) / $(PF_NODES) )); \
  [ "$$need" -ge 1 ] && [ "$$need" -le "$(words $(NPU_LIST))" ] 2>/dev/null \
    || missing="$$missing, $$need NPUs for TP=$(TP) x DP=$(DP)$(if $(filter-out 1,$(PF_NODES)), over $(PF_NODES) nodes) (NPUS=$(NPUS))"; \
  printf '%s' "$${missing\#, }"
ifeq ($(DRY_RUN),)
ALL_DONE = echo "make all: result $(RESULT), report $(RUN_DIR)/$(RUN_NAME).md"
else
ALL_DONE = echo "make all: dry run; the commands above were printed, none was run"
endif
# What `serve-node` lacks of its settings (empty: nothing), checked like the preflight.
NODE_CHECK_SH = case "$(NODE_RANK)" in \
    ''|*[!0-9]*) echo "NODE_RANK must be this host's rank, 0 to NNODES-1"; exit;; esac; \
  [ "$(NODE_RANK)" -lt "$(NNODES)" ] 2>/dev/null || { echo "NODE_RANK=$(NODE_RANK) is not below NNODES=$(NNODES)"; exit; }; \
  case "$(DIST_INIT_ADDR)" in ?*:[0-9]*) ;; *) echo "DIST_INIT_ADDR must be host:port of node rank 0, e.g. 10.0.0.1:20000"; exit;; esac; \
  [ -n "$(HCCL_SOCKET_IFNAME)" ] || echo "HCCL_SOCKET_IFNAME must name the interface that reaches the other node (ip -br addr)"
PREFLIGHT_MSG = make $(or $(MAKECMDGOALS),preflight): this host lacks $(PF_MISSING); \
  without an Atlas host run `make demo` (simulator) or `make bench BASE_URL=http://HOST:PORT` against a running server

##@ Start here

.PHONY: help
help: ## list every target (this page)
	@awk 'BEGIN {FS = ":.*## "} \
	  /^##@/ {printf "\n%s\n", substr($$0, 5)} \
	  /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables (override with VAR=value): MODEL MODEL_REVISION MODELS_DIR TP NPUS"
	@echo "  MEM_FRACTION PORT BASE_URL PROFILE RESULTS_DIR RUN_DIR RUN_NAME SUBMITTER SIGN"
	@echo "  SGLANG_IMAGE IMAGE IMAGE_PLATFORM SGLANG_FLAGS SGLANG_EXTRA_ARGS SERVE_TIMEOUT"
	@echo "  ASCEND_RUNTIME SERVER_LOG DEMO_DIR DEMO_PROFILE SIM_SPEED WORK_DIR DOCKER NPU_SMI PYTHON VENV"
	@echo "  STUDY STUDY_OUT STUDY_ARGS STUDY_DEMO_DIR DP"
	@echo "  NNODES NODE_RANK DIST_INIT_ADDR HCCL_SOCKET_IFNAME GLOO_SOCKET_IFNAME HCCL_BUFFSIZE NODE_ENV NODE_ENVS"
	@echo "  (API_KEY: from the environment only)"

.PHONY: demo
demo: venv ## the whole pipeline against the simulator; ends with a report (numbers simulated)
	PY=$(PY) DEMO_DIR=$(DEMO_DIR) PROFILE=$(DEMO_PROFILE) SIM_SPEED=$(SIM_SPEED) tools/demo.sh

.PHONY: test
test: venv-test ## every test and static check (ruff, pytest incl. hadolint and compose config)
	$(PY) -m ruff check bench tests tools benchmarks
	$(PY) -m ruff format --check bench tests tools benchmarks
	$(PY) -m pytest -q

##@ On an Atlas 800T A2 (Docker, npu-smi, arm64)

.PHONY: all
all: preflight ## image -> model -> serve -> bench -> memory -> validate -> report -> down (down also on failure)
	@status=0; interrupted=; trap 'interrupted=1' INT TERM; \
	{ $(MAKE) --no-print-directory image \
	  && $(MAKE) --no-print-directory model \
	  && $(MAKE) --no-print-directory serve \
	  && $(MAKE) --no-print-directory bench RUN_NAME=$(RUN_NAME) \
	  && $(MAKE) --no-print-directory memory \
	  && $(MAKE) --no-print-directory validate FILES=$(RESULT) \
	  && $(MAKE) --no-print-directory report RESULTS_DIR=$(RUN_DIR) REPORT=$(RUN_DIR)/$(RUN_NAME).md; } || status=$$?; \
	if [ -n "$$interrupted" ]; then status=130; fi; \
	$(MAKE) --no-print-directory down; \
	if [ $$status -eq 0 ]; then $(ALL_DONE); \
	else echo "make all: failed (exit $$status); server log kept in $(SERVER_LOG)" >&2; fi; \
	exit $$status

.PHONY: preflight
preflight: ## check this host can run the NPU pipeline: Docker engine, npu-smi, arm64, NPUs for TP
	$(if $(DRY_RUN),,$(eval PF_MISSING := $(shell $(PREFLIGHT_SH)))$(if $(PF_MISSING),$(error $(PREFLIGHT_MSG))))
	@echo "preflight: checked docker info, npu-smi, uname -m against $(IMAGE_PLATFORM), NPUS=$(NPUS) for TP=$(TP) x DP=$(DP)"

.PHONY: image
image: ## build the SGLang-on-Ascend image with the kit (Dockerfile.ascend, SGLANG_IMAGE, linux/arm64)
	@case "$(SGLANG_IMAGE)" in *:latest|*:latest@*|*:main-*) \
	  echo "make image: SGLANG_IMAGE=$(SGLANG_IMAGE) is not pinned; use a release tag (and @sha256 digest)" >&2; exit 1;; esac
	$(DOCKER) build -f Dockerfile.ascend --platform $(IMAGE_PLATFORM) \
	  --build-arg SGLANG_IMAGE=$(SGLANG_IMAGE) --build-arg KIT_VERSION=$(KIT_VERSION) \
	  --build-arg VCS_REF=$(VCS_REF) --build-arg SOURCE_URL=$(SOURCE_URL) -t $(IMAGE) .

.PHONY: model
model: venv ## download MODEL at MODEL_REVISION from ModelScope into MODELS_DIR (or verify it)
	$(PY) -m bench model --model $(MODEL) --revision '$(MODEL_REVISION)' --models-dir $(MODELS_DIR)

.PHONY: serve
serve: preflight ## start SGLang on the NPUs (compose profile npu) and wait until healthy
	@mkdir -p $(LOG_DIR) $(WORK_DIR)
	$(NPU_FILE_CMD)
	$(call SERVER_UP,$(COMPOSE_NPU),serve,server)

.PHONY: serve-node
serve-node: PF_NODES = $(NNODES)
serve-node: preflight venv ## this host's part of a multi-node server (NODE_RANK, NNODES, DIST_INIT_ADDR); writes NODE_ENV
	$(if $(DRY_RUN),,$(eval NODE_PROBLEM := $(shell $(NODE_CHECK_SH)))$(if $(NODE_PROBLEM),$(error make serve-node: $(NODE_PROBLEM))))
	@mkdir -p $(LOG_DIR) $(WORK_DIR)
	$(NPU_FILE_CMD)
	$(call SERVER_UP,$(COMPOSE_NODE),serve-node,node $(NODE_RANK),: start every node and rank 0 waits for the others)
	$(PY) -m bench env --json > $(NODE_ENV)
	@echo "make serve-node: node $(NODE_RANK) of $(NNODES) is up; its environment is in $(NODE_ENV) (give every node's to make bench NODE_ENVS=\"0=FILE 1=FILE\" on node 0)"

.PHONY: down
down: ## stop and remove the server, simulator and bench containers
	$(COMPOSE_ENV) $(COMPOSE) -f compose.yaml --profile npu --profile sim down --remove-orphans

##@ Measure (any OpenAI-compatible server at BASE_URL)

.PHONY: bench
bench: venv ## run PROFILE against BASE_URL: one complete result document in RUN_DIR
	@mkdir -p $(RUN_DIR)
	$(PY) -m bench run --profile $(PROFILE) --base-url $(BASE_URL) --out $(RESULT) \
	  --submitter '$(SUBMITTER)' $$([ -f $(SERVER_LOG) ] && echo --server-log $(SERVER_LOG)) \
	  $$([ -d $(MODELS_DIR)/$(MODEL) ] && echo --model-dir $(MODELS_DIR)/$(MODEL)) \
	  --npu-smi $(NPU_SMI) $(foreach e,$(NODE_ENVS),--node-env $(e))

.PHONY: throughput
throughput: venv ## load-generate against BASE_URL and print throughput (THROUGHPUT_ARGS)
	$(PY) -m bench throughput --base-url $(BASE_URL) \
	  $$([ -d $(MODELS_DIR)/$(MODEL) ] && echo --tokenizer $(MODELS_DIR)/$(MODEL)) $(THROUGHPUT_ARGS)

.PHONY: latency
latency: venv ## single-request TTFT/TPOT against BASE_URL (LATENCY_ARGS)
	$(PY) -m bench latency --base-url $(BASE_URL) \
	  $$([ -d $(MODELS_DIR)/$(MODEL) ] && echo --tokenizer $(MODELS_DIR)/$(MODEL)) $(LATENCY_ARGS)

.PHONY: study
study: venv ## run the study file STUDY: configurations x loads x repeats (STUDY_OUT, STUDY_ARGS=--resume)
	$(PY) -m bench study $(STUDY) $(if $(STUDY_OUT),--out $(STUDY_OUT)) $(STUDY_ARGS)

.PHONY: study-demo
study-demo: venv ## a small study on the simulator, then its report and Pareto plot (numbers simulated)
	@out=$(STUDY_DEMO_DIR)/$$(date -u +%Y%m%dT%H%M%SZ)-$$$$; \
	echo "$(PY) -m bench study studies/demo.toml --out $$out"; \
	$(PY) -m bench study studies/demo.toml --out $$out; \
	echo "$(PY) -m bench report --results $$out"; \
	$(PY) -m bench report --results $$out; \
	echo "make study-demo: report $$out/REPORT.md, Pareto plot $$out/REPORT-plots/pareto-1.png (numbers simulated)"

.PHONY: selftest
selftest: venv ## the client's own TTFT/TPOT error against the simulator's ground truth
	$(PY) -m bench selftest

.PHONY: memory
memory: venv ## device memory from the server log (SERVER_LOG), npu-smi and the model config
	$(PY) -m bench memory --server-log $(SERVER_LOG) \
	  $$([ -d $(MODELS_DIR)/$(MODEL) ] && echo --model-dir $(MODELS_DIR)/$(MODEL))

.PHONY: env
env: venv ## capture the system and software environment (BASE_URL's self-report, the server's image)
	$(PY) -m bench env --base-url $(BASE_URL) \
	  $$($(DOCKER) inspect $(SERVER_CONTAINER) >/dev/null 2>&1 && echo --container $(SERVER_CONTAINER))

.PHONY: perf
perf: venv-test ## the load generator's own speed and telemetry's cost on it (benchmarks/, one JSON line last each)
	$(PY) benchmarks/sim_capacity.py
	$(PY) benchmarks/client_throughput.py
	$(PY) benchmarks/telemetry_cost.py

.PHONY: real-engine
real-engine: venv-test ## a second engine: llama-cpp-python's server on the CPU (compiles it once, ~15 min)
	@test -x $(WORK_DIR)/llama/bin/python || { $(PYTHON) -m venv $(WORK_DIR)/llama && \
	  $(WORK_DIR)/llama/bin/pip install -q "llama-cpp-python[server]==0.3.36" gguf==0.19.0 numpy; }
	BENCH_LLAMA_CPP_PYTHON=$(WORK_DIR)/llama/bin/python $(PY) -m pytest -q -rs \
	  tests/integration/test_real_engine_llama_cpp_python.py

##@ Results

.PHONY: validate
validate: venv ## validate result documents: FILES, or every one under RESULTS_DIR
	$(PY) -m bench validate $(or $(FILES),$(RESULTS_DIR))

.PHONY: verify
verify: venv ## check signed results (FILES, or every signed one under RESULTS_DIR) against allowed_signers
	$(PY) -m bench verify $(or $(FILES),$(RESULTS_DIR)) --allowed-signers $(RESULTS_DIR)/allowed_signers

.PHONY: report
report: venv ## aggregate RESULTS_DIR into REPORT beside the article's baseline (default results/REPORT.md)
	$(PY) -m bench report --results $(RESULTS_DIR) --out $(REPORT)

.PHONY: submit
submit: venv ## validate a result (FILE, default the newest in RUN_DIR) and file it under results/ (SIGN=KEY signs it)
	$(PY) -m bench submit $(or $(FILE),$$(ls -t $(RUN_DIR)/*.json 2>/dev/null | head -n 1)) $(if $(SIGN),--sign '$(SIGN)')

##@ Development

.PHONY: venv
venv: $(VENV)/.installed ## create .venv in the repo and install the kit (fast when nothing changed)

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	@touch $@

.PHONY: venv-test
venv-test: $(VENV)/.installed-test ## install the test extras, sglang.bench_serving (no torch) and a CPU engine

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e '.[test,sglang,engine]'
	$(PIP) install --no-deps 'sglang==$(SGLANG_BENCH_VERSION)'
	@touch $@

.PHONY: lint
lint: venv-test ## ruff on the package, tests and tools; hadolint on Dockerfile.ascend
	$(PY) -m ruff check bench tests tools benchmarks
	$(PY) -m ruff format --check bench tests tools benchmarks
	$(VENV)/bin/hadolint --failure-threshold warning Dockerfile.ascend

.PHONY: clean
clean: ## remove the virtual environment, caches and work files (never results/, runs/ or models/)
	rm -rf $(VENV) $(WORK_DIR) .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
