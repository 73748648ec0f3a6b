#!/usr/bin/env bash
# `make demo`: the whole pipeline on the built-in simulator, no NPU and no Docker needed.
#
#   simulator (background, free port) -> bench run --profile PROFILE -> bench memory (from
#   the simulator's log) -> bench validate -> bench report -> simulator stopped
#
# The simulator writes a stand-in npu-smi for its simulated NPU (--npu-smi-dir), put first
# on PATH for `bench run`, so each run's telemetry and the report's timelines are there too.
# Every number in the result and the report is simulated and labelled so. The simulator is
# stopped on success, on failure and on Ctrl-C; whatever was written stays in the run's
# directory, which the last line names.
#
# Environment (all optional):
#   PY          Python with the kit installed     (default .venv/bin/python)
#   DEMO_DIR    parent of the run directories     (default .work/demo)
#   PROFILE     workload profile                  (default demo: the article's workloads, 3 latency runs)
#   SIM_PROFILE simulator profile                 (default: the simulator's own, Atlas 800T A2 + Qwen2-7B)
#   SIM_SPEED   simulator time compression        (default 1: real time, comparable numbers)
#   READY_TIMEOUT  seconds to wait for the simulator to listen (default 60)
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DEMO_DIR=${DEMO_DIR:-.work/demo}
PROFILE=${PROFILE:-demo}
SIM_SPEED=${SIM_SPEED:-1}
READY_TIMEOUT=${READY_TIMEOUT:-60}

run_dir="$DEMO_DIR/$(date -u +%Y%m%dT%H%M%SZ)-$$"
sim_dir="$run_dir/sim"
results_dir="$run_dir/results"
mkdir -p "$sim_dir" "$results_dir"
ready="$sim_dir/ready.json"
npu_smi_dir="$sim_dir/npu-smi"
server_log="$sim_dir/server.log"
result="$results_dir/demo-$(basename "$PROFILE" .toml).json"
report="$run_dir/REPORT.md"
sim_pid=""

say() { printf 'demo: %s\n' "$*"; }

stop_sim() {
  if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$sim_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  sim_pid=""
}

on_exit() {
  local status=$?
  stop_sim
  if [[ $status -ne 0 ]]; then
    say "failed (exit $status); everything written so far is in $run_dir (simulator log: $server_log)" >&2
  fi
  exit "$status"
}
trap on_exit EXIT
trap 'say "interrupted" >&2; exit 130' INT TERM

sim_args=(--host 127.0.0.1 --port 0 --ready-file "$ready" --log-file "$server_log"
          --ground-truth "$sim_dir/ground-truth.jsonl" --speed "$SIM_SPEED"
          --npu-smi-dir "$npu_smi_dir")
if [[ -n "${SIM_PROFILE:-}" ]]; then sim_args+=(--profile "$SIM_PROFILE"); fi

say "starting the simulator (its numbers are simulated, never measured)"
"$PY" -m bench sim "${sim_args[@]}" >"$sim_dir/sim.out" 2>&1 &
sim_pid=$!

deadline=$((SECONDS + READY_TIMEOUT))
until [[ -s "$ready" ]]; do
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    say "the simulator exited before listening; its output:" >&2
    tail -n 20 "$sim_dir/sim.out" >&2 || true
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    say "the simulator did not listen within ${READY_TIMEOUT}s" >&2
    exit 1
  fi
  sleep 0.1
done
base_url=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["base_url"])' "$ready")
say "simulator at $base_url (pid $sim_pid)"

say "bench run --profile $PROFILE (telemetry: the simulated NPU's npu-smi, the simulator's /metrics)"
PATH="$npu_smi_dir:$PATH" "$PY" -m bench run --profile "$PROFILE" --base-url "$base_url" \
  --server-log "$server_log" --out "$result" --submitter demo

say "bench memory (from the simulator's log)"
"$PY" -m bench memory --server-log "$server_log" --server-info "$base_url"

stop_sim

say "bench validate"
"$PY" -m bench validate "$result"

say "bench report (the run beside the article's reported baseline)"
"$PY" -m bench report --results "$results_dir" --out "$report"

say "result: $result"
say "report: $report"
