"""Data parallelism on the simulator: `--dp-size N` replicas, requests dealt round-robin.

The tiny profile of test_sim_scheduler (a 300-token KV pool, 5 ms per step) makes the
effect hand-checkable: four requests of 150 reserved tokens fit two at a time in one pool,
so one engine needs two waves, and two replicas (a pool each) need one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import pytest

from bench.errors import UsageError
from bench.memory.server_log import parse_server_log
from bench.sim.dp import DataParallelScheduler, make_scheduler
from bench.sim.launch import LaunchFlags, configure
from bench.sim.model import memory_plan
from bench.sim.profile import load_profile
from bench.sim.scheduler import Scheduler
from bench.sim.startup import server_info, startup_log_lines
from tests.unit.test_sim_scheduler import (
    MS,
    START_NS,
    FakeClock,
    _req,
    _tiny_profile,
    _until_done,
)


@pytest.fixture
def tiny_profile(tmp_path):
    return _tiny_profile(tmp_path)


def _with_dp(profile, dp: int):
    return dataclasses.replace(profile, server=dataclasses.replace(profile.server, dp_size=dp))


def _drive(scheduler, clocks, requests) -> list[float]:
    """Run the scheduler until every request is done; each replica's clock in ms."""

    async def main():
        task = asyncio.create_task(scheduler.run())
        try:
            for req in requests:
                scheduler.submit(req)
            await asyncio.wait_for(asyncio.gather(*(_until_done(r) for r in requests)), 30)
        finally:
            scheduler.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return [(c() - START_NS) / MS for c in clocks]

    return asyncio.run(main())


def test_dp_size_1_is_the_plain_scheduler(tiny_profile):
    assert type(make_scheduler(tiny_profile)) is Scheduler
    assert isinstance(make_scheduler(_with_dp(tiny_profile, 2)), DataParallelScheduler)


def test_requests_are_dealt_round_robin_and_each_replica_has_its_own_pool(tiny_profile):
    one_clock = FakeClock()
    single = Scheduler(tiny_profile, clock=one_clock, sleep=one_clock.sleep)
    (single_ms,) = _drive(single, [one_clock], [_req(100, 50) for _ in range(4)])

    dp = make_scheduler(_with_dp(tiny_profile, 2))
    clocks = [FakeClock(), FakeClock()]  # two NPU groups: each keeps its own time
    for replica, clock in zip(dp.replicas, clocks, strict=True):
        replica.clock, replica.sleep = clock, clock.sleep
    requests = [_req(100, 50) for _ in range(4)]
    dealt = []
    for replica in dp.replicas:  # record which replica each request went to
        original = replica.submit
        replica.submit = lambda req, original=original, r=replica: (
            dealt.append(dp.replicas.index(r)),
            original(req),
        )
    replica_ms = _drive(dp, clocks, requests)

    assert dealt == [0, 1, 0, 1]
    assert dp.pool_tokens == 300  # one replica's pool bounds one request
    # one prefill step (5 ms) and 49 decode steps (5 ms each) per wave
    assert replica_ms == [250.0, 250.0]
    assert single_ms == 500.0  # the single pool holds two requests at a time: two waves


def test_abort_frees_the_request_on_its_own_replica(tiny_profile):
    dp = make_scheduler(_with_dp(tiny_profile, 2))
    a, b = _req(100, 50), _req(100, 50)
    dp.submit(a)
    dp.submit(b)
    dp.abort(b)
    assert b.finish_reason == "abort" and a.finish_reason is None
    assert not dp.replicas[1].waiting and [r for r in dp.waiting] == [a]


def test_tp_times_dp_beyond_the_host_is_refused_and_dp_shows_in_what_the_server_says():
    profile = load_profile()  # the article's Atlas 800T A2 (8 NPUs) with Qwen2-7B
    with pytest.raises(UsageError, match=r"--tp-size 4 x --dp-size 4 needs 16 NPUs; one .* has 8"):
        configure(profile, LaunchFlags(tp_size=4, dp_size=4))
    with pytest.raises(UsageError, match="--dp-size must be >= 1"):
        LaunchFlags(dp_size=0)
    launched = configure(profile, LaunchFlags(tp_size=2, dp_size=4))
    plan = memory_plan(launched)
    assert plan == memory_plan(configure(profile, LaunchFlags(tp_size=2)))  # per rank
    info = server_info(launched, plan, host="h", port=1, seed=1, speed=1.0,
                       tokenizer_path="t", last_gen_throughput=0.0)  # fmt: skip
    assert (info["tp_size"], info["dp_size"], len(info["internal_states"])) == (2, 4, 4)
    log = parse_server_log("\n".join(startup_log_lines(launched, plan)))
    assert [(r.dp_rank, r.rank) for r in log.ranks] == [(0, 0), (1, 0), (2, 0), (3, 0)]
    assert {r.weights_gib for r in log.ranks} == {round(plan.weights_gib, 2)}
    assert not log.notes  # four replicas, not one rank loading four times


def test_the_log_parser_keeps_dp_and_tp_ranks_apart():
    lines = [
        f"[2025-01-23 19:35:20 DP{dp} TP{tp}] Load weight end. type=Qwen2ForCausalLM, "
        "avail mem=40.00 GB, mem usage=7.10 GB."
        for dp in range(2)
        for tp in range(2)
    ]
    lines.append("[2025-01-23 19:35:21 DP1] KV Cache is allocated. #tokens: 1000, K size: "
                 "1.00 GB, V size: 1.00 GB")  # fmt: skip
    log = parse_server_log("\n".join(lines))
    assert [(r.dp_rank, r.rank, r.weights_gib) for r in log.ranks] == [
        (0, 0, 7.1), (0, 1, 7.1), (1, 0, 7.1), (1, 1, 7.1)
    ]  # fmt: skip
    assert log.ranks[2].kv_cache_gib == 2.0  # `DP1` alone is DP1's TP rank 0
    assert log.notes == ()


def test_flush_empties_every_replicas_cache_and_only_when_all_are_idle(tiny_profile):
    dp = make_scheduler(_with_dp(tiny_profile, 2))
    for replica in dp.replicas:
        replica.cache.insert(range(2 * replica.cache.page_size))
    assert all(r.cache.tokens > 0 for r in dp.replicas)
    busy = _req(100, 50)
    dp.replicas[1].waiting.append(busy)  # one replica has work: the server refuses
    assert dp.flush_cache() is False
    assert all(r.cache.tokens > 0 for r in dp.replicas)
    dp.replicas[1].waiting.remove(busy)
    assert dp.flush_cache() is True
    assert [r.cache.tokens for r in dp.replicas] == [0, 0]


def test_the_cache_hit_gauge_averages_the_replicas(tiny_profile):
    dp = make_scheduler(_with_dp(tiny_profile, 2))
    dp.replicas[0].last_cache_hit_rate, dp.replicas[1].last_cache_hit_rate = 0.5, 0.0
    assert dp.last_cache_hit_rate == 0.25
