"""Load-generate against an OpenAI-compatible server and measure throughput and latency.

The kit's own load generator (asyncio + aiohttp): random prompts of exact token length
built with the model's tokenizer (or a local ShareGPT file), a Gamma (Poisson) schedule or
all at once, a concurrency cap, warm-up requests excluded from the measured window. Every
request is appended to the records file as it finishes; the run (workload, driver,
records sha256, metrics) is printed as a summary and written as JSON to --out. The
workload flags are the keys of a profile's [[throughput]] entry, with the same defaults.
`--driver sglang` runs the same workload through python -m sglang.bench_serving.

Examples:
  python -m bench throughput --base-url http://127.0.0.1:30000 --tokenizer MODEL_DIR \\
      --input-len 512 --output-len 256 --num-prompts 200 --max-concurrency 64 --out run.json
  python -m bench throughput --base-url URL --dataset sharegpt \\
      --dataset-path ShareGPT_V3_unfiltered_cleaned_split.json --request-rate 4
  python -m bench throughput --base-url URL --tokenizer MODEL_DIR \\
      --dataset generated-shared-prefix --gsp-num-groups 8 --max-concurrency 16

Exit codes: 0 every request completed, 1 a request failed or the server stopped
answering (the records file keeps every finished request) or --out exists, 2 usage
error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse

from bench.cli.measuring import add_target_arguments, add_workload_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.workload.spec import APIS, DATASETS, ThroughputWorkload

    parser.add_argument(
        "--driver",
        choices=("kit", "sglang"),
        default="kit",
        help="kit: the kit's load generator; sglang: python -m sglang.bench_serving",
    )
    parser.add_argument(
        "--as-written",
        action="store_true",
        help="with --driver sglang: the article's command exactly as written (it runs "
        "ShareGPT: needs --dataset-path); the workload flags are then ignored",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="client processes sending the requests, each with its own event loop, on one "
        "schedule (driver kit; default 1: this process; see docs/measuring.md)",
    )
    add_target_arguments(parser)
    add_workload_arguments(parser, ThroughputWorkload, {"api": APIS, "dataset": DATASETS})
    parser.add_argument("--slo-ttft-ms", type=float, help="goodput: TTFT bound")
    parser.add_argument("--slo-tpot-ms", type=float, help="goodput: TPOT bound")
    parser.add_argument("--slo-e2e-ms", type=float, help="goodput: E2E bound")
    parser.add_argument(
        "--accelerators",
        type=int,
        help="NPUs the server uses, for per-NPU rates (default: tp_size x dp_size from its "
        "self-report)",
    )
    parser.add_argument("--name", help="run name (default: throughput-DATASET-IN-OUT)")


def run(args: argparse.Namespace) -> int:
    from bench.cli.measuring import finish, measure, target_from_args, workload_from_args
    from bench.workload.spec import ThroughputWorkload

    workload = workload_from_args(args, ThroughputWorkload)
    from bench.errors import UsageError

    if args.as_written and args.driver != "sglang":
        raise UsageError("--as-written needs --driver sglang")
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.workers > 1 and args.driver != "kit":
        raise UsageError("--workers is for the kit's load generator (--driver kit)")
    if args.driver == "sglang":
        return _run_sglang(args, workload)
    from bench.client.loadgen import run_throughput
    from bench.result import accelerator_count

    target = target_from_args(args)
    accelerators = args.accelerators or accelerator_count(target.self_report)
    slo = {"ttft_ms": args.slo_ttft_ms, "tpot_ms": args.slo_tpot_ms, "e2e_ms": args.slo_e2e_ms}

    def go(path):
        return run_throughput(
            workload,
            target,
            path,
            name=args.name,
            slo=slo,
            accelerators=accelerators,
            workers=args.workers,
        )

    return finish(args, measure(args, "throughput", go), "bench throughput (driver bench.loadgen)")


def _run_sglang(args: argparse.Namespace, workload) -> int:
    """The same workload through sglang.bench_serving: its output file is the records
    (--records, default OUT.sglang.jsonl), its console log beside that."""
    from bench.cli.measuring import finish, measure, target_from_args
    from bench.drivers.sglang_bench_serving import SglangOptions, run_sglang

    target = target_from_args(args, need_tokenizer=False)
    options = SglangOptions(as_written=args.as_written)
    name = args.name or ("throughput-as-written" if args.as_written else "throughput-sglang")
    run = measure(
        args,
        "throughput",
        lambda path: run_sglang(workload, target, path, name, options),
        suffix=".sglang.jsonl",
    )
    return finish(
        args, run, f"bench throughput (driver sglang.bench_serving {run['driver']['version']})"
    )
