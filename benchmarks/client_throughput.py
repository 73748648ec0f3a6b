"""The client itself, side by side: the kit's load generator (one process, and two
workers) and sglang.bench_serving.

A benchmark, not a test (`make perf`). One simulator (`bench sim`, a separate process,
pinned to one core, fast enough that the clients are what limits the stream) serves the
clients, in turn, the same workload at rising concurrency. Each client runs as its own
process (pinned to another core when there is one: with two workers, the command and both
workers share that one core), so its CPU time is its own.

For every client and level (each run `--repeat` times, in rotating order, medians kept)
it reports the streamed output-token rate the client achieved and its TTFT error against
the simulator's ground truth. The truth is the server's TTFT:
when the simulator wrote the first token minus when the request arrived. The error is
what the client reported minus that, so it holds everything the client adds: its own
work before sending, connecting, delivery, and reading late when busy. The kit's records
are joined to the ground truth by response id; sglang.bench_serving sends no id, so its
requests are joined by order (it sends them in order; its warm-up requests come first).
The simulator stamps a request's arrival when its handler runs, so under a burst of
arrivals its own accept-and-dispatch delay is inside the error of every client alike.

Summary, printed as one JSON object on the last line:
- `kit_tok_s`, `kit_w2_tok_s`, `sglang_tok_s`: the highest streamed token rate each
  sustained at a level where its median absolute TTFT error stayed under 1 ms (null if no
  level did); `ratio`: kit / sglang (null when either is null); `*_peak_tok_s` and
  `peak_ratio`: the highest rate whatever the error;
- `kit_workers`: for 1 and 2 workers, the highest concurrency whose median |TTFT error|
  stayed under 1 ms, with the request and token rates there, and how busy the client's
  core was (client CPU seconds over the run's duration, start-up excluded);
- `kit_cpu_s_per_100k_tokens` (and the others'): client CPU seconds (user + system, from
  the child's rusage, workers included, start-up included) per 100,000 streamed output
  tokens, over all levels; `*_startup_cpu_s` and `*_marginal_cpu_s_per_100k_tokens` split
  that with a line fitted through the levels (each level is a new process: sglang's
  start-up imports transformers, the kit's workers start their own interpreters);
  `kit_cpu_us_per_token` is the kit's marginal cost per streamed token, the figure the
  "when to use more workers" rule in docs/measuring.md is built on.
Every number is measured against the simulator on this machine: it says how the clients
compare here, not what any NPU does.

Usage: python benchmarks/client_throughput.py [--speed 20] [--levels 1,2,4,8,16,32,64,128]
       [--clients kit,kit-w2,sglang]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.client.target import resolve_target  # noqa: E402
from bench.drivers.sglang_bench_serving import run_sglang  # noqa: E402
from bench.errors import BenchError  # noqa: E402
from bench.metrics import summarize, ttft_ns  # noqa: E402
from bench.records import read_records  # noqa: E402
from bench.sim import tokenizer_dir  # noqa: E402
from bench.sim.process import SimProcess  # noqa: E402
from bench.workload.spec import ThroughputWorkload  # noqa: E402

TTFT_ERROR_LIMIT_MS = 1.0
READY_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 300.0


def _cores() -> tuple[set[int] | None, set[int] | None]:
    """(simulator core, client core) when there are two or more cores, else no pinning."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None, None
    if len(cores) < 2:
        return None, None
    return {cores[0]}, {cores[1]}


def _pinned(core: set[int] | None):
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, core)


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_client(cmd: list[str], core: set[int] | None, what: str) -> float:
    """Run a `python -m bench ...` client command pinned to `core`; its CPU seconds.
    A failure ends the benchmark with the command's last words."""
    before = _child_cpu_s()
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        preexec_fn=_pinned(core),
    )  # fmt: skip
    cpu = _child_cpu_s() - before
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed: {proc.stderr.strip()[-400:]}")
    return cpu


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def simulator(workdir: Path, speed: float, core: set[int] | None):
    """`bench sim` pinned to `core`, writing ground truth; yields (SimProcess, truth path)."""
    truth = workdir / "truth.jsonl"
    args = ["--speed", str(speed), "--ground-truth", str(truth),
            "--log-file", str(workdir / "sim.log")]  # fmt: skip
    pin = ["taskset", "-c", ",".join(map(str, sorted(core)))] if core else []
    sim = SimProcess(args, workdir=workdir, prefix=pin, start_timeout_s=READY_TIMEOUT_S)
    try:
        sim.start()
    except BenchError as exc:
        raise SystemExit(f"the simulator did not start: {exc}") from None
    try:
        yield sim, truth
    finally:
        sim.stop()


