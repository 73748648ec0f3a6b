"""The scheduler with its radix cache: a cached prefix skips its prefill, pages stay while
the pool has room, and eviction makes room for new requests. On a fake clock, exactly.

The profile: 1 ms per prompt token and 1 us per attention pair on top of a 5 ms step, a
1,000-token KV pool, decode steps of 5 ms; pages of 128 tokens, as SGLang's on Ascend.
"""

from __future__ import annotations

import pytest

from bench.sim import model
from bench.sim.scheduler import Scheduler, SimRequest
from tests.unit.test_sim_scheduler import (
    MS,
    START_NS,
    FakeClock,
    _run,
    _tiny_profile,
    _until,
    _until_done,
)

POOL = 1000
PER_TOKEN_MS = 1.0
PER_PAIR_MS = 0.001


@pytest.fixture
def profile(tmp_path):
    tiny = _tiny_profile(tmp_path)
    text = (tmp_path / "tiny.toml").read_text()
    text = text.replace(f"hbm_gib = {300 * 2 / 2**30!r}", f"hbm_gib = {POOL * 2 / 2**30!r}")
    text = text.replace("prefill_s_per_token = 0.0", f"prefill_s_per_token = {PER_TOKEN_MS / 1000}")
    text = text.replace(
        "prefill_s_per_attention_pair = 0.0", f"prefill_s_per_attention_pair = {PER_PAIR_MS / 1000}"
    )
    path = tmp_path / "cached.toml"
    path.write_text(text)
    from bench.sim.profile import load_profile

    assert tiny.timing.prefill_s_per_token == 0.0
    return load_profile(str(path))


