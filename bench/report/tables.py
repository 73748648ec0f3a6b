"""The report's tables, rendered with tabulate (GitHub-flavoured Markdown).

Every cell is built here as a string (numbers formatted by `text.num`, untrusted text
escaped by `text.cell`), and tabulate is called with number parsing off, so what a
submission wrote is never reinterpreted and the same rows always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tabulate import tabulate

from bench.report import text
from bench.report.rows import (
    HEADLINE_LABEL,
    Row,
    Setting,
    baseline_differences,
    best_measured,
    dig,
    headline,
    higher_is_better,
    match_baseline,
    number,
    parallel_layout,
    rank_of,
    ratio,
)

# (rid, section, run name) -> (decode, prefill) efficiency in percent, from bench.roofline
Efficiencies = dict[tuple[str, str, str], tuple[float | None, float | None]]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return tabulate(
        [list(r) for r in rows],
        headers=list(headers),
        tablefmt="github",
        disable_numparse=True,
        stralign="left",
    )


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Row], str]
    metric: str | None = None  # the metric shown, whose warnings are flagged beside it


def _stat(metric: str, field: str, digits: int = 1) -> Callable[[Row], str]:
    return lambda r: text.num(r.metric(metric, field), digits)


def _stat_column(header: str, metric: str, field: str, digits: int = 1) -> Column:
    return Column(header, _stat(metric, field, digits), metric)


def _metric(name: str, digits: int = 1) -> Callable[[Row], str]:
    return lambda r: text.num(r.metric(name), digits)


def _completed(row: Row) -> str:
    """`199/200`: completed of sent requests (a failed request must not go unnoticed)."""
    done, sent = row.metric("requests_completed"), row.metric("requests_sent")
    if done is None or sent is None:
        return "—"
    return f"{done:.0f}/{sent:.0f}"


PERFORMANCE_COLUMNS: tuple[Column, ...] = (
    Column("ok/sent", _completed),
    Column("req/s", _metric("request_throughput_rps", 2)),
    Column("out tok/s", _metric("output_throughput_tok_s")),
    Column("total tok/s", _metric("total_throughput_tok_s")),
    Column("out tok/s/NPU", _metric("output_throughput_per_npu_tok_s")),
    _stat_column("TTFT p50 ms", "ttft_ms", "median"),
    _stat_column("TTFT p99 ms", "ttft_ms", "p99"),
    _stat_column("TPOT p50 ms", "tpot_ms", "median", 2),
    _stat_column("TPOT p99 ms", "tpot_ms", "p99", 2),
    _stat_column("E2E p50 ms", "e2e_ms", "median"),
    _stat_column("E2E p99 ms", "e2e_ms", "p99"),
    Column("tok/s/user", _metric("interactivity_tok_s")),
)


def result_label(row: Row) -> str:
    """`R3 throughput-512-256`, linked to the result's details."""
    rid = row.entry.rid
    return f"[{rid}](#{rid.lower()}) {text.cell(row.name, 40)}"


def findings_cell(row: Row) -> str:
    warnings = len(row.entry.warnings)
    return f"⚠ {warnings}" if warnings else "✓"


def setting_heading(setting: Setting) -> str:
    row = setting.rows[0]
    return f"{platform_heading(row)} · {row.section}: {workload_label(row)}"


def platform_heading(row: Row) -> str:
    """`model · accelerator ×count (product) · engine`, escaped."""
    doc = row.doc
    acc = dig(doc, "system", "accelerator") or {}
    hardware = text.inline(acc.get("name") or "unknown accelerator", 40)
    if isinstance(acc.get("count"), int):
        hardware += f" ×{acc['count']}"
    layout = parallel_layout(doc)
    if layout:
        hardware += f" [{layout}]"
    product = dig(doc, "system", "product")
    if product:
        hardware += f" ({text.inline(product, 80)})"
    model = text.inline(dig(doc, "model", "id") or "unknown model", 80)
    engine = text.inline(dig(doc, "software", "engine", "name") or "unknown engine", 40)
    return f"{model} · {hardware} · {engine}"


def workload_label(row: Row) -> str:
    """`random 512→256 tok (range 1.0), 200 prompts, concurrency ∞, rate ∞`, and for a
    publication whose prose describes another workload than its commands ran, that too."""
    label = _workload_text(row.workload)
    if row.has_description:
        label += f" (as run; described as {_workload_text(row.described)})"
    return label


def _workload_text(get) -> str:
    def n(v: object) -> str:
        return text.inline(v, 20) if v is not None else "?"

    head = f"{n(get('dataset'))} {n(get('input_len'))}→{n(get('output_len'))} tok"
    if get("range_ratio") is not None:
        head += f" (range {n(get('range_ratio'))})"
    conc, rate = get("max_concurrency"), get("request_rate_rps")
    return ", ".join(
        [
            head,
            f"{n(get('num_prompts'))} prompt{'' if get('num_prompts') == 1 else 's'}",
            f"concurrency {'∞' if conc is None else n(conc)}",
            f"rate {'∞' if rate is None else n(rate) + ' req/s'}",
        ]
    )


def article_cell(row: Row, base_rows: list[Row]) -> tuple[str, str]:
    """The `÷ article` cell, and a footnote naming the workload fields that differ."""
    if row.entry.is_baseline:
        return "baseline", ""
    base = match_baseline(row, base_rows)
    if base is None:
        return "—", ""
    value = text.ratio(ratio(headline(row), headline(base)))
    diffs, against = baseline_differences(row, base)
    if not diffs or value == "—":
        return value, ""
    return value + "†", f"differs from the article's workload ({against}) in {', '.join(diffs)}"


