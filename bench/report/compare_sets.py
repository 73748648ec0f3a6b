"""`bench compare A B` on what a user names: a result document, a directory of result
documents (repeats of one run), or a study cell (`STUDY_DIR:CELL_ID`, its repeats and probe
runs as study.json records them, each checked against its sha256). Two documents keep the
side-by-side comparison (`bench.report.compare`); sets are compared by their runs'
values. Either way, what differs between A and B (settings, workload) comes first, then
for each paired throughput run whether each headline metric differs beyond noise
(`bench.report.significance`): Welch's t-test over repeats, or a bootstrap over the
per-request values of one run each, read from its records after their sha256 matched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.report import text
from bench.report.compare import (
    _rows,
    compare_entries,
    pair_runs,
    setting_differences,
    workload_differences,
)
from bench.report.compare_inputs import Side, resolve_side
from bench.report.rows import Row
from bench.report.significance import Difference, bootstrap, sentence, welch
from bench.report.tables import markdown_table

# (label, better, where a run's metrics hold it): tested over repeats
RUN_METRICS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("output tokens/s", "higher", ("output_throughput_tok_s",)),
    ("requests/s", "higher", ("request_throughput_rps",)),
    ("median TTFT", "lower", ("ttft_ms", "median")),
    ("p99 TTFT", "lower", ("ttft_ms", "p99")),
    ("median TPOT", "lower", ("tpot_ms", "median")),
    ("p99 TPOT", "lower", ("tpot_ms", "p99")),
    ("median E2E", "lower", ("e2e_ms", "median")),
)
# (label, better, per-request metric, statistic): tested within one run each
REQUEST_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("median TTFT", "lower", "ttft", "median"),
    ("p99 TTFT", "lower", "ttft", "p99"),
    ("median TPOT", "lower", "tpot", "median"),
    ("p99 TPOT", "lower", "tpot", "p99"),
    ("median E2E", "lower", "e2e", "median"),
    ("p99 E2E", "lower", "e2e", "p99"),
)


# -- values -------------------------------------------------------------------------------
def request_values(run: dict[str, Any], document: Path) -> dict[str, list[float]] | str:
    """Per-request TTFT, TPOT and E2E (ms) of the run's completed requests, from records
    whose sha256 matched; a reason (str) when the run has no kit records to read. A file
    changed since the run is an InputError."""
    from bench.metrics import e2e_ns, tpot_ms, ttft_ns
    from bench.records import RECORDS_FORMAT
    from bench.records.checked import records_path, verified_records
    from bench.units import NS_PER_MS

    path = records_path(run, document)
    if path is None:
        return "its document names no records"
    if (run.get("records") or {}).get("format") != RECORDS_FORMAT:
        return "its records are not in the kit's format"
    if not path.is_file():
        return f"its records are not here ({path})"
    completed = [r for r in verified_records(run, document) if r.ok]
    out: dict[str, list[float]] = {"ttft": [], "tpot": [], "e2e": []}
    for r in completed:
        first, last, per_token = ttft_ns(r), e2e_ns(r), tpot_ms(r)
        if first is not None:
            out["ttft"].append(first / NS_PER_MS)
        if last is not None:
            out["e2e"].append(last / NS_PER_MS)
        if per_token is not None:
            out["tpot"].append(per_token)
    return out


def differences(runs_a: list[Row], runs_b: list[Row]) -> tuple[list[Difference], list[str]]:
    """The tests of one paired run (each side's rows: one per document), and notes."""
    notes: list[str] = []
    if len(runs_a) >= 2 and len(runs_b) >= 2:
        found = []
        for label, better, keys in RUN_METRICS:
            va, vb = [r.metric(*keys) for r in runs_a], [r.metric(*keys) for r in runs_b]
            if any(v is None for v in va + vb):
                notes.append(f"{label}: not in every run; not tested")
                continue
            found.append(welch(label, better, va, vb))
        return found, notes
    if len(runs_a) != 1 or len(runs_b) != 1:
        counts = f"A has {len(runs_a)}, B has {len(runs_b)}"
        return [], [f"Welch's t-test needs at least two runs on each side ({counts}): not tested"]
    values = []
    for tag, row in (("A", runs_a[0]), ("B", runs_b[0])):
        got = request_values(row.run, row.entry.path)
        if isinstance(got, str):
            return [], [f"{tag}: {got}, so there is nothing to resample: not tested"]
        values.append(got)
    notes.append(
        "one run each: these intervals hold the spread of requests within the two runs, not "
        "how much a whole run varies, and two runs of one server can differ beyond them; "
        "output tokens/s and requests/s, one number per run, are not tested. Compare "
        "repeats (a directory of runs, or a study cell) for a verdict on the servers"
    )
    found = []
    for label, better, metric, statistic in REQUEST_METRICS:
        va, vb = values[0][metric], values[1][metric]
        if len(va) < 2 or len(vb) < 2:
            notes.append(f"{label}: fewer than two requests give it; not tested")
            continue
        found.append(bootstrap(label, better, statistic, va, vb))
    return found, notes


# -- words --------------------------------------------------------------------------------
def _interval(low: float | None, high: float | None, digits: int, unit: str = "") -> str:
    if low is None or high is None:
        return "—"
    return f"{low:.{digits}f} to {high:.{digits}f}{unit}"


def significance_table(found: list[Difference]) -> str:
    body = []
    for d in found:
        body.append(
            [
                d.label,
                text.num(d.a, 2),
                text.num(d.b, 2),
                f"{d.diff:+.2f} ({_interval(d.diff_low, d.diff_high, 2)})",
                "—"
                if d.pct is None
                else f"{d.pct:+.1f}% ({_interval(d.pct_low, d.pct_high, 1, '%')})",
                "—" if d.p_value is None else f"{d.p_value:.3g}",
                "**significant**" if d.significant else "no",
            ]
        )
    head = ["metric", "A", "B", "B − A (95% CI)", "B vs A (95% CI)", "p", "significant"]
    return markdown_table(head, body)


def significance_section(pairs: list[tuple[list[Row], list[Row]]]) -> list[str]:
    lines = ["## Is the difference real?", ""]
    for runs_a, runs_b in pairs:
        ra, rb = runs_a[0], runs_b[0]
        title = text.inline(ra.name, 60) + (
            "" if rb.name == ra.name else f" / {text.inline(rb.name, 60)}"
        )
        found, notes = differences(runs_a, runs_b)
        how = (
            f"Welch's t-test over repeats ({len(runs_a)} runs of A, {len(runs_b)} of B)"
            if found and found[0].method == "welch"
            else "a bootstrap over the per-request values of one run each"
            if found
            else "no test"
        )
        lines += [f"### Throughput run {title}: {how}", ""]
        wdiff = workload_differences(ra, rb)
        if wdiff:
            lines += [
                "**A and B ran different workloads**, so a difference below is not the "
                "server's alone: " + "; ".join(f"{k} {v} vs {w}" for k, v, w in wdiff[:8]) + ".",
                "",
            ]
        if found:
            lines += [significance_table(found), ""]
            lines += [f"- {sentence(d)}" for d in found] + [""]
        lines += [f"- {text.inline(n)}" for n in notes]
        if notes:
            lines.append("")
    lines += [
        "Each metric is tested on its own at 5% (two-sided): with seven metrics and no real "
        "difference, one of them reads significant in up to three comparisons of ten. "
        "Methods: docs/results.md, `bench compare`.",
        "",
    ]
    return lines


def _throughput(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.section == "throughput"]


def compare_sides(a: Side, b: Side) -> str:
    """The comparison of two sides as Markdown."""
    first_a, first_b = _throughput(_rows(a.entries[0])), _throughput(_rows(b.entries[0]))
    pairs, _only_a, _only_b = pair_runs(first_a, first_b)
    tested = []
    for ra, rb in pairs:
        tested.append((_matching(a, ra), _matching(b, rb)))
    notice = _workload_notice(tested)
    if len(a.entries) == 1 and len(b.entries) == 1:
        head = compare_entries(a.entries[0], b.entries[0]).rstrip("\n").split("\n")
        at = head.index("## Settings that differ")
        head = [*head[:at], *notice, *head[at:]]
        return "\n".join([*head, "", *significance_section(tested)]).rstrip("\n") + "\n"
    lines = ["# Comparison", ""]
    for side in (a, b):
        kinds = sorted({e.kind_label for e in side.entries})
        invalid = sum(1 for e in side.entries if not e.valid)
        bad = f", {invalid} INVALID" if invalid else ""
        lines.append(
            f"- **{side.tag}**: {text.code(side.named, 200)}: {len(side.entries)} result "
            f"document(s), {', '.join(kinds)}{bad}"
        )
    lines.append("")
    if a.entries[0].kind != b.entries[0].kind:
        lines += [f"A is {a.entries[0].kind_label} and B is {b.entries[0].kind_label}.", ""]
    lines += [*notice, "## Settings that differ", ""]
    diffs = setting_differences(a.entries[0], b.entries[0])
    lines += [markdown_table(["setting", "A", "B"], diffs) if diffs else "None.", ""]
    for side, runs in ((a, [ra for ra, _ in tested]), (b, [rb for _, rb in tested])):
        lines += _unlike_repeats(side, runs)
    lines += significance_section(tested)
    return "\n".join(lines).rstrip("\n") + "\n"


def _workload_notice(tested: list[tuple[list[Row], list[Row]]]) -> list[str]:
    """First of all: the compared runs whose workloads differ between A and B."""
    lines = []
    for runs_a, runs_b in tested:
        wdiff = workload_differences(runs_a[0], runs_b[0])
        if wdiff:
            shown = "; ".join(f"{k} {v} vs {w}" for k, v, w in wdiff[:8])
            name = text.inline(runs_a[0].name, 60)
            lines += [f"**A and B ran different workloads** (run {name}): {shown}.", ""]
    return lines


def _unlike_repeats(side: Side, runs: list[list[Row]]) -> list[str]:
    """Lines naming the documents of a side that differ from its first in settings or in
    the workload of a compared run: such a set is not repeats of one run."""
    lines = []
    for i, entry in enumerate(side.entries[1:], start=1):
        odd = setting_differences(side.entries[0], entry)
        for rows in runs:
            odd += workload_differences(rows[0], rows[i])
        if odd:
            shown = "; ".join(f"{k} {v} vs {w}" for k, v, w in odd[:4])
            where = text.code(entry.link, 120)
            lines += [f"**{side.tag}'s {where} is not a repeat of its first**: {shown}.", ""]
    return lines


def _matching(side: Side, row: Row) -> list[Row]:
    """The run of each of the side's documents with the same name as `row`."""
    out = []
    for entry in side.entries:
        match = [r for r in _throughput(_rows(entry)) if r.name == row.name]
        if not match:
            raise InputError(f"{side.tag}: {entry.path} has no throughput run {row.name!r}")
        out.append(match[0])
    return out


def compare_named(a: str, b: str) -> str:
    """`bench compare A B`: each side a document, a directory of documents or a study cell."""
    return compare_sides(resolve_side(a, "A"), resolve_side(b, "B"))
