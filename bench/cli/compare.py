"""Compare two result documents side by side.

Prints Markdown: which settings differ (model, hardware, engine and versions, server
arguments), then for every pair of runs (matched by name, then by workload) each metric of
A and B with the ratio B ÷ A, the workload and driver settings that differ, and memory.
Both documents are validated; kinds are shown, so a simulated or reported figure is never
read as measured.

Example:
  python -m bench compare results/reference/article-qwen2-7b-atlas800t-sglang.json my-run.json
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", type=Path, metavar="A", help="first result document (the reference)")
    parser.add_argument("b", type=Path, metavar="B", help="second result document")


def run(args: argparse.Namespace) -> int:
    from bench.report.compare import compare_files

    print(compare_files(args.a, args.b), end="")
    return 0
