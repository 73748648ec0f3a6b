"""The study report's SLO part, for a study with a `[search]`: per workload, the
configurations ranked by the most load under the SLO (ties shown as ties,
`bench.slo.ranking`), and goodput and attainment against load per configuration with the
largest passing load marked.

The points are every load a configuration was measured at for that workload: the
search's probes (their SLO facts are in study.json) and the cells of the load sweep on
the same axis, whose facts are read here from each run's document and records (after
their sha256 matched, `bench.slo.facts`), so the sweep's goodput is judged by the same
SLO. A run of both (a probe at a swept level) counts once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import text as t
from bench.slo.ranking import rank
from bench.slo.spec import parse_search
from bench.slo.verdict import RunFacts, probe_verdict

Doc = dict[str, Any]
RESULT_WORDS = {
    "found": "found",
    "no_failure": "nothing failed up to max",
    "no_pass": "nothing passed",
    "unresolved": "unresolved",
    None: "not run",
}


@dataclass(frozen=True)
class Point:
    load: float
    runs: int
    goodput_rps: float | None  # mean over the runs
    attainment: float  # pooled
    ci95_low: float
    ci95_high: float
    status: str  # the probe verdict over these runs


def points(doc: Doc, base: Path, entry: Doc) -> tuple[list[Point], list[str]]:
    """Every load measured for this search's configuration and workload, and notes on runs
    whose facts could not be read."""
    from bench.errors import InputError
    from bench.slo.facts import facts_of_document
    from bench.slo.verdict import wilson_interval

    spec = parse_search(doc["study"]["search"], "study.search")
    runs: dict[float, dict[str, RunFacts]] = {}
    for probe in entry["probes"]:
        for run in probe["runs"]:
            runs.setdefault(probe["load"], {})[run["run_id"]] = RunFacts.from_dict(run["slo"])
    notes = []
    for cell in doc["cells"]:
        if (cell["configuration"], cell["workload"]) != (entry["configuration"], entry["workload"]):
            continue
        ((kind, load),) = cell["load"].items()
        if kind != spec.axis or load is None:
            continue
        for rep in cell["repeats"]:
            if rep["run_id"] in runs.get(load, {}):
                continue
            try:
                facts = facts_of_document(base / rep["path"], spec.slo)
            except InputError as exc:
                notes.append(f"{rep['path']}: not counted: {exc}")
                continue
            runs.setdefault(load, {})[rep["run_id"]] = facts
    out = []
    for load in sorted(runs):
        facts = list(runs[load].values())
        good = sum(f.requests_good for f in facts)
        total = sum(f.requests_sent for f in facts)
        goodputs = [f.goodput_rps for f in facts if f.goodput_rps is not None]
        low, high = wilson_interval(good, total) if total else (0.0, 0.0)
        out.append(
            Point(
                load=load,
                runs=len(facts),
                goodput_rps=math.fsum(goodputs) / len(goodputs) if goodputs else None,
                attainment=good / total if total else 0.0,
                ci95_low=low,
                ci95_high=high,
                status=probe_verdict(facts, spec.slo).status,
            )
        )
    return out, notes


def _load(axis: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if axis == "max_concurrency" else f"{value:g}/s"


def rankable(entry: Doc) -> str | None:
    """Why a search is not ranked, or None when it is."""
    if entry["status"] != "done":
        return f"search {entry['status']}" + (f": {entry['error']}" if entry.get("error") else "")
    if entry["result"] == "unresolved":
        return "unresolved: no load passed or failed with certainty"
    bounds = (entry["largest_passing"], entry["smallest_failing"])
    for probe in entry["probes"]:
        if probe["load"] in bounds and any(not r["valid"] for r in probe["runs"]):
            return f"a bound rests on an invalid document (load {probe['load']:g})"
    return None


def ranking_lines(entries: list[Doc], axis: str) -> list[str]:
    ranked_entries = [e for e in entries if rankable(e) is None]
    ranked = rank(
        [(e["configuration"], e["largest_passing"], e["smallest_failing"]) for e in ranked_entries]
    )
    by_config = {e["configuration"]: e for e in entries}
    lines = [
        "| rank | config | largest passing | smallest failing | goodput (req/s) | attainment "
        "| output tok/s per NPU | loads / runs | |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in ranked:
        e = by_config[r.key]
        ties = ", ".join(f"C{k}" for k in r.ties)
        rank_text = f"{r.rank}" + (f" (tie: {ties})" if ties else "")
        per_npu = e["output_throughput_per_npu_tok_s"]
        figure = (
            t.num(per_npu, 1)
            if per_npu is not None
            else f"{t.num(e['output_throughput_tok_s'], 1)} (all NPUs)"
        )
        lines.append(
            f"| {rank_text} | C{e['configuration']} | {_load(axis, e['largest_passing'])} "
            f"| {_load(axis, e['smallest_failing'])} | {t.num(e['goodput_rps'], 3)} "
            f"| {t.num(e['attainment'], 3)} | {figure} | {e['loads_probed']} / {e['runs']} "
            f"| {t.inline(RESULT_WORDS.get(e['result'], e['result']))} |"
        )
    for e in entries:
        why = rankable(e)
        if why is not None:
            lines.append(
                f"| — | C{e['configuration']} | {_load(axis, e['largest_passing'])} "
                f"| {_load(axis, e['smallest_failing'])} | — | — | — "
                f"| {e['loads_probed']} / {e['runs']} | not ranked: {t.inline(why)} |"
            )
    return lines


def search_section(doc: Doc, base: Path, index: int, name: str, kind: str, plots_dir: str):
    """(Markdown lines, plots) of one workload's searches; empty without a [search]."""
    from bench.study.slo_plots import goodput_plot

    if doc["study"].get("search") is None:
        return [], []
    spec = parse_search(doc["study"]["search"], "study.search")
    entries = [e for e in doc.get("search") or [] if e["workload"] == name]
    lines = [f"### The most load under the SLO ({t.inline(spec.slo.text)})", ""]
    lines += [
        f"Searched over {spec.axis} from {spec.min:g} to {spec.max:g}, to a precision of "
        f"{spec.precision:g}, bounds confirmed by {spec.repeats_at_boundary} runs. Ranked by the "
        "largest load meeting the SLO; configurations whose intervals [largest passing, "
        "smallest failing) overlap are tied. Goodput, attainment and output tok/s are at the "
        "largest passing load.",
        "",
        *ranking_lines(entries, spec.axis),
        "",
    ]
    for e in entries:
        for note in e["notes"]:
            lines.append(f"- C{e['configuration']}: {t.inline(note)}")
    if any(e["notes"] for e in entries):
        lines.append("")
    if "×" in kind:
        lines += [
            f"> {kind}: the SLO's bounds applied to the times as measured, a fraction of the "
            "simulated hardware's.",
            "",
        ]
    series = {}
    for e in entries:
        pts, notes = points(doc, base, e)
        series[e["configuration"]] = (pts, e["largest_passing"])
        lines += [f"- C{e['configuration']}: {t.inline(n)}" for n in notes]
    plot = goodput_plot(index, series, spec, kind)
    plots = []
    if plot is not None:
        plots.append(plot)
        lines += [
            f"#### {plot.heading}",
            "",
            f"![{plot.alt}]({plots_dir}/{plot.name})",
            "",
            plot.caption,
            "",
        ]
    return lines, plots


METHOD_LINES = [
    "- The SLO search: doubling from min until a load fails, then bisection to the "
    "precision; a probe is uncertain when its runs disagree or its attainment's Wilson "
    "interval (`scipy.stats.binomtest`) straddles the target, is run again, and is never a "
    "bound; the bounds are confirmed by repeated runs (docs/slo.md).",
    "- Ranking under the SLO: by the largest passing load; configurations whose intervals "
    "[largest passing, smallest failing) overlap are tied.",
]
