"""Each engine's Prometheus names, mapped onto one set of quantities.

Read from each engine's source (docs/telemetry.md has the table and what each counts):
- SGLang (`python/sglang/srt/metrics/collector.py` and `managers/tokenizer_manager.py`,
  0.5.3 and 0.5.9): token and request counters and the TTFT/E2E histograms are updated once
  per request, when it finishes, before its last chunk is sent; `prompt_tokens` counts the
  whole prompt, cached tokens included (`cached_tokens_total` counts those again, by
  source); a request aborted while running is counted with the tokens it had, one aborted
  in the waiting queue is not. The gauges are set when the scheduler logs a batch.
- vLLM (`vllm/v1/metrics/loggers.py`): prompt tokens count when a request's prefill is
  done, generation tokens as they are made; `request_success_total` counts finished
  requests by `finished_reason` (stop, length, abort).
- llama.cpp's server (`--metrics`): `prompt_tokens_total` counts prompt tokens *processed*,
  cached ones excluded; builds that have `prompt_tokens_cached_total` count those apart, so
  their sum is the prompt. It has no request counter and no latency histograms.

Counters are summed over every label set (models, sources, finish reasons). Gauges are
repeated by tensor-parallel ranks: within each `dp_rank` (or `engine`) the largest is taken,
and those are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

# sample name -> [(labels, value), ...], as `bench.telemetry.prometheus.parse_metrics` gives
Snapshot = dict[str, list[tuple[dict[str, str], float]]]


@dataclass(frozen=True)
class EngineNames:
    engine: str
    prefix: str
    prompt_tokens: tuple[str, ...]  # summed: the prompt tokens the engine counted
    generation_tokens: str
    requests: str | None
    aborted: str | None
    cached_tokens: str | None
    cache_queries: str | None  # the denominator of the hit rate; None: prompt_tokens
    ttft: str | None  # histogram base name (_sum, _count)
    e2e: str | None
    running: str
    queued: str
    kv_usage: tuple[str, ...]  # the first present (a fraction, 1 = full)
    note: str


ENGINES = (
    EngineNames(
        engine="sglang",
        prefix="sglang:",
        prompt_tokens=("sglang:prompt_tokens_total",),
        generation_tokens="sglang:generation_tokens_total",
        requests="sglang:num_requests_total",
        aborted="sglang:num_aborted_requests_total",
        cached_tokens="sglang:cached_tokens_total",
        cache_queries=None,
        ttft="sglang:time_to_first_token_seconds",
        e2e="sglang:e2e_request_latency_seconds",
        running="sglang:num_running_reqs",
        queued="sglang:num_queue_reqs",
        kv_usage=("sglang:token_usage",),
        note="SGLang counts tokens and requests when a request finishes (cached prompt tokens "
        "included; a request aborted while running counts with the tokens it had)",
    ),
    EngineNames(
        engine="vllm",
        prefix="vllm:",
        prompt_tokens=("vllm:prompt_tokens_total",),
        generation_tokens="vllm:generation_tokens_total",
        requests="vllm:request_success_total",
        aborted=None,
        cached_tokens="vllm:prefix_cache_hits_total",
        cache_queries="vllm:prefix_cache_queries_total",
        ttft="vllm:time_to_first_token_seconds",
        e2e="vllm:e2e_request_latency_seconds",
        running="vllm:num_requests_running",
        queued="vllm:num_requests_waiting",
        kv_usage=("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
        note="vLLM counts prompt tokens when a prefill completes and generated tokens as they "
        "are made; requests by finish reason (stop, length, abort)",
    ),
    EngineNames(
        engine="llama.cpp",
        prefix="llamacpp:",
        prompt_tokens=("llamacpp:prompt_tokens_total", "llamacpp:prompt_tokens_cached_total"),
        generation_tokens="llamacpp:tokens_predicted_total",
        requests=None,
        aborted=None,
        cached_tokens="llamacpp:prompt_tokens_cached_total",
        cache_queries=None,
        ttft=None,
        e2e=None,
        running="llamacpp:requests_processing",
        queued="llamacpp:requests_deferred",
        kv_usage=("llamacpp:kv_cache_usage_ratio",),
        note="llama.cpp counts processed prompt tokens and cached ones apart (their sum is the "
        "prompt); it has no request counter and no latency histograms",
    ),
)


def sample_names(names: EngineNames) -> frozenset[str]:
    """Every sample name `counters` reads for this engine."""
    out = {*names.prompt_tokens, names.generation_tokens, names.running, names.queued}
    out |= set(names.kv_usage)
    out |= {
        n for n in (names.requests, names.aborted, names.cached_tokens, names.cache_queries) if n
    }
    for histogram in (names.ttft, names.e2e):
        if histogram:
            out |= {f"{histogram}_sum", f"{histogram}_count"}
    return frozenset(out)


def detect(snapshot: Snapshot) -> EngineNames | None:
    """The engine whose names the snapshot has (by prefix: a fresh SGLang prints no counter
    before its first request, only what it has set)."""
    for names in ENGINES:
        if any(key.startswith(names.prefix) for key in snapshot):
            return names
    return None


def total(snapshot: Snapshot, name: str | None) -> float | None:
    """A counter summed over every label set; None when the sample is absent."""
    if name is None or name not in snapshot:
        return None
    return sum(value for _labels, value in snapshot[name])


def gauge(snapshot: Snapshot, name: str) -> float | None:
    """A gauge across ranks: the largest within each data-parallel group, summed."""
    if name not in snapshot:
        return None
    groups: dict[str, float] = {}
    for labels, value in snapshot[name]:
        key = labels.get("dp_rank", labels.get("engine", ""))
        groups[key] = max(groups.get(key, value), value)
    return sum(groups.values())


@dataclass(frozen=True)
class Counters:
    """One scrape, in the common quantities. None: the engine does not expose it."""

    prompt_tokens: float | None
    generation_tokens: float | None
    requests: float | None
    aborted: float | None
    cached_tokens: float | None
    cache_queries: float | None
    ttft_sum_s: float | None
    ttft_count: float | None
    e2e_sum_s: float | None
    e2e_count: float | None
    running: float | None
    queued: float | None
    kv_usage: float | None


def counters(snapshot: Snapshot, names: EngineNames) -> Counters:
    prompt = [total(snapshot, n) for n in names.prompt_tokens]
    prompt_total = None if prompt[0] is None else sum(p for p in prompt if p is not None)
    kv = next((g for g in (gauge(snapshot, n) for n in names.kv_usage) if g is not None), None)
    ttft, e2e = names.ttft, names.e2e
    return Counters(
        prompt_tokens=prompt_total,
        generation_tokens=total(snapshot, names.generation_tokens),
        requests=total(snapshot, names.requests),
        aborted=total(snapshot, names.aborted),
        cached_tokens=total(snapshot, names.cached_tokens),
        cache_queries=total(snapshot, names.cache_queries),
        ttft_sum_s=total(snapshot, ttft and f"{ttft}_sum"),
        ttft_count=total(snapshot, ttft and f"{ttft}_count"),
        e2e_sum_s=total(snapshot, e2e and f"{e2e}_sum"),
        e2e_count=total(snapshot, e2e and f"{e2e}_count"),
        running=gauge(snapshot, names.running),
        queued=gauge(snapshot, names.queued),
        kv_usage=kv,
    )


def prompt_note(names: EngineNames, snapshot: Snapshot) -> str | None:
    """A caveat on the prompt count, when this build's counters cannot give the whole prompt."""
    if names.engine == "llama.cpp" and "llamacpp:prompt_tokens_cached_total" not in snapshot:
        return (
            "this llama.cpp build has no prompt_tokens_cached_total: its prompt_tokens exclude "
            "tokens reused from its prompt cache, so they can be below the client's"
        )
    return None
