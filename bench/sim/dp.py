"""Data parallelism on the simulator: `dp_size` engine replicas behind a round-robin router.

SGLang's `--dp-size N` (without `--enable-dp-attention`) starts a data-parallel controller
and N scheduler groups, each a full copy of the model on its own `tp_size` NPUs with its
own KV pool and batch; the controller hands each new request to one group, in turn by
default (`--load-balance-method round_robin`, SGLang 0.5.3's
`data_parallel_controller.py`). The simulator does the same: N independent `Scheduler`s
(each paced on its own, as separate NPU groups are) and a router that gives request k to
replica k mod N. A request stays on its replica until it ends.

`DataParallelScheduler` has the `Scheduler`'s interface as the routes, metrics and the
server use it: `submit`, `abort`, `abort_all`, `stop`, `run`, `pool_tokens` (one
replica's, which bounds one request), `running`/`waiting` (all replicas'), `log`,
`observer`. `make_scheduler` gives a plain `Scheduler` at dp_size 1, so nothing changes there.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from bench.sim.profile import SimProfile
from bench.sim.scheduler import Scheduler, SimRequest


def make_scheduler(profile: SimProfile, **kwargs: Any) -> Scheduler | DataParallelScheduler:
    """One scheduler, or a data-parallel group of profile.server.dp_size of them."""
    if profile.server.dp_size <= 1:
        return Scheduler(profile, **kwargs)
    return DataParallelScheduler(profile, **kwargs)


class DataParallelScheduler:
    """dp_size replicas of the engine and SGLang's default round-robin dispatch."""

    def __init__(self, profile: SimProfile, **kwargs: Any):
        self.profile = profile
        self.replicas = tuple(Scheduler(profile, **kwargs) for _ in range(profile.server.dp_size))
        self._next = 0
        self._log: Callable[..., None] | None = None

    # -- what the routes and the server use -------------------------------------------------
    @property
    def pool_tokens(self) -> int:
        """One replica's KV pool: the most one request can hold (all replicas are alike)."""
        return self.replicas[0].pool_tokens

    @property
    def max_running(self) -> int:
        return sum(r.max_running for r in self.replicas)

    @property
    def running(self) -> list[SimRequest]:
        return [req for r in self.replicas for req in r.running]

    @property
    def waiting(self) -> list[SimRequest]:
        return [req for r in self.replicas for req in r.waiting]

    @property
    def queue_depth(self) -> int:
        return sum(r.queue_depth for r in self.replicas)

    @property
    def steps(self) -> int:
        return sum(r.steps for r in self.replicas)

    @property
    def late_ns_max(self) -> int:
        return max(r.late_ns_max for r in self.replicas)

    @late_ns_max.setter
    def late_ns_max(self, value: int) -> None:
        for r in self.replicas:
            r.late_ns_max = value

    @property
    def observer(self) -> Any:
        return self.replicas[0].observer

    @observer.setter
    def observer(self, value: Any) -> None:
        for r in self.replicas:
            r.observer = value

    @property
    def log(self) -> Callable[..., None] | None:
        return self._log

    @log.setter
    def log(self, message: Callable[..., None] | None) -> None:
        """`message(text, dp_rank=...)` (the server's LogSink.message): each replica's lines
        carry its `DPn` tag, as SGLang's schedulers' do."""
        self._log = message
        for rank, r in enumerate(self.replicas):
            r.log = None if message is None else functools.partial(message, dp_rank=rank)

    def submit(self, req: SimRequest) -> None:
        replica = self.replicas[self._next]
        self._next = (self._next + 1) % len(self.replicas)
        replica.submit(req)

    def abort(self, req: SimRequest) -> None:
        for r in self.replicas:
            if req in r.running or req in r.waiting:
                r.abort(req)
                return

    def abort_all(self) -> None:
        for r in self.replicas:
            r.abort_all()

    def stop(self) -> None:
        for r in self.replicas:
            r.stop()

    def flush_cache(self) -> bool:
        """POST /flush_cache: every replica's prefix cache, only with nothing running or
        waiting on any of them (as one SGLang server refuses while requests are in flight)."""
        if self.running or self.waiting:
            return False
        flushed = [r.flush_cache() for r in self.replicas]
        return all(flushed)

    @property
    def last_cache_hit_rate(self) -> float:
        """SGLang's per-batch gauge: each replica's last prefill batch, averaged over them."""
        return sum(r.last_cache_hit_rate for r in self.replicas) / len(self.replicas)

    async def run(self) -> None:
        await asyncio.gather(*(r.run() for r in self.replicas))
