"""Two result documents side by side: every metric with its ratio, and what differs.

Runs are paired by section and name, then by identical workload; a run without a partner
is named, not dropped. Ratios are B ÷ A. Everything a document wrote is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.report import text
from bench.report.results import ResultEntry, read_entry
from bench.report.rows import Row, dig, match_baseline, number, ratio, rows_of, workload_key
from bench.report.tables import markdown_table

METRICS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("requests completed", ("requests_completed",), 0),
    ("requests failed", ("requests_failed",), 0),
    ("duration s", ("duration_s",), 2),
    ("req/s", ("request_throughput_rps",), 3),
    ("input tok/s", ("input_throughput_tok_s",), 1),
    ("output tok/s", ("output_throughput_tok_s",), 1),
    ("total tok/s", ("total_throughput_tok_s",), 1),
    ("output tok/s per NPU", ("output_throughput_per_npu_tok_s",), 1),
    ("achieved concurrency", ("achieved_concurrency",), 2),
    ("TTFT p50 ms", ("ttft_ms", "median"), 1),
    ("TTFT p90 ms", ("ttft_ms", "p90"), 1),
    ("TTFT p99 ms", ("ttft_ms", "p99"), 1),
    ("TPOT p50 ms", ("tpot_ms", "median"), 2),
    ("TPOT p90 ms", ("tpot_ms", "p90"), 2),
    ("TPOT p99 ms", ("tpot_ms", "p99"), 2),
    ("ITL p50 ms", ("itl_ms", "median"), 2),
    ("ITL p99 ms", ("itl_ms", "p99"), 2),
    ("E2E p50 ms", ("e2e_ms", "median"), 1),
    ("E2E p99 ms", ("e2e_ms", "p99"), 1),
    ("interactivity tok/s/user", ("interactivity_tok_s",), 1),
    ("goodput req/s", ("goodput_rps",), 3),
)

MEMORY: tuple[tuple[str, str, int], ...] = (
    ("weights GiB", "weights_gib", 2),
    ("KV cache GiB", "kv_cache_gib", 2),
    ("KV tokens", "kv_tokens", 0),
    ("KV bytes per token", "kv_bytes_per_token", 0),
    ("HBM capacity GiB", "hbm_capacity_gib", 1),
)

# Settings whose difference explains a difference in the numbers.
SETTINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model", ("model", "id")),
    ("model revision", ("model", "revision")),
    ("dtype", ("model", "dtype")),
    ("accelerator", ("system", "accelerator", "name")),
    ("accelerator count", ("system", "accelerator", "count")),
    ("product", ("system", "product")),
    ("NPU driver", ("system", "accelerator", "driver_version")),
    ("engine", ("software", "engine", "name")),
    ("engine version", ("software", "engine", "version")),
    ("CANN", ("software", "cann_version")),
    ("torch", ("software", "torch_version")),
    ("torch_npu", ("software", "torch_npu_version")),
    ("image", ("software", "image", "name")),
    ("image digest", ("software", "image", "digest")),
    ("kit version", ("provenance", "kit_version")),
)


def _flat(prefix: str, obj: Any) -> dict[str, Any]:
    """{'a.b': value} for every leaf of a nested mapping (lists kept as values)."""
    if not isinstance(obj, dict):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        out.update(_flat(f"{prefix}.{key}" if prefix else str(key), value))
    return out


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    return text.cell(value if not isinstance(value, list) else " ".join(map(str, value)), 80)


def _diff_rows(prefix: str, xa: dict[str, Any], xb: dict[str, Any]) -> list[list[str]]:
    keys = [*xa, *(k for k in xb if k not in xa)]
    return [
        [f"{prefix}{text.cell(k, 40)}", _show(xa.get(k)), _show(xb.get(k))]
        for k in keys
        if xa.get(k) != xb.get(k)
    ]


def setting_differences(a: ResultEntry, b: ResultEntry) -> list[list[str]]:
    """Rows `setting | A | B` for the document-level settings that differ."""
    da, db = a.doc or {}, b.doc or {}
    rows = [
        [label, _show(dig(da, *keys)), _show(dig(db, *keys))]
        for label, keys in SETTINGS
        if dig(da, *keys) != dig(db, *keys)
    ]
    args_a = _flat("", dig(da, "server", "args") or {})
    args_b = _flat("", dig(db, "server", "args") or {})
    return rows + _diff_rows("server ", args_a, args_b)


def pair_runs(a: list[Row], b: list[Row]) -> tuple[list[tuple[Row, Row]], list[Row], list[Row]]:
    """Pairs by (section, name); then by identical workload; then, per section, by the
    closest workload the way the report matches the article (`rows.match_baseline`:
    same lengths, as run or as described, or the only run left on one side). The rest are
    returned unpaired."""
    pairs, left, right = [], list(a), list(b)

    def take(ra: Row, rb: Row) -> None:
        pairs.append((ra, rb))
        left.remove(ra)
        right.remove(rb)

    for match in (lambda r: (r.section, r.name), workload_key):
        for ra in list(left):
            rb = next((r for r in right if match(r) == match(ra)), None)
            if rb is not None:
                take(ra, rb)
    for rb in list(right):
        ra = match_baseline(rb, left)
        if ra is not None:
            take(ra, rb)
    return sorted(pairs, key=lambda p: a.index(p[0])), left, right


def run_table(ra: Row, rb: Row) -> str:
    body = []
    for label, keys, digits in METRICS:
        va, vb = ra.metric(*keys), rb.metric(*keys)
        if va is None and vb is None:
            continue
        body.append([label, text.num(va, digits), text.num(vb, digits), text.ratio(ratio(vb, va))])
    return markdown_table(["metric", "A", "B", "B ÷ A"], body)


def workload_differences(ra: Row, rb: Row) -> list[list[str]]:
    rows = []
    for part in ("workload", "driver"):
        xa = _flat("", ra.run.get(part) or {})
        xb = _flat("", rb.run.get(part) or {})
        rows += _diff_rows(f"{part} ", xa, xb)
    return rows


def _heading(tag: str, e: ResultEntry) -> str:
    title = (e.doc or {}).get("title")
    status = "valid" if e.valid else "INVALID"
    warn = f", {len(e.warnings)} warnings" if e.warnings else ""
    return f"- **{tag}** ({e.kind_label}, {status}{warn}): {text.code(e.link, 200)}" + (
        f" — {text.inline(title, 120)}" if title else ""
    )


def compare_entries(a: ResultEntry, b: ResultEntry) -> str:
    lines = ["# Comparison", "", _heading("A", a), _heading("B", b), ""]
    if a.kind != b.kind:
        lines += [
            f"A is {a.kind_label} and B is {b.kind_label}: the ratios compare different kinds.",
            "",
        ]
    for e, tag in ((a, "A"), (b, "B")):
        for issue in e.errors:
            pointer = text.code(issue.pointer or "/", 80)
            lines.append(f"{tag} error {pointer}: {text.inline(issue.message, 200)}")
    lines += ["## Settings that differ", ""]
    diffs = setting_differences(a, b)
    lines += [markdown_table(["setting", "A", "B"], diffs) if diffs else "None.", ""]
    pairs, only_a, only_b = pair_runs(_rows(a), _rows(b))
    for ra, rb in pairs:
        title = f"{ra.section} {text.inline(ra.name, 60)}"
        if rb.name != ra.name:
            title += f" / {text.inline(rb.name, 60)}"
        lines += [f"## {title}", "", run_table(ra, rb), ""]
        wdiff = workload_differences(ra, rb)
        if wdiff:
            lines += [
                "Workload and driver differences:",
                "",
                markdown_table(["setting", "A", "B"], wdiff),
                "",
            ]
    for tag, rows in (("A", only_a), ("B", only_b)):
        for r in rows:
            lines += [f"Only in {tag}: {r.section} run {text.inline(r.name, 60)}.", ""]
    mem = memory_table(a, b)
    if mem:
        lines += ["## Memory", "", mem, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _rows(e: ResultEntry) -> list[Row]:
    """Runs of a document; an invalid one is still compared (its errors are shown above)."""
    if e.doc is None:
        return []
    return rows_of(ResultEntry(e.rid, e.path, e.link, e.sha256, e.doc, ()))


def memory_table(a: ResultEntry, b: ResultEntry) -> str | None:
    ma = dig(a.doc, "measurements", "memory") or {}
    mb = dig(b.doc, "measurements", "memory") or {}
    body = []
    for label, key, digits in MEMORY:
        va, vb = number(ma.get(key)), number(mb.get(key))
        if va is None and vb is None:
            continue
        body.append([label, text.num(va, digits), text.num(vb, digits), text.ratio(ratio(vb, va))])
    return markdown_table(["memory", "A", "B", "B ÷ A"], body) if body else None


def compare_files(path_a: Path, path_b: Path) -> str:
    """The comparison of two files as Markdown (validated with `bench validate`)."""
    entries = []
    for tag, path in (("A", path_a), ("B", path_b)):
        if not path.is_file():
            raise InputError(f"{tag}: file not found: {path}")
        entry = read_entry(path, tag, None)
        if entry.doc is None:
            raise InputError(f"{tag}: {entry.issues[0].message}")
        entries.append(entry)
    return compare_entries(*entries)