class Timed(Scheduler):
    """Notes the clock (ms since START_NS) at each request's first token."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_ms: dict[SimRequest, float] = {}
        self.checked = 0

    def _emit(self, req):
        if req.generated == 0:
            self.first_ms[req] = (self.clock() - START_NS) / MS
        super()._emit(req)

    def _plan_prefill(self):
        plan = super()._plan_prefill()
        assert self.used_tokens >= 0
        assert self.used_tokens + self.cache.tokens <= self.pool_tokens
        assert 0 <= self.cache.evictable_tokens <= self.cache.tokens
        self.checked += 1
        return plan


def sched(profile, **kwargs) -> Timed:
    clock = FakeClock()
    return Timed(profile, clock=clock, sleep=clock.sleep, **kwargs)


def req(prompt_ids, max_new=2) -> SimRequest:
    ids = tuple(prompt_ids)
    return SimRequest(len(ids), max_new, tuple(range(max_new)), prompt_ids=ids)


def one_after_the_other(s: Scheduler, *requests: SimRequest) -> None:
    """Run each request to its end before submitting the next."""

    async def body():
        for r in requests:
            s.submit(r)
            await _until_done(r)

    _run(s, body)


PREFIX = tuple(range(1000, 1260))  # 260 shared tokens: two full pages of 128


def prompt(tail: int, n: int = 40) -> tuple[int, ...]:
    return PREFIX + tuple(range(tail * 100, tail * 100 + n))


def prefill_ms(context: int, new: int) -> float:
    return 5 + new * PER_TOKEN_MS + model.attention_pairs(context, new) * PER_PAIR_MS


def test_a_cached_prefix_skips_its_prefill_and_is_reported(profile):
    s = sched(profile)
    first, second = req(prompt(1)), req(prompt(2))

    one_after_the_other(s, first, second)
    assert (first.cached_tokens, second.cached_tokens) == (0, 256)
    assert s.first_ms[first] == pytest.approx(prefill_ms(0, 300))
    done = prefill_ms(0, 300) + 5  # its one decode step
    assert s.first_ms[second] - done == pytest.approx(prefill_ms(256, 44))  # 44 new tokens
    assert (s.prompt_tokens_total, s.cached_tokens_total) == (600, 256)
    # two full pages of the shared prefix; neither prompt has a third full page
    assert s.used_tokens == 0 and s.cache.tokens == 2 * 128


def test_requests_prefilled_in_the_same_step_both_miss(profile):
    s = sched(profile)
    a, b = req(prompt(1)), req(prompt(2))

    async def body():
        s.submit(a)
        s.submit(b)
        await _until_done(a)
        await _until_done(b)

    _run(s, body)
    assert (a.cached_tokens, b.cached_tokens) == (0, 0)  # FCFS: no in-batch sharing


def test_a_request_arriving_while_its_group_decodes_hits(profile):
    # the prompt's pages are cached when its prefill ends (cache_unfinished_req), not at the end
    s = sched(profile)
    long_one, later = req(prompt(1), max_new=50), req(prompt(2))

    async def body():
        s.submit(long_one)
        await _until(lambda: long_one.generated >= 3)
        s.submit(later)
        await _until_done(later)
        assert not long_one.done

    _run(s, body)
    assert later.cached_tokens == 256


def test_disabled_the_radix_cache_changes_nothing(profile):
    s = sched(profile, radix_cache=False)
    first, second = req(prompt(1)), req(prompt(2))

    one_after_the_other(s, first, second)
    assert second.cached_tokens == 0 and s.cache.tokens == 0
    assert s.first_ms[second] - s.first_ms[first] == pytest.approx(5 + prefill_ms(0, 300))


def test_pages_stay_while_the_pool_has_room_and_the_oldest_go_first(profile):
    s = sched(profile)
    olds = [req(tuple(range(k * 1000, k * 1000 + 300))) for k in (1, 2, 3)]
    big = req(tuple(range(9000, 9500)), max_new=10)  # needs 510 of the 1,000 tokens

    async def body():
        for r in olds:  # one after the other: 3 x 256 cached tokens (prompt + 1 output)
            s.submit(r)
            await _until_done(r)
        assert s.cache.tokens == 768
        s.submit(big)
        await _until_done(big)
        again = [req(r.prompt_ids) for r in olds]
        for r in reversed(again):
            s.submit(r)
            await _until_done(r)
        return again

    first_again, second_again, third_again = _run(s, body)
    # 510 needed, 232 free: 278 to evict, a page at a time, least recently used first: the
    # oldest prompt's two pages, then the second one's last page (384 >= 278)
    assert third_again.cached_tokens == 256
    assert (first_again.cached_tokens, second_again.cached_tokens) == (0, 128)
    assert s.checked > 0 and s.used_tokens == 0


def test_a_request_that_no_eviction_can_fit_waits(profile):
    s = sched(profile)
    holder = req(tuple(range(600)), max_new=200)  # 800 of 1,000 held while it runs
    waiter = req(tuple(range(5000, 5300)))

    async def body():
        s.submit(holder)
        await _until(lambda: holder.generated >= 2)
        s.submit(waiter)
        await _until(lambda: holder.generated >= 20)
        assert not waiter.admitted  # 302 > 200 free, and no cached page is unheld
        await _until_done(waiter)

    _run(s, body)
    assert holder.done and waiter.finish_reason == "length"


def test_flush_refuses_while_requests_run_and_empties_the_cache_when_idle(profile):
    s = sched(profile)
    first = req(prompt(1), max_new=30)

    async def body():
        s.submit(first)
        await _until(lambda: first.generated >= 2)
        assert s.flush_cache() is False and s.cache.tokens > 0
        await _until_done(first)
        assert s.flush_cache() is True and s.cache.tokens == 0
        again = req(prompt(2))
        s.submit(again)
        await _until_done(again)
        return again

    assert _run(s, body).cached_tokens == 0


def test_the_prefill_log_and_the_hit_rate_count_the_cached_tokens(profile):
    s = sched(profile)
    lines = []
    s.log = lines.append
    first, second = req(prompt(1)), req(prompt(2))

    one_after_the_other(s, first, second)
    prefills = [line for line in lines if line.startswith("Prefill batch.")]
    assert "#new-token: 300, #cached-token: 0," in prefills[0]
    assert "#new-token: 44, #cached-token: 256," in prefills[1]
    assert s.last_cache_hit_rate == 256 / 300
