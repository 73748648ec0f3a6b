"""From a finished `RunTelemetry` to the run's `telemetry` and `server_metrics` sections.

The measured window is the run's own: `[first measured send_ns, last measured done_ns]` read
back from its records (the kit's drivers). `sglang.bench_serving`'s records carry no times on
the kit's clock, so for its runs the NPU statistics cover the whole driver process, the
energy is left unknown, and the server's deltas include its warm-up (`window: whole_run`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.records import RECORDS_FORMAT, read_records
from bench.telemetry import sections
from bench.telemetry.npu import NpuSmiReader
from bench.telemetry.session import RunTelemetry


def window_of(run: dict[str, Any]) -> tuple[int, int] | None:
    """(first measured send_ns, last measured done_ns) from the run's records, when they are
    the kit's and hold a measured request."""
    records = run.get("records") or {}
    if records.get("format") != RECORDS_FORMAT or not records.get("path"):
        return None
    try:
        measured = [r for r in read_records(Path(records["path"])) if not r.warmup]
    except InputError:
        return None
    if not measured:
        return None
    return min(r.send_ns for r in measured), max(r.done_ns for r in measured)


def _source(reader: NpuSmiReader) -> str:
    return "simulated" if reader.simulated else "npu-smi"


def telemetry_of(
    session: RunTelemetry, window: tuple[int, int] | None, run: dict[str, Any]
) -> dict[str, Any]:
    """The `telemetry` section (key order as in the schema)."""
    reader, options = session.reader, session.options
    timeline = session.npu_timeline
    notes: list[str] = []
    section: dict[str, Any] = {
        "source": _source(reader),
        "program": options.npu_smi,
        "interval_s": options.interval_s,
        "started_utc": timeline.started_utc if timeline else None,
        "started_ns": timeline.started_ns if timeline else None,
        "npus": [
            {
                "index": i,
                "name": reader.names.get(i),
                "hbm_capacity_mib": _capacity(timeline.rows if timeline else (), i),
            }
            for i in reader.npus
        ],
        "npu_selection": reader.selection or None,
    }
    output_tokens = (run.get("metrics") or {}).get("total_output_tokens")
    if timeline is None or not timeline.rows:
        why = session.npu_reason or (timeline and (timeline.stopped_by or timeline.failure))
        why = why or "npu-smi gave no sample"
        section.update(_empty_npu(why))
        section["failed_reads"] = timeline.failed_reads if timeline else 0
        notes += timeline.notes if timeline else ()
        section["timeline"] = _file(session, "npu", notes)
        section["reason"] = why
        section["notes"] = notes
        return section
    section.update(
        sections.npu_section(
            timeline.rows,
            window=window,
            interval_s=options.interval_s,
            output_tokens=output_tokens if isinstance(output_tokens, int) else None,
        )
    )
    section["failed_reads"] = timeline.failed_reads
    if timeline.failure:
        notes.append(f"{timeline.failed_reads} reads failed, the first: {timeline.failure}")
    if timeline.stopped_by:
        notes.append(timeline.stopped_by)
    notes += timeline.notes
    if window is None:
        notes.append(
            "the driver's measured window is not on the kit's clock: the statistics cover the "
            "whole driver process (start-up and warm-up included) and energy is not computed"
        )
    section["timeline"] = _file(session, "npu", notes)
    section["reason"] = None
    section["notes"] = notes
    return section


def _capacity(rows, index: int) -> float | None:
    for row in rows:
        for npu in row.get("npus") or []:
            if npu.get("npu") == index and npu.get("hbm_total_mib") is not None:
                return npu["hbm_total_mib"]
    return None


def _empty_npu(why: str) -> dict[str, Any]:
    out: dict[str, Any] = {"sample_count": 0, "window_sample_count": 0, "gaps": 0}
    out["max_gap_s"] = None
    out.update(dict.fromkeys(sections.NPU_FIELDS))
    out.update({"energy_j": None, "energy_note": why, "energy_per_output_token_j": None})
    out["series"] = None
    return out


def _file(session: RunTelemetry, kind: str, notes: list[str]) -> dict[str, Any] | None:
    written = session.files.get(kind)
    if isinstance(written, str):
        notes.append(written)
        return None
    return written


def server_metrics_of(session: RunTelemetry) -> dict[str, Any]:
    """The `server_metrics` section (key order as in the schema)."""
    names = session.engine
    timeline = session.server_timeline
    notes = list(session.edge_notes)
    section: dict[str, Any] = {
        "engine": names.engine if names else None,
        "url": session.url,
        "interval_s": session.options.interval_s,
    }
    if names is None or timeline is None or not timeline.rows:
        why = session.server_reason or (timeline and timeline.failure) or "no scrape answered"
        if names is None and timeline is not None and timeline.rows:
            why = f"{session.url} has none of SGLang's, vLLM's or llama.cpp's metric names"
        section.update({"window": None, "sample_count": 0})
        section.update(dict.fromkeys(_DELTAS))
        section.update(
            {"failed_reads": 0, "series": None, "timeline": None, "reason": why, "notes": notes}
        )
        return section
    summary = sections.server_section(timeline.rows)
    reason = summary.pop("reason", None)
    series = summary.pop("series")
    section.update(summary)
    section["failed_reads"] = timeline.failed_reads
    section["series"] = series
    if timeline.failure:
        notes.append(f"{timeline.failed_reads} scrapes failed, the first: {timeline.failure}")
    if summary["window"] == "whole_run":
        notes.append(
            "no scrape at the measured window's edges: the deltas run from the first scrape to "
            "the last, so they include the driver's warm-up requests"
        )
    notes.append(names.note)
    if session.engine_note:  # the counters cannot give the whole prompt: not compared
        notes.append(f"{session.engine_note} (counted: {section['prompt_tokens']})")
        section["prompt_tokens"] = None
        section["cache_hit_rate"] = None
    section["timeline"] = _file(session, "server", notes)
    section["reason"] = reason
    section["notes"] = notes
    return section


_DELTAS = (
    "prompt_tokens", "generation_tokens", "requests", "aborted_requests", "cached_tokens",
    "cache_hit_rate", "mean_ttft_ms", "mean_e2e_ms", "peak_running_requests",
    "peak_queued_requests", "peak_kv_usage",
)  # fmt: skip