def truth_lines(path: Path, skip: int) -> list[dict[str, Any]]:
    """Ground-truth lines after the first `skip`, sorted by arrival."""
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.is_file() else []
        if lines and lines[-1].endswith("}"):
            break
        time.sleep(0.05)
    return sorted((json.loads(x) for x in lines[skip:]), key=lambda t: t["arrival_ns"])


def server_ttft_ms(truth: dict[str, Any]) -> float:
    return (truth["token_ns"][0] - truth["arrival_ns"]) / 1e6


KIT_WORKERS = {"kit": 1, "kit-w2": 2}
CLIENTS = ("kit", "kit-w2", "sglang")


def run_kit(base_url: str, c: int, n: int, args, workdir: Path, core, rep: int = 0,
            tool: str = "kit"):  # fmt: skip
    out = workdir / f"{tool}-c{c}-r{rep}.json"
    cmd = [sys.executable, "-m", "bench", "throughput", "--base-url", base_url,
           "--tokenizer", str(tokenizer_dir()), "--num-prompts", str(n),
           "--max-concurrency", str(c), "--input-len", str(args.input_len),
           "--output-len", str(args.output_len), "--range-ratio", str(args.range_ratio),
           "--warmup", "1", "--seed", "1", "--workers", str(KIT_WORKERS[tool]),
           "--timeout", "120", "--out", str(out)]  # fmt: skip
    cpu = run_client(cmd, core, f"bench throughput at c={c}")
    run = json.loads(out.read_text())
    return run, out.parent / Path(run["records"]["path"]).name, cpu


def kit_errors_ms(records_path: Path, truth: list[dict[str, Any]]) -> list[float]:
    by_id = {t["id"]: t for t in truth}
    errors = []
    for record in read_records(records_path):
        if record.warmup or not record.ok:
            continue
        measured = ttft_ns(record)
        entry = by_id.get(record.response_id or "")
        if measured is None or entry is None:
            raise SystemExit(f"kit request {record.rid} has no TTFT or no ground truth")
        errors.append(abs(measured / 1e6 - server_ttft_ms(entry)))
    return errors


def run_sglang_level(base_url, c, n, args, workdir, core, rep: int = 0):
    workload = ThroughputWorkload(
        api="chat", input_len=args.input_len, output_len=args.output_len,
        range_ratio=args.range_ratio, num_prompts=n, max_concurrency=c, seed=1, warmup=1,
        timeout_s=120,
    )  # fmt: skip
    target = resolve_target(base_url, tokenizer=tokenizer_dir())
    out = workdir / f"sglang-c{c}-r{rep}.jsonl"
    before = _child_cpu_s()
    if core is not None:
        os.sched_setaffinity(0, core)  # the subprocess inherits it
    try:
        run = run_sglang(workload, target, out, f"sglang-c{c}")
    finally:
        if core is not None:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return run, out, _child_cpu_s() - before


def sglang_errors_ms(output: Path, truth: list[dict[str, Any]], warmup: int) -> list[float]:
    line = json.loads(output.read_text().splitlines()[-1], parse_constant=lambda _c: None)
    measured = [t * 1000 for t, e in zip(line["ttfts"], line["errors"], strict=True) if not e]
    main = truth[warmup:]
    if len(main) != len(measured):
        raise SystemExit(f"sglang: {len(measured)} results but {len(main)} ground-truth lines")
    return [abs(m - server_ttft_ms(t)) for m, t in zip(measured, main, strict=True)]


def level_row(tool, c, run, errors, cpu, sim_cpu) -> dict[str, Any]:
    stats = summarize(errors) or {}
    tokens = run["metrics"]["total_output_tokens"]
    return {
        "client": tool,
        "concurrency": c,
        "workers": run["driver"].get("workers"),
        "requests": run["metrics"]["requests_completed"],
        "duration_s": round(run["metrics"]["duration_s"], 3),
        "request_rate_rps": round(run["metrics"]["request_throughput_rps"], 2),
        "output_tok_s": round(run["metrics"]["output_throughput_tok_s"], 1),
        "ttft_abs_error_ms_median": round(stats.get("median", float("nan")), 3),
        "ttft_abs_error_ms_p99": round(stats.get("p99", float("nan")), 3),
        "client_cpu_s": round(cpu, 3),
        "output_tokens": tokens,
        "simulator_cpu_s": round(sim_cpu, 3),
        # The simulator's CPU over the measured window: near 1.0 = it, not the client,
        # limited the stream (it is pinned to one core).
        "simulator_busy": round(sim_cpu / run["metrics"]["duration_s"], 2),
        "within_limit": stats.get("median", float("inf")) < TTFT_ERROR_LIMIT_MS,
    }


