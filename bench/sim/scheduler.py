"""Continuous batching in one asyncio loop: the simulated engine behind the HTTP server.

One timer per batch step. Each step is a prefill (new prompt tokens, chunked) or a decode
(one token for every running request), and lasts what `bench.sim.model` says, divided by
`speed`. Steps are paced against absolute deadlines on the monotonic clock: a step
that ends late does not push the next one back, so lateness never piles up.

Requests wait in FCFS order until the KV pool can hold their prompt plus `max_new_tokens`
and fewer than `max_running_requests` run; prefill takes priority over decode, as in
SGLang's default scheduler. A request admitted with a prefix in the radix cache
(`bench.sim.radix`) holds those pages instead of new KV and prefills only the rest; the
pool holds the running requests' KV and the cached pages, and unheld pages are evicted
(least recently used first) when an admission needs their room. When a step ends, each
request it advanced gets its token and, every `tokens_per_chunk` tokens (or at the end),
its handler is woken to write.

The clock and the sleep are injectable (`clock`, `sleep`): the simulator runs on
`time.perf_counter_ns` and `asyncio.sleep`; unit tests give it a fake clock whose sleep
advances it, so they check every step's timing exactly without waiting for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.sim import model
from bench.sim.profile import SimProfile
from bench.sim.radix import Page, PrefixCache

Clock = Callable[[], int]  # monotonic nanoseconds
Sleep = Callable[[float], Awaitable[object]]  # sleep(seconds)


@dataclass(eq=False)
class SimRequest:
    """One request's state inside the engine (mutable: the scheduler advances it)."""

    prompt_tokens: int
    max_new_tokens: int
    token_ids: tuple[int, ...]  # what it will generate, fixed at arrival (seeded)
    eos_at: int | None = None  # stop ("stop") after this many tokens, when EOS is simulated
    prompt_ids: tuple[int, ...] = ()  # what the prefix cache matches (empty: never cached)
    ready_ns: int = 0  # when it reached the server (on the clock); 0: when submitted
    admitted: bool = False  # its KV reserved, counted against max_running_requests
    cached_tokens: int = 0  # prompt tokens found in the prefix cache at admission
    reserved: int = 0  # KV tokens it holds outside the prefix cache
    page: Page | None = None  # the last cached page it holds
    prefilled: int = 0
    generated: int = 0
    sent: int = 0  # tokens handed to the writer
    finish_reason: str | None = None  # "length", "stop" or "abort"
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def target(self) -> int:
        return self.max_new_tokens if self.eos_at is None else min(self.eos_at, self.max_new_tokens)

    @property
    def done(self) -> bool:
        return self.finish_reason is not None


