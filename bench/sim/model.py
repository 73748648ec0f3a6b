"""The simulator's performance model: pure functions, profile in, sizes and durations out.

Memory follows SGLang 0.5.3's `ModelRunner.profile_max_num_token`, on one rank of the
tensor-parallel group (every rank holds the same): the KV pool gets what is left of
`total x mem_fraction_static` after the rank's share of the weights (weights / tp) and the
runtime's own reservation, divided by the rank's KV bytes per token (its `max(1, kv_heads //
tp)` heads). Time follows the profile's cost model, the work split over `tp` ranks:

    prefill(T new tokens, A pairs) = prefill_overhead_s + (T x prefill_s_per_token
                                     + A x prefill_s_per_attention_pair) / tp + allreduce(T)
    decode_step(B requests, C ctx) = decode_base_s / tp + B x decode_s_per_seq
                                     + C x decode_s_per_context_token / tp + allreduce(B)
    allreduce(n tokens)            = 0 at tp 1, else 2 x layers x (allreduce_s
                                     + n x hidden x 2 B x 2 (tp - 1) / tp / allreduce_bytes_per_s)

(two all-reduces per layer, after attention and after the MLP, each a ring all-reduce of
the step's activations). A is the causal attention's (query, key) pairs of the step: n new
tokens of a request whose first c tokens are already in the KV cache (an earlier chunk, or a
cached prefix) attend to c + 1 ... c + n keys, n x c + n x (n + 1) / 2 pairs, so a prompt's
prefill grows with the square of its length (bench.roofline counts the same FLOPs).
Per-step overheads (launch, sampling, scheduling, per request) do not shrink with tp.
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
    """One rank's memory (each rank of the tensor-parallel group holds the same).

    `max_running_requests` as SGLang's `TpModelWorker`: the launch flag when given (it also
    sizes the request pool), else min(pool tokens // 2, req_to_token_pool size)."""
    tp = profile.server.tp_size
    total = profile.device.hbm_gib
    before = total - profile.device.runtime_reserved_gib
    weights = profile.model.weight_bytes / tp / GIB
    after = before - weights
    rest = after - total * (1 - profile.server.mem_fraction_static)
    cell = profile.model.kv_bytes_per_token_per_rank(tp)
    tokens = int(rest * GIB // cell) if rest > 0 else 0
    half = tokens * cell / 2 / GIB
    ctx = profile.model.context_length
    given = profile.server.max_running_requests
    req_pool = given if given is not None else min(max(int(tokens / ctx * 512), 2048), 4096)
    running = given if given is not None else min(tokens // 2, req_pool)
    return MemoryPlan(
        total_gib=total,
        avail_before_weights_gib=before,
        weights_gib=weights,
        avail_after_weights_gib=after,
        kv_pool_tokens=tokens,
        k_gib=half,
        v_gib=half,
        avail_after_pool_gib=after - 2 * half,
        max_running_requests=running,
        max_req_input_len=min(ctx - 1, tokens - 1),
    )


def allreduce_s(profile: SimProfile, tokens: int) -> float:
    """Tensor-parallel communication of one step over `tokens` tokens (0 at tp 1)."""
    tp = profile.server.tp_size
    if tp <= 1:
        return 0.0
    t = profile.timing
    ring_bytes = tokens * profile.model.hidden_size * 2 * 2 * (tp - 1) / tp
    return 2 * profile.model.num_layers * (t.allreduce_s + ring_bytes / t.allreduce_bytes_per_s)


def attention_pairs(context: int, new: int) -> int:
    """Causal (query, key) pairs of `new` tokens after `context` tokens already cached."""
    return new * context + new * (new + 1) // 2


def prefill_s(profile: SimProfile, new_tokens: int, pairs: int = 0) -> float:
    """Duration of one prefill step over `new_tokens` prompt tokens with `pairs` attention
    pairs (all requests of the step)."""
    t = profile.timing
    tp = profile.server.tp_size
    return (
        t.prefill_overhead_s
        + (new_tokens * t.prefill_s_per_token + pairs * t.prefill_s_per_attention_pair) / tp
        + allreduce_s(profile, new_tokens)
    )


def decode_step_s(profile: SimProfile, batch: int, context_tokens: int) -> float:
    """Duration of one decode step: `batch` requests holding `context_tokens` KV tokens in all."""
    t = profile.timing
    tp = profile.server.tp_size
    return (
        t.decode_base_s / tp
        + batch * t.decode_s_per_seq
        + context_tokens * t.decode_s_per_context_token / tp
        + allreduce_s(profile, batch)
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
