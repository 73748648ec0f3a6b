"""Consistency of the device-memory figures with the hardware, the settings and the model."""

from __future__ import annotations

from typing import Any

from bench.units import GIB
from bench.validate import tolerances as tol
from bench.validate.findings import Issue, close, fmt, items, num, pct, pointer, sub

MEM = ("measurements", "memory")


def _memory(doc: Any) -> dict[str, Any]:
    return sub(sub(doc, "measurements"), "memory")


def hbm_capacity_gib(doc: Any) -> float | None:
    """HBM of one accelerator: the memory section's figure, else the system's."""
    return num(_memory(doc), "hbm_capacity_gib") or num(
        sub(sub(doc, "system"), "accelerator"), "hbm_capacity_gib"
    )


def mem_fraction_static(doc: Any) -> float | None:
    return num(_memory(doc), "mem_fraction_static") or num(
        sub(sub(doc, "server"), "args"), "mem_fraction_static"
    )


def tp_size(doc: Any) -> int:
    tp = num(sub(sub(doc, "server"), "args"), "tp_size")
    return int(tp) if tp and tp >= 1 else 1


def dtype_bytes(name: Any) -> float | None:
    return tol.DTYPE_BYTES.get(name.lower()) if isinstance(name, str) else None


def _resident(mem: dict[str, Any]) -> float | None:
    w, kv = num(mem, "weights_gib"), num(mem, "kv_cache_gib")
    return None if w is None or kv is None else w + kv


def _over(used: float, limit: float) -> bool:
    return used > limit * (1 + tol.MEMORY_REL) + tol.MEMORY_ABS_GIB


def check_memory_within_capacity(doc: Any) -> list[Issue]:
    """weights + KV cache <= HBM capacity, for the summary and for every rank."""
    cap = hbm_capacity_gib(doc)
    if cap is None:
        return []
    out = []
    mem = _memory(doc)
    entries = [(pointer(*MEM, "kv_cache_gib"), mem)] + [
        (pointer(*MEM, "per_rank", i, "kv_cache_gib"), r)
        for i, r in enumerate(items(mem, "per_rank"))
    ]
    for where, entry in entries:
        used = _resident(entry)
        if used is not None and _over(used, cap):
            out.append(
                Issue(
                    where,
                    f"weights {fmt(num(entry, 'weights_gib'))} + KV cache "
                    f"{fmt(num(entry, 'kv_cache_gib'))} = {fmt(used)} GiB exceeds the "
                    f"{fmt(cap)} GiB HBM of one accelerator",
                )
            )
    return out


def check_memory_within_fraction(doc: Any) -> list[Issue]:
    """weights + KV cache <= mem_fraction_static x HBM capacity, when both are recorded."""
    cap, frac = hbm_capacity_gib(doc), mem_fraction_static(doc)
    used = _resident(_memory(doc))
    if None in (cap, frac, used) or not _over(used, frac * cap):
        return []
    return [
        Issue(
            pointer(*MEM, "kv_cache_gib"),
            f"weights + KV cache = {fmt(used)} GiB exceeds mem_fraction_static {fmt(frac)} x "
            f"{fmt(cap)} GiB = {fmt(frac * cap)} GiB",
        )
    ]


def expected_kv_bytes_per_token(doc: Any) -> float | None:
    """The memory section's expected figure (its writer knows the architecture, e.g. MLA);
    else 2 x layers x KV heads per rank x head_dim x dtype bytes, from `model`."""
    stated = num(_memory(doc), "expected_kv_bytes_per_token")
    if stated:
        return stated
    model = sub(doc, "model")
    layers, heads, dim = (num(model, k) for k in ("num_layers", "num_kv_heads", "head_dim"))
    args = sub(sub(doc, "server"), "args")
    size = dtype_bytes(args.get("kv_cache_dtype")) or dtype_bytes(model.get("dtype"))
    if None not in (layers, heads, dim, size):
        heads_per_rank = max(1.0, heads / tp_size(doc))  # fewer KV heads than ranks: replicated
        return 2 * layers * heads_per_rank * dim * size
    return None


def check_kv_cache_matches_tokens(doc: Any) -> list[Issue]:
    """KV cache bytes = KV tokens x bytes per token of the model (within 2%)."""
    mem = _memory(doc)
    per_token = expected_kv_bytes_per_token(doc)
    if per_token is None:
        return []
    out = []
    tokens, kv = num(mem, "kv_tokens"), num(mem, "kv_cache_gib")
    if tokens is not None and kv is not None:
        want = tokens * per_token / GIB
        if not close(kv, want, tol.KV_REL, tol.MEMORY_ABS_GIB):
            out.append(
                Issue(
                    pointer(*MEM, "kv_cache_gib"),
                    f"KV cache {fmt(kv)} GiB != {fmt(tokens)} tokens x {fmt(per_token)} bytes "
                    f"= {fmt(want)} GiB ({pct(kv, want)})",
                )
            )
    measured = num(mem, "kv_bytes_per_token")
    if measured is not None and not close(measured, per_token, tol.KV_REL):
        out.append(
            Issue(
                pointer(*MEM, "kv_bytes_per_token"),
                f"KV bytes per token {fmt(measured)} != {fmt(per_token)} the model implies",
            )
        )
    return out