def aggregate(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per client and level from its repeats: medians of the rates and errors,
    sums of requests, tokens and CPU."""
    import statistics

    keys = sorted({(r["client"], r["concurrency"]) for r in samples}, key=lambda k: (k[1], k[0]))
    rows = []
    for tool, c in keys:
        mine = [r for r in samples if (r["client"], r["concurrency"]) == (tool, c)]

        def med(key: str, mine=mine) -> float:
            return round(statistics.median(r[key] for r in mine), 3)

        error = med("ttft_abs_error_ms_median")
        rows.append(
            {
                "client": tool,
                "concurrency": c,
                "workers": mine[0]["workers"],
                "repeats": len(mine),
                "requests": sum(r["requests"] for r in mine),
                "duration_s": round(sum(r["duration_s"] for r in mine), 3),
                "request_rate_rps": med("request_rate_rps"),
                "output_tok_s": med("output_tok_s"),
                "ttft_abs_error_ms_median": error,
                "ttft_abs_error_ms_p99": med("ttft_abs_error_ms_p99"),
                "client_cpu_s": round(sum(r["client_cpu_s"] for r in mine), 3),
                "output_tokens": sum(r["output_tokens"] for r in mine),
                "simulator_busy": med("simulator_busy"),
                "within_limit": error < TTFT_ERROR_LIMIT_MS,
            }
        )
    return rows


def best(rows: list[dict[str, Any]], tool: str) -> float | None:
    rates = [r["output_tok_s"] for r in rows if r["client"] == tool and r["within_limit"]]
    return max(rates) if rates else None


def cpu_per_100k(rows: list[dict[str, Any]], tool: str) -> float | None:
    mine = [r for r in rows if r["client"] == tool]
    tokens = sum(r["output_tokens"] for r in mine)
    return round(sum(r["client_cpu_s"] for r in mine) / tokens * 1e5, 3) if tokens else None


def cpu_fit(rows: list[dict[str, Any]], tool: str) -> tuple[float | None, float | None]:
    """(start-up CPU s, marginal CPU s per 100k tokens): a least-squares line through
    (tokens, CPU s) over the levels, so a one-off start-up cost is not read as per-token."""
    import numpy as np

    mine = [r for r in rows if r["client"] == tool]
    if len(mine) < 2 or len({r["output_tokens"] for r in mine}) < 2:
        return None, None
    slope, intercept = np.polyfit(
        [r["output_tokens"] for r in mine], [r["client_cpu_s"] for r in mine], 1
    )
    return round(float(intercept), 3), round(float(slope) * 1e5, 3)


def kit_workers(rows, samples, tool: str) -> dict[str, Any] | None:
    """The highest level where `tool`'s median |TTFT error| stayed under the limit: its
    concurrency, request and token rates, and how busy the client's core was there (CPU
    seconds of its runs, start-up excluded, over their duration)."""
    mine = [r for r in rows if r["client"] == tool and r["within_limit"]]
    if not mine:
        return None
    top = max(mine, key=lambda r: r["concurrency"])
    startup = cpu_fit(samples, tool)[0] or 0.0
    busy = (top["client_cpu_s"] - startup * top["repeats"]) / top["duration_s"]
    return {
        "max_concurrency": top["concurrency"],
        "request_rate_rps": top["request_rate_rps"],
        "output_tok_s": top["output_tok_s"],
        "ttft_abs_error_ms_median": top["ttft_abs_error_ms_median"],
        "client_core_busy": round(busy, 2),
    }


def one_sample(tool, c, n, rep, args, workdir, core, sim, base_url, truth_path) -> dict:
    """One client run at one level, judged against the ground truth it produced."""
    seen = len(truth_path.read_text().splitlines()) if truth_path.exists() else 0
    sim_before = _proc_cpu_s(sim.pid)
    if tool in KIT_WORKERS:
        run, records, cpu = run_kit(base_url, c, n, args, workdir, core, rep, tool)
        errors = kit_errors_ms(records, truth_lines(truth_path, seen))
    else:
        run, out, cpu = run_sglang_level(base_url, c, n, args, workdir, core, rep)
        warm = run["workload"]["warmup_requests"]
        errors = sglang_errors_ms(out, truth_lines(truth_path, seen), warm)
    row = level_row(tool, c, run, errors, cpu, _proc_cpu_s(sim.pid) - sim_before)
    return {**row, "repeat": rep}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=20.0, help="simulator speed-up")
    parser.add_argument("--levels", default="1,2,4,8,16,32,64,128", help="concurrency levels")
    parser.add_argument("--input-len", type=int, default=64)
    parser.add_argument("--output-len", type=int, default=128)
    parser.add_argument(
        "--range-ratio",
        type=float,
        default=0.5,
        help="lengths in [ratio x len, len]: "
        "spread-out arrivals, not lock-step waves that queue in the simulator",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per client and level (medians are kept)"
    )
    parser.add_argument("--workdir", help="keep every file here (default: a temporary dir)")
    parser.add_argument("--prompts-per-stream", type=int, default=3, help="requests = this x c")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="which clients to run")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    clients = [x for x in args.clients.split(",") if x]
    unknown = sorted(set(clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown client {unknown[0]!r} (known: {', '.join(CLIENTS)})")
    sim_core, client_core = _cores()
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with simulator(workdir, args.speed, sim_core) as (sim, truth_path):
            base_url = sim.base_url
            for i, c in enumerate(levels):
                n = max(args.prompts_per_stream * c, 16)
                for rep in range(args.repeat):
                    # Rotate who goes first, so none always meets a warmer simulator.
                    shift = (i + rep) % len(clients)
                    for tool in clients[shift:] + clients[:shift]:
                        row = one_sample(tool, c, n, rep, args, workdir, client_core, sim,
                                         base_url, truth_path)  # fmt: skip
                        samples.append(row)
                        print(json.dumps(row), flush=True)
    rows = aggregate(samples)
    for row in rows:
        print(json.dumps(row), flush=True)
    print(json.dumps(summary_of(rows, samples, args, levels, sim_core is not None)))
    return 0


def summary_of(rows, samples, args, levels, pinned: bool) -> dict[str, Any]:
    tools = sorted({r["client"] for r in rows})

    def key(tool: str) -> str:
        return tool.replace("-", "_")

    summary: dict[str, Any] = {}
    for tool in tools:
        startup, marginal = cpu_fit(samples, tool)
        summary[f"{key(tool)}_tok_s"] = best(rows, tool)
        summary[f"{key(tool)}_peak_tok_s"] = max(
            r["output_tok_s"] for r in rows if r["client"] == tool
        )
        summary[f"{key(tool)}_cpu_s_per_100k_tokens"] = cpu_per_100k(samples, tool)
        summary[f"{key(tool)}_startup_cpu_s"] = startup
        summary[f"{key(tool)}_marginal_cpu_s_per_100k_tokens"] = marginal
    kit, sglang = summary.get("kit_tok_s"), summary.get("sglang_tok_s")
    summary["ratio"] = round(kit / sglang, 3) if kit and sglang else None
    kit_peak, sglang_peak = summary.get("kit_peak_tok_s"), summary.get("sglang_peak_tok_s")
    summary["peak_ratio"] = round(kit_peak / sglang_peak, 3) if kit_peak and sglang_peak else None
    summary["kit_workers"] = {
        str(n): kit_workers(rows, samples, tool) for tool, n in KIT_WORKERS.items() if tool in tools
    }
    marginal = summary.get("kit_marginal_cpu_s_per_100k_tokens")
    summary["kit_cpu_us_per_token"] = round(marginal * 10, 2) if marginal else None
    summary.update(
        {
            "ttft_error_limit_ms": TTFT_ERROR_LIMIT_MS,
            "levels": levels,
            "repeats": args.repeat,
            "simulator_speed": args.speed,
            "workload": f"chat API, random prompts of up to {args.input_len} tokens and up to "
            f"{args.output_len} output tokens (range ratio {args.range_ratio}), "
            f"max({args.prompts_per_stream} x concurrency, 16) requests per level",
            "pinned": pinned,
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "simulated": True,
        }
    )
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
