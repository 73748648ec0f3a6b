"""`bench report` on a study: the study document (and the result documents it names) in,
one Markdown report with PNG plots out. Same documents, same bytes.

Per workload: a table of configuration x load with each headline metric's mean and 95%
interval, the Pareto plot, throughput against load, p99 TTFT/TPOT against load. Unstable,
invalid and failed cells are listed apart and never ranked; a failed configuration shows
its server log's last lines. Simulated studies say so in the title and on every plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import text as t
from bench.report.build import Report, plots_dir_name
from bench.report.compose import MARKER
from bench.report.plots import Plot
from bench.study import plots as study_plots
from bench.study.slo_report import METHOD_LINES, search_section

Doc = dict[str, Any]


def kind_label(doc: Doc, base: Path) -> str:
    """`simulated ×F speed` when the repeats ran on a simulator faster than real time."""
    kind = doc.get("kind") or "no runs yet"
    if kind != "simulated":
        return kind
    from bench.errors import InputError
    from bench.jsonio import load_document

    speeds = set()
    firsts = [c["repeats"][:1] for c in doc["cells"]]
    firsts += [p["runs"][:1] for s in doc.get("search") or [] for p in s["probes"]]
    for runs in firsts:
        for rep in runs:
            try:
                info = load_document(base / rep["path"])["server"]["self_report"]
                speeds.add(float(info["simulator"]["speed"]))
            except (InputError, KeyError, TypeError, ValueError):
                continue
    if len(speeds) == 1 and (speed := speeds.pop()) != 1:
        return f"simulated ×{speed:g} speed"
    return kind


def _interval(stats: dict[str, Any] | None, digits: int = 1) -> str:
    if not stats:
        return "—"
    mean = t.num(stats["mean"], digits)
    if stats.get("ci95_low") is None:
        return f"{mean} (n=1)"
    return f"{mean} [{t.num(stats['ci95_low'], digits)}, {t.num(stats['ci95_high'], digits)}]"


def _boot(boot: dict[str, Any] | None) -> str:
    if not boot:
        return "—"
    return f"{t.num(boot['p99'])} [{t.num(boot['ci95_low'])}, {t.num(boot['ci95_high'])}]"


def _load_text(cell: Doc) -> str:
    ((kind, value),) = cell["load"].items()
    if kind == "max_concurrency":
        return f"concurrency {value}"
    return "rate inf" if value is None else f"rate {t.num(value, 2)}/s"


def _flags(cell: Doc, on_front: set[str]) -> str:
    flags = []
    if cell["id"] in on_front:
        flags.append("**front**")
    if cell["unstable"]:
        flags.append("unstable")
    if cell["invalid"]:
        flags.append("invalid")
    if cell["status"] != "done":
        flags.append(cell["status"])
    return ", ".join(flags) or "—"


def _configurations(doc: Doc) -> list[str]:
    lines = [
        "| | grid values | status | start (s) | weights (GiB) | KV cache (GiB) | KV tokens |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for c in doc["configurations"]:
        grid = ", ".join(f"{k} = {v}" for k, v in c["grid"].items()) or "(the server as it runs)"
        memory = c.get("memory") or {}
        lines.append(
            f"| C{c['index']} | {t.cell(grid)} | {t.cell(c['status'])} | {t.num(c['start_s'])} "
            f"| {t.num(memory.get('weights_gib'), 2)} | {t.num(memory.get('kv_cache_gib'), 2)} "
            f"| {t.num(memory.get('kv_tokens'), 0)} |"
        )
    return lines


def _cells_table(cells: list[Doc], on_front: set[str], y_metric: str) -> list[str]:
    y_head = "tok/s per NPU" if y_metric == "output_throughput_per_npu_tok_s" else "output tok/s"
    lines = [
        f"| config | load | n | output tok/s | {y_head} | tok/s per user | TTFT p99 (ms) "
        "| TPOT p99 (ms) | pooled p99 TTFT (ms) | pooled p99 TPOT (ms) | cv | |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in cells:
        s = c["statistics"]
        cv = (s.get("output_throughput_tok_s") or {}).get("cv")
        lines.append(
            f"| C{c['configuration']} | {_load_text(c)} | {len(c['repeats'])} "
            f"| {_interval(s.get('output_throughput_tok_s'))} | {_interval(s.get(y_metric))} "
            f"| {_interval(s.get('interactivity_tok_s'))} | {_interval(s.get('ttft_ms_p99'))} "
            f"| {_interval(s.get('tpot_ms_p99'), 2)} | {_boot(c['p99_bootstrap']['ttft_ms_p99'])} "
            f"| {_boot(c['p99_bootstrap']['tpot_ms_p99'])} "
            f"| {'—' if cv is None else f'{cv:.3f}'} | {_flags(c, on_front)} |"
        )
    return lines


def _image(plot: Plot, plots_dir: str) -> list[str]:
    return [f"![{plot.alt}]({plots_dir}/{plot.name})", "", plot.caption, ""]


def _apart(doc: Doc) -> list[str]:
    lines: list[str] = []
    unstable = [c for c in doc["cells"] if c["unstable"]]
    invalid = [c for c in doc["cells"] if c["invalid"]]
    failed = [c for c in doc["cells"] if c["status"] == "failed"]
    pending = [c for c in doc["cells"] if c["status"] == "pending"]
    cv_max = doc["study"]["study"]["cv_max"]
    if unstable:
        lines += ["## Unstable cells (not ranked)", ""]
        lines += [f"Output throughput varied more than cv_max = {cv_max} over the repeats:", ""]
        for c in unstable:
            cv = c["statistics"]["output_throughput_tok_s"]["cv"]
            lines.append(
                f"- C{c['configuration']}, {t.inline(c['workload'])}, {_load_text(c)}: cv {cv:.3f}"
            )
        lines.append("")
    if invalid:
        lines += ["## Cells with an invalid result document (not ranked)", ""]
        for c in invalid:
            errors = "; ".join(e for r in c["repeats"] for e in r["errors"])
            where = f"C{c['configuration']}, {t.inline(c['workload'])}, {_load_text(c)}"
            lines.append(f"- {where}: {t.inline(errors)}")
        lines.append("")
    if failed or pending:
        lines += ["## Failed and unfinished cells", ""]
        for c in [*failed, *pending]:
            why = c.get("error") or "not run yet (resume the study)"
            lines.append(
                f"- C{c['configuration']}, {t.inline(c['workload'])}, {_load_text(c)}: "
                f"{c['status']}: {t.inline(why)}"
            )
        lines.append("")
    for conf in doc["configurations"]:
        if conf["status"] == "failed":
            lines += [f"### C{conf['index']} failed: {t.inline(conf.get('error'))}", ""]
            if conf.get("log_tail"):
                tail = conf["log_tail"].replace("```", "'''")
                lines += ["Last lines of its server log:", "", "```text", tail, "```", ""]
    return lines


def _fronts(doc: Doc) -> list[Doc]:
    """The Pareto front of each workload; a study that only searches has no cells, so its
    workloads come from the study itself (with empty fronts)."""
    if doc["pareto"] or doc["study"].get("search") is None:
        return doc["pareto"]
    names = [w["name"] for w in doc["study"]["workload"]]
    return [
        {"workload": n, "x_metric": "interactivity_tok_s", "y_metric": None, "cells": []}
        for n in names
    ]


def build_study_report(doc: Doc, base: Path, out: Path, findings: list[str]) -> Report:
    """The study report for `doc` (read from `base`/study.json), as it would be written to
    `out`; `findings` are the validator's errors about it, shown first."""
    kind = kind_label(doc, base)
    plots_dir = plots_dir_name(out)
    head = doc["study"]["study"]
    cells = doc["cells"]
    done = sum(1 for c in cells if c["status"] == "done")
    lines = [
        MARKER,
        "",
        f"# Study {t.inline(head['name'])} ({kind})",
        "",
        t.inline(head.get("description")) or "(no description)",
        "",
        f"- Status: **{doc['status']}**, {done} of {len(cells)} cells done, "
        f"{head['repeats']} repeat(s) per cell, cv_max {head['cv_max']}",
        f"- Started {t.inline(doc['created_utc'])}, last written {t.inline(doc['updated_utc'])}",
        f"- Study file sha256 {t.code(doc['study_sha256'][:16])}…; study document "
        f"{t.code('study.json')}, one row per cell in {t.code('summary.csv')}",
        "",
    ]
    if doc.get("kind") == "simulated":
        lines += [
            f"> Every number in this study was measured against the kit's simulator: {kind}. "
            "It is not a measurement of an NPU.",
            "",
        ]
    if findings:
        lines += ["## The study document does not validate", ""]
        lines += [f"- {t.inline(f)}" for f in findings[:20]] + [""]
    lines += ["## Configurations", "", *_configurations(doc), ""]
    plots: list[Plot] = []
    load_kind = "max_concurrency" if doc["study"]["load"]["max_concurrency"] else "request_rate"
    for index, front in enumerate(_fronts(doc), start=1):
        name = front["workload"]
        mine = [c for c in cells if c["workload"] == name]
        on_front = set(front["cells"])
        y_metric = front.get("y_metric") or "output_throughput_tok_s"
        lines += [f"## Workload {index}: {t.inline(name)}", ""]
        if mine:
            lines += [
                "Each figure is the mean over the repeats with its 95% interval (Student t); "
                "pooled p99 is over every request of every repeat, with its bootstrap interval.",
                "",
            ]
            lines += [*_cells_table(mine, on_front, y_metric), ""]
        if on_front:
            where = ", ".join(
                f"C{c['configuration']} at {_load_text(c)}" for c in mine if c["id"] in on_front
            )
            lines += [f"On the Pareto front: {where}.", ""]
        per_npu = y_metric == "output_throughput_per_npu_tok_s"
        for plot in (
            study_plots.pareto_plot(index, mine, front, kind),
            study_plots.load_plot(index, mine, load_kind, kind, per_npu),
            study_plots.latency_plot(index, mine, load_kind, kind),
        ):
            if plot is not None:
                plots.append(plot)
                lines += [f"### {plot.heading}", "", *_image(plot, plots_dir)]
        slo_lines, slo_plots = search_section(doc, base, index, name, kind, plots_dir)
        lines += slo_lines
        plots += slo_plots
    lines += _apart(doc)
    lines += [
        "## How these numbers were computed",
        "",
        "- Interval of a mean: Student t with n - 1 degrees of freedom over the repeats "
        "(`scipy.stats.t`); with 2 repeats t is 12.7, so intervals are wide: that is what "
        "two runs can say.",
        "- Pooled p99: the 99th percentile of every measured request of every repeat, its "
        "interval from `scipy.stats.bootstrap` (percentile method, seeded).",
        "- Pareto rule: a cell is on the front when no other ranked cell is at least as good "
        "on both axes (tokens/s per user, output tokens/s per NPU) and better on one. "
        "Unstable, invalid and unfinished cells are not ranked.",
        *(METHOD_LINES if doc["study"].get("search") is not None else []),
        "",
    ]
    return Report("\n".join(lines).rstrip("\n") + "\n", plots_dir, tuple(plots))


def load_study_report(study_json: Path, out: Path) -> Report:
    """Read, validate and render the study document at `study_json`."""
    from bench.errors import InputError
    from bench.jsonio import load_document
    from bench.study.validate import is_study_document, validate_study

    doc = load_document(study_json)
    if not is_study_document(doc):
        raise InputError(f"{study_json}: not a study document (no study_schema_version)")
    found = validate_study(doc, str(study_json), study_json.parent)
    errors = [f"{f.pointer or '(root)'}: {f.message}" for f in found if f.level == "error"]
    schema_broken = any(not f.pointer.startswith("/cells/") for f in found if f.level == "error")
    if schema_broken and errors:
        raise InputError(f"{study_json}: not a valid study document: {errors[0]}")
    return build_study_report(doc, study_json.parent, out, errors)


def study_document_path(results: Path) -> Path | None:
    """The study document `bench report --results` names: a study.json, or a directory
    holding one; None for a plain results directory."""
    if results.is_file() and results.suffix == ".json":
        return results
    candidate = results / "study.json"
    return candidate if candidate.is_file() else None
