"""Aggregate result documents into one Markdown report with PNG plots.

Reads every *.json under --results (the directory and its subdirectories), validates each
document, and writes --out (default: REPORT.md in the results directory) with plots in
`<out stem>-plots/` beside it. Results are grouped by setting (model, hardware, engine,
workload); valid measured results are ranked, simulated and reported ones are labelled and
shown unranked, invalid ones are listed apart with their findings. Every result is put
beside the article's reported baseline (--baseline; the kit's reference document by
default). Each document's signature (DOCUMENT.json.sig) is checked against
`allowed_signers` in the results directory, with the records files it names: the report
shows each result as signed by whom, unsigned, or failing verification (then invalid).
`index.json` beside the report lists every submission with its hashes, signer and status.
The same documents give a byte-identical report, plots and index.

--check writes nothing: it exits 1 and names the files when the report on disk is not what
this command would write (for CI, and `make test`).

A study directory (or its study.json) as --results writes the study's own report instead
(default DIR/REPORT.md): per workload, configuration x load with 95% intervals, the Pareto
plot, throughput and p99 latency against load; unstable and failed cells apart.

Example:
  python -m bench report                       # results/ -> results/REPORT.md
  python -m bench report --results runs/studies/demo-...   # a study's report
  python -m bench report --results .work/demo --out .work/demo/REPORT.md
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="directory of result documents, searched recursively (default: results); "
        "a study directory or study.json gives the study's report",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="report to write (default: REPORT.md inside --results); only a file this "
        "command wrote is ever replaced",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="FILE",
        help="the article's `reported` document to compare with (default: the kit's copy of "
        "results/reference/article-qwen2-7b-atlas800t-sglang.json); `none` for no baseline",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the report on disk differs from what would be written",
    )


def run(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.report.build import build_report
    from bench.report.results import DEFAULT_BASELINE
    from bench.study.report import load_study_report, study_document_path

    study = study_document_path(args.results)
    if study is not None:  # a study directory (or its study.json): the study's own report
        out = args.out if args.out is not None else study.parent / "REPORT.md"
        report = load_study_report(study, out)
        return _finish(report, out, args.check)
    out: Path = args.out if args.out is not None else args.results / "REPORT.md"
    if args.baseline is None:
        baseline: Path | None = DEFAULT_BASELINE
    elif args.baseline.lower() == "none":
        baseline = None
    else:
        baseline = Path(args.baseline)
        if not baseline.is_file():
            raise UsageError(f"--baseline: file not found: {baseline}")
    report = build_report(args.results, out, baseline)
    return _finish(report, out, args.check)


def _finish(report, out: Path, check: bool) -> int:
    from bench.report.build import differences, write_report
    from bench.report.results import INDEX_NAME

    files = f"{out}, {out.parent / INDEX_NAME}" if report.index else str(out)
    if check:
        stale = differences(report, out)
        if stale:
            print(f"Out of date: {', '.join(stale)}. Run `python -m bench report` to update.")
            return 1
        print(f"Up to date: {files} and {len(report.plots)} plots.")
        return 0
    write_report(report, out)
    plots = len(report.plots)
    print(f"Wrote {files} and {plots} plots in {out.parent / report.plots_dir}.")
    return 0
