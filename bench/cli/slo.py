"""The most load a running server takes while it meets an SLO.

Against a server already running at --base-url: from --min, the load (max_concurrency,
or request_rate with --axis request_rate) doubles until a probe fails the SLO, then the
gap is bisected to --precision; a probe whose verdict is uncertain (its runs disagree, or
its attainment's Wilson interval straddles the target) is run again, up to
--repeats-at-boundary runs, and is never taken as a bound; the largest passing and the
smallest failing loads are confirmed with that many runs. Each probe run is a validated
result document under --out; study.json holds the answer and every probe, search.csv one
row per run. Each probe is printed as it finishes, then the answer: the largest passing
and smallest failing loads, goodput and output tokens/s per NPU at the largest passing
load. The same search runs per configuration in a study's [search] (docs/slo.md).

SLO keys (--slo, comma-separated): ttft|tpot|e2e x p50|p90|p99, in ms, like
ttft_p99_ms=2000,tpot_p99_ms=50; and attainment=0.95 (or --attainment): the fraction of
requests that must meet every per-request bound (each metric's highest percentile bound).

Examples:
  python -m bench slo --base-url http://127.0.0.1:30000 --model-dir MODEL \\
      --input-len 512 --output-len 256 --slo ttft_p99_ms=2000,tpot_p99_ms=50
  python -m bench slo --base-url URL --slo ttft_p99_ms=2000,attainment=0.95 \\
      --axis request_rate --min 0.5 --max 64 --num-prompts 400 --out runs/slo/mine
  python -m bench slo ... --out runs/slo/mine --resume     # after Ctrl-C, the same flags

Exit codes: 0 the search finished, 1 a probe failed to run (named; what was measured is
kept), 2 usage error (a bad flag or value, named), 130 Ctrl-C (every finished run stays in
--out).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.cli.measuring import add_workload_arguments
    from bench.workload.spec import APIS, DATASETS, ThroughputWorkload

    parser.add_argument("--base-url", required=True, help="server URL, e.g. http://127.0.0.1:30000")
    parser.add_argument("--model", help="model name to request (default: the first /v1/models id)")
    parser.add_argument("--tokenizer", help="directory with the model's tokenizer.json")
    parser.add_argument("--model-dir", help="model directory (its tokenizer.json, config.json)")
    parser.add_argument("--server-log", help="the server's log, for memory figures")
    search = parser.add_argument_group("search")
    search.add_argument("--slo", required=True, help="bounds, like ttft_p99_ms=2000,tpot_p99_ms=50")
    search.add_argument("--attainment", type=float, help="fraction of requests meeting every bound")
    search.add_argument(
        "--axis", choices=("max_concurrency", "request_rate"), default="max_concurrency"
    )
    search.add_argument("--min", type=float, default=1, help="the first load probed (1)")
    search.add_argument("--max", type=float, default=512, help="the largest load probed (512)")
    search.add_argument(
        "--precision", type=float, default=0.1, help="stop when (fail - pass) / pass <= this"
    )
    search.add_argument(
        "--repeats-at-boundary", type=int, default=3, help="runs of an uncertain or bound probe"
    )
    search.add_argument(
        "--prompts-per-concurrency",
        type=int,
        help="max_concurrency axis: k prompts per unit of concurrency (instead of --num-prompts)",
    )
    search.add_argument("--min-prompts", type=int, default=16, help="... but at least this many")
    add_workload_arguments(parser, ThroughputWorkload, {"api": APIS, "dataset": DATASETS})
    parser.add_argument("--name", default="slo", help="the workload's name (slo)")
    parser.add_argument("--out", type=Path, help="directory (default: runs/slo/slo-STAMP)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out")
    parser.add_argument("--health-timeout", type=float, default=30.0, help="seconds (30)")
    parser.add_argument(
        "--flush", default="auto", help="prefix cache flush before each run: auto, none, or a path"
    )
    parser.add_argument("--submitter", default=None, help="your name or handle ($USER)")


def _search_table(args: argparse.Namespace) -> dict:
    from bench.slo.spec import parse_slo_text

    def number(value: float):
        is_int = args.axis == "max_concurrency" and float(value).is_integer()
        return int(value) if is_int else value

    table = {
        "axis": args.axis,
        "slo": parse_slo_text(args.slo),
        "min": number(args.min),
        "max": number(args.max),
        "precision": args.precision,
        "repeats_at_boundary": args.repeats_at_boundary,
    }
    if args.attainment is not None:
        table["attainment"] = args.attainment
    return table


def run(args: argparse.Namespace) -> int:
    import math
    import shlex
    import sys

    from bench.cli.measuring import workload_from_args
    from bench.cli.run import default_submitter
    from bench.errors import InputError, UsageError
    from bench.slo.spec import parse_search
    from bench.study.quick import answer_lines, run_slo, slo_study
    from bench.study.spec import LoadSection, ServerSection
    from bench.utc import utc_stamp
    from bench.workload.profile import ThroughputRun
    from bench.workload.spec import ThroughputWorkload

    try:
        search = parse_search(_search_table(args), "search")
    except InputError as exc:  # the flags gave it: a usage error naming the flags, exit 2
        raise UsageError(_flags_named(str(exc).removeprefix("search "))) from None
    workload = workload_from_args(args, ThroughputWorkload)
    if search.axis == "max_concurrency" and workload.max_concurrency is not None:
        raise UsageError("--max-concurrency is what the search varies; leave it out")
    if search.axis == "request_rate" and not math.isinf(workload.request_rate):
        raise UsageError("--request-rate is what the search varies; leave it out")
    if args.prompts_per_concurrency is not None and search.axis != "max_concurrency":
        raise UsageError("--prompts-per-concurrency needs --axis max_concurrency")
    if args.flush not in ("auto", "none") and not args.flush.startswith("/"):
        raise UsageError('--flush must be "auto", "none" or a path like /flush_cache')
    if args.resume and args.out is None:
        raise UsageError("--resume needs --out DIR, the search to continue")
    if args.prompts_per_concurrency is not None:
        load = LoadSection(
            prompts_per_concurrency=args.prompts_per_concurrency, min_prompts=args.min_prompts
        )
    else:
        load = LoadSection()
    server = ServerSection(
        launcher="external",
        base_url=args.base_url.rstrip("/"),
        model=args.model,
        tokenizer=args.tokenizer,
        model_dir=args.model_dir,
        server_log=args.server_log,
        start_timeout_s=args.health_timeout,
        flush=args.flush,
    )
    study = slo_study(server, ThroughputRun(args.name, workload), search, load)
    out = args.out or Path("runs") / "slo" / f"slo-{utc_stamp()}"
    command = ["python", "-m", "bench", "slo", "--base-url", args.base_url, "--slo", args.slo]
    command += ["--axis", search.axis, "--out", str(out)]  # the workload: in each document
    print(f"bench slo: {search.slo.text} over {search.axis}, {search.min:g}..{search.max:g}; "
          f"writing to {out}")  # fmt: skip
    try:
        outcome = run_slo(
            study,
            out,
            resume_it=args.resume,
            submitter=args.submitter or default_submitter(),
            command=command,
            say=lambda m: print(f"  {m}", flush=True),
        )
    except KeyboardInterrupt:
        if (out / "study.json").is_file():
            sys.stderr.write(
                f"Interrupted; every finished run is in {out} (study.json names them). "
                f"Continue with the same flags and --out {shlex.quote(str(out))} --resume\n"
            )
        raise
    doc = outcome.document
    entry = doc["search"][0]
    if entry["status"] == "done":
        for line in answer_lines(entry, _speed(out, entry)):
            print(line)
    print(f"study document: {outcome.path}; one row per run: {out / 'search.csv'}")
    print(f"report: python -m bench report --results {out}")
    if outcome.failed_cells:
        sys.stderr.write(f"Error: {outcome.failed_cells[0]}\n")
        return 1
    return 0


def _speed(out: Path, entry: dict) -> float | None:
    """The simulator's speed, when the runs were measured against `bench sim`."""
    from bench.errors import InputError
    from bench.jsonio import load_document

    for probe in entry["probes"][:1]:
        try:
            doc = load_document(out / probe["runs"][0]["path"])
            return float(doc["server"]["self_report"]["simulator"]["speed"])
        except (InputError, KeyError, TypeError, ValueError):
            return None
    return None


def _flags_named(message: str) -> str:
    """A `[search]` finding worded with the flags that set it: `min (64) is greater than max
    (8)` -> `--min (64) is greater than --max (8)`."""
    import re

    keys = r"(?<![-\w])(slo|min|max|precision|attainment|axis|repeats_at_boundary)\b(?=[ :(])"
    return re.sub(keys, lambda m: "--" + m.group(1).replace("_", "-"), message)
