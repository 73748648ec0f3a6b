"""The run's `telemetry` and `server_metrics` sections: pure functions of the timelines.

NPU timeline rows: `{"t_ns", "npus": [{"npu", "power_w", "hbm_used_mib", "hbm_total_mib",
"aicore_util_pct", "temperature_c"}, ...]}`. Per sample, `power_w` is the sum over the
sampled NPUs (what the energy integrates), `hbm_used_mib` the fullest NPU's, `aicore_util_pct`
their mean and `temperature_c` the hottest. Server rows: `{"t_ns", "edge"?, <Counters>}` with
`edge` "start" or "end" on the scrapes taken when the measured window opened and closed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from bench.metrics import summarize
from bench.telemetry import energy
from bench.units import NS_PER_S

SERIES_POINTS = 240  # at most this many points of each plotted series in the document
NPU_FIELDS = ("power_w", "hbm_used_mib", "aicore_util_pct", "temperature_c")


def per_sample(npus: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """One sample's figures over its NPUs (None when any NPU lacks the reading)."""

    def values(key: str) -> list[float] | None:
        got = [n.get(key) for n in npus]
        return None if not got or any(v is None for v in got) else [float(v) for v in got]

    power, hbm, util, temp = (values(k) for k in NPU_FIELDS)
    return {
        "power_w": sum(power) if power else None,
        "hbm_used_mib": max(hbm) if hbm else None,
        "aicore_util_pct": sum(util) / len(util) if util else None,
        "temperature_c": max(temp) if temp else None,
    }


def points(rows: Sequence[dict[str, Any]], key: str) -> list[energy.Point]:
    out = []
    for row in rows:
        value = row.get(key)
        if value is not None:
            out.append((int(row["t_ns"]), float(value)))
    return out


def npu_section(
    rows: Sequence[dict[str, Any]],
    *,
    window: tuple[int, int] | None,
    interval_s: float,
    output_tokens: int | None,
) -> dict[str, Any]:
    """Statistics, energy and the plot series of the NPU timeline over the window (over the
    whole timeline, with energy unknown, when the window is not on the kit's clock)."""
    flat = [{"t_ns": r["t_ns"], **per_sample(r.get("npus") or [])} for r in rows]
    times = [int(r["t_ns"]) for r in flat]
    if window is not None:
        start, end = window
    else:
        start, end = (times[0], times[-1]) if times else (0, 0)
    out: dict[str, Any] = {
        "sample_count": len(flat),
        "window_sample_count": sum(1 for t in times if start <= t <= end),
        "gaps": energy.count_gaps(times, interval_s),
        "max_gap_s": _max_gap_s(times),
    }
    for key in NPU_FIELDS:
        series = points(flat, key)
        out[key] = summarize(energy.window_values(series, start, end)) if series else None
    power = points(flat, "power_w")
    if window is None:
        joules, why = None, "the driver's measured window is not on the kit's clock"
    else:
        joules, why = energy.energy_j(power, start, end, interval_s)
    out["energy_j"] = joules
    out["energy_note"] = why
    out["energy_per_output_token_j"] = (
        joules / output_tokens if joules is not None and output_tokens else None
    )
    out["series"] = _series(flat, start, ("power_w", "hbm_used_mib", "aicore_util_pct"))
    return out


def _max_gap_s(times: Sequence[int]) -> float | None:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return round(max(gaps) / NS_PER_S, 3) if gaps else None


def _series(rows: Sequence[dict[str, Any]], origin_ns: int, keys: Sequence[str]) -> dict:
    """Each key's points thinned for a plot, t_s from the window's start, on one time axis
    (rows lacking a value are left out of that key's line: its own `t_s` list)."""
    out: dict[str, Any] = {}
    for key in keys:
        t_s, values = energy.series(points(rows, key), origin_ns, SERIES_POINTS)
        out[key] = {"t_s": t_s, "values": values}
    return out


def _delta(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else end - start


def _count(value: float | None) -> int | None:
    return None if value is None else round(value)


def server_section(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Deltas over the window between the `start` and `end` edge scrapes (or the first and
    last scrape, `window: whole_run`, when the driver gave the kit no edges), peaks of the
    gauges over the scrapes between them."""
    edges = {r["edge"]: r for r in rows if r.get("edge")}
    if "start" in edges and "end" in edges:
        first, last, window = edges["start"], edges["end"], "measured"
    else:
        first, last, window = rows[0], rows[-1], "whole_run"
    t0, t1 = int(first["t_ns"]), int(last["t_ns"])
    inside = [r for r in rows if t0 <= int(r["t_ns"]) <= t1]
    # a counter absent at the start and present at the end was born in the window: from 0
    d = {
        key: _delta(last.get(key), 0 if key in _COUNTERS and first.get(key) is None else first[key])
        for key in first
        if key not in ("t_ns", "edge")
    }
    out: dict[str, Any] = {"window": window, "sample_count": len(rows)}
    went_down = sorted(k for k, v in d.items() if v is not None and v < 0 and k in _COUNTERS)
    if went_down:
        out["reason"] = f"counters went down during the run ({', '.join(went_down)}): restarted?"
        d = dict.fromkeys(d)
    out.update(
        {
            "prompt_tokens": _count(d.get("prompt_tokens")),
            "generation_tokens": _count(d.get("generation_tokens")),
            "requests": _count(d.get("requests")),
            "aborted_requests": _count(d.get("aborted")),
            "cached_tokens": _count(d.get("cached_tokens")),
            "cache_hit_rate": _ratio(
                d.get("cached_tokens"), d.get("cache_queries") or d.get("prompt_tokens")
            ),
            "mean_ttft_ms": _mean_ms(d.get("ttft_sum_s"), d.get("ttft_count")),
            "mean_e2e_ms": _mean_ms(d.get("e2e_sum_s"), d.get("e2e_count")),
            "peak_running_requests": _peak(inside, "running"),
            "peak_queued_requests": _peak(inside, "queued"),
            "peak_kv_usage": _peak(inside, "kv_usage"),
        }
    )
    out["series"] = _series(rows, t0, ("running", "queued"))
    return out


_COUNTERS = {
    "prompt_tokens", "generation_tokens", "requests", "aborted", "cached_tokens",
    "cache_queries", "ttft_sum_s", "ttft_count", "e2e_sum_s", "e2e_count",
}  # fmt: skip


def _ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def _mean_ms(total_s: float | None, count: float | None) -> float | None:
    return total_s * 1000 / count if total_s is not None and count else None


def _peak(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [float(r[key]) for r in rows if r.get(key) is not None]
    return max(values) if values else None
