"""What the simulated server says about itself: SGLang's startup log and /get_server_info.

Log lines copy SGLang 0.5.3's format (`model_runner.py`, `memory_pool.py`, `scheduler.py`),
with its "GB" meaning GiB, so the kit's memory parser reads them as it reads SGLang's.
"""

from __future__ import annotations

import time

from bench import __version__
from bench.sim.model import MemoryPlan
from bench.sim.profile import SimProfile
from bench.sim.radix import PAGE_SIZE


def log_prefix(now: float | None = None, dp_rank: int | None = None) -> str:
    """SGLang's `[date time TP0] ` prefix; `[date time DP1 TP0] ` for a data-parallel rank."""
    now = time.time() if now is None else now
    dp = "" if dp_rank is None else f" DP{dp_rank}"
    return "[" + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + dp + " TP0] "


def startup_log_lines(profile: SimProfile, plan: MemoryPlan, now: float | None = None) -> list[str]:
    """The start-up lines; with dp_size > 1 every replica logs its own memory lines, each
    behind its `DPn` tag (as SGLang's schedulers do), all replicas alike."""
    p = log_prefix(now)
    s = profile.server
    m = profile.model
    dp = s.dp_size
    memory = []
    for rank in range(dp) if dp > 1 else (None,):
        r = log_prefix(now, rank)
        memory += [
            f"{r}Load weight begin. avail mem={plan.avail_before_weights_gib:.2f} GB",
            f"{r}Load weight end. type={m.architecture}, dtype=torch.{m.dtype}, "
            f"avail mem={plan.avail_after_weights_gib:.2f} GB, "
            f"mem usage={plan.weights_gib:.2f} GB.",
            f"{r}KV Cache is allocated. #tokens: {plan.kv_pool_tokens}, "
            f"K size: {plan.k_gib:.2f} GB, V size: {plan.v_gib:.2f} GB",
            f"{r}Memory pool end. avail mem={plan.avail_after_pool_gib:.2f} GB",
        ]
    return [
        f"{p}Simulated server (bench.sim {__version__}), profile {profile.name}: "
        "every number below is simulated.",
        *memory,
        f"{p}max_total_num_tokens={plan.kv_pool_tokens}, "
        f"chunked_prefill_size={s.chunked_prefill_size}, "
        f"max_prefill_tokens={s.max_prefill_tokens}, "
        f"max_running_requests={plan.max_running_requests}, "
        f"context_len={m.context_length}, available_gpu_mem={plan.avail_after_pool_gib:.2f} GB",
    ]


def ready_log_line(host: str, port: int, now: float | None = None) -> str:
    p = log_prefix(now)
    return f"{p}The server is fired up and ready to roll! (http://{host}:{port})"


def server_args(
    profile: SimProfile,
    *,
    host: str,
    port: int,
    seed: int,
    tokenizer_path: str,
    disable_radix_cache: bool = False,
) -> dict:
    """The launch arguments SGLang would report (a subset of its `ServerArgs`)."""
    s = profile.server
    m = profile.model
    return {
        "model_path": s.model_path or m.served_model_name,
        "tokenizer_path": tokenizer_path,
        "served_model_name": m.served_model_name,
        "host": host,
        "port": port,
        "dtype": "auto",
        "kv_cache_dtype": "auto",
        "context_length": None,
        "device": "npu",
        "attention_backend": s.attention_backend,
        "mem_fraction_static": s.mem_fraction_static,
        "max_running_requests": s.max_running_requests,
        "max_queued_requests": None,
        "chunked_prefill_size": s.chunked_prefill_size,
        "max_prefill_tokens": s.max_prefill_tokens,
        "schedule_policy": "fcfs",
        "tp_size": s.tp_size,
        "dp_size": s.dp_size,
        "pp_size": 1,
        "random_seed": seed,
        "enable_mixed_chunk": False,
        "disable_radix_cache": disable_radix_cache,
        "page_size": PAGE_SIZE,  # forced by SGLang's Ascend attention backend
        "enable_cache_report": True,  # cached tokens in usage.prompt_tokens_details
        "stream_interval": 1,
    }


def server_args_log_line(args: dict, now: float | None = None) -> str:
    """SGLang's first log line: `server_args=ServerArgs(model_path='...', ...)`."""
    body = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"{log_prefix(now)}server_args=ServerArgs({body})"


def server_info(
    profile: SimProfile,
    plan: MemoryPlan,
    *,
    host: str,
    port: int,
    seed: int,
    speed: float,
    tokenizer_path: str,
    last_gen_throughput: float,
    disable_radix_cache: bool = False,
) -> dict:
    """`/get_server_info`: server args, scheduler info, internal states and version."""
    s = profile.server
    args = server_args(
        profile,
        host=host,
        port=port,
        seed=seed,
        tokenizer_path=tokenizer_path,
        disable_radix_cache=disable_radix_cache,
    )
    internal = {
        "last_gen_throughput": last_gen_throughput,
        "memory_usage": {
            "weight": round(plan.weights_gib, 2),
            "kvcache": round(plan.k_gib + plan.v_gib, 2),
            "token_capacity": plan.kv_pool_tokens,
            "graph": 0.0,
        },
    }
    return {
        **args,
        "max_total_num_tokens": plan.kv_pool_tokens,
        "max_req_input_len": plan.max_req_input_len,
        "internal_states": [internal] * s.dp_size,  # one per data-parallel rank
        "version": s.sglang_version,
        # Not in SGLang: how a client knows these numbers are simulated.
        "simulated": True,
        "simulator": {
            "name": "bench.sim",
            "kit_version": __version__,
            "profile": profile.name,
            "profile_file": profile.source,
            "speed": speed,
            "seed": seed,
            "device_name": profile.device.name,
            "hbm_gib": profile.device.hbm_gib,
        },
    }
