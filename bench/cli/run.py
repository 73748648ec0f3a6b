"""Run a workload profile against a server and write one complete result document.

Runs every throughput run of the profile (the kit's load generator, or
`sglang.bench_serving` where the profile says `driver = "sglang"`) and every latency run,
captures the environment and the server's self-report (/get_server_info, else
/server_info), reads memory from --server-log when given, and writes one result document:
under --results-dir (default runs/) with a name that overwrites nothing, or at --out. Each run's
per-request records go beside it, in DOCUMENT.records/. The document is `kind: simulated`
when the server says it is the kit's simulator, else `measured`.

Telemetry (docs/telemetry.md): while each run is measured, the NPUs are sampled with the
`npu-smi` on PATH (or --npu-smi) every --telemetry-interval seconds, and the server's
Prometheus /metrics is scraped when the measured window opens and closes and at the same
interval between; the run gets `telemetry` (power, HBM, AI Core, temperature, energy) and
`server_metrics` (the server's token and request counts over the window). A sampler that
cannot run records why and never fails the run; --no-telemetry turns both off.

Profiles (profiles/*.toml): `seed` is the article's workloads as intended (200 prompts of
exactly 512 in / 256 out; latency 4096 in / 512 out, 10 runs after 2 warm-up);
`seed-as-written` is its sglang.bench_serving command exactly as written (which runs
ShareGPT: give a local copy with --dataset-path); `sweep` is seed's throughput workload at
concurrency 1 to 200; `quick` is a small one for a first look.

Examples:
  python -m bench run --profile seed --base-url http://127.0.0.1:30000 --server-log server.log
  python -m bench run --profile seed-as-written --base-url URL --dataset-path ShareGPT.json
  python -m bench run --profile my-profile.toml --base-url URL --out runs/mine.json

A profile's [[sanity]] entry (seed and demo have one) asks seeded arithmetic questions after
the measured runs and records how many the server answered right; below its min_accuracy the
document is still written, and is invalid (fast garbage is not ranked).

Exit codes: 0 written and every request completed, 1 a run failed (its records stay on
disk and the message says where), some requests failed or the sanity check is below its
min_accuracy (the document is still written), 2 usage error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path


def default_submitter() -> str:
    try:
        return os.environ.get("BENCH_SUBMITTER") or getpass.getuser() or "anonymous"
    except (KeyError, OSError):
        return "anonymous"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile", default="seed", help="profile name in profiles/ or a TOML file (seed)"
    )
    parser.add_argument("--base-url", required=True, help="server URL, e.g. http://127.0.0.1:30000")
    parser.add_argument("--out", type=Path, help="write the document here (must not exist)")
    parser.add_argument(
        "--results-dir", type=Path, default=Path("runs"), help="where a default name goes (runs)"
    )
    parser.add_argument("--server-log", type=Path, help="the server's log, for memory figures")
    parser.add_argument("--submitter", default=None, help="your name or handle ($USER)")
    parser.add_argument("--title", help="a short human title for the document")
    parser.add_argument("--model", help="served model name to request (default: /v1/models)")
    parser.add_argument(
        "--model-dir", type=Path, help="model directory (config.json) for architecture facts"
    )
    parser.add_argument(
        "--tokenizer",
        help="tokenizer directory (default: the one the server reports, if it exists here)",
    )
    parser.add_argument(
        "--dataset-path", help="local ShareGPT JSON for sharegpt runs (never downloaded)"
    )
    parser.add_argument(
        "--selftest", action="store_true", help="also run the accuracy self-test (bench selftest)"
    )
    parser.add_argument(
        "--npu-smi",
        metavar="PATH",
        default="npu-smi",
        help="the npu-smi to sample the NPUs with (default: the one on PATH)",
    )
    parser.add_argument(
        "--telemetry-interval",
        type=_interval,
        default=1.0,
        metavar="S",
        help="seconds between NPU samples and /metrics scrapes (default 1)",
    )
    parser.add_argument(
        "--no-telemetry",
        action="store_true",
        help="sample neither the NPUs nor the server's /metrics",
    )
    parser.add_argument(
        "--node-env",
        action="append",
        default=[],
        metavar="RANK=FILE",
        help="a multi-node server's node RANK, as `bench env --json` captured it there "
        "(repeat for each node; recorded in system.nodes: docs/scaling.md)",
    )


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.05 <= value <= 60:
        raise argparse.ArgumentTypeError(f"{text} s is outside 0.05 to 60 s")
    return value


def _command(args: argparse.Namespace) -> list[str]:
    """The `bench run` command as it can be typed again (flags that were given)."""
    argv = ["python", "-m", "bench", "run", "--profile", str(args.profile)]
    argv += ["--base-url", args.base_url]
    for flag in (
        "out",
        "server_log",
        "model",
        "model_dir",
        "tokenizer",
        "dataset_path",
        "title",
    ):
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    if args.out is None:
        argv += ["--results-dir", str(args.results_dir)]
    if args.selftest:
        argv.append("--selftest")
    for node in args.node_env:
        argv += ["--node-env", node]
    if args.no_telemetry:
        argv.append("--no-telemetry")
    else:
        if args.npu_smi != "npu-smi":
            argv += ["--npu-smi", args.npu_smi]
        if args.telemetry_interval != 1.0:
            argv += ["--telemetry-interval", f"{args.telemetry_interval:g}"]
    return argv


def run(args: argparse.Namespace) -> int:
    import sys

    from bench.runner import RunOptions, run_profile
    from bench.system.nodes import parse_node_env
    from bench.telemetry.session import TelemetryOptions
    from bench.workload.profile import load_profile

    profile = load_profile(args.profile)
    opts = RunOptions(
        base_url=args.base_url.rstrip("/"),
        out=args.out,
        results_dir=args.results_dir,
        server_log=args.server_log,
        submitter=args.submitter or default_submitter(),
        title=args.title,
        model=args.model,
        model_dir=args.model_dir,
        tokenizer=args.tokenizer,
        dataset_path=args.dataset_path,
        selftest=args.selftest,
        command=_command(args),
        node_envs=tuple(parse_node_env(text) for text in args.node_env),
        telemetry=None
        if args.no_telemetry
        else TelemetryOptions(npu_smi=args.npu_smi, interval_s=args.telemetry_interval),
    )
    if opts.server_log is not None and not opts.server_log.is_file():
        from bench.errors import InputError

        raise InputError(f"server log not found: {opts.server_log}")
    outcome = run_profile(profile, opts)
    doc = outcome.document
    print(f"{doc['kind']} result written to {outcome.path}")
    for section in ("throughput", "latency"):
        for r in doc["measurements"][section]:
            m = r["metrics"]
            tput = m.get("output_throughput_tok_s")
            ttft = (m.get("ttft_ms") or {}).get("median")
            tpot = (m.get("tpot_ms") or {}).get("median")
            print(
                f"  {r['name']:<24} {m['requests_completed']}/{m['requests_sent']} ok"
                + (f", output {tput:.1f} tok/s" if tput is not None else "")
                + (f", median TTFT {ttft:.1f} ms" if ttft is not None else "")
                + (f", median TPOT {tpot:.2f} ms" if tpot is not None else "")
            )
    code = 0
    if doc.get("sanity") is not None:
        from bench.client.sanity import passed, summary_lines

        print("  " + summary_lines(doc["sanity"])[0])
        if not passed(doc["sanity"]):
            sys.stderr.write(
                "Error: the server's answers to the sanity questions were wrong; the result "
                f"is invalid and will not be ranked: {outcome.path}\n"
            )
            code = 1
    if outcome.failed_requests:
        sys.stderr.write(
            f"Error: {outcome.failed_requests} requests failed; the document records them: "
            f"{outcome.path}\n"
        )
        return 1
    return code
