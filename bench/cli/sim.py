"""Start the simulated SGLang server: a calibrated stand-in for SGLang on an Atlas 800T A2.

It speaks SGLang 0.5.3's HTTP API (OpenAI chat/completions, native /generate, /health,
/get_server_info, ...), models continuous batching with a KV pool on one 910B, and can
record the ground truth of every request and inject faults. Every number it produces is
simulated. It listens until Ctrl-C or SIGTERM (exit 0), or the crash fault (exit 3).

It takes SGLang's launch flags (`--tp-size`, `--dp-size`, `--mem-fraction-static`,
`--max-running-requests`, `--chunked-prefill-size`, `--max-prefill-tokens`, `--model-path`,
`--host`, `--port`), so one command template drives the real engine and the simulator
alike; each changes the simulated engine as SGLang's would, /get_server_info reports them,
and a setting SGLang refuses (a TP that does not divide the heads, more NPUs than the host
has, no memory left for the KV pool) is refused with one line and exit 2.

It also serves SGLang's Prometheus /metrics from its own state, and with --npu-smi-dir DIR
writes DIR/npu-smi, a stand-in npu-smi that reports the simulated NPU (power, HBM, AI Core,
temperature; docs/telemetry.md), for `bench run --npu-smi DIR/npu-smi` or DIR on PATH.

Examples:
  python -m bench sim --port 0 --ready-file .work/sim.json --log-file .work/sim.log \\
      --ground-truth .work/truth.jsonl --speed 10 --npu-smi-dir .work/npu
  python -m bench sim --port 30000 --tp-size 2 --mem-fraction-static 0.85 \\
      --max-running-requests 64
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.sim import DEFAULT_PROFILE

    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (local only)")
    parser.add_argument("--port", type=int, default=30000, help="port; 0 picks a free one")
    parser.add_argument("--ready-file", type=Path, help="written (JSON) once the port listens")
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        metavar="NAME|PATH",
        help=f"profile name or path to a TOML file (default {DEFAULT_PROFILE})",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, metavar="F", help="divide every duration by F"
    )
    parser.add_argument(
        "--seed", type=int, help="seed of tokens, response ids and faults (default 20240601)"
    )
    parser.add_argument("--tokenizer", type=Path, help="tokenizer dir or tokenizer.json")
    parser.add_argument("--ground-truth", type=Path, help="append one JSON line per request")
    parser.add_argument("--log-file", type=Path, help="append SGLang-format startup lines")
    parser.add_argument(
        "--tokens-per-chunk", type=int, default=1, help="tokens per streamed chunk (default 1)"
    )
    parser.add_argument(
        "--npu-smi-dir",
        type=Path,
        metavar="DIR",
        help="write DIR/npu-smi, reporting the simulated NPU, once the port listens",
    )
    parser.add_argument(
        "--eos-rate",
        type=float,
        default=0.0,
        help="per-token chance of stopping early when a request does not set ignore_eos",
    )
    sglang = parser.add_argument_group(
        "SGLang launch flags (default: the profile's; see bench/sim/launch.py)"
    )
    sglang.add_argument(
        "--tp-size",
        "--tensor-parallel-size",
        type=int,
        metavar="N",
        help="tensor-parallel NPUs: weights, KV heads and per-step work split N ways",
    )
    sglang.add_argument(
        "--dp-size",
        "--data-parallel-size",
        type=int,
        metavar="N",
        help="data-parallel replicas, each on its own tp-size NPUs, requests dealt round-robin",
    )
    sglang.add_argument(
        "--mem-fraction-static",
        type=float,
        metavar="F",
        help="fraction of HBM for weights + KV pool (sizes the KV pool)",
    )
    sglang.add_argument(
        "--max-running-requests", type=int, metavar="N", help="cap on requests in the batch"
    )
    sglang.add_argument(
        "--chunked-prefill-size", type=int, metavar="T", help="prompt tokens per prefill chunk"
    )
    sglang.add_argument(
        "--max-prefill-tokens", type=int, metavar="T", help="prompt tokens per prefill batch"
    )
    sglang.add_argument(
        "--model-path",
        "--model",
        metavar="PATH",
        help="accepted and reported (the simulated model is the profile's)",
    )
    sglang.add_argument(
        "--disable-radix-cache",
        action="store_true",
        help="no prefix cache: every prompt is prefilled whole",
    )
    faults = parser.add_argument_group("faults (seeded; marked in the ground truth)")
    faults.add_argument(
        "--fault-error-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="fraction of requests answered with HTTP 500",
    )
    faults.add_argument(
        "--fault-drop-after", type=int, metavar="K", help="cut streams after K tokens (no [DONE])"
    )
    faults.add_argument(
        "--fault-drop-rate",
        type=float,
        default=1.0,
        metavar="P",
        help="fraction of streams --fault-drop-after applies to (default 1)",
    )
    faults.add_argument(
        "--fault-stall",
        type=float,
        default=0.0,
        metavar="S",
        help="simulated seconds of silence before the first token",
    )
    faults.add_argument(
        "--fault-stall-rate",
        type=float,
        default=1.0,
        metavar="P",
        help="fraction of requests that stall (default 1)",
    )
    faults.add_argument(
        "--fault-malformed-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="fraction of streams with one malformed SSE line",
    )
    faults.add_argument(
        "--fault-burst-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="fraction of streams held and written in one piece at the end (a buffering "
        "server or proxy)",
    )
    faults.add_argument(
        "--fault-garbage-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="fraction of sanity questions (bench sanity) answered with a wrong number",
    )
    faults.add_argument(
        "--fault-health-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="/health answers after S seconds",
    )
    faults.add_argument(
        "--fault-health-fail", action="store_true", help="/health and /health_generate answer 503"
    )
    faults.add_argument(
        "--fault-crash-after",
        type=int,
        metavar="N",
        help="after N requests, reset every connection and exit 3",
    )


def config_from_args(args: argparse.Namespace):
    from bench.sim.config import DEFAULT_SEED, SimConfig
    from bench.sim.faults import FaultConfig
    from bench.sim.launch import LaunchFlags

    launch = LaunchFlags(
        tp_size=args.tp_size,
        dp_size=args.dp_size,
        mem_fraction_static=args.mem_fraction_static,
        max_running_requests=args.max_running_requests,
        chunked_prefill_size=args.chunked_prefill_size,
        max_prefill_tokens=args.max_prefill_tokens,
        model_path=args.model_path,
    )

    faults = FaultConfig(
        error_rate=args.fault_error_rate,
        drop_after=args.fault_drop_after,
        drop_rate=args.fault_drop_rate,
        stall_s=args.fault_stall,
        stall_rate=args.fault_stall_rate,
        malformed_rate=args.fault_malformed_rate,
        burst_rate=args.fault_burst_rate,
        garbage_rate=args.fault_garbage_rate,
        health_delay_s=args.fault_health_delay,
        health_fail=args.fault_health_fail,
        crash_after=args.fault_crash_after,
    )
    return SimConfig(
        host=args.host,
        port=args.port,
        profile=args.profile,
        speed=args.speed,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        tokenizer=args.tokenizer,
        tokens_per_chunk=args.tokens_per_chunk,
        eos_rate=args.eos_rate,
        disable_radix_cache=args.disable_radix_cache,
        ground_truth=args.ground_truth,
        log_file=args.log_file,
        ready_file=args.ready_file,
        faults=faults,
        npu_smi_dir=args.npu_smi_dir,
        launch=launch,
    )


def run(args: argparse.Namespace) -> int:
    from bench.sim.server import serve

    config = config_from_args(args)
    config.sim_profile()  # refuse what SGLang would refuse before the port is bound
    return serve(config)
