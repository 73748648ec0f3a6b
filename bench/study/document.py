"""The study document (`DIR/study.json`) and `DIR/summary.csv`, built from the ledger.

Pure: the study, its cells and what the ledger recorded in, a JSON-ready dict out. The
document is rewritten (atomically) after every run, so it is always what is on disk: the
study as resolved (and its hash), every configuration with its launch command, log,
memory and fate, every cell with its grid values (by their `[grid]` names), workload, load,
repeats (result documents and their sha256) and statistics, and the Pareto front of each
workload. `schema/study.schema.json` is its schema; `bench validate` checks it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from bench.study import pareto
from bench.study.plan import Cell
from bench.study.spec import Study
from bench.study.stats import HEADLINE_METRICS, POOLED_P99

STUDY_SCHEMA_VERSION = "1.0"
X_METRIC = "interactivity_tok_s"
Y_METRICS = ("output_throughput_per_npu_tok_s", "output_throughput_tok_s")


def study_sha256(resolved: dict[str, Any]) -> str:
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Ledger:
    """What the study has recorded so far (and, on resume, what an earlier session did)."""

    repeats: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> entry
    configurations: dict[int, dict[str, Any]] = field(default_factory=dict)  # index -> state
    cell_errors: dict[str, str] = field(default_factory=dict)  # cell id -> why it failed
    statistics: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell id -> stats
    kinds: set[str] = field(default_factory=set)  # result document kinds seen
    probes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # search -> runs
    searches: dict[str, dict[str, Any]] = field(default_factory=dict)  # search -> status


def cell_entry(study: Study, cell: Cell, ledger: Ledger) -> dict[str, Any]:
    n = study.head.repeats
    repeats = [
        ledger.repeats[cell.run_id(r)] for r in range(1, n + 1) if cell.run_id(r) in ledger.repeats
    ]
    error = ledger.cell_errors.get(cell.id)
    status = "done" if len(repeats) == n else "failed" if error else "pending"
    stats = ledger.statistics.get(cell.id) or {
        "statistics": dict.fromkeys(HEADLINE_METRICS),
        "p99_bootstrap": dict.fromkeys(POOLED_P99),
        "unstable": False,
    }
    invalid = any(not r["valid"] for r in repeats)
    return {
        "id": cell.id,
        "key": cell.key,
        "configuration": cell.configuration.index,
        "grid": cell.configuration.as_dict,
        "workload": cell.workload_name,
        "load": {cell.load.kind: cell.load.json_value},
        "num_prompts": cell.run.workload.num_prompts,
        "status": status,
        "error": error if status != "done" else None,
        "repeats": repeats,
        **stats,
        "invalid": invalid,
        "ranked": False,  # set by `with_pareto`
    }


def rankable(entry: dict[str, Any]) -> bool:
    """Finished, every repeat valid, not unstable, and both Pareto axes known."""
    stats = entry["statistics"]
    return (
        entry["status"] == "done"
        and not entry["invalid"]
        and not entry["unstable"]
        and stats.get(X_METRIC) is not None
        and any(stats.get(y) is not None for y in Y_METRICS)
    )


def with_pareto(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark ranked cells and return the front of each workload (in workload order)."""
    fronts = []
    workloads = list(dict.fromkeys(c["workload"] for c in cells))
    for name in workloads:
        ranked = [c for c in cells if c["workload"] == name and rankable(c)]
        for c in ranked:
            c["ranked"] = True
        if not ranked:
            fronts.append({"workload": name, "x_metric": X_METRIC, "y_metric": None, "cells": []})
            continue
        per_npu = all(c["statistics"].get(Y_METRICS[0]) is not None for c in ranked)
        y = Y_METRICS[0] if per_npu else Y_METRICS[1]
        points = [
            (c["id"], c["statistics"][X_METRIC]["mean"], c["statistics"][y]["mean"]) for c in ranked
        ]
        fronts.append(
            {"workload": name, "x_metric": X_METRIC, "y_metric": y, "cells": pareto.front(points)}
        )
    return fronts


