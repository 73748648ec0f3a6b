"""Print the simulator's calibration: batch-1 latency and the batch curve (all simulated).

    python -m bench.sim.calibrate [--profile NAME|PATH] [--speed 5] [--prompts 200]

Batch 1 comes from the pure model. The curve drives an in-process simulator with raw
aiohttp streams: `--prompts` completion requests with prompt lengths uniform in [20, 450]
and outputs uniform in [20, 400] tokens (ShareGPT-like, seeded), Poisson arrivals at
1, 4 and 16 requests/s and all at once, as in the vLLM-Ascend points the profile is set
against. Times are measured at `--speed` and scaled back to simulated seconds. Client and
server share this process, so keep speed x output tok/s well under the simulator's capacity;
the worst lateness of a scheduler step is printed so a run that fell behind shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import aiohttp

from bench.sim import DEFAULT_PROFILE
from bench.sim.config import SimConfig
from bench.sim.model import single_request_latency
from bench.sim.profile import load_profile
from bench.sim.server import SimServer


async def _one(session, url: str, prompt: int, output: int, delay_s: float):
    await asyncio.sleep(delay_s)
    body = {
        "model": "m",
        "prompt": " model" * prompt,
        "max_tokens": output,
        "ignore_eos": True,
        "stream": True,
    }
    start = time.perf_counter()
    times = []
    async with session.post(url + "/v1/completions", json=body) as resp:
        async for line in resp.content:
            if line.startswith(b"data: {") and b'"text":""' not in line:
                times.append(time.perf_counter())
    return start, times


async def _curve_point(url: str, rate: float, prompts: int, speed: float, seed: int) -> dict:
    rng = random.Random(seed)
    timeout = aiohttp.ClientTimeout(total=3600)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:
        t = 0.0
        jobs = []
        for _ in range(prompts):
            jobs.append(_one(session, url, rng.randint(20, 450), rng.randint(20, 400), t / speed))
            if rate:
                t += rng.expovariate(rate)
        begin = time.perf_counter()
        results = await asyncio.gather(*jobs)
        duration = (time.perf_counter() - begin) * speed
    tokens = sum(len(times) for _, times in results)
    tpots = [(ts[-1] - ts[0]) / (len(ts) - 1) * speed for _, ts in results if len(ts) > 1]
    ttfts = [(ts[0] - start) * speed for start, ts in results]
    return {
        "rate": rate or "all at once",
        "output_tok_s": tokens / duration,
        "mean_tpot_ms": 1000 * sum(tpots) / len(tpots),
        "mean_ttft_ms": 1000 * sum(ttfts) / len(ttfts),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=DEFAULT_PROFILE)
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    cal = profile.calibration
    ttft, tpot = single_request_latency(profile, cal.ttft_prompt_tokens, cal.tpot_output_tokens)
    print(f"profile {profile.name} (every number below is simulated)")
    print(
        f"batch 1: TTFT {ttft:.3f} s at {cal.ttft_prompt_tokens} prompt tokens "
        f"(target {cal.ttft_s}), TPOT {tpot * 1000:.2f} ms (target {cal.tpot_ms})"
    )
    print("| request rate | output tok/s | mean TPOT ms | mean TTFT ms | worst step lag ms |")
    print("|---|---|---|---|---|")
    # Every prompt here repeats one word, so the prefix cache is off: the ShareGPT prompts
    # the curve is set against share no prefix.
    config = SimConfig(profile=args.profile, speed=args.speed, disable_radix_cache=True)
    with SimServer(config) as sim:
        for rate in (1.0, 4.0, 16.0, 0.0):
            sim.state.scheduler.late_ns_max = 0
            p = asyncio.run(_curve_point(sim.base_url, rate, args.prompts, args.speed, args.seed))
            lag_ms = sim.state.scheduler.late_ns_max / 1e6
            print(
                f"| {p['rate']} | {p['output_tok_s']:.0f} | {p['mean_tpot_ms']:.1f} | "
                f"{p['mean_ttft_ms']:.0f} | {lag_ms:.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
