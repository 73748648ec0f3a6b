"""The continuous-batching scheduler: KV admission, queueing, abort, finish reasons, timing.

A tiny profile makes the numbers hand-checkable: 2 bytes of KV per token and exactly
300 tokens of pool, 5 ms per step. The scheduler runs on a fake clock whose sleep advances
it, so no test waits in real time and every step's time is exact (the simulator's
real-time pacing is checked by tests/integration/test_sim_timing.py).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.sim import DEFAULT_PROFILE, profiles_dir
from bench.sim.model import memory_plan
from bench.sim.profile import load_profile
from bench.sim.scheduler import Scheduler, SimRequest

TINY = {
    "param_count = 7_615_616_512": "param_count = 0",
    "num_layers = 28": "num_layers = 1",
    "num_kv_heads = 4": "num_kv_heads = 1",
    "head_dim = 128": "head_dim = 1",
    "kv_dtype_bytes = 2": "kv_dtype_bytes = 1",
    "hbm_gib = 64.0": f"hbm_gib = {300 * 2 / 2**30!r}",
    "runtime_reserved_gib = 2.0": "runtime_reserved_gib = 0.0",
    "mem_fraction_static = 0.9": "mem_fraction_static = 1.0",
    "prefill_overhead_s = 0.025": "prefill_overhead_s = 0.005",
    "prefill_s_per_token = 9.8445e-5": "prefill_s_per_token = 0.0",
    "prefill_s_per_attention_pair = 2.5944e-9": "prefill_s_per_attention_pair = 0.0",
    "decode_base_s = 0.016967": "decode_base_s = 0.005",
    "decode_s_per_seq = 0.00025": "decode_s_per_seq = 0.0",
    "decode_s_per_context_token = 6.5e-8": "decode_s_per_context_token = 0.0",
}


def _tiny_profile(directory):
    text = (profiles_dir() / f"{DEFAULT_PROFILE}.toml").read_text()
    for old, new in TINY.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = directory / "tiny.toml"
    path.write_text(text)
    return load_profile(str(path))


@pytest.fixture
def tiny(tmp_path):
    return _tiny_profile(tmp_path)


@pytest.fixture(scope="module")
def tiny_profile(tmp_path_factory):
    return _tiny_profile(tmp_path_factory.mktemp("tiny"))


MS = 1_000_000
START_NS = 10**12  # the fake clock's first reading


class FakeClock:
    """Monotonic nanoseconds that pass only when the scheduler sleeps: `sleep(s)` moves the
    clock on by s (plus `oversleep_ns`, a late wake-up) and yields to the event loop once."""

    def __init__(self, oversleep_ns: int = 0):
        self.now_ns = START_NS
        self.oversleep_ns = oversleep_ns

    def __call__(self) -> int:
        return self.now_ns

    async def sleep(self, seconds: float) -> None:
        self.now_ns += round(seconds * 1e9) + (self.oversleep_ns if seconds > 0 else 0)
        await asyncio.sleep(0)


class _TimedScheduler(Scheduler):
    """Records the clock (ms since START_NS) at every token each request gets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.token_ms: dict[SimRequest, list[float]] = {}

    def _emit(self, req: SimRequest) -> None:
        super()._emit(req)
        self.token_ms.setdefault(req, []).append((self.clock() - START_NS) / MS)


def _scheduler(profile, clock: FakeClock | None = None, **kwargs) -> _TimedScheduler:
    clock = clock or FakeClock()
    return _TimedScheduler(profile, clock=clock, sleep=clock.sleep, **kwargs)


def _req(prompt: int, max_new: int, eos_at: int | None = None) -> SimRequest:
    return SimRequest(prompt, max_new, tuple(range(max_new)), eos_at=eos_at)


async def _until_done(req: SimRequest) -> None:
    while not req.done:
        await req.wakeup.wait()
        req.wakeup.clear()


async def _until(condition) -> None:
    """Yield to the scheduler until `condition()` holds (it runs on the fake clock)."""
    while not condition():
        await asyncio.sleep(0)


def _run(scheduler: Scheduler, body):
    async def main():
        task = asyncio.create_task(scheduler.run())
        try:
            return await asyncio.wait_for(body(), timeout=30)  # a bound, not a timing
        finally:
            scheduler.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return asyncio.run(main())


def test_tiny_pool_holds_exactly_300_tokens(tiny):
    assert memory_plan(tiny).kv_pool_tokens == 300


def test_request_waits_until_the_pool_can_hold_it(tiny):
    sched = _scheduler(tiny)
    first, second = _req(100, 20), _req(100, 20)  # 120 + 120 fit in 300 tokens
    third = _req(50, 20)  # 70 more would need 310: it waits for a finish

    async def body():
        for r in (first, second, third):
            sched.submit(r)
        await _until(lambda: first.generated >= 5)
        assert second.admitted and not third.admitted  # 240 of 300 tokens reserved
        await _until_done(first)
        assert third.generated == 0  # admitted only once the first one's tokens were freed
        await _until_done(third)
        return sched.used_tokens

    assert _run(sched, body) == 0
    # one prefill (5 ms) and 19 decode steps (5 ms each) for the first two, then the same
    # again for the third, started when they finished
    assert [sched.token_ms[r][-1] for r in (first, second)] == [100, 100]
    assert (sched.token_ms[third][0], sched.token_ms[third][-1]) == (105, 200)
    assert [r.generated for r in (first, second, third)] == [20, 20, 20]
    assert {r.finish_reason for r in (first, second, third)} == {"length"}


