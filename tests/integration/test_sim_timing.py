"""At speed 1 the default profile reproduces its own latencies, seen by an outside client.

The client here is raw aiohttp, not the kit's: TTFT from just before the send to the first
content chunk, TPOT = (last - first content chunk) / (N - 1).
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from bench.sim import DEFAULT_PROFILE
from bench.sim.config import SimConfig
from bench.sim.model import single_request_latency
from bench.sim.profile import load_profile
from bench.sim.server import SimServer

PROMPT_TOKENS = 4096
OUTPUT_TOKENS = 512


async def _measure(url: str) -> tuple[float, float, int]:
    body = {
        "model": "m",
        "prompt": " model" * PROMPT_TOKENS,
        "max_tokens": OUTPUT_TOKENS,
        "ignore_eos": True,
        "stream": True,
    }
    times = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        start = time.perf_counter()
        async with session.post(url + "/v1/completions", json=body) as resp:
            assert resp.status == 200
            async for line in resp.content:
                line = line.strip()
                if not line.startswith(b"data: {"):
                    continue
                if json.loads(line[6:])["choices"][0]["text"]:
                    times.append(time.perf_counter())
    ttft = times[0] - start
    tpot = (times[-1] - times[0]) / (len(times) - 1)
    return ttft, tpot, len(times)


@pytest.mark.slow
def test_batch1_ttft_and_tpot_within_5_percent_at_speed_1():
    profile = load_profile(DEFAULT_PROFILE)
    want_ttft, want_tpot = single_request_latency(profile, PROMPT_TOKENS, OUTPUT_TOKENS)
    with SimServer(SimConfig(speed=1.0)) as sim:
        ttft, tpot, n = asyncio.run(_measure(sim.base_url))
    assert n == OUTPUT_TOKENS
    assert ttft == pytest.approx(want_ttft, rel=0.05)
    assert tpot == pytest.approx(want_tpot, rel=0.05)
    # and so the article's figures, which the profile is calibrated to
    assert ttft == pytest.approx(0.45, rel=0.05)
    assert tpot * 1000 == pytest.approx(17.5, rel=0.05)
