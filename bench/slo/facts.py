"""What one run's result document and records say about an SLO (`RunFacts`).

The statistics are the document's own (its throughput run's `ttft_ms.p99`, ...), so a
verdict is about the numbers the document states. Attainment and goodput need each
request: its records are read after their sha256 matched the document's, and each
measured request is held to the per-request bounds with `bench.metrics.meets_slo` (the
function that computes a run's `goodput_rps`); a failed request never meets them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.slo.spec import Slo, statistic_path
from bench.slo.verdict import RunFacts


def facts_of_run(run: dict[str, Any], document: Path, slo: Slo) -> RunFacts:
    """RunFacts of one throughput run of the result document at `document`."""
    from bench.metrics import meets_slo
    from bench.records.checked import verified_records

    metrics = run.get("metrics") or {}
    records = verified_records(run, document)
    sent = metrics.get("requests_sent")
    if sent != len(records):
        raise InputError(f"{document}: {sent} requests sent, its records hold {len(records)}")
    bounds = slo.per_request()
    statistics = {}
    for key, _bound in slo.bounds:
        section, field = statistic_path(key)
        value = (metrics.get(section) or {}).get(field)
        statistics[key] = float(value) if isinstance(value, int | float) else None
    return RunFacts(
        statistics=statistics,
        requests_sent=len(records),
        requests_failed=sum(1 for r in records if not r.ok),
        requests_good=sum(1 for r in records if meets_slo(r, bounds)),
        duration_s=float(metrics.get("duration_s") or 0.0),
        output_throughput_tok_s=metrics.get("output_throughput_tok_s"),
        output_throughput_per_npu_tok_s=metrics.get("output_throughput_per_npu_tok_s"),
    )


def facts_of_document(document: Path, slo: Slo) -> RunFacts:
    """RunFacts of the (only) throughput run of a result document, as a study's cell
    writes it."""
    from bench.jsonio import load_document

    doc = load_document(document)
    runs = (doc.get("measurements") or {}).get("throughput") or []
    if len(runs) != 1:
        raise InputError(f"{document}: a probe's document holds one throughput run")
    return facts_of_run(runs[0], document, slo)
