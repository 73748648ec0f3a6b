"""Validate a result document and file it under results/ for a pull request.

The document is checked by `bench validate` (schema and internal consistency). An invalid
one is refused with its findings; a valid one is copied byte for byte to

    results/<hardware>/<model>/<engine>/<date>-<submitter>-<short-hash>.json

(each part a safe slug; the hash is of the file). An existing file is never overwritten.
Simulated results are refused unless --allow-simulated: the leaderboard is for hardware.
The command then says what to do next: regenerate the report and open a pull request.

Example:
  python -m bench submit my-run.json
  make submit FILE=my-run.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the result document to submit")
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="where results are filed (default: results)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and print the destination, write nothing",
    )
    parser.add_argument(
        "--allow-simulated",
        action="store_true",
        help="file a simulated result too (for examples; it is labelled simulated everywhere)",
    )


def _finding_line(issue) -> str:
    from bench.report.text import clean

    return f"  {issue.level}: {clean(issue.pointer or '/', 200)}: {clean(issue.message, 500)}"


def run(args: argparse.Namespace) -> int:
    from bench.errors import BenchError
    from bench.report.submit import file_submission, plan, refuse_reason

    if not args.results.is_dir():
        raise BenchError(f"results directory not found: {args.results}")
    sub = plan(args.file, args.results)
    for issue in sub.issues:
        sys.stderr.write(_finding_line(issue) + "\n")
    reason = refuse_reason(sub, allow_simulated=args.allow_simulated)
    if reason:
        raise BenchError(reason)
    warnings = len(sub.warnings)
    note = f"valid; {warnings} warning{'s' if warnings != 1 else ''}, shown in the report"
    if args.dry_run:
        print(f"Would file {args.file} as {sub.destination} ({note}). Nothing written.")
        return 0
    dest = file_submission(sub, args.results)
    print(f"Filed {args.file} as {dest} ({note}).")
    print("Next:")
    print(f"  1. python -m bench report --results {args.results}   (updates the report)")
    print(f"  2. git checkout -b result-{dest.stem}")
    print(f"     git add {dest} {args.results}/REPORT.md {args.results}/REPORT-plots")
    print(f'     git commit -m "Add result {dest.stem}"')
    print("  3. push the branch and open a pull request; see results/README.md for what")
    print("     reviewers check before a result is accepted.")
    return 0
