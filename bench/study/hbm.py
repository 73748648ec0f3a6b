"""HBM between configurations, on a host with `npu-smi`: a server that was stopped can hold
device memory for a while; the next configuration must not start on a device the last one
still fills. Before the first configuration the study reads HBM in use per NPU (the
baseline); before each next one it waits (bounded) until every NPU is back within a
tolerance of it, and says so when one is not. Without npu-smi there is nothing to wait for
and the study says that once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Reading = dict[int, int]  # NPU id -> HBM in use, MiB
POLL_S = 2.0


def read_hbm_used() -> tuple[Reading | None, str | None]:
    """HBM in use per NPU from `npu-smi info`, or (None, why not)."""
    from bench.errors import InputError
    from bench.memory.npu_smi import parse_npu_smi_info, run_npu_smi

    text, why = run_npu_smi("info")
    if text is None:
        return None, why
    try:
        info = parse_npu_smi_info(text)
    except InputError as exc:
        return None, str(exc)
    used: Reading = {}
    for device in info.devices:
        if device.hbm_used_mib is not None:
            used[device.index] = used.get(device.index, 0) + device.hbm_used_mib
    return used, None


def above_baseline(now: Reading, baseline: Reading, tolerance_mib: int) -> dict[int, int]:
    """NPUs holding more than `tolerance_mib` above their baseline: id -> MiB above."""
    return {
        npu: used - baseline.get(npu, 0)
        for npu, used in sorted(now.items())
        if used - baseline.get(npu, 0) > tolerance_mib
    }


def wait_for_baseline(
    baseline: Reading,
    tolerance_mib: int,
    timeout_s: float,
    read: Callable[[], tuple[Reading | None, str | None]] = read_hbm_used,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Bounded wait for HBM to return to `baseline`; a sentence saying how it ended."""
    deadline = clock() + timeout_s
    start = clock()
    while True:
        now, why = read()
        if now is None:
            return f"HBM not checked: {why}"
        over = above_baseline(now, baseline, tolerance_mib)
        if not over:
            return f"HBM back at its baseline after {clock() - start:.0f} s"
        if clock() >= deadline:
            held = ", ".join(f"NPU {npu} +{mib} MiB" for npu, mib in over.items())
            return (
                f"HBM did NOT return to its baseline within {timeout_s:g} s ({held}); "
                "the next configuration starts anyway and its memory figures may be off"
            )
        sleep(POLL_S)


class HbmGuard:
    """`before_start()` before each configuration: the first call reads the baseline, each
    later one waits for HBM to return to it. A sentence for the study document each time."""

    def __init__(
        self,
        tolerance_mib: int,
        timeout_s: float,
        read: Callable[[], tuple[Reading | None, str | None]] = read_hbm_used,
    ):
        self.tolerance_mib = tolerance_mib
        self.timeout_s = timeout_s
        self.read = read
        self.baseline: Reading | None = None

    def before_start(self) -> str:
        if self.baseline is None:
            now, why = self.read()
            if now is None:
                return f"HBM not checked: {why}"
            self.baseline = now
            used = ", ".join(f"NPU {npu} {mib} MiB" for npu, mib in sorted(now.items()))
            return f"HBM baseline before the first configuration: {used}"
        return wait_for_baseline(self.baseline, self.tolerance_mib, self.timeout_s, self.read)
