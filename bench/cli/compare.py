"""Compare two results side by side, and say whether each difference is real.

A and B are each a result document, a directory of result documents (repeats of one
run), or a study cell (STUDY_DIR:CELL_ID, its repeats as study.json records them).
Prints Markdown: which settings differ (model, hardware, engine and versions, server
arguments); for two documents, every pair of runs (matched by name, then by workload)
with each metric of A and B, the ratio B ÷ A, the workload and driver settings that
differ, and memory; then, for each paired throughput run, whether each headline metric
differs beyond noise, with its 95% interval: Welch's t-test over repeats, or a bootstrap
over the per-request values of one run each (read from its records after their sha256
matched). Documents are validated; kinds are shown, so a simulated or reported figure is
never read as measured.

Examples:
  python -m bench compare results/reference/article-qwen2-7b-atlas800t-sglang.json my-run.json
  python -m bench compare runs/a/ runs/b/                    # repeats of each: Welch's t-test
  python -m bench compare runs/studies/s:0123456789abcdef runs/studies/s:fedcba9876543210
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "a", metavar="A", help="the reference: a result document, a directory of them, or DIR:CELL"
    )
    parser.add_argument("b", metavar="B", help="the other: the same forms")


def run(args: argparse.Namespace) -> int:
    from bench.report.compare_sets import compare_named

    print(compare_named(args.a, args.b), end="")
    return 0
