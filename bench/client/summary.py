"""A short text summary of a run object, for the terminal."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def summary_table(run: dict[str, Any]) -> str:
    m = run["metrics"]
    rows = [
        ("duration (s)", m.get("duration_s")),
        ("requests completed / sent", f"{m['requests_completed']} / {m['requests_sent']}"),
        ("failures", ", ".join(f"{k} {v}" for k, v in m.get("failures", {}).items()) or "-"),
        ("request throughput (req/s)", m.get("request_throughput_rps")),
        ("input throughput (tok/s)", m.get("input_throughput_tok_s")),
        ("output throughput (tok/s)", m.get("output_throughput_tok_s")),
        ("total throughput (tok/s)", m.get("total_throughput_tok_s")),
        ("achieved concurrency", m.get("achieved_concurrency")),
        ("requested / achieved rate (req/s)", f"{_fmt(m.get('requested_rate_rps'))} / "
         f"{_fmt(m.get('achieved_rate_rps'))}"),
    ]  # fmt: skip
    workers = run.get("driver", {}).get("workers")
    if workers and workers > 1:
        rows.append(("load generator workers", workers))
    table = [(name, _fmt(value)) for name, value in rows]
    stats_rows = []
    for key, label in (
        ("ttft_ms", "TTFT"),
        ("tpot_ms", "TPOT"),
        ("itl_ms", "ITL"),
        ("e2e_ms", "E2E"),
        ("ttft_first_of_group_ms", "TTFT first of group"),
        ("ttft_rest_of_group_ms", "TTFT rest of group"),
        ("schedule_lag_ms", "schedule lag"),
    ):
        s = m.get(key)
        if s:
            stats_rows.append(
                (label, *(_fmt(s[k]) for k in ("mean", "median", "p90", "p99", "max")), s["count"])
            )
    tc = m.get("token_counts", {})
    table.append(("N_in / N_out source", f"{tc.get('input_source')} / {tc.get('output_source')}"))
    table.append(("client/server N_out mismatch", _fmt(tc.get("output_tokens_mismatch"))))
    if m.get("cached_prompt_tokens") is not None:
        rate = m.get("prefix_cache_hit_rate")
        hits = f"{m['cached_prompt_tokens']} ({'-' if rate is None else f'{rate:.1%}'} of N_in)"
        table.append(("prefix-cache hits (tokens)", hits))
    return (
        tabulate(table, tablefmt="plain")
        + "\n\n"
        + tabulate(
            stats_rows,
            headers=["ms", "mean", "median", "p90", "p99", "max", "count"],
            tablefmt="simple",
        )
    )
