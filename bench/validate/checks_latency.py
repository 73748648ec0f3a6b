"""Consistency of each run's latency statistics: ordering, decomposition, Little's law.

Each check is a pure function of the whole document returning `Issue`s; it looks only at
figures that are present, so a `reported` document with three figures is checked on those.
"""

from __future__ import annotations

import itertools
from typing import Any

from bench.validate import tolerances as tol
from bench.validate.findings import Issue, close, fmt, num, pct, pointer, runs, sub

STAT_KEYS = ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "schedule_lag_ms")


def _stats_objects(doc: Any) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        for key in STAT_KEYS:
            if sub(m, key):
                found.append((pointer(*base, "metrics", key), sub(m, key)))
    acc = sub(doc, "accuracy")
    for key in ("ttft_abs_error_ms", "tpot_abs_error_ms"):
        if sub(acc, key):
            found.append((pointer("accuracy", key), sub(acc, key)))
    return found


def check_percentiles_ordered(doc: Any) -> list[Issue]:
    """min <= median <= p90 <= p99 <= max; min <= mean <= max; std <= (max - min) / 2."""
    out = []
    order = ("min", "median", "p90", "p99", "max")
    for where, s in _stats_objects(doc):
        present = [(k, num(s, k)) for k in order if num(s, k) is not None]
        for (ka, a), (kb, b) in itertools.pairwise(present):
            if a > b:
                out.append(Issue(where + "/" + kb, f"{kb} {fmt(b)} is below {ka} {fmt(a)}"))
        lo, hi, mean, std = num(s, "min"), num(s, "max"), num(s, "mean"), num(s, "std")
        if mean is not None and lo is not None and mean < lo:
            out.append(Issue(where + "/mean", f"mean {fmt(mean)} is below min {fmt(lo)}"))
        if mean is not None and hi is not None and mean > hi:
            out.append(Issue(where + "/mean", f"mean {fmt(mean)} is above max {fmt(hi)}"))
        # Popoviciu: a population's standard deviation is at most half its range.
        if None not in (std, lo, hi) and std > (hi - lo) / 2 * 1.001 + 1e-9:
            out.append(
                Issue(
                    where + "/std",
                    f"std {fmt(std)} exceeds half the range (max - min) / 2 = {fmt((hi - lo) / 2)}",
                )
            )
    return out


def check_latency_decomposition(doc: Any) -> list[Issue]:
    """mean TTFT + mean TPOT x (mean N_out - 1) = mean E2E (within 10%)."""
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        ttft, tpot, e2e = (num(sub(m, k), "mean") for k in ("ttft_ms", "tpot_ms", "e2e_ms"))
        done, tout = num(m, "requests_completed"), num(m, "total_output_tokens")
        if None in (ttft, tpot, e2e, tout) or not done:
            continue
        n_out = tout / done
        if n_out <= 1:
            continue
        want = ttft + tpot * (n_out - 1)
        if not close(e2e, want, tol.DECOMPOSITION_REL):
            out.append(
                Issue(
                    pointer(*base, "metrics", "e2e_ms", "mean"),
                    f"mean E2E {fmt(e2e)} ms != mean TTFT {fmt(ttft)} + mean TPOT {fmt(tpot)} x "
                    f"({fmt(n_out)} - 1) = {fmt(want)} ms ({pct(e2e, want)})",
                )
            )
    return out


def check_latency_order_and_window(doc: Any) -> list[Issue]:
    """E2E >= TTFT (mean, min, max); no request lasts longer than the measured window;
    no stats count exceeds the completed requests."""
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        ttft, e2e = sub(m, "ttft_ms"), sub(m, "e2e_ms")
        for k in ("mean", "min", "max"):
            a, b = num(ttft, k), num(e2e, k)
            if a is not None and b is not None and b < a:
                out.append(
                    Issue(
                        pointer(*base, "metrics", "e2e_ms", k),
                        f"E2E {k} {fmt(b)} ms is below TTFT {k} {fmt(a)} ms",
                    )
                )
        longest, duration = num(e2e, "max"), num(m, "duration_s")
        if longest is not None and duration and longest > duration * 1000 * 1.02:
            out.append(
                Issue(
                    pointer(*base, "metrics", "e2e_ms", "max"),
                    f"longest request {fmt(longest)} ms exceeds the measured window "
                    f"{fmt(duration)} s",
                )
            )
        done = num(m, "requests_completed")
        for key in ("ttft_ms", "tpot_ms", "e2e_ms"):
            count = num(sub(m, key), "count")
            if count is not None and done is not None and count > done:
                out.append(
                    Issue(
                        pointer(*base, "metrics", key, "count"),
                        f"{key} summarises {fmt(count)} requests, only {fmt(done)} completed",
                    )
                )
    return out


def check_littles_law(doc: Any) -> list[Issue]:
    """achieved_concurrency = request throughput x mean E2E; <= max_concurrency and <= sent."""
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        conc = num(m, "achieved_concurrency")
        if conc is None:
            continue
        where = pointer(*base, "metrics", "achieved_concurrency")
        rps, e2e = num(m, "request_throughput_rps"), num(sub(m, "e2e_ms"), "mean")
        if rps is not None and e2e is not None:
            want = rps * e2e / 1000
            if not close(conc, want, tol.LITTLE_REL, 0.01):
                out.append(
                    Issue(
                        where,
                        f"achieved concurrency {fmt(conc)} != request throughput {fmt(rps)} "
                        f"req/s x mean E2E {fmt(e2e / 1000)} s = {fmt(want)} "
                        f"(Little's law, {pct(conc, want)})",
                    )
                )
        cap = num(sub(run, "workload"), "max_concurrency")
        if cap is not None and conc > cap * (1 + tol.ARITHMETIC_REL):
            out.append(
                Issue(where, f"achieved concurrency {fmt(conc)} exceeds max_concurrency {fmt(cap)}")
            )
        sent = num(m, "requests_sent")
        if sent is not None and conc > sent * (1 + tol.ARITHMETIC_REL):
            out.append(
                Issue(
                    where, f"achieved concurrency {fmt(conc)} exceeds the {fmt(sent)} requests sent"
                )
            )
    return out


CHECKS = [
    check_percentiles_ordered,
    check_latency_decomposition,
    check_latency_order_and_window,
    check_littles_law,
]
