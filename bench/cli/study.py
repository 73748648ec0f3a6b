"""Run a study: server configurations x workloads x load levels, each cell repeated.

A study file (TOML, strict) names a launcher and a grid of server configurations
(`[grid]`), the workloads (`[[workload]]`, a profile's [[throughput]] keys) and the load
levels (`[load]`). For each configuration the launcher starts the server, waits for its
health, reads its memory, runs every cell (one result document per repeat, validated as it
is written, the prefix cache flushed before each), then stops it. Statistics over the
repeats (mean, std, cv, Student-t 95% interval; a bootstrap interval of the pooled p99
latencies), the Pareto front of output tok/s per NPU against tok/s per user, and
`summary.csv` go into DIR/study.json, rewritten after every run.

Interrupted (Ctrl-C, a crash), the study resumes with the same file and --out plus
--resume, running only what is not finished. See docs/studies.md.

Examples:
  python -m bench study studies/demo.toml --out .work/study-demo
  python -m bench study studies/demo.toml --out .work/study-demo --resume
  python -m bench study studies/parameter-challenge.toml --dry-run
  python -m bench report --results .work/study-demo      # the study's report

Exit codes: 0 every cell finished, 1 a cell or configuration failed (named on stderr; the
rest ran) or the study file is bad, 2 usage error, 130 Ctrl-C (finished runs stay on disk).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the study file (TOML)")
    parser.add_argument(
        "--out", type=Path, help="study directory (default: runs/studies/NAME-STAMP)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the study in --out, running what is left"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be launched and measured"
    )
    parser.add_argument("--submitter", default=None, help="your name or handle ($USER)")


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from bench.cli.run import default_submitter
    from bench.errors import UsageError
    from bench.study.session import default_out, dry_run, run_study
    from bench.study.spec import load_study

    if args.dry_run:
        print(dry_run(args.file, args.out))
        return 0
    if args.out is None and args.resume:
        raise UsageError("--resume needs --out DIR, the study directory to continue")
    out = args.out if args.out is not None else default_out(load_study(args.file))
    command = ["python", "-m", "bench", "study", str(args.file), "--out", str(out)]
    try:
        outcome = run_study(
            args.file,
            out,
            resume_it=args.resume,
            submitter=args.submitter or default_submitter(),
            command=command,
        )
    except KeyboardInterrupt:
        if (out / "study.json").is_file():
            again = shlex.join([*command, "--resume"])
            sys.stderr.write(
                f"Interrupted; every finished run is in {out} (study.json names them). "
                f"Resume with: {again}\n"
            )
        raise
    path = outcome.path
    doc = outcome.document
    done = sum(1 for c in doc["cells"] if c["status"] == "done")
    print(f"{doc['kind'] or 'no'} study written to {path}: {done}/{len(doc['cells'])} cells done")
    for entry in doc.get("search") or []:
        print(
            f"  search C{entry['configuration']} | {entry['workload']}: {entry['status']}, "
            f"largest passing {entry['largest_passing']}, smallest failing "
            f"{entry['smallest_failing']} ({entry['axis']})"
        )
    print(f"  report: python -m bench report --results {path.parent}")
    if outcome.failed_cells:
        shown = "; ".join(outcome.failed_cells[:10])
        more = (
            f" and {len(outcome.failed_cells) - 10} more" if len(outcome.failed_cells) > 10 else ""
        )
        sys.stderr.write(f"Error: {len(outcome.failed_cells)} cell(s) failed: {shown}{more}\n")
        return 1
    return 0
