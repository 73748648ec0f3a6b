"""Prefix-cache metrics: pure functions of per-request records. No I/O, no clocks.

What the server says it took from its prefix cache (`Record.cached_tokens_server`), and
TTFT where a prefix is shared: the first request of each shared-prefix group (or
conversation) against the rest, and each turn of a conversation. `bench.metrics.run_metrics`
adds them to a run's metrics. Definitions: docs/measuring.md, "Metric definitions".

One rule for a server that reports cached tokens only when there were some (SGLang with
`--enable-cache-report` leaves `usage.prompt_tokens_details` out when it cached nothing):
when any completed request of a run reports cached tokens, a completed request that does
not counts as 0; when none does, the figures are None (not reported, or nothing cached by
such a server: the records cannot tell the two apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.records import Record


def reports_cache(completed: Sequence[Record]) -> bool:
    """Formula: any completed record has cached_tokens_server."""
    return any(r.cached_tokens_server is not None for r in completed)


def cached_tokens(record: Record) -> int:
    """A completed request's cached prompt tokens (0 when it reported none)."""
    return record.cached_tokens_server or 0


def cached_prompt_tokens(completed: Sequence[Record], reported: bool) -> int | None:
    """Formula: sum of cached_tokens_server over completed requests (a request without it
    counts 0); None when the run reports no cached tokens (`reported` false)."""
    return sum(cached_tokens(r) for r in completed) if reported else None


def prefix_cache_hit_rate(cached: int | None, prompt_tokens: int) -> float | None:
    """Formula: cached prompt tokens / N_in, over the same completed requests (0..1).

    None when cached tokens are not reported or there were no prompt tokens."""
    if cached is None or prompt_tokens <= 0:
        return None
    return cached / prompt_tokens


def group_firsts(measured: Sequence[Record]) -> set[int]:
    """Positions in `measured` of the first request of each group: the earliest send_ns
    among the group's measured requests (ties: the lower index). It found the server's
    cache without its group's prefix, unless an earlier run left it there."""
    first: dict[int, int] = {}
    for i, r in enumerate(measured):
        if r.group is None:
            continue
        best = first.get(r.group)
        if best is None or (r.send_ns, r.index) < (measured[best].send_ns, measured[best].index):
            first[r.group] = i
    return set(first.values())


def per_turn(
    completed: Sequence[Record],
    reported: bool,
    ttft_stats: Any,
    input_tokens: Any,
) -> list[dict[str, Any]]:
    """One entry per turn index of a conversation, in order: requests completed, TTFT
    statistics (ms), N_in, cached prompt tokens and hit rate of that turn's requests.

    `ttft_stats(records)` and `input_tokens(record)` are the run's own metric functions."""
    turns = sorted({r.turn for r in completed if r.turn is not None})
    out = []
    for turn in turns:
        of_turn = [r for r in completed if r.turn == turn]
        n_in = sum(input_tokens(r) or 0 for r in of_turn)
        cached = cached_prompt_tokens(of_turn, reported)
        out.append(
            {
                "turn": turn,
                "requests_completed": len(of_turn),
                "ttft_ms": ttft_stats(of_turn),
                "input_tokens": n_in,
                "cached_prompt_tokens": cached,
                "prefix_cache_hit_rate": prefix_cache_hit_rate(cached, n_in),
            }
        )
    return out


def prefix_cache_metrics(
    measured: Sequence[Record], ttft_stats: Any, input_tokens: Any
) -> dict[str, Any]:
    """The run's prefix-cache figures: `cached_prompt_tokens` and `prefix_cache_hit_rate`
    always; with groups, TTFT of each group's first request and of the rest
    (`ttft_first_of_group_ms`, `ttft_rest_of_group_ms`, left out when empty); with turns,
    `per_turn`."""
    completed = [r for r in measured if r.ok]
    reported = reports_cache(completed)
    cached = cached_prompt_tokens(completed, reported)
    n_in = sum(input_tokens(r) or 0 for r in completed)
    out: dict[str, Any] = {
        "cached_prompt_tokens": cached,
        "prefix_cache_hit_rate": prefix_cache_hit_rate(cached, n_in),
    }
    if any(r.group is not None for r in measured):
        firsts = group_firsts(measured)
        grouped = [(i, r) for i, r in enumerate(measured) if r.ok and r.group is not None]
        for key, part in (
            ("ttft_first_of_group_ms", [r for i, r in grouped if i in firsts]),
            ("ttft_rest_of_group_ms", [r for i, r in grouped if i not in firsts]),
        ):
            stats = ttft_stats(part)
            if stats is not None:
                out[key] = stats
    if any(r.turn is not None for r in measured):
        out["per_turn"] = per_turn(completed, reported, ttft_stats, input_tokens)
    return out
