"""The simulated NPU as `npu-smi` would show it, from the scheduler's state. Every figure is
simulated; the model is deliberately simple, and every constant in it is stated here.

- AI Core utilisation (%) = 100 x min(1, occupancy / SATURATING_BATCH), where occupancy is the
  requests holding KV (running, or admitted and prefilling). At the default profile's decode
  timing, a batch of 128 spends about twice the weight-read time on per-sequence work
  (128 x 0.25 ms vs ~17 ms), the point past which more requests mostly lengthen the step;
  below it the cores are modelled as idle in proportion.
- Power (W) = IDLE_POWER_W + (PEAK_POWER_W - IDLE_POWER_W) x utilisation / 100. The idle
  figure is the 910B3s of vllm-ascend issue #5876 at 0% AI Core with a model loaded
  (90.5 to 100.9 W; see tests/fixtures/memory/npu_smi/910b3_x8_64gb_proc_noname.txt); the
  peak is an assumption inside the range public 910B figures give (310 to 400 W).
- HBM in use (MiB) = runtime reserve + weights + the KV cache of the tokens held now. Real
  SGLang allocates its whole KV pool at start-up, so a real npu-smi shows HBM flat near
  mem_fraction_static of capacity while it serves; the simulator shows the KV in use instead,
  so its timeline shows the load.
- With data parallelism (`--dp-size`), the NPU shown is the first replica's: each replica
  holds its own requests on its own NPUs.
- Temperature (C) = IDLE_TEMPERATURE_C + DEGREES_PER_WATT x (power - idle power), at once
  (no thermal lag). 39-44 C idle are the same issue's readings; the slope is an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.sim.model import MemoryPlan
from bench.sim.profile import SimProfile
from bench.sim.scheduler import Scheduler
from bench.units import GIB, MIB

SATURATING_BATCH = 128
IDLE_POWER_W = 95.0
PEAK_POWER_W = 350.0
IDLE_TEMPERATURE_C = 40.0
DEGREES_PER_WATT = 0.1


@dataclass(frozen=True)
class NpuState:
    name: str  # as npu-smi's Name column shows it (`910B3`)
    power_w: float
    temperature_c: float
    aicore_pct: int
    hbm_used_mib: int
    hbm_total_mib: int
    runtime_reserved_mib: int
    running: int
    queued: int

    def as_json(self) -> dict:
        return dict(self.__dict__)


def chip_name(device_name: str) -> str:
    """`Ascend910B3` -> `910B3`, the way the npu-smi table names the chip."""
    return device_name.removeprefix("Ascend").strip()


def npu_state(profile: SimProfile, plan: MemoryPlan, scheduler: Scheduler) -> NpuState:
    """The NPU now, by the model above (the first replica's under data parallelism)."""
    scheduler = getattr(scheduler, "replicas", (scheduler,))[0]
    holding = len(scheduler.running) + sum(1 for r in scheduler.waiting if r.admitted)
    util = min(1.0, holding / SATURATING_BATCH)
    power = IDLE_POWER_W + (PEAK_POWER_W - IDLE_POWER_W) * util
    kv_tokens = sum(r.prompt_tokens + r.generated for r in scheduler.running)
    kv_tokens += sum(r.prefilled for r in scheduler.waiting if r.admitted)
    used_bytes = (profile.device.runtime_reserved_gib + plan.weights_gib) * GIB
    used_bytes += kv_tokens * profile.model.kv_bytes_per_token
    return NpuState(
        name=chip_name(profile.device.name),
        power_w=round(power, 1),
        temperature_c=round(IDLE_TEMPERATURE_C + DEGREES_PER_WATT * (power - IDLE_POWER_W)),
        aicore_pct=round(util * 100),
        hbm_used_mib=round(used_bytes / MIB),
        hbm_total_mib=round(profile.device.hbm_gib * GIB / MIB),
        runtime_reserved_mib=round(profile.device.runtime_reserved_gib * GIB / MIB),
        running=len(scheduler.running),
        queued=len(scheduler.waiting),
    )
