"""From result documents to rows of the report: pure functions, no I/O.

A row is one run (throughput or latency) of one valid document. Rows are grouped by
setting: model, hardware, engine and workload. Within a setting, valid measured rows are
ranked by the headline figure (throughput runs: output tok/s, higher is better; latency
runs: median TPOT, lower is better); simulated and reported rows are shown, never ranked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.report.results import ResultEntry
from bench.result import WORKLOAD_KEY_FIELDS

SECTIONS = ("throughput", "latency")
ORDER_STATISTICS = ("median", "p90", "p99", "min", "max")


def dig(obj: Any, *keys: str) -> Any:
    """obj[k1][k2]... or None when any level is missing or not a mapping."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def number(value: Any) -> float | None:
    """A JSON number as float; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class Row:
    entry: ResultEntry
    section: str  # 'throughput' | 'latency'
    run: dict[str, Any]

    @property
    def doc(self) -> dict[str, Any]:
        return self.entry.doc or {}

    @property
    def name(self) -> str:
        return str(self.run.get("name") or "")

    @property
    def kind(self) -> str:
        return self.entry.kind

    def metric(self, *keys: str) -> float | None:
        """A metric (`"output_throughput_tok_s"`) or a statistic (`"tpot_ms", "median"`).

        A statistic over a single value (count 1, as a publication's one timed request) is
        that value: its median, percentiles, min and max all equal its mean.
        """
        value = number(dig(self.run, "metrics", *keys))
        if value is None and len(keys) == 2 and keys[1] in ORDER_STATISTICS:
            stats = dig(self.run, "metrics", keys[0])
            if dig(stats, "count") == 1:
                value = number(dig(stats, "mean"))
        return value

    def workload(self, field: str) -> Any:
        return dig(self.run, "workload", field)

    def described(self, field: str) -> Any:
        """The workload as a publication describes it (`workload_as_described`), field by
        field, falling back to the workload its commands define."""
        described = dig(self.run, "workload_as_described")
        if isinstance(described, dict) and field in described:
            return described[field]
        return self.workload(field)

    @property
    def has_description(self) -> bool:
        return isinstance(dig(self.run, "workload_as_described"), dict)

    @property
    def pointer(self) -> str:
        """The run's JSON pointer in its document (`/measurements/throughput/0`)."""
        runs = dig(self.doc, "measurements", self.section) or []
        index = next(i for i, run in enumerate(runs) if run is self.run)
        return f"/measurements/{self.section}/{index}"

    def warnings_on(self, metric: str) -> list[str]:
        """The validator's warnings about one metric of this run (`tpot_ms`), in order."""
        where = f"{self.pointer}/metrics/{metric}"
        return [
            w.message
            for w in self.entry.warnings
            if w.pointer == where or w.pointer.startswith(where + "/")
        ]


def rows_of(entry: ResultEntry) -> list[Row]:
    """Every run of a valid document, throughput runs first, in document order."""
    if not entry.valid:
        return []
    rows = []
    for section in SECTIONS:
        runs = dig(entry.doc, "measurements", section)
        if isinstance(runs, list):
            rows += [Row(entry, section, run) for run in runs if isinstance(run, dict)]
    return rows


def headline(row: Row) -> float | None:
    """The figure rows are ranked and compared by."""
    if row.section == "throughput":
        return row.metric("output_throughput_tok_s")
    return row.metric("tpot_ms", "median")


def higher_is_better(section: str) -> bool:
    return section == "throughput"


HEADLINE_LABEL = {"throughput": "output tok/s", "latency": "median TPOT"}


# --- settings ------------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def model_key(doc: dict) -> str:
    return _norm(dig(doc, "model", "id")) or "unknown"


def hardware_key(doc: dict) -> tuple:
    acc = dig(doc, "system", "accelerator") or {}
    layout = parallel_layout(doc)
    return (_norm(dig(doc, "system", "product")), _norm(acc.get("name")), acc.get("count"), layout)


def parallel_layout(doc: dict) -> str | None:
    """`TP 2 × DP 4` (and PP, nodes) from server.args; None without a tp_size, and for one
    NPU's `TP 1` (the article's). Eight NPUs as TP 8 and as DP 8 are two settings, not one."""
    args = dig(doc, "server", "args") or {}
    sizes = [(k, args.get(f"{k.lower()}_size")) for k in ("TP", "DP", "PP")]
    if not isinstance(sizes[0][1], int) or isinstance(sizes[0][1], bool):
        return None
    parts = [f"{k} {v}" for k, v in sizes if isinstance(v, int) and (k == "TP" or v > 1)]
    nodes = args.get("nnodes")
    if isinstance(nodes, int) and not isinstance(nodes, bool) and nodes > 1:
        parts.append(f"{nodes} nodes")
    layout = " × ".join(parts)
    return None if layout == "TP 1" else layout


def engine_key(doc: dict) -> str:
    return _norm(dig(doc, "software", "engine", "name")) or "unknown"


def workload_key(row: Row) -> tuple:
    return (row.section, *(_norm(row.workload(f)) for f in WORKLOAD_KEY_FIELDS))


@dataclass(frozen=True)
class Setting:
    key: tuple
    rows: tuple[Row, ...]  # in report order: ranked measured first

    @property
    def section(self) -> str:
        return self.rows[0].section


def setting_key(row: Row) -> tuple:
    return (model_key(row.doc), hardware_key(row.doc), engine_key(row.doc), workload_key(row))


def platform_key(row: Row) -> tuple:
    """Model, hardware and engine: the scope of one throughput-vs-interactivity plot."""
    return setting_key(row)[:3]


def order_rows(rows: list[Row]) -> list[Row]:
    """Ranked rows (valid, measured, with a headline) best first; then the others by kind."""
    ranked = [r for r in rows if r.kind == "measured" and headline(r) is not None]
    sign = -1.0 if rows and higher_is_better(rows[0].section) else 1.0
    ranked.sort(key=lambda r: (sign * (headline(r) or 0.0), _rid_number(r), r.name))
    kind_order = {"measured": 0, "reported": 1, "simulated": 2}
    rest = [r for r in rows if r not in ranked]
    rest.sort(key=lambda r: (kind_order.get(r.kind, 3), _rid_number(r), r.name))
    return ranked + rest


def _rid_number(row: Row) -> int:
    return int(row.entry.rid[1:]) if row.entry.rid[1:].isdigit() else 0


def group_settings(entries: list[ResultEntry]) -> list[Setting]:
    """Rows of all valid entries grouped by setting, settings in order of first appearance."""
    groups: dict[tuple, list[Row]] = {}
    for entry in entries:
        for row in rows_of(entry):
            groups.setdefault(setting_key(row), []).append(row)
    return [Setting(key, tuple(order_rows(rows))) for key, rows in groups.items()]


def rank_of(setting: Setting, row: Row) -> int | None:
    """1-based rank among valid measured rows with a headline; None for unranked rows."""
    ranked = [r for r in setting.rows if r.kind == "measured" and headline(r) is not None]
    return ranked.index(row) + 1 if row in ranked else None


def best_measured(setting: Setting) -> Row | None:
    """The best valid measured row of the setting, or None when there is none."""
    for row in setting.rows:
        if row.kind == "measured" and headline(row) is not None:
            return row
    return None


# --- the article baseline ----------------------------------------------------------------


def baseline_rows(entries: list[ResultEntry]) -> list[Row]:
    """Runs of the baseline document, when it is a valid `reported` document."""
    for entry in entries:
        if entry.is_baseline and entry.valid and entry.kind == "reported":
            return rows_of(entry)
    return []


def workload_differences(a: Row, b: Row) -> list[str]:
    """Names of the workload fields whose values differ between two runs."""
    return [f for f in WORKLOAD_KEY_FIELDS if _norm(a.workload(f)) != _norm(b.workload(f))]


def baseline_differences(row: Row, base: Row) -> tuple[list[str], str]:
    """Workload fields where `row` differs from the baseline run, and against what.

    A publication's run may carry two workloads: what its commands define (`as run`) and
    what its prose describes (`as described`). The row is compared with the one it is
    closer to; on a tie, with what was run.
    """
    as_run = workload_differences(row, base)
    if not base.has_description:
        return as_run, "as run"
    described = [
        f for f in WORKLOAD_KEY_FIELDS if _norm(row.workload(f)) != _norm(base.described(f))
    ]
    return (described, "as described") if len(described) < len(as_run) else (as_run, "as run")


def match_baseline(row: Row, base_rows: list[Row]) -> Row | None:
    """The baseline run to compare a run with: same section, closest workload.

    Preference: identical workload key (as run, then as described); then the same input
    and output lengths; then the baseline's only run of that section. None when nothing
    comparable exists.
    """
    same = [b for b in base_rows if b.section == row.section]
    key = workload_key(row)
    for b in same:
        if workload_key(b) == key:
            return b
    for b in same:
        if (b.section, *(_norm(b.described(f)) for f in WORKLOAD_KEY_FIELDS)) == key:
            return b
    lengths = (row.workload("input_len"), row.workload("output_len"))
    for b in same:
        if lengths in (
            (b.workload("input_len"), b.workload("output_len")),
            (b.described("input_len"), b.described("output_len")),
        ):
            return b
    return same[0] if len(same) == 1 else None


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0:
        return None
    return value / reference
