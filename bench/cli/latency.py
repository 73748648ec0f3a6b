"""Measure single-request TTFT and TPOT with the openai SDK: the article's probe, done right.

A prompt of exactly --input-tokens tokens (built with the model's tokenizer; a new one
each run, so no run is served from the prefix cache), --output-tokens with ignore_eos
where the server supports it, usage requested with stream_options.include_usage, TTFT at
the first chunk carrying content, TPOT = (E2E - TTFT) / (N_out - 1), --runs measured runs
after --warmup unmeasured ones, statistics over the runs.

Example:
  python -m bench latency --base-url http://127.0.0.1:30000 --tokenizer MODEL_DIR \\
      --input-tokens 4096 --output-tokens 512 --runs 10 --out latency.json

Exit codes: 0 every run completed, 1 a run failed (the records file keeps every
finished run), 2 usage error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse

from bench.cli.throughput import add_target_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--input-tokens", type=int, default=4096, help="prompt tokens")
    parser.add_argument("--output-tokens", type=int, default=512, help="max_tokens per run")
    parser.add_argument("--runs", type=int, default=10, help="measured runs")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs first")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-request timeout, s")
    parser.add_argument("--name", help="run name (default: latency-IN-OUT)")


def run(args: argparse.Namespace) -> int:
    from bench.cli.throughput import finish, measure
    from bench.client.latency import LatencyConfig, run_latency

    config = LatencyConfig(
        base_url=args.base_url,
        model=args.model,
        api=args.api,
        tokenizer=args.tokenizer,
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        runs=args.runs,
        warmup=args.warmup,
        timeout=args.timeout,
        ignore_eos=args.ignore_eos,
        seed=args.seed,
        name=args.name,
    )
    result = measure(args, "latency", "run", lambda path: run_latency(config, path))
    return finish(args, result, "bench latency (driver bench.latency, openai SDK)")
