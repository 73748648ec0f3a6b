"""`bench report`: read result documents, render the report in memory, then write it.

Rendering (`build_report`) and writing (`write_report`) are separate, so a test can check
that the committed results/REPORT.md and its plots are exactly what the code would write,
without writing anything.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench.jsonio import write_atomic
from bench.report import plots as plotting
from bench.report import telemetry
from bench.report.compose import MARKER, compose
from bench.report.index import is_index, render_index
from bench.report.plot_ttft import ttft_vs_input
from bench.report.results import DEFAULT_BASELINE, INDEX_NAME, ResultEntry, load_entries
from bench.report.rows import Row, dig, group_settings, number, platform_key, rows_of
from bench.report.tables import Efficiencies, platform_heading
from bench.roofline import analyse

# Files this command writes into the plots directory; only these are ever removed from it.
PLOT_NAME = re.compile(
    r"^(throughput-vs-interactivity-\d+|latency-R\d+|ttft-vs-input-R\d+|timeline-R\d+-\d+)\.png$"
)


@dataclass(frozen=True)
class Report:
    markdown: str
    plots_dir: str  # directory name next to the report, e.g. `REPORT-plots`
    plots: tuple[plotting.Plot, ...]
    index: bytes = b""  # index.json next to the report (bench.report.index)


def plots_dir_name(out: Path) -> str:
    return f"{out.stem}-plots"


def analyse_all(entries: list[ResultEntry]) -> dict[str, dict]:
    """`bench.roofline.analyse` of every valid document that it can judge, by result id."""
    out = {}
    for entry in entries:
        if entry.valid and entry.doc is not None:
            result = analyse(entry.doc)
            if result:
                out[entry.rid] = result
    return out


def efficiencies(analyses: dict[str, dict]) -> Efficiencies:
    """Decode and prefill efficiency (percent) of every run the roofline judged."""
    out: Efficiencies = {}
    for rid, result in analyses.items():
        for run in result.get("runs") or []:
            out[(rid, str(run.get("kind")), str(run.get("name")))] = (
                number(dig(run, "decode", "efficiency_pct")),
                number(dig(run, "prefill", "efficiency_pct")),
            )
    return out


def render_plots(
    entries: list[ResultEntry], analyses: dict[str, dict] | None = None
) -> list[plotting.Plot]:
    """One throughput-vs-interactivity plot per model + hardware + engine, then one
    latency plot per valid result, and a TTFT-against-input-length plot for each result
    whose latency runs span several input lengths."""
    platforms: dict[tuple, list[Row]] = {}
    for entry in entries:
        for row in rows_of(entry):
            if row.section == "throughput":
                platforms.setdefault(platform_key(row), []).append(row)
    out: list[plotting.Plot] = []
    for rows in platforms.values():  # numbered 1, 2, ... among the groups that have a point
        plot = plotting.throughput_vs_interactivity(len(out) + 1, rows, platform_heading(rows[0]))
        if plot is not None:
            out.append(plot)
    for entry in entries:
        rows = rows_of(entry)
        plot = plotting.latency_ladder(entry.rid, entry.kind_label, rows) if rows else None
        if plot is not None:
            out.append(plot)
        analysis = (analyses or {}).get(entry.rid)
        plot = (
            ttft_vs_input(entry.rid, entry.kind_label, rows, analysis, entry.simulator_speed)
            if rows
            else None
        )
        if plot is not None:
            out.append(plot)
    return out + telemetry.render_plots(entries)  # one timeline per run with telemetry


def build_report(
    results_dir: Path,
    out: Path,
    baseline: Path | None = DEFAULT_BASELINE,
) -> Report:
    """The report for the documents under `results_dir`, as it would be written to `out`."""
    entries = load_entries(results_dir, out.parent, baseline)
    settings = group_settings(entries)
    analyses = analyse_all(entries)
    plots = render_plots(entries, analyses)
    plots_dir = plots_dir_name(out)
    label = Path(os.path.relpath(results_dir.resolve(), out.parent.resolve())).as_posix()
    markdown = compose(entries, settings, analyses, efficiencies(analyses), plots, plots_dir, label)
    return Report(markdown, plots_dir, tuple(plots), render_index(entries))


def check_writable(out: Path) -> None:
    """Refuse to replace a file this command did not write."""
    if out.is_dir():
        raise BenchError(f"--out is a directory: {out} (give a file name such as REPORT.md)")
    if out.exists():
        with out.open("rb") as f:
            first = f.readline().decode("utf-8", "replace").rstrip("\n")
        if first != MARKER:
            raise BenchError(
                f"refusing to overwrite {out}: it was not written by `bench report` "
                "(its first line is not the report's marker)"
            )
    index = out.parent / INDEX_NAME
    if index.exists() and not (index.is_file() and is_index(index.read_bytes())):
        raise BenchError(f"refusing to overwrite {index}: it is not an index `bench report` wrote")


def write_report(report: Report, out: Path) -> list[Path]:
    """Write the plots, drop plots of an earlier run that are gone, then the Markdown."""
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plots_dir = out.parent / report.plots_dir
    written = []
    if report.plots:
        plots_dir.mkdir(exist_ok=True)
    for plot in report.plots:
        write_atomic(plots_dir / plot.name, plot.png, overwrite=True)
        written.append(plots_dir / plot.name)
    keep = {p.name for p in report.plots}
    if plots_dir.is_dir():
        for stale in sorted(plots_dir.iterdir()):
            if PLOT_NAME.match(stale.name) and stale.name not in keep:
                stale.unlink()
    indexed = [out.parent / INDEX_NAME] if report.index else []  # a study's report has none
    for index in indexed:
        write_atomic(index, report.index, overwrite=True)
    write_atomic(out, report.markdown.encode("utf-8"), overwrite=True)
    return [out, *indexed, *written]


def differences(report: Report, out: Path) -> list[str]:
    """What on disk differs from `report` (for `--check`): file names, empty when current."""
    stale = []
    if not out.is_file() or out.read_bytes() != report.markdown.encode("utf-8"):
        stale.append(str(out))
    index = out.parent / INDEX_NAME
    if report.index and (not index.is_file() or index.read_bytes() != report.index):
        stale.append(str(index))
    plots_dir = out.parent / report.plots_dir
    for plot in report.plots:
        path = plots_dir / plot.name
        if not path.is_file() or path.read_bytes() != plot.png:
            stale.append(str(path))
    keep = {p.name for p in report.plots}
    if plots_dir.is_dir():
        stale += [
            str(p)
            for p in sorted(plots_dir.iterdir())
            if PLOT_NAME.match(p.name) and p.name not in keep
        ]
    return stale
