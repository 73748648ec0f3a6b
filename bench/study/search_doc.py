"""The `search` section of a study document: for each configuration and workload, the
search's answer and every probe in order. Pure: built from the runs the ledger recorded
(each run entry holds its load, its place in the order, `seq`, and its `slo` facts), so
the verdicts and the answer are recomputed from them, never stored apart.

    {configuration, workload, key, axis, status, error, result, largest_passing,
     smallest_failing, goodput_rps, attainment, output_throughput_tok_s,
     output_throughput_per_npu_tok_s, uncertain, notes, loads_probed, runs, load_limit,
     probes: [{load, cell_id, verdict: {status, runs, runs_passing, attainment, reasons},
               runs: [{seq, load, repeat, run_id, path, sha256, valid, errors, ..., slo}]}]}
"""

from __future__ import annotations

import math
from typing import Any

from bench.slo.search import load_limit, outcome
from bench.slo.spec import SearchSpec
from bench.slo.verdict import RunFacts, probe_verdict


def search_key(configuration_key: str, workload: str) -> str:
    """`c1-max_running_requests-8/512-256`: a search's name in the ledger."""
    return f"{configuration_key}/{workload}"


def history_of(entries: list[dict[str, Any]]) -> list[tuple[float, RunFacts]]:
    """(load, RunFacts) of recorded runs, in the order they ran."""
    ordered = sorted(entries, key=lambda e: e["seq"])
    return [(e["load"], RunFacts.from_dict(e["slo"])) for e in ordered]


def _mean(values: list[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return math.fsum(xs) / len(xs) if xs else None


def _pooled_attainment(runs: list[RunFacts]) -> float | None:
    """Requests meeting every per-request bound over requests sent, pooled over runs."""
    sent = sum(f.requests_sent for f in runs)
    return sum(f.requests_good for f in runs) / sent if sent else None


def search_entry(
    spec: SearchSpec,
    configuration: int,
    workload: str,
    key: str,
    entries: list[dict[str, Any]],
    state: dict[str, Any],
) -> dict[str, Any]:
    history = history_of(entries)
    answer = outcome(spec, history) if history else None
    probes: dict[float, list[dict[str, Any]]] = {}
    for entry in sorted(entries, key=lambda e: e["seq"]):
        probes.setdefault(entry["load"], []).append(entry)
    lo = answer.largest_passing if answer else None
    at_lo = [RunFacts.from_dict(e["slo"]) for e in probes.get(lo, [])] if lo is not None else []
    return {
        "configuration": configuration,
        "workload": workload,
        "key": key,
        "axis": spec.axis,
        "status": state.get("status", "pending"),
        "error": state.get("error"),
        "result": answer.result if answer else None,
        "largest_passing": lo,
        "smallest_failing": answer.smallest_failing if answer else None,
        "goodput_rps": _mean([f.goodput_rps for f in at_lo]),
        "attainment": _pooled_attainment(at_lo),
        "output_throughput_tok_s": _mean([f.output_throughput_tok_s for f in at_lo]),
        "output_throughput_per_npu_tok_s": _mean(
            [f.output_throughput_per_npu_tok_s for f in at_lo]
        ),
        "uncertain": list(answer.uncertain) if answer else [],
        "notes": list(answer.notes) if answer else [],
        "loads_probed": len(probes),
        "runs": len(entries),
        "load_limit": load_limit(spec),
        "probes": [
            {
                "load": load,
                "cell_id": runs[0]["cell_id"],
                "verdict": probe_verdict(
                    [RunFacts.from_dict(r["slo"]) for r in runs], spec.slo
                ).as_dict(),
                "runs": runs,
            }
            for load, runs in probes.items()
        ],
    }


def search_section(study: Any, ledger: Any) -> list[dict[str, Any]]:
    """One entry per configuration and workload, in the study's order."""
    from bench.study.plan import configurations

    out = []
    for configuration in configurations(study):
        for run in study.workloads:
            key = search_key(configuration.key, run.name)
            out.append(
                search_entry(
                    study.search,
                    configuration.index,
                    run.name,
                    key,
                    ledger.probes.get(key, []),
                    ledger.searches.get(key, {}),
                )
            )
    return out


def restore(old: dict[str, Any], ledger: Any) -> None:
    """Put the runs and finished searches an earlier session recorded into `ledger`."""
    for entry in old.get("search") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            continue
        runs = [r for p in entry.get("probes") or [] for r in p.get("runs") or []]
        if runs:
            ledger.probes[entry["key"]] = sorted(runs, key=lambda r: r["seq"])
        if entry.get("status") == "done":
            ledger.searches[entry["key"]] = {"status": "done", "error": None}


def search_csv(document: dict[str, Any]) -> str:
    """`search.csv`: one row per probe run, in each search's order, with the verdict of its
    probe after that run, its SLO statistics, attainment and goodput."""
    import csv
    import io

    from bench.slo.spec import SLO_KEYS

    keys = [k for k in SLO_KEYS if k in (document["study"]["search"]["slo"] or {})]
    head = ["configuration", "workload", "axis", "seq", "load", "repeat", "cell_id", "verdict"]
    head += [*keys, "requests_sent", "requests_failed", "requests_good", "goodput_rps"]
    head += ["output_throughput_tok_s", "output_throughput_per_npu_tok_s", "valid", "path"]
    from bench.slo.spec import parse_search

    search = parse_search(document["study"]["search"], "study.search")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    for entry in document.get("search") or []:
        runs = sorted((r for p in entry["probes"] for r in p["runs"]), key=lambda r: r["seq"])
        for i, run in enumerate(runs):
            mine = [RunFacts.from_dict(r["slo"]) for r in runs[: i + 1] if r["load"] == run["load"]]
            verdict = probe_verdict(mine, search.slo).status
            facts = run["slo"]
            row = [entry["configuration"], entry["workload"], entry["axis"], run["seq"]]
            row += [run["load"], run["repeat"], run["cell_id"], verdict]
            row += [facts["statistics"].get(k) for k in keys]
            row += [facts["requests_sent"], facts["requests_failed"], facts["requests_good"]]
            row += [facts["goodput_rps"], facts["output_throughput_tok_s"]]
            row += [facts["output_throughput_per_npu_tok_s"], run["valid"], run["path"]]
            writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()