def flagged_cells(row: Row, columns: Sequence[Column]) -> tuple[list[str], list[str]]:
    """The row's cells, a figure the validator warns about marked `⚠`, and one note per
    metric saying why (each warning once, however many columns show that metric)."""
    cells, notes, seen = [], [], set()
    for column in columns:
        value = column.value(row)
        warnings = row.warnings_on(column.metric) if column.metric else []
        if warnings and value != "—":
            value += " ⚠"
            if column.metric not in seen:
                seen.add(column.metric)
                notes += [
                    f"⚠ {row.entry.rid} {text.inline(row.name, 40)}, {column.header}: "
                    f"{text.inline(w, 400)}"
                    for w in warnings
                ]
        cells.append(value)
    return cells, notes


def performance_table(setting: Setting, base_rows: list[Row]) -> str:
    best = best_measured(setting)
    headers = ["#", "result", "kind", *(c.header for c in PERFORMANCE_COLUMNS)]
    headers += ["÷ article", "÷ best measured", "findings"]
    body, notes, warned = [], [], []
    for row in setting.rows:
        cells, flags = flagged_cells(row, PERFORMANCE_COLUMNS)
        warned += flags
        rank = rank_of(setting, row)
        art, note = article_cell(row, base_rows)
        if note:
            notes.append(f"{row.entry.rid} {text.inline(row.name, 40)}: {note}")
        vs_best = "—" if best is None else text.ratio(ratio(headline(row), headline(best)))
        body.append(
            [
                str(rank) if rank is not None else "—",
                result_label(row),
                row.entry.kind_label,
                *cells,
                art,
                vs_best,
                findings_cell(row),
            ]
        )
    better = "higher" if higher_is_better(setting.section) else "lower"
    lines = [
        markdown_table(headers, body),
        "",
        f"Ranked by {HEADLINE_LABEL[setting.section]} ({better} is better), valid measured "
        "results only; simulated and reported rows are shown for comparison and not ranked."
        + ("" if best else " No measured result for this setting yet."),
    ]
    if notes:
        lines += ["", *(f"† {note}." for note in notes)]
    if warned:
        lines += ["", *warned]
    return "\n".join(lines)


def _hbm(row: Row) -> str:
    memory = dig(row.doc, "measurements", "memory") or {}
    used = [number(n.get("hbm_used_mib")) for n in memory.get("npus") or [] if isinstance(n, dict)]
    used = [u for u in used if u is not None]
    capacity = number(memory.get("hbm_capacity_gib")) or number(
        dig(row.doc, "system", "accelerator", "hbm_capacity_gib")
    )
    used_text = text.num(max(used) / 1024) if used else "—"
    return f"{used_text} / {text.num(capacity)}"


def context_table(setting: Setting, efficiencies: Efficiencies) -> str:
    headers = ["#", "result", "kind", "weights GiB", "KV cache GiB", "HBM used / total GiB"]
    headers += ["decode eff.", "prefill eff.", "submitter", "date", "kit"]
    body = []
    for row in setting.rows:
        rank = rank_of(setting, row)
        memory = dig(row.doc, "measurements", "memory") or {}
        decode, prefill = efficiencies.get((row.entry.rid, row.section, row.name), (None, None))
        created = dig(row.doc, "created_utc")
        body.append(
            [
                str(rank) if rank is not None else "—",
                result_label(row),
                row.entry.kind_label,
                text.num(number(memory.get("weights_gib"))),
                text.num(number(memory.get("kv_cache_gib"))),
                _hbm(row),
                text.percent(decode),
                text.percent(prefill),
                text.cell(dig(row.doc, "submitter", "name"), 40),
                text.cell(created[:10] if isinstance(created, str) else None, 10),
                text.cell(dig(row.doc, "provenance", "kit_version"), 20),
            ]
        )
    return markdown_table(headers, body)


# --- against the article -------------------------------------------------------------------

COMPARED: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("req/s", ("request_throughput_rps",), 2),
    ("out tok/s", ("output_throughput_tok_s",), 1),
    ("total tok/s", ("total_throughput_tok_s",), 1),
    ("TTFT p50 ms", ("ttft_ms", "median"), 1),
    ("TPOT p50 ms", ("tpot_ms", "median"), 2),
    ("E2E p50 ms", ("e2e_ms", "median"), 1),
    ("tok/s/user", ("interactivity_tok_s",), 1),
)


def baseline_comparison(base: Row, rows: list[Row]) -> str:
    """The article's run, then each result's values with their ratio to it."""
    headers = ["result", "kind", *(label for label, _, _ in COMPARED), "workload differs in"]
    body = [
        [
            f"{result_label(base)} (article)",
            base.entry.kind_label,
            *(text.num(base.metric(*keys), d) for _, keys, d in COMPARED),
            "—",
        ]
    ]
    for row in rows:
        cells = []
        for _, keys, digits in COMPARED:
            value = row.metric(*keys)
            r = ratio(value, base.metric(*keys))
            flag = " ⚠" if value is not None and row.warnings_on(keys[0]) else ""
            cells.append(text.num(value, digits) + flag + (f" ({text.ratio(r)})" if r else ""))
        fields, against = baseline_differences(row, base)
        diffs = f"{', '.join(fields)} ({against})" if fields else f"— ({against})"
        body.append([result_label(row), row.entry.kind_label, *cells, diffs])
    return markdown_table(headers, body)
