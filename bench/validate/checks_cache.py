"""Prefix-cache figures against the run's own token counts (bench.metrics.cache).

`check_prefix_cache_figures`: cached prompt tokens are part of the prompt tokens, so
`cached_prompt_tokens` <= `total_input_tokens` and `prefix_cache_hit_rate` =
cached / total input (to the arithmetic tolerance); `per_turn` partitions the run's
completed requests, their N_in and their cached tokens (each turn's sums add up to the
run's, and each turn's cached tokens are within its N_in); the first-of-group and the rest
TTFT counts add up to the TTFT count.
"""

from __future__ import annotations

from typing import Any

from bench.validate import tolerances as tol
from bench.validate.findings import Issue, close, fmt, num, pointer, runs, sub


def check_prefix_cache_figures(doc: Any) -> list[Issue]:
    out = []
    for base, run in runs(doc):
        m = sub(run, "metrics")
        where = (*base, "metrics")
        out += _totals(m, where) + _turns(m, where) + _groups(m, where)
    return out


def _totals(m: dict[str, Any], where: tuple) -> list[Issue]:
    cached, total = num(m, "cached_prompt_tokens"), num(m, "total_input_tokens")
    rate = num(m, "prefix_cache_hit_rate")
    if cached is None or total is None:
        return []
    if cached > total:
        return [
            Issue(
                pointer(*where, "cached_prompt_tokens"),
                f"cached_prompt_tokens {fmt(cached)} exceeds total_input_tokens {fmt(total)}: "
                "cached tokens are part of the prompt",
            )
        ]
    if rate is not None and total > 0 and not close(rate, cached / total, tol.ARITHMETIC_REL, 1e-6):
        return [
            Issue(
                pointer(*where, "prefix_cache_hit_rate"),
                f"prefix_cache_hit_rate {fmt(rate)} != cached_prompt_tokens / "
                f"total_input_tokens = {fmt(cached / total)}",
            )
        ]
    return []


def _turns(m: dict[str, Any], where: tuple) -> list[Issue]:
    turns = m.get("per_turn")
    if not isinstance(turns, list) or not turns:
        return []
    out = []
    entries = [t for t in turns if isinstance(t, dict)]
    for i, t in enumerate(entries):
        c, n = num(t, "cached_prompt_tokens"), num(t, "input_tokens")
        if c is not None and n is not None and c > n:
            out.append(
                Issue(
                    pointer(*where, "per_turn", i, "cached_prompt_tokens"),
                    f"turn {t.get('turn')}: cached_prompt_tokens {fmt(c)} exceeds its "
                    f"input_tokens {fmt(n)}",
                )
            )
    for key, total_key in (
        ("requests_completed", "requests_completed"),
        ("input_tokens", "total_input_tokens"),
        ("cached_prompt_tokens", "cached_prompt_tokens"),
    ):
        values = [num(t, key) for t in entries]
        total = num(m, total_key)
        if total is None or any(v is None for v in values):
            continue
        summed = sum(v for v in values if v is not None)
        if summed != total:
            out.append(
                Issue(
                    pointer(*where, "per_turn"),
                    f"per_turn {key} sum to {fmt(summed)}, the run's {total_key} is {fmt(total)}",
                )
            )
    return out


def _groups(m: dict[str, Any], where: tuple) -> list[Issue]:
    first = num(sub(m, "ttft_first_of_group_ms"), "count")
    rest = num(sub(m, "ttft_rest_of_group_ms"), "count")
    total = num(sub(m, "ttft_ms"), "count")
    if first is None or total is None:
        return []
    if first + (rest or 0) != total:
        return [
            Issue(
                pointer(*where, "ttft_first_of_group_ms", "count"),
                f"first-of-group TTFT count {fmt(first)} + rest {fmt(rest or 0)} != TTFT "
                f"count {fmt(total)}",
            )
        ]
    return []


CHECKS = [check_prefix_cache_figures]
