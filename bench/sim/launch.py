"""SGLang's launch flags on the simulator: one command template drives both.

`bench sim` takes `--tp-size`, `--mem-fraction-static`, `--max-running-requests`,
`--chunked-prefill-size`, `--max-prefill-tokens` and `--model-path` as
`sglang.launch_server` spells them (SGLang 0.5.3's `server_args.py`), and each changes the
simulated engine as SGLang's would:

- `mem_fraction_static` sizes the KV pool (`bench.sim.model.memory_plan`);
- `max_running_requests` caps admission (and sizes the request pool, as in SGLang's
  `ModelRunner.init_memory_pool`);
- `chunked_prefill_size` and `max_prefill_tokens` bound each prefill step;
- `tp_size` splits weights, KV heads and per-step work over that many NPUs (the model's
  docstring says how), refused as SGLang refuses it: the attention heads must divide by it,
  and the KV heads must divide by it or it by them (SGLang's Qwen2 attention asserts both);
- `dp_size` runs that many replicas of the engine, each on its own tp_size NPUs with its
  own KV pool and batch, behind a round-robin router (`bench.sim.dp`: SGLang's data-parallel
  controller with its default `--load-balance-method round_robin`); one host cannot give
  more than its NPUs to tp_size x dp_size;
- `model_path` is accepted and reported (the simulated model is the profile's).

A setting that leaves no memory for the KV pool is refused at start, as SGLang refuses it
("Not enough memory. Please try to increase --mem-fraction-static.").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bench.errors import UsageError
from bench.sim.profile import SimProfile


@dataclass(frozen=True)
class LaunchFlags:
    """SGLang launch flags given to `bench sim`; None keeps the profile's value."""

    tp_size: int | None = None
    dp_size: int | None = None
    mem_fraction_static: float | None = None
    max_running_requests: int | None = None
    chunked_prefill_size: int | None = None
    max_prefill_tokens: int | None = None
    model_path: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "tp_size",
            "dp_size",
            "max_running_requests",
            "chunked_prefill_size",
            "max_prefill_tokens",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                flag = "--" + name.replace("_", "-")
                extra = " (-1, chunked prefill off, is not simulated)" if value == -1 else ""
                raise UsageError(f"{flag} must be >= 1, got {value}{extra}")
        fraction = self.mem_fraction_static
        if fraction is not None and not 0 < fraction <= 1:
            raise UsageError(f"--mem-fraction-static must be in (0, 1], got {fraction}")


def configure(profile: SimProfile, flags: LaunchFlags) -> SimProfile:
    """The profile as launched with `flags`; a UsageError where SGLang would refuse to start."""
    given = {k: v for k, v in dataclasses.asdict(flags).items() if v is not None}
    server = dataclasses.replace(profile.server, **given)
    configured = dataclasses.replace(profile, server=server)
    check_tensor_parallel(configured)
    check_memory(configured)
    return configured


def check_tensor_parallel(profile: SimProfile) -> None:
    tp, dp = profile.server.tp_size, profile.server.dp_size
    model = profile.model
    if tp * dp > profile.device.count:
        asked = f"--tp-size {tp}" if dp == 1 else f"--tp-size {tp} x --dp-size {dp}"
        raise UsageError(
            f"{asked} needs {tp * dp} NPUs; one {profile.device.name} host has "
            f"{profile.device.count}"
        )
    if model.num_attention_heads % tp:
        raise UsageError(
            f"--tp-size {tp} does not divide the model's {model.num_attention_heads} attention "
            "heads (SGLang refuses it)"
        )
    kv = model.num_kv_heads
    if (kv >= tp and kv % tp) or (kv < tp and tp % kv):
        raise UsageError(
            f"--tp-size {tp} and the model's {kv} KV heads: one must divide the other "
            "(SGLang refuses it)"
        )


def check_memory(profile: SimProfile) -> None:
    from bench.sim.model import memory_plan

    plan = memory_plan(profile)
    if plan.kv_pool_tokens <= 0:
        raise UsageError(
            "Not enough memory. Please try to increase --mem-fraction-static. (simulated: "
            f"{plan.weights_gib:.2f} GiB of weights per NPU leave no KV pool within "
            f"{profile.server.mem_fraction_static} x {profile.device.hbm_gib:g} GiB)"
        )
    if plan.max_running_requests <= 0:
        raise UsageError("max_running_requests is zero")
