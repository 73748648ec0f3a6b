"""Load-generate against an OpenAI-compatible server and measure throughput and latency.

The kit's own load generator (asyncio + aiohttp): random prompts of exact token length
built with the model's tokenizer (or a local ShareGPT file), a Poisson schedule or all
at once, a concurrency cap, warm-up requests excluded from the measured window. Every
request is appended to the records file as it finishes; the run (workload, driver,
records sha256, metrics) is printed as a summary and written as JSON to --out.

Examples:
  python -m bench throughput --base-url http://127.0.0.1:30000 --tokenizer MODEL_DIR \\
      --input-len 512 --output-len 256 --num-prompts 200 --max-concurrency 64 --out run.json
  python -m bench throughput --base-url URL --tokenizer DIR --dataset sharegpt \\
      --dataset-path ShareGPT_V3_unfiltered_cleaned_split.json --request-rate 4

Exit codes: 0 every request completed, 1 a request failed or the server stopped
answering (the records file keeps every finished request), 2 usage error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number or inf")
    return value


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `bench throughput` and `bench latency`."""
    parser.add_argument("--base-url", required=True, help="server URL, e.g. http://127.0.0.1:30000")
    parser.add_argument("--model", help="model name to request (default: the first /v1/models id)")
    parser.add_argument(
        "--tokenizer",
        help="directory with the model's tokenizer.json (default: --model, if it is one)",
    )
    parser.add_argument(
        "--api", choices=("chat", "completions"), default="chat", help="endpoint family"
    )
    parser.add_argument(
        "--no-ignore-eos",
        dest="ignore_eos",
        action="store_false",
        help="do not send ignore_eos (for servers that reject it, e.g. OpenAI's own API)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--out", type=Path, help="write the run object (JSON) here")
    parser.add_argument(
        "--records", type=Path, help="per-request records file (default: OUT.records.jsonl)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
    add_target_arguments(parser)
    parser.add_argument("--dataset", choices=("random", "sharegpt"), default="random")
    parser.add_argument("--dataset-path", help="local ShareGPT-format JSON (never downloaded)")
    parser.add_argument("--num-prompts", type=int, default=200, help="measured requests")
    parser.add_argument("--input-len", type=int, default=512, help="prompt tokens (random)")
    parser.add_argument(
        "--output-len",
        type=int,
        help="max_tokens per request (random: default 256; sharegpt: default each reply's length)",
    )
    parser.add_argument(
        "--range-ratio",
        type=float,
        default=1.0,
        help="lengths uniform in [ratio x len, len] as SGLang defines it (1.0 = fixed; "
        "SGLang's own default is 0.0)",
    )
    parser.add_argument("--max-concurrency", type=int, help="cap on requests in flight")
    parser.add_argument(
        "--request-rate", type=_rate, default=math.inf, help="Poisson requests/s (inf: all at once)"
    )
    parser.add_argument("--burstiness", type=float, default=1.0, help="Gamma shape (1 = Poisson)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up requests (not measured)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-request timeout, s")
    parser.add_argument("--slo-ttft-ms", type=float, help="goodput: TTFT bound")
    parser.add_argument("--slo-tpot-ms", type=float, help="goodput: TPOT bound")
    parser.add_argument("--slo-e2e-ms", type=float, help="goodput: E2E bound")
    parser.add_argument("--accelerators", type=int, help="NPUs the server uses (per-NPU rate)")
    parser.add_argument("--name", help="run name (default: throughput-DATASET-IN-OUT)")


def records_path(args: argparse.Namespace, command: str) -> Path:
    if args.records:
        return args.records
    if args.out:
        return args.out.with_name(args.out.name.removesuffix(".json") + ".records.jsonl")
    from bench.client.runinfo import utc_now

    stamp = utc_now().replace(":", "").replace("-", "")
    return Path(f"bench-{command}-{stamp}.records.jsonl")


def measure(args: argparse.Namespace, command: str, unit: str, run: Callable[[Path], dict]) -> dict:
    """`run(records path)` for `bench <command>`, refusing an existing --out first; on
    Ctrl-C, say where every finished `unit` is before the interrupt goes on."""
    from bench.errors import InputError

    if args.out and args.out.exists():
        raise InputError(f"{args.out} already exists; name another --out file")
    path = records_path(args, command)
    try:
        return run(path)
    except KeyboardInterrupt:
        sys.stderr.write(f"Interrupted: every finished {unit} is in {path}\n")
        raise


def finish(args: argparse.Namespace, run: dict, title: str) -> int:
    """Print the summary, write --out, and return the exit code."""
    from bench.client.summary import summary_table
    from bench.jsonio import write_json_atomic

    print(title)
    print(summary_table(run))
    if args.out:
        write_json_atomic(args.out, run, overwrite=False)
        print(f"run written to {args.out}")
    print(f"records: {run['records']['path']} (sha256 {run['records']['sha256'][:12]}...)")
    metrics = run["metrics"]
    if metrics["requests_failed"]:
        failures = ", ".join(f"{k}: {v}" for k, v in metrics["failures"].items())
        hint = ""
        if "http_4xx" in metrics["failures"] and args.ignore_eos:
            hint = " (a server that rejects ignore_eos needs --no-ignore-eos)"
        sys.stderr.write(
            f"Error: {metrics['requests_failed']} of {metrics['requests_sent']} requests "
            f"failed ({failures}){hint}; records in {run['records']['path']}\n"
        )
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    if args.output_len is None and args.dataset == "random":
        args.output_len = 256
    if args.driver == "sglang":
        from bench.drivers.sglang_bench_serving import run_from_args

        return run_from_args(args)
    from bench.client.loadgen import LoadConfig, run_throughput

    config = LoadConfig(
        base_url=args.base_url,
        model=args.model,
        api=args.api,
        tokenizer=args.tokenizer,
        dataset=args.dataset,
        dataset_path=args.dataset_path,
        input_len=args.input_len,
        output_len=args.output_len,
        range_ratio=args.range_ratio,
        num_prompts=args.num_prompts,
        max_concurrency=args.max_concurrency,
        request_rate=args.request_rate,
        burstiness=args.burstiness,
        seed=args.seed,
        warmup=args.warmup,
        timeout=args.timeout,
        ignore_eos=args.ignore_eos,
        slo_ttft_ms=args.slo_ttft_ms,
        slo_tpot_ms=args.slo_tpot_ms,
        slo_e2e_ms=args.slo_e2e_ms,
        accelerators=args.accelerators,
        name=args.name,
    )
    result = measure(args, "throughput", "request", lambda path: run_throughput(config, path))
    return finish(args, result, "bench throughput (driver bench.loadgen)")
