"""What telemetry costs the client: `bench run` at one load level with and without it.

A benchmark, not a test (`make perf`). One simulator (`bench sim`, its own process, pinned to
one core, writing ground truth and a stand-in npu-smi with `--npu-smi-dir`) serves `bench run`
(a child process pinned to another core when there is one), the same throughput workload
`--repeat` times with telemetry on (the simulated NPU's npu-smi and the simulator's /metrics,
every `--interval` seconds) and off (`--no-telemetry`), in alternating order. The sampler
threads share the client's process, so what they cost shows as fewer tokens per second or a
larger TTFT error (against the simulator's ground truth, as `client_throughput.py` measures
it) or more client CPU.

Summary, printed as one JSON object on the last line: `off_*` and `on_*` medians over the
repeats of the output token rate (`tok_s`), the median absolute TTFT error (`ttft_err_ms`),
the client's CPU seconds (`cpu_s`, start-up included) and, for `on`, the NPU samples and
scrapes taken; `tok_s_ratio` on / off and `ttft_err_delta_ms` on - off. Every number is
measured against the simulator on this machine: it says what sampling costs this client
here, not what any NPU does.

Usage: python benchmarks/telemetry_cost.py [--concurrency 32] [--num-prompts 640] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from client_throughput import (  # noqa: E402
    READY_TIMEOUT_S,
    _cores,
    kit_errors_ms,
    run_client,
    truth_lines,
)

from bench.errors import BenchError  # noqa: E402
from bench.sim.process import SimProcess  # noqa: E402

PROFILE = """
[profile]
name = "telemetry-cost"
description = "one throughput level, with and without telemetry"

[[throughput]]
name = "level"
api = "completions"
input_len = {input_len}
output_len = {output_len}
num_prompts = {num_prompts}
max_concurrency = {concurrency}
warmup = 2
seed = 1
timeout_s = 120
"""


def run_once(base_url, profile, npu_smi, telemetry, interval, workdir, core, rep):
    out = workdir / f"{'on' if telemetry else 'off'}-{rep}.json"
    cmd = [sys.executable, "-m", "bench", "run", "--profile", str(profile),
           "--base-url", base_url, "--out", str(out), "--submitter", "perf"]  # fmt: skip
    if telemetry:
        cmd += ["--npu-smi", str(npu_smi), "--telemetry-interval", str(interval)]
    else:
        cmd.append("--no-telemetry")
    cpu = run_client(cmd, core, "bench run")
    (run,) = json.loads(out.read_text())["measurements"]["throughput"]
    return run, out.parent / run["records"]["path"], cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--num-prompts", type=int, default=640)
    parser.add_argument("--input-len", type=int, default=128)
    parser.add_argument("--output-len", type=int, default=64)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sim_core, client_core = _cores()
    results: dict[str, list[dict]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="telemetry-cost-") as tmp:
        workdir = Path(tmp)
        profile = workdir / "profile.toml"
        profile.write_text(PROFILE.format(**vars(args)))
        truth = workdir / "truth.jsonl"
        sim_args = ["--speed", str(args.speed), "--ground-truth", str(truth),
                    "--npu-smi-dir", str(workdir / "npu")]  # fmt: skip
        pin = ["taskset", "-c", ",".join(map(str, sorted(sim_core)))] if sim_core else []
        sim = SimProcess(sim_args, workdir=workdir, prefix=pin, start_timeout_s=READY_TIMEOUT_S)
        try:
            sim.start()
        except BenchError as exc:
            raise SystemExit(f"the simulator did not start: {exc}") from None
        try:
            for rep in range(args.repeat):
                order = ("off", "on") if rep % 2 == 0 else ("on", "off")
                for mode in order:
                    run, records, cpu = run_once(
                        sim.base_url, profile, workdir / "npu" / "npu-smi", mode == "on",
                        args.interval, workdir, client_core, rep,
                    )  # fmt: skip
                    errors = kit_errors_ms(records, truth_lines(truth, 0))
                    row = {
                        "mode": mode,
                        "rep": rep,
                        "tok_s": round(run["metrics"]["output_throughput_tok_s"], 1),
                        "ttft_err_ms": round(statistics.median(errors), 3),
                        "cpu_s": round(cpu, 3),
                        "npu_samples": (run.get("telemetry") or {}).get("sample_count"),
                        "scrapes": (run.get("server_metrics") or {}).get("sample_count"),
                    }
                    results[mode].append(row)
                    print(json.dumps(row), flush=True)
        finally:
            sim.stop()
    med = {
        mode: {k: statistics.median(r[k] for r in rows) for k in ("tok_s", "ttft_err_ms", "cpu_s")}
        for mode, rows in results.items()
    }
    summary = {
        "benchmark": "telemetry_cost",
        "concurrency": args.concurrency,
        "interval_s": args.interval,
        "repeats": args.repeat,
        "off_tok_s": med["off"]["tok_s"],
        "on_tok_s": med["on"]["tok_s"],
        "tok_s_ratio": round(med["on"]["tok_s"] / med["off"]["tok_s"], 3),
        "off_ttft_err_ms": med["off"]["ttft_err_ms"],
        "on_ttft_err_ms": med["on"]["ttft_err_ms"],
        "ttft_err_delta_ms": round(med["on"]["ttft_err_ms"] - med["off"]["ttft_err_ms"], 3),
        "off_cpu_s": med["off"]["cpu_s"],
        "on_cpu_s": med["on"]["cpu_s"],
        "on_npu_samples": statistics.median(r["npu_samples"] for r in results["on"]),
        "on_scrapes": statistics.median(r["scrapes"] for r in results["on"]),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
