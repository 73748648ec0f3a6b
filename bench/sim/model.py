"""The simulator's performance model: pure functions, profile in, sizes and durations out.

Memory follows SGLang 0.5.3's `ModelRunner.profile_max_num_token`: the KV pool gets what is
left of `total x mem_fraction_static` after the weights (and the runtime's own reservation),
divided by the KV bytes per token. Time follows the profile's cost model:

    prefill(T new tokens, A pairs) = prefill_overhead_s + T x prefill_s_per_token
                                     + A x prefill_s_per_attention_pair
    decode_step(B requests, C ctx) = decode_base_s + B x decode_s_per_seq
                                     + C x decode_s_per_context_token

A is the causal attention's (query, key) pairs of the step: n new tokens of a request
whose first c tokens are already in the KV cache (an earlier chunk, or a cached prefix)
attend to c + 1 ... c + n keys, n x c + n x (n + 1) / 2 pairs, so a prompt's prefill
grows with the square of its length (bench.roofline counts the same FLOPs).

Durations are float seconds; the scheduler converts them to integer nanoseconds once.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.sim.profile import SimProfile
from bench.units import GIB


@dataclass(frozen=True)
class MemoryPlan:
    """What SGLang would allocate at startup, in GiB ("GB" in its log) and tokens."""

    total_gib: float
    avail_before_weights_gib: float
    weights_gib: float
    avail_after_weights_gib: float
    kv_pool_tokens: int  # max_total_num_tokens
    k_gib: float
    v_gib: float
    avail_after_pool_gib: float
    max_running_requests: int
    max_req_input_len: int


def memory_plan(profile: SimProfile) -> MemoryPlan:
    total = profile.device.hbm_gib
    before = total - profile.device.runtime_reserved_gib
    weights = profile.model.weight_bytes / GIB
    after = before - weights
    rest = after - total * (1 - profile.server.mem_fraction_static)
    cell = profile.model.kv_bytes_per_token
    tokens = int(rest * GIB // cell) if rest > 0 else 0
    half = tokens * cell / 2 / GIB
    ctx = profile.model.context_length
    req_pool = min(max(int(tokens / ctx * 512), 2048), 4096)
    return MemoryPlan(
        total_gib=total,
        avail_before_weights_gib=before,
        weights_gib=weights,
        avail_after_weights_gib=after,
        kv_pool_tokens=tokens,
        k_gib=half,
        v_gib=half,
        avail_after_pool_gib=after - 2 * half,
        max_running_requests=min(tokens // 2, req_pool),
        max_req_input_len=min(ctx - 1, tokens - 1),
    )


def attention_pairs(context: int, new: int) -> int:
    """Causal (query, key) pairs of `new` tokens after `context` tokens already cached."""
    return new * context + new * (new + 1) // 2


def prefill_s(profile: SimProfile, new_tokens: int, pairs: int = 0) -> float:
    """Duration of one prefill step over `new_tokens` prompt tokens with `pairs` attention
    pairs (all requests of the step)."""
    t = profile.timing
    return (
        t.prefill_overhead_s
        + new_tokens * t.prefill_s_per_token
        + pairs * t.prefill_s_per_attention_pair
    )


def decode_step_s(profile: SimProfile, batch: int, context_tokens: int) -> float:
    """Duration of one decode step: `batch` requests holding `context_tokens` KV tokens in all."""
    t = profile.timing
    return (
        t.decode_base_s + batch * t.decode_s_per_seq + context_tokens * t.decode_s_per_context_token
    )


def single_request_latency(
    profile: SimProfile, prompt_tokens: int, output_tokens: int
) -> tuple[float, float]:
    """(TTFT s, TPOT s) of one request alone on the server, as the scheduler will produce them.

    The first token ends the prefill; token k (k >= 2) ends a decode step whose context is
    the prompt plus the k - 1 tokens already generated, so the mean context is P + N/2.
    Prompts longer than `chunked_prefill_size` prefill in several steps, each with overhead.
    """
    chunk = profile.server.chunked_prefill_size
    ttft = 0.0
    done = 0
    while done < prompt_tokens:
        step = min(chunk, prompt_tokens - done)
        ttft += prefill_s(profile, step, attention_pairs(done, step))
        done += step
    if output_tokens <= 1:
        return ttft, 0.0
    steps = [decode_step_s(profile, 1, prompt_tokens + k) for k in range(1, output_tokens)]
    return ttft, sum(steps) / len(steps)
