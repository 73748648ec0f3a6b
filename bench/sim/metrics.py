"""The simulator's `/metrics`: SGLang's Prometheus names and semantics, from its own state.

What SGLang 0.5.3 and 0.5.9 count (`srt/metrics/collector.py`, `managers/tokenizer_manager.py`)
and this copies: `prompt_tokens_total`, `generation_tokens_total` and `num_requests_total`
grow once per request when it finishes, before its last chunk is written (so a client that
has read a response to the end finds it counted); a request aborted while running (the
client went away) is counted with the tokens it had generated, and in
`num_aborted_requests_total`; one aborted before its prefill finished is counted only there.
TTFT is observed at the first token (from the request's arrival), E2E at the finish; both
in seconds of the server's own clock, with SGLang's default buckets. Labels are SGLang's
`model_name` (tokenizer metrics) and `model_name`, `engine_type`, `tp_rank`, `pp_rank`
(scheduler gauges).

As in SGLang (whose labelled counters get a sample at their first increment, and whose
multiprocess collector prints no family that has none), a counter or histogram appears only
once something was counted: a fresh simulator's /metrics has its gauges only. Unlike SGLang,
whose gauges are refreshed only when the scheduler logs a batch, the gauges here are read
live at each scrape. The prefix cache (`bench.sim.radix`) is counted as SGLang counts it:
`cached_tokens_total` grows by a finished request's cached prompt tokens when it has any (so
it appears with the first hit), and the `cache_hit_rate` gauge is the last prefill batch's
(cached / (cached + new) tokens of the requests it admitted, SGLang's `log_prefill_stats`).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field

from bench.sim.scheduler import Scheduler, SimRequest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# SGLang's default buckets (collector.py, TokenizerMetricsCollector)
TTFT_BUCKETS = (0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400)
E2E_BUCKETS = (
    0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200,
    1800, 2400,
)  # fmt: skip


@dataclass
class Histogram:
    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        i = bisect.bisect_left(self.bounds, value)
        if i < len(self.counts):
            self.counts[i] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out, running = [], 0
        for bound, n in zip(self.bounds, self.counts, strict=True):
            running += n
            out.append(f'{name}_bucket{{le="{float(bound)}",{labels}}} {float(running)}')
        out.append(f'{name}_bucket{{le="+Inf",{labels}}} {float(self.count)}')
        out.append(f"{name}_count{{{labels}}} {float(self.count)}")
        out.append(f"{name}_sum{{{labels}}} {self.total!r}")
        return out


class SimMetrics:
    """Counters and histograms the scheduler feeds (`Scheduler.observer`)."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self.generation_tokens = 0
        self.requests = 0
        self.aborted = 0
        self.ttft = Histogram(TTFT_BUCKETS)
        self.e2e = Histogram(E2E_BUCKETS)

    @staticmethod
    def _since_arrival_s(req: SimRequest, now_ns: int) -> float:
        return max(0, now_ns - req.ready_ns) / 1e9 if req.ready_ns else 0.0

    def first_token(self, req: SimRequest) -> None:
        self.ttft.observe(self._since_arrival_s(req, time.perf_counter_ns()))

    def finished(self, req: SimRequest) -> None:
        """A request left the engine: finished, or aborted (`finish_reason` "abort")."""
        if req.finish_reason == "abort":
            self.aborted += 1
            if req.prefilled < req.prompt_tokens:
                return  # aborted in the queue or mid-prefill: not counted by SGLang
        self.prompt_tokens += req.prompt_tokens
        self.cached_tokens += req.cached_tokens
        self.generation_tokens += req.generated
        self.requests += 1
        self.e2e.observe(self._since_arrival_s(req, time.perf_counter_ns()))

    def exposition(self, scheduler: Scheduler) -> str:
        """The Prometheus text format, as SGLang's `/metrics` prints these names."""
        tok = f'model_name="{self.model_name}"'
        sched = f'engine_type="unified",model_name="{self.model_name}",pp_rank="0",tp_rank="0"'
        used = sum(r.prompt_tokens + r.generated for r in scheduler.running)
        used += sum(r.prefilled for r in scheduler.waiting if r.admitted)
        lines: list[str] = []

        def family(name: str, kind: str, doc: str, samples: list[str]) -> None:
            lines.extend([f"# HELP {name} {doc}", f"# TYPE {name} {kind}", *samples])

        def counter(name: str, doc: str, value: float) -> None:
            family(name, "counter", doc, [f"{name}{{{tok}}} {float(value)}"])

        def gauge(name: str, doc: str, value: float) -> None:
            family(name, "gauge", doc, [f"{name}{{{sched}}} {float(value)}"])

        # SGLang creates a labelled counter's sample at its first increment, and in its
        # multiprocess mode an untouched family is not printed at all: nor are they here
        if self.requests:
            counter("sglang:prompt_tokens_total", "Number of prefill tokens processed.",
                    self.prompt_tokens)  # fmt: skip
            counter("sglang:generation_tokens_total", "Number of generation tokens processed.",
                    self.generation_tokens)  # fmt: skip
            counter("sglang:num_requests_total", "Number of requests processed.", self.requests)
        if self.cached_tokens:
            counter("sglang:cached_tokens_total", "Number of cached prompt tokens.",
                    self.cached_tokens)  # fmt: skip
        if self.aborted:
            counter("sglang:num_aborted_requests_total", "Number of requests aborted.",
                    self.aborted)  # fmt: skip
        if self.ttft.count:
            family("sglang:time_to_first_token_seconds", "histogram",
                   "Histogram of time to first token in seconds.",
                   self.ttft.lines("sglang:time_to_first_token_seconds", tok))  # fmt: skip
        if self.e2e.count:
            family("sglang:e2e_request_latency_seconds", "histogram",
                   "Histogram of End-to-end request latency in seconds",
                   self.e2e.lines("sglang:e2e_request_latency_seconds", tok))  # fmt: skip
        gauge("sglang:num_running_reqs", "The number of running requests.",
              len(scheduler.running))  # fmt: skip
        gauge("sglang:num_used_tokens", "The number of used tokens.", used)
        # data parallel (bench.sim.dp): the tokens in use over every replica's pool together
        pools = scheduler.pool_tokens * len(getattr(scheduler, "replicas", (scheduler,)))
        gauge("sglang:token_usage", "The token usage.", used / max(pools, 1))
        gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.",
              len(scheduler.waiting))  # fmt: skip
        gauge("sglang:cache_hit_rate", "The prefix cache hit rate.", scheduler.last_cache_hit_rate)
        return "\n".join(lines) + "\n"