def expected_weights_gib(doc: Any) -> float | None:
    """The memory section's expected figure (from the checkpoint); else parameters x dtype
    bytes / TP, else safetensors bytes / TP; None for a quantized model without one."""
    stated = num(_memory(doc), "expected_weights_gib")
    if stated:
        return stated
    model = sub(doc, "model")
    if sub(sub(doc, "server"), "args").get("quantization"):
        return None
    params, size = num(model, "parameter_count"), dtype_bytes(model.get("dtype"))
    if params is not None and size is not None:
        return params * size / tp_size(doc) / GIB
    weight_bytes = num(model, "weight_bytes")
    return None if weight_bytes is None else weight_bytes / tp_size(doc) / GIB


def check_weights_match_parameters(doc: Any) -> list[Issue]:
    """Weights in memory = parameters x dtype bytes / TP (up to 10% more, 3% less)."""
    weights, want = num(_memory(doc), "weights_gib"), expected_weights_gib(doc)
    if weights is None or want is None:
        return []
    low = want * (1 - tol.WEIGHTS_UNDER_REL) - tol.MEMORY_ABS_GIB
    high = want * (1 + tol.WEIGHTS_OVER_REL) + tol.MEMORY_ABS_GIB
    if low <= weights <= high:
        return []
    return [
        Issue(
            pointer(*MEM, "weights_gib"),
            f"weights {fmt(weights)} GiB != parameters x dtype bytes / TP = {fmt(want)} GiB "
            f"({pct(weights, want)}; allowed -3% to +10%)",
        )
    ]


def check_npu_smi_agrees(doc: Any) -> list[Issue]:
    """npu-smi: used <= total; weights + KV <= used; total = the recorded HBM capacity."""
    mem = _memory(doc)
    cap, resident = hbm_capacity_gib(doc), _resident(mem)
    out = []
    for i, npu in enumerate(items(mem, "npus")):
        used, total = num(npu, "hbm_used_mib"), num(npu, "hbm_total_mib")
        where = pointer(*MEM, "npus", i, "hbm_used_mib")
        if used is not None and total is not None and used > total:
            out.append(Issue(where, f"npu-smi used {fmt(used)} MiB exceeds total {fmt(total)}"))
        if used and resident is not None and _over(resident, used / 1024):
            out.append(
                Issue(
                    where,
                    f"npu-smi shows {fmt(used / 1024)} GiB in use, less than weights + KV "
                    f"cache = {fmt(resident)} GiB",
                )
            )
        if total and cap is not None and not close(total / 1024, cap, tol.ARITHMETIC_REL):
            out.append(
                Issue(
                    pointer(*MEM, "npus", i, "hbm_total_mib"),
                    f"npu-smi total {fmt(total / 1024)} GiB != HBM capacity {fmt(cap)} GiB",
                )
            )
    return out


def check_reconciliation_arithmetic(doc: Any) -> list[Issue]:
    """diff_gib = measured - expected; diff_pct = 100 x diff / expected."""
    out = []
    for i, row in enumerate(items(_memory(doc), "reconciliation")):
        m, e = num(row, "measured_gib"), num(row, "expected_gib")
        diff, diff_pct = num(row, "diff_gib"), num(row, "diff_pct")
        if None in (m, e):
            continue
        if diff is not None and not close(diff, m - e, 0, 0.011):
            out.append(
                Issue(
                    pointer(*MEM, "reconciliation", i, "diff_gib"),
                    f"diff_gib {fmt(diff)} != measured {fmt(m)} - expected {fmt(e)}",
                )
            )
        if diff_pct is not None and e and not close(diff_pct, 100 * (m - e) / e, 0.01, 0.1):
            out.append(
                Issue(
                    pointer(*MEM, "reconciliation", i, "diff_pct"),
                    f"diff_pct {fmt(diff_pct)} != 100 x ({fmt(m)} - {fmt(e)}) / {fmt(e)}",
                )
            )
    return out


CHECKS = [
    check_memory_within_capacity,
    check_memory_within_fraction,
    check_kv_cache_matches_tokens,
    check_weights_match_parameters,
    check_npu_smi_agrees,
    check_reconciliation_arithmetic,
]