def test_a_request_larger_than_the_free_pool_queues_behind_running_ones(tiny):
    sched = _scheduler(tiny)
    running, big = _req(50, 50), _req(150, 100)  # 100 + 250 > 300

    async def body():
        sched.submit(running)
        sched.submit(big)
        await _until_done(running)
        assert big.generated == 0
        await _until_done(big)

    _run(sched, body)
    assert big.generated == 100


def test_abort_frees_the_slot_and_its_kv(tiny):
    sched = _scheduler(tiny)
    hog, waiter = _req(100, 150), _req(100, 5)

    async def body():
        sched.submit(hog)
        sched.submit(waiter)
        await _until(lambda: hog.generated >= 3)
        assert waiter.generated == 0
        sched.abort(hog)
        await _until_done(waiter)

    _run(sched, body)
    assert hog.finish_reason == "abort" and hog.generated < 150
    assert waiter.finish_reason == "length" and sched.used_tokens == 0


def test_eos_stops_early_with_reason_stop(tiny):
    sched = _scheduler(tiny)
    req = _req(10, 50, eos_at=7)

    async def body():
        sched.submit(req)
        await _until_done(req)

    _run(sched, body)
    assert (req.generated, req.finish_reason) == (7, "stop")


def test_tokens_per_chunk_wakes_the_writer_every_n_tokens(tiny):
    sched = _scheduler(tiny, tokens_per_chunk=4)
    req = _req(10, 10)
    seen = []

    async def body():
        sched.submit(req)
        while not req.done:
            await req.wakeup.wait()
            req.wakeup.clear()
            seen.append(req.generated)
            req.sent = req.generated

    _run(sched, body)
    assert seen == [4, 8, 10]


def test_each_step_lasts_what_the_profile_says_divided_by_the_speed(tiny):
    sched = _scheduler(tiny, speed=2.0)
    req = _req(10, 4)

    async def body():
        sched.submit(req)
        await _until_done(req)

    _run(sched, body)
    # a 5 ms prefill gives the first token, then one 5 ms decode step per token, halved
    assert sched.token_ms[req] == [2.5, 5.0, 7.5, 10.0]
    assert sched.steps == 4 and sched.late_ns_max == 0


def test_late_steps_do_not_push_the_next_ones_back(tiny):
    # every sleep wakes 1 ms late: steps still end on their absolute deadlines (+1 ms),
    # never 1 ms later each time
    sched = _scheduler(tiny, FakeClock(oversleep_ns=MS))
    req = _req(10, 6)

    async def body():
        sched.submit(req)
        await _until_done(req)

    _run(sched, body)
    assert sched.token_ms[req] == [6.0, 11.0, 16.0, 21.0, 26.0, 31.0]
    assert sched.late_ns_max == MS


def test_time_starts_when_the_request_reached_the_server(tiny):
    # a request that reached the server at 1 ms and was submitted at 3 ms (its handler
    # parsed and tokenized it meanwhile) has its first token at 1 + 5 ms
    clock = FakeClock()
    sched = _scheduler(tiny, clock)
    req = _req(10, 2)

    async def body():
        await asyncio.sleep(0)  # the scheduler started at 0 ms and waits for work
        clock.now_ns += 3 * MS
        req.ready_ns = START_NS + MS
        sched.submit(req)
        await _until_done(req)

    _run(sched, body)
    assert sched.token_ms[req] == [6.0, 11.0]


class _CheckedScheduler(Scheduler):
    """Asserts the pool and slot invariants every time it admits work."""

    def _plan_prefill(self):
        plan = super()._plan_prefill()
        assert 0 <= self.used_tokens <= self.pool_tokens
        admitted = len(self.running) + sum(1 for r in self.waiting if r.admitted)
        assert admitted <= self.max_running
        return plan


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 120), st.integers(1, 40), st.booleans()), min_size=1, max_size=8
    )
)
def test_any_mix_of_requests_completes_exactly_within_the_pool(tiny_profile, mix):
    clock = FakeClock()
    sched = _CheckedScheduler(tiny_profile, clock=clock, sleep=clock.sleep)
    reqs = [_req(p, n, eos_at=max(1, n // 2) if eos else None) for p, n, eos in mix]

    async def body():
        for r in reqs:
            sched.submit(r)
        for r in reqs:
            await _until_done(r)

    _run(sched, body)
    for req in reqs:
        assert req.generated == req.target and req.finish_reason in ("length", "stop")
    assert sched.used_tokens == 0 and not sched.running and not sched.waiting
