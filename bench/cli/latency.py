"""Measure single-request TTFT and TPOT with the openai SDK: the article's probe, done right.

A prompt of exactly --input-len tokens (built with the model's tokenizer; a new one each
run, so no run is served from the prefix cache), --output-len tokens with ignore_eos
where the server supports it, usage requested with stream_options.include_usage, TTFT at
the first chunk carrying content, TPOT = (E2E - TTFT) / (N_out - 1), --runs measured runs
after --warmup unmeasured ones, statistics over the runs. The workload flags are the keys
of a profile's [[latency]] entry, with the same defaults.

Example:
  python -m bench latency --base-url http://127.0.0.1:30000 --tokenizer MODEL_DIR \\
      --input-len 4096 --output-len 512 --runs 10 --out latency.json

Exit codes: 0 every run completed, 1 a run failed (the records file keeps every
finished run) or --out exists, 2 usage error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse

from bench.cli.measuring import add_target_arguments, add_workload_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.workload.spec import LATENCY_APIS, LatencyWorkload

    add_target_arguments(parser)
    add_workload_arguments(parser, LatencyWorkload, {"api": LATENCY_APIS})
    parser.add_argument("--name", help="run name (default: latency-IN-OUT)")


def run(args: argparse.Namespace) -> int:
    from bench.cli.measuring import finish, measure, target_from_args, workload_from_args
    from bench.client.latency import run_latency
    from bench.workload.spec import LatencyWorkload

    workload = workload_from_args(args, LatencyWorkload)
    target = target_from_args(args)
    result = measure(
        args, "latency", lambda path: run_latency(workload, target, path, name=args.name)
    )
    return finish(args, result, "bench latency (driver bench.latency, openai SDK)")
