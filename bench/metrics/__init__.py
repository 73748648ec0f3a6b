"""Metrics: pure functions of per-request records. No I/O, no clocks.

Each metric is a plain function with its formula in the docstring and its unit in its
name. A metric that does not apply to a record returns None; the run summary reports how
many records were left out. `run_metrics` composes them, in the explicit order of the
schema's `run_metrics` object. Definitions: docs/measuring.md, "Metric definitions".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from bench.metrics.cache import prefix_cache_metrics
from bench.records import Record
from bench.units import NS_PER_MS, NS_PER_S

PERCENTILE_METHOD = "linear interpolation between closest ranks (numpy.percentile default)"


def summarize(values: Iterable[float]) -> dict[str, Any] | None:
    """Mean, median, p90, p99, population std, min, max and count; None when empty.

    Percentiles interpolate linearly between closest ranks (numpy's default method).
    """
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return None
    if not np.all(np.isfinite(array)):
        raise ValueError("summarize() got a NaN or infinite value")
    p50, p90, p99 = np.percentile(array, [50, 90, 99])
    return {
        "mean": float(array.mean()),
        "median": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "std": float(array.std()),
        "min": float(array.min()),
        "max": float(array.max()),
        "count": int(array.size),
    }


# --- per-request metrics -------------------------------------------------------------


def ttft_ns(record: Record) -> int | None:
    """Formula: TTFT = chunk_ns[0] - send_ns (first chunk carrying content).

    None for a failed request or one that streamed no content.
    """
    if not record.ok or not record.chunk_ns:
        return None
    return record.chunk_ns[0] - record.send_ns


def e2e_ns(record: Record) -> int | None:
    """Formula: E2E = chunk_ns[-1] - send_ns (last chunk carrying content).

    None for a failed request or one that streamed no content.
    """
    if not record.ok or not record.chunk_ns:
        return None
    return record.chunk_ns[-1] - record.send_ns


def _count(server: int | None, client: int | None) -> tuple[int | None, str]:
    """A token count and its source: the server's usage first, else the client's tokenizer."""
    if server is not None:
        return server, "server_usage"
    return client, ("tokenizer" if client is not None else "unknown")


def output_tokens(record: Record) -> int | None:
    """N_out: the server's usage.completion_tokens, else the client's tokenizer count."""
    return _count(record.completion_tokens_server, record.completion_tokens_client)[0]


def output_tokens_source(record: Record) -> str:
    return _count(record.completion_tokens_server, record.completion_tokens_client)[1]


def input_tokens(record: Record) -> int | None:
    """N_in: the server's usage.prompt_tokens, else the client's tokenizer count."""
    return _count(record.prompt_tokens_server, record.prompt_tokens_client)[0]


def input_tokens_source(record: Record) -> str:
    return _count(record.prompt_tokens_server, record.prompt_tokens_client)[1]


def tpot_ms(record: Record) -> float | None:
    """Formula: TPOT = (E2E - TTFT) / (N_out - 1), in ms.

    None when the request failed, streamed nothing, or N_out <= 1.
    """
    first, last, n_out = ttft_ns(record), e2e_ns(record), output_tokens(record)
    if first is None or last is None or n_out is None or n_out <= 1:
        return None
    return (last - first) / (n_out - 1) / NS_PER_MS


def itl_ms(record: Record) -> list[float]:
    """Formula: for each content chunk i >= 1 carrying k_i tokens, k_i values of
    (chunk_ns[i] - chunk_ns[i-1]) / k_i, in ms.

    A gap before a chunk that carried no whole token is carried into the next gap, so
    the values always sum to (last chunk - first chunk). Empty for a failed request.
    """
    if not record.ok or len(record.chunk_ns) < 2:
        return []
    values: list[float] = []
    carried = 0
    for i in range(1, len(record.chunk_ns)):
        gap = record.chunk_ns[i] - record.chunk_ns[i - 1] + carried
        tokens = record.chunk_tokens[i]
        if tokens <= 0:
            carried = gap
            continue
        carried = 0
        values.extend([gap / tokens / NS_PER_MS] * tokens)
    return values


def tokens_per_read(record: Record) -> list[int]:
    """Formula: the content chunks grouped by arrival time (consecutive equal chunk_ns; the
    client stamps every chunk of one read of the connection with that read's time), and
    sum(chunk_tokens) of each group: one value per read that carried content, in order.

    Empty for a failed request or one that streamed no content.
    """
    if not record.ok:
        return []
    out: list[int] = []
    previous = None
    for t_ns, tokens in zip(record.chunk_ns, record.chunk_tokens, strict=True):
        if t_ns == previous:
            out[-1] += tokens
        else:
            out.append(tokens)
            previous = t_ns
    return out


def arrived_in_one_read(record: Record) -> bool | None:
    """Formula: chunk_ns[0] == chunk_ns[-1]: every content chunk came in one read (the whole
    reply in one piece, as a server or proxy that buffers it writes it). Such a reply's TPOT
    is 0 and its ITL gaps are 0: they describe delivery, not generation.

    None where TPOT does not apply (a failed request, no content, N_out <= 1).
    """
    if tpot_ms(record) is None:
        return None
    return record.chunk_ns[0] == record.chunk_ns[-1]


def schedule_lag_ms(record: Record) -> float | None:
    """Formula: lag = submit_ns - scheduled_ns (send_ns when submit_ns is unknown), in ms;
    it includes waiting for a free concurrency slot. None without a scheduled time."""
    if record.scheduled_ns is None:
        return None
    start = record.submit_ns if record.submit_ns is not None else record.send_ns
    return (start - record.scheduled_ns) / NS_PER_MS


def meets_slo(record: Record, slo: dict[str, float | None]) -> bool:
    """A completed request meets the SLO when its TTFT, TPOT and E2E are each at most the
    given bound (a bound that is None is not checked; TPOT is not checked when N_out <= 1)."""
    if not record.ok:
        return False
    first, last, per_token = ttft_ns(record), e2e_ns(record), tpot_ms(record)
    checks = (
        (slo.get("ttft_ms"), None if first is None else first / NS_PER_MS, True),
        (slo.get("e2e_ms"), None if last is None else last / NS_PER_MS, True),
        (slo.get("tpot_ms"), per_token, False),
    )
    for bound, value, required in checks:
        if bound is None:
            continue
        if value is None:
            if required:
                return False
            continue
        if value > bound:
            return False
    return True


# --- run-level metrics ---------------------------------------------------------------


def window_ns(records: Sequence[Record]) -> int:
    """Formula: duration = max(done_ns) - min(send_ns) over the measured records."""
    if not records:
        return 0
    return max(r.done_ns for r in records) - min(r.send_ns for r in records)


def achieved_rate_rps(records: Sequence[Record]) -> float | None:
    """Formula: (n_sent - 1) / (last send_ns - first send_ns), per second.

    None with fewer than two sends or when every request went out at the same instant."""
    sends = sorted(r.send_ns for r in records)
    if len(sends) < 2 or sends[-1] == sends[0]:
        return None
    return (len(sends) - 1) / ((sends[-1] - sends[0]) / NS_PER_S)


def request_throughput_rps(completed: int, duration_s: float) -> float:
    """Formula: completed requests / duration (s)."""
    return completed / duration_s


def token_throughput_tok_s(tokens: int, duration_s: float) -> float:
    """Formula: tokens / duration (s). Total throughput is (N_in + N_out) / duration."""
    return tokens / duration_s


def throughput_figures(
    completed: int, total_input: int, total_output: int, duration_s: float
) -> dict[str, float]:
    """The four throughputs of a run over its measured window, in the schema's order."""
    return {
        "request_throughput_rps": request_throughput_rps(completed, duration_s),
        "input_throughput_tok_s": token_throughput_tok_s(total_input, duration_s),
        "output_throughput_tok_s": token_throughput_tok_s(total_output, duration_s),
        "total_throughput_tok_s": token_throughput_tok_s(total_input + total_output, duration_s),
    }


def interactivity_tok_s(median_tpot_ms: float | None) -> float | None:
    """Formula: 1000 / median TPOT (ms): the tokens per second one user sees.

    None without a TPOT, or when it is 0 (every reply arrived in one read: no rate to see)."""
    return 1000.0 / median_tpot_ms if median_tpot_ms else None


def per_npu_tok_s(rate_tok_s: float | None, accelerators: int | None) -> float | None:
    """Formula: rate / accelerators the server uses (tp_size x dp_size). None when either
    is unknown."""
    if rate_tok_s is None or not accelerators:
        return None
    return rate_tok_s / accelerators


def combined_source(sources: Iterable[str]) -> str:
    """One source for a run: the common one, `mixed` when they differ, `unknown` if none."""
    distinct = sorted(set(sources))
    if not distinct:
        return "unknown"
    return distinct[0] if len(distinct) == 1 else "mixed"


def token_counts(completed: Sequence[Record]) -> dict[str, Any]:
    """Sources of N_in and N_out, and how far server usage and client tokenizer disagree
    (only over requests where both counts exist; None when there are none)."""
    mismatched = 0
    compared = 0
    out_diff = 0
    in_diff = 0
    for r in completed:
        has_out = r.completion_tokens_server is not None and r.completion_tokens_client is not None
        has_in = r.prompt_tokens_server is not None and r.prompt_tokens_client is not None
        if not (has_out or has_in):
            continue
        compared += 1
        d_out = abs(r.completion_tokens_server - r.completion_tokens_client) if has_out else 0
        d_in = abs(r.prompt_tokens_server - r.prompt_tokens_client) if has_in else 0
        out_diff += d_out
        in_diff += d_in
        mismatched += int(d_out > 0 or d_in > 0)
    return {
        "input_source": combined_source(input_tokens_source(r) for r in completed),
        "output_source": combined_source(output_tokens_source(r) for r in completed),
        "requests_with_mismatch": mismatched if compared else None,
        "output_tokens_mismatch": out_diff if compared else None,
        "input_tokens_mismatch": in_diff if compared else None,
    }


def delivery(completed: Sequence[Record]) -> dict[str, Any]:
    """How the replies reached the client: `single_read_requests` = the number of completed
    requests with arrived_in_one_read(r) (of the requests TPOT applies to: tpot_ms.count), and
    `tokens_per_read` = summarize(tokens_per_read(r) for every completed r), in tokens (None
    when no content arrived)."""
    return {
        "single_read_requests": sum(1 for r in completed if arrived_in_one_read(r)),
        "tokens_per_read": summarize(n for r in completed for n in tokens_per_read(r)),
    }


def _stats_ms(values_ns: Iterable[int | None]) -> dict[str, Any] | None:
    return summarize(v / NS_PER_MS for v in values_ns if v is not None)


def run_metrics(
    records: Iterable[Record],
    *,
    requested_rate_rps: float | None = None,
    slo: dict[str, float | None] | None = None,
    accelerators: int | None = None,
) -> dict[str, Any]:
    """The schema's `run_metrics` for the measured (non-warm-up) records of one run.

    Keys whose value cannot be computed (no completed request, no window) are left out
    rather than set to a made-up number.
    """
    measured = [r for r in records if not r.warmup]
    completed = [r for r in measured if r.ok]
    duration_s = window_ns(measured) / NS_PER_S
    n_in = [input_tokens(r) for r in completed]
    n_out = [output_tokens(r) for r in completed]
    total_in = sum(n for n in n_in if n is not None)
    total_out = sum(n for n in n_out if n is not None)
    e2e_values = [e2e_ns(r) for r in completed]
    tpots = [tpot_ms(r) for r in completed]

    out: dict[str, Any] = {
        "duration_s": duration_s,
        "requests_sent": len(measured),
        "requests_completed": len(completed),
        "requests_failed": len(measured) - len(completed),
        "failures": dict(sorted(Counter(r.error_kind for r in measured if not r.ok).items())),
        "total_input_tokens": total_in,
        "total_output_tokens": total_out,
    }
    if duration_s > 0:
        out.update(throughput_figures(len(completed), total_in, total_out, duration_s))
        out["achieved_concurrency"] = (
            sum(v for v in e2e_values if v is not None) / NS_PER_S / duration_s
        )
    out["requested_rate_rps"] = requested_rate_rps
    out["achieved_rate_rps"] = achieved_rate_rps(measured)
    out["schedule_lag_ms"] = summarize(
        lag for lag in (schedule_lag_ms(r) for r in measured) if lag is not None
    )
    for key, stats in (
        ("ttft_ms", _stats_ms(ttft_ns(r) for r in completed)),
        ("tpot_ms", summarize(t for t in tpots if t is not None)),
        ("itl_ms", summarize(v for r in completed for v in itl_ms(r))),
        ("e2e_ms", _stats_ms(e2e_values)),
    ):
        if stats is not None:
            out[key] = stats
    out["tpot_excluded_requests"] = sum(1 for t in tpots if t is None)
    out["interactivity_tok_s"] = interactivity_tok_s(out.get("tpot_ms", {}).get("median"))
    out["output_throughput_per_npu_tok_s"] = per_npu_tok_s(
        out.get("output_throughput_tok_s"), accelerators
    )
    if slo and any(v is not None for v in slo.values()) and duration_s > 0:
        good = sum(1 for r in completed if meets_slo(r, slo))
        out["goodput_rps"] = good / duration_s
        out["slo"] = {k: slo.get(k) for k in ("ttft_ms", "tpot_ms", "e2e_ms")}
    else:
        out["goodput_rps"] = None
        out["slo"] = None
    out["token_counts"] = token_counts(completed)
    out["delivery"] = delivery(completed)
    out.update(prefix_cache_metrics(measured, _ttft_stats, input_tokens))
    out["percentile_method"] = PERCENTILE_METHOD
    return out


def _ttft_stats(records: Sequence[Record]) -> dict[str, Any] | None:
    return _stats_ms(ttft_ns(r) for r in records)