class Scheduler:
    def __init__(
        self,
        profile: SimProfile,
        *,
        speed: float = 1.0,
        tokens_per_chunk: int = 1,
        clock: Clock = time.perf_counter_ns,
        sleep: Sleep = asyncio.sleep,
        radix_cache: bool = True,
    ):
        plan = model.memory_plan(profile)
        self.cache = PrefixCache(enabled=radix_cache)
        self.profile = profile
        self.clock = clock
        self.sleep = sleep
        self.speed = speed
        self.tokens_per_chunk = tokens_per_chunk
        self.pool_tokens = plan.kv_pool_tokens
        self.max_running = plan.max_running_requests
        self.waiting: deque[SimRequest] = deque()
        self.running: list[SimRequest] = []
        self.used_tokens = 0  # KV tokens reserved by admitted requests, outside the cache
        # prompt tokens of admitted requests, and those of them found in the cache
        self.prompt_tokens_total = 0
        self.cached_tokens_total = 0
        self.last_cache_hit_rate = 0.0  # of the last prefill batch (SGLang's gauge)
        self._new_hits = 0
        self.steps = 0
        self.late_ns_max = 0  # the worst lateness of a step end (for diagnostics)
        self._work = asyncio.Event()
        self._stopped = False
        # SGLang's runtime log lines; speeds in them are in simulated time
        self.log: Callable[[str], None] | None = None
        self.decode_log_interval = 40  # SGLang's default --decode-log-interval
        self._decode_window = [0, 0, 0.0]  # steps, tokens, simulated seconds
        # told of each request's first token and of its leaving the engine (bench.sim.metrics)
        self.observer: Any = None

    # -- requests -------------------------------------------------------------------------
    def submit(self, req: SimRequest) -> None:
        self.waiting.append(req)
        self._work.set()

    def abort(self, req: SimRequest) -> None:
        """The client went away: free its slot and KV at once."""
        if req.done:
            return
        req.finish_reason = "abort"
        if self.observer is not None:
            self.observer.finished(req)
        if req in self.running:
            self.running.remove(req)
            self._release(req)
        elif req in self.waiting:
            if req.admitted:
                self._release(req)
            self.waiting.remove(req)
        req.wakeup.set()

    def abort_all(self) -> None:
        for req in [*self.running, *self.waiting]:
            self.abort(req)

    def stop(self) -> None:
        self._stopped = True
        self._work.set()

    @property
    def queue_depth(self) -> int:
        return len(self.waiting)

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> None:
        next_start = self.clock()
        while not self._stopped:
            if not self.waiting and not self.running:
                self._work.clear()
                await self._work.wait()
                # Simulated time starts when the request reached the server: the simulator's
                # own parsing and tokenizing (the CPU's, not the NPU's) is not added to it.
                now = self.clock()
                first = min((r.ready_ns or now for r in self.waiting), default=now)
                next_start = max(next_start, min(first, now))
                continue
            prefill = self._plan_prefill()
            if prefill:
                pairs = sum(model.attention_pairs(r.prefilled, n) for r, n in prefill)
                duration = model.prefill_s(self.profile, sum(n for _, n in prefill), pairs)
            else:
                context = sum(r.prompt_tokens + r.generated for r in self.running)
                duration = model.decode_step_s(self.profile, len(self.running), context)
            deadline = next_start + round(duration * 1e9 / self.speed)
            delay = deadline - self.clock()
            if delay > 0:
                await self.sleep(delay / 1e9)
            else:
                await self.sleep(0)  # let writers run even when behind
            self.late_ns_max = max(self.late_ns_max, self.clock() - deadline)
            next_start = deadline
            self.steps += 1
            if prefill:
                self._finish_prefill(prefill)
                if self.log is not None:
                    self._log_prefill(prefill)
            else:
                batch = len(self.running)
                self._finish_decode()
                if self.log is not None:
                    self._log_decode(batch, duration)

    def _token_usage(self) -> str:
        used = sum(r.prompt_tokens + r.generated for r in self.running)
        used += sum(r.prefilled for r in self.waiting if r.admitted)
        return f"#token: {used}, token usage: {used / max(self.pool_tokens, 1):.2f}, "

    def _log_prefill(self, plan: list[tuple[SimRequest, int]]) -> None:
        new_seqs = sum(1 for r, _ in plan if r.prefilled >= r.prompt_tokens)
        usage = self._token_usage().split(", ", 1)[1]
        self.log(
            f"Prefill batch. #new-seq: {new_seqs}, #new-token: {sum(n for _, n in plan)}, "
            f"#cached-token: {self._new_hits}, {usage}#running-req: {len(self.running)}, "
            f"#queue-req: {len(self.waiting)}, "
        )

    def _log_decode(self, batch: int, duration_s: float) -> None:
        window = self._decode_window
        window[0] += 1
        window[1] += batch
        window[2] += duration_s
        if window[0] < self.decode_log_interval:
            return
        rate = window[1] / window[2] if window[2] > 0 else 0.0
        self._decode_window = [0, 0, 0.0]
        self.log(
            f"Decode batch. #running-req: {len(self.running)}, {self._token_usage()}"
            f"cpu graph: False, gen throughput (token/s): {rate:.2f}, "
            f"#queue-req: {len(self.waiting)}, "
        )

    def _plan_prefill(self) -> list[tuple[SimRequest, int]]:
        """FCFS: (request, new prompt tokens) for this step, within the chunk budget.

        A request is admitted (`_admit`) when its first chunk is planned; a prompt longer
        than the budget continues in later steps.
        """
        server = self.profile.server
        budget = min(server.chunked_prefill_size, server.max_prefill_tokens)
        plan: list[tuple[SimRequest, int]] = []
        admitted = len(self.running) + sum(1 for r in self.waiting if r.admitted)
        new_tokens = hits = 0
        for req in self.waiting:
            if budget <= 0:
                break
            if not req.admitted:
                if admitted >= self.max_running or not self._admit(req):
                    break
                admitted += 1
                hits += req.cached_tokens
            take = min(budget, req.prompt_tokens - req.prefilled)
            plan.append((req, take))
            budget -= take
            new_tokens += take
        if plan:
            self._new_hits = hits
            self.last_cache_hit_rate = hits / (hits + new_tokens) if hits + new_tokens else 0.0
        return plan

    def _admit(self, req: SimRequest) -> bool:
        """Reserve the request's KV: its prompt less the cached prefix (whose pages it then
        holds) plus max_new_tokens, evicting unheld cached pages when the pool needs them.
        False (nothing changed) when even eviction cannot make room."""
        cached, page = self.cache.match(req.prompt_ids)
        self.cache.lock(page)
        need = req.prompt_tokens - cached + req.max_new_tokens
        free = self.pool_tokens - self.used_tokens - self.cache.tokens
        if need > free + self.cache.evictable_tokens:
            self.cache.unlock(page)
            return False
        if need > free:
            self.cache.evict(need - free)
        req.admitted, req.cached_tokens, req.prefilled = True, cached, cached
        req.page, req.reserved = page, need
        self.used_tokens += need
        self.prompt_tokens_total += req.prompt_tokens
        self.cached_tokens_total += cached
        return True

    def _cache(self, req: SimRequest, ids: tuple[int, ...]) -> None:
        """Hand the request's KV of `ids`' full pages to the cache (SGLang's
        cache_unfinished_req after a prefill, cache_finished_req at the end): the pages new
        to the tree leave its reservation, and it holds the path of `ids` from now on."""
        added, page = self.cache.insert(ids)
        self.cache.lock(page)
        if req.page is not None:
            self.cache.unlock(req.page)
        req.page = page
        moved = min(added, req.reserved)
        req.reserved -= moved
        self.used_tokens -= moved

    def _release(self, req: SimRequest) -> None:
        """The request is done: it holds no page, and its own KV is freed."""
        if req.page is not None:
            self.cache.unlock(req.page)
            req.page = None
        self.used_tokens -= req.reserved
        req.reserved = 0

    def flush_cache(self) -> bool:
        """POST /flush_cache: empty the prefix cache, only with nothing running or waiting."""
        if self.running or self.waiting:
            return False
        return self.cache.reset()

    def _finish_prefill(self, plan: list[tuple[SimRequest, int]]) -> None:
        for req, take in plan:
            if req.done:  # aborted during the step
                continue
            req.prefilled += take
            if req.prefilled >= req.prompt_tokens:
                self.waiting.remove(req)
                self.running.append(req)
                self._cache(req, req.prompt_ids)
                self._emit(req)  # the prefill step produces the first token

    def _finish_decode(self) -> None:
        for req in list(self.running):
            self._emit(req)

    def _emit(self, req: SimRequest) -> None:
        req.generated += 1
        if req.generated == 1 and self.observer is not None:
            self.observer.first_token(req)
        if req.generated >= req.target:
            req.finish_reason = "length" if req.generated >= req.max_new_tokens else "stop"
            if self.observer is not None:
                self.observer.finished(req)
            self.running.remove(req)
            self._cache(req, req.prompt_ids + req.token_ids[: req.generated - 1])
            self._release(req)
            req.wakeup.set()
        elif req.generated - req.sent >= self.tokens_per_chunk:
            req.wakeup.set()
