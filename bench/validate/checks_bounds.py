"""Units sane: no latency at or below zero, nothing beyond what physics allows.

The two bounds (see `tolerances` for the constants and their reasons):
- output tok/s per accelerator <= PEAK_FLOPS_CEILING / (2 x parameters): each output
  token costs at least 2 FLOPs per (active) parameter;
- TPOT >= weight bytes per accelerator / (HBM_BANDWIDTH_CEILING x SPECULATIVE_TOKENS):
  one decode step of one sequence reads every weight of its shard once.
Both are generous on purpose: they catch a wrong unit or a typo'd order of magnitude,
never an honest fast run. A simulated document whose simulator ran F times faster than real
time (`bench sim --speed F`, from its self-report) has both bounds scaled by F.
"""

from __future__ import annotations

from typing import Any

from bench.units import GIB
from bench.validate import tolerances as tol
from bench.validate.checks_delivery import single_read_requests, tpot_without_single_reads_ms
from bench.validate.checks_memory import dtype_bytes, tp_size
from bench.validate.checks_throughput import accelerator_count
from bench.validate.findings import Issue, fmt, num, pointer, runs, sub

POSITIVE_LATENCIES = ("ttft_ms", "tpot_ms", "e2e_ms")


def _parameters(doc: Any) -> tuple[float, str]:
    model = sub(doc, "model")
    for key in ("active_parameter_count", "parameter_count"):
        value = num(model, key)
        if value:
            return value, f"model.{key} {fmt(value)}"
    return tol.MIN_PLAUSIBLE_PARAMETERS, f"the smallest plausible model ({fmt(1e8)} parameters)"


def time_compression(doc: Any) -> float:
    """How much faster than real time a simulated document's clock ran (`bench sim --speed`),
    from the simulator's self-report; 1 for every other document."""
    if doc.get("kind") != "simulated":
        return 1.0
    speed = num(sub(sub(sub(doc, "server"), "self_report"), "simulator"), "speed")
    return speed if speed and speed > 0 else 1.0


def check_output_throughput_below_compute_ceiling(doc: Any) -> list[Issue]:
    """output tok/s per accelerator x 2 x parameters <= 1e16 FLOP/s (x simulator speed)."""
    params, basis = _parameters(doc)
    accel = accelerator_count(doc)
    speed = time_compression(doc)
    ceiling = tol.PEAK_FLOPS_CEILING / (2 * params) * accel * speed
    out = []
    for base, run in runs(doc):
        value = num(sub(run, "metrics"), "output_throughput_tok_s")
        if value is not None and value > ceiling:
            out.append(
                Issue(
                    pointer(*base, "metrics", "output_throughput_tok_s"),
                    f"output throughput {fmt(value)} tok/s is above the physical ceiling "
                    f"{fmt(ceiling)} tok/s for {accel} accelerator(s) and {basis} "
                    f"(10 PFLOP/s per accelerator, 2 FLOPs per parameter per token"
                    f"{_speed_note(speed)})",
                )
            )
    return out


def _weight_bytes_per_accelerator(doc: Any) -> float | None:
    model = sub(doc, "model")
    params = num(model, "active_parameter_count") or num(model, "parameter_count")
    size = dtype_bytes(model.get("dtype"))
    if params is not None and size is not None:
        return params * size / tp_size(doc)
    return None


def check_latencies_above_floor(doc: Any) -> list[Issue]:
    """TTFT and E2E figures > 0, TPOT figures >= 0 (a zero one is judged by
    `checks_delivery`); the mean TPOT of the replies that did not arrive in one read >= the
    bandwidth floor of one decode step (/ simulator speed)."""
    weight_bytes = _weight_bytes_per_accelerator(doc)
    speed = time_compression(doc)
    floor_ms = None
    if weight_bytes:
        rate = tol.HBM_BANDWIDTH_CEILING_B_S * tol.SPECULATIVE_TOKENS_CEILING
        floor_ms = weight_bytes / rate * 1000 / speed
    out = []
    for base, run in runs(doc):
        metrics = sub(run, "metrics")
        for key in POSITIVE_LATENCIES:
            stats = sub(metrics, key)
            for stat in ("mean", "median", "min"):
                value = num(stats, stat)
                # A reply whose chunks all arrive in one read has a true TPOT of 0.
                zero_allowed = key == "tpot_ms"
                if value is None or value > 0 or (zero_allowed and value == 0):
                    continue
                bound = "cannot be negative" if zero_allowed else "must be above zero"
                out.append(
                    Issue(
                        pointer(*base, "metrics", key, stat),
                        f"{key} {stat} is {fmt(value)} ms; a latency {bound}",
                    )
                )
        streamed = sub(run, "workload").get("stream") is not False
        tpot = tpot_without_single_reads_ms(metrics)
        if streamed and floor_ms is not None and tpot is not None and 0 < tpot < floor_ms:
            out.append(
                Issue(
                    pointer(*base, "metrics", "tpot_ms", "mean"),
                    f"mean TPOT {fmt(tpot)} ms{_streamed_only(metrics)} is below the physical "
                    f"floor {fmt(floor_ms)} ms (weights {fmt(weight_bytes / GIB)} GiB per "
                    f"accelerator read at 8 TB/s, 8 tokens per step{_speed_note(speed)}); "
                    "is it in seconds?",
                )
            )
    return out


def _streamed_only(metrics: dict[str, Any]) -> str:
    single = single_read_requests(metrics)
    return " (of the replies that did not arrive in one read)" if single else ""


def _speed_note(speed: float) -> str:
    return "" if speed == 1 else f"; simulator at {fmt(speed)}x real time"


CHECKS = [check_output_throughput_below_compute_ceiling, check_latencies_above_floor]
