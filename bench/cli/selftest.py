"""Measure the client's own error against the simulator's ground truth.

Starts the simulator (a separate process on a free 127.0.0.1 port), runs the kit's load
generator at each concurrency, joins every request with what the simulator recorded it
did, and prints the median and p99 absolute TTFT and TPOT errors (ms) and whether every
output token count matched. `--out FILE` writes the schema's `accuracy` object, which
`bench run` records in the result document.

Example:
  python -m bench selftest                      # concurrency 1, 16, 64 at speed 1
  python -m bench selftest --concurrencies 1,8 --out accuracy.json

Exit codes: 0 done (the numbers are what they are), 1 the self-test could not run,
2 usage error, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrencies must be positive integers")
    return levels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrencies", type=_levels, default=(1, 16, 64), help="e.g. 1,16,64")
    parser.add_argument("--input-len", type=int, default=256, help="prompt tokens")
    parser.add_argument("--output-len", type=int, default=64, help="max output tokens")
    parser.add_argument(
        "--requests-per-level", type=int, help="measured requests per level (default max(2c, 8))"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulator speed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the workload and simulator")
    parser.add_argument("--workdir", type=Path, help="keep records and ground truth here")
    parser.add_argument("--out", type=Path, help="write the accuracy object (JSON) here")


def run(args: argparse.Namespace) -> int:
    import tempfile

    from bench.errors import OutputExistsError
    from bench.jsonio import write_json_atomic
    from bench.selftest import SelftestConfig, run_selftest

    if args.out and args.out.exists():
        raise OutputExistsError(args.out, "name another --out file")
    config = SelftestConfig(
        concurrencies=args.concurrencies,
        input_len=args.input_len,
        output_len=args.output_len,
        requests_per_level=args.requests_per_level,
        speed=args.speed,
        seed=args.seed,
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-selftest-"))
    print(f"bench selftest: simulator at speed {args.speed}; files in {workdir}")
    accuracy = run_selftest(workdir, config, echo=print)
    ttft, tpot = accuracy["ttft_abs_error_ms"], accuracy["tpot_abs_error_ms"]
    print(
        f"all   n={accuracy['requests_compared']:<4} |TTFT err| ms median {ttft['median']:.3f} "
        f"p99 {ttft['p99']:.3f}  |TPOT err| ms median {tpot['median']:.3f} p99 {tpot['p99']:.3f}"
        f"  N_out exact: {'yes' if accuracy['output_tokens_exact'] else 'NO'}"
    )
    if args.out:
        write_json_atomic(args.out, accuracy, overwrite=False)
        print(f"accuracy written to {args.out}")
    return 0