def build_document(
    study: Study,
    cells: list[Cell],
    ledger: Ledger,
    *,
    status: str,
    created_utc: str,
    updated_utc: str,
    study_file: dict[str, Any],
    provenance: dict[str, Any],
) -> dict[str, Any]:
    resolved = study.as_dict()
    entries = [cell_entry(study, cell, ledger) for cell in cells]
    fronts = with_pareto(entries)
    kinds = sorted(ledger.kinds)
    kind = kinds[0] if len(kinds) == 1 else "mixed" if kinds else None
    from bench.study.plan import configurations as planned

    configurations = []
    for c in planned(study):
        state = ledger.configurations.get(c.index, {})
        configurations.append(
            {
                "index": c.index,
                "key": c.key,
                "grid": c.as_dict,
                "status": state.get("status", "pending"),
                "pid": state.get("pid"),
                "launch_command": state.get("launch_command"),
                "base_url": state.get("base_url"),
                "server_log": state.get("server_log"),
                "start_s": state.get("start_s"),
                "prepare_s": state.get("prepare_s"),
                "stop": state.get("stop"),
                "stop_s": state.get("stop_s"),
                "hbm": state.get("hbm"),
                "memory": state.get("memory"),
                "error": state.get("error"),
                "log_tail": state.get("log_tail"),
            }
        )
    out = {
        "study_schema_version": STUDY_SCHEMA_VERSION,
        "kind": kind,
        "status": status,
        "created_utc": created_utc,
        "updated_utc": updated_utc,
        "study": resolved,
        "study_sha256": study_sha256(resolved),
        "study_file": study_file,
        "provenance": provenance,
        "configurations": configurations,
        "cells": entries,
        "pareto": fronts,
    }
    if study.search is not None:
        from bench.study.search_doc import search_section

        out["search"] = search_section(study, ledger)
    return out


SUMMARY_METRICS = (
    "output_throughput_tok_s",
    "output_throughput_per_npu_tok_s",
    "interactivity_tok_s",
    "ttft_ms_p50",
    "ttft_ms_p99",
    "tpot_ms_p50",
    "tpot_ms_p99",
)


def summary_csv(document: dict[str, Any]) -> str:
    """One row per cell: where it sits, its fate, and each headline metric's mean and
    95% interval (and the bootstrap interval of the pooled p99 latencies)."""
    grid_keys = list(document["study"]["grid"])
    on_front = {cid for front in document["pareto"] for cid in front["cells"]}
    head = ["cell_id", "configuration", *grid_keys, "workload", "load_kind", "load_value"]
    head += ["num_prompts", "status", "n", "unstable", "invalid", "ranked", "on_pareto_front"]
    for m in SUMMARY_METRICS:
        head += [f"{m}_mean", f"{m}_ci95_low", f"{m}_ci95_high", f"{m}_cv"]
    for m in POOLED_P99:
        head += [f"{m}_pooled", f"{m}_pooled_ci95_low", f"{m}_pooled_ci95_high"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    for c in document["cells"]:
        ((kind, value),) = c["load"].items()
        row: list[Any] = [c["id"], c["configuration"], *(c["grid"].get(k) for k in grid_keys)]
        row += [c["workload"], kind, "inf" if value is None else value, c["num_prompts"]]
        row += [c["status"], len(c["repeats"]), c["unstable"], c["invalid"], c["ranked"]]
        row.append(c["id"] in on_front)
        for m in SUMMARY_METRICS:
            s = c["statistics"].get(m) or {}
            row += [s.get("mean"), s.get("ci95_low"), s.get("ci95_high"), s.get("cv")]
        for m in POOLED_P99:
            b = c["p99_bootstrap"].get(m) or {}
            row += [b.get("p99"), b.get("ci95_low"), b.get("ci95_high")]
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()
