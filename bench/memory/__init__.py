"""Device memory: read it from every source there is, and reconcile it with the model.

`collect_memory(...)` returns the result document's `memory` object: figures per NPU (the
largest tensor-parallel rank when ranks differ), in GiB (SGLang's "GB" is GiB), with
`sources` naming the input behind each figure and `notes` saying what is missing or
approximate. `model_arch(config)` gives the architecture facts the expectations come from.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import InputError
from bench.memory.model_config import (
    DTYPE_BYTES,
    ModelArch,
    load_model_arch,
    model_arch,
)
from bench.memory.npu_smi import NpuSmiInfo, parse_npu_smi_info, parse_npu_smi_usages
from bench.memory.reconcile import reconcile
from bench.memory.server_log import ServerLogMemory, read_server_log
from bench.units import GIB

__all__ = ["ModelArch", "collect_memory", "model_arch", "npus_from_text"]


def npus_from_text(text: str) -> tuple[list[dict], NpuSmiInfo | None]:
    """`npus` entries from saved `npu-smi info` or `npu-smi info -t usages` output."""
    if "|" not in text and "Chip ID" in text:
        return [
            {
                "index": c["index"] if c["index"] is not None else 0,
                "name": None,
                "hbm_used_mib": c["hbm_used_mib"],
                "hbm_total_mib": c["hbm_total_mib"],
                "chip": c["chip"],
            }
            for c in parse_npu_smi_usages(text)
        ], None
    info = parse_npu_smi_info(text)
    return [
        {
            "index": d.index,
            "name": d.name,
            "hbm_used_mib": d.hbm_used_mib,
            "hbm_total_mib": d.hbm_total_mib,
            "chip": d.chip,
        }
        for d in info.devices
    ], info


def _info_value(info: dict | None, key: str, kind):
    """A number from /get_server_info: top level, else the first internal state having it."""
    if not isinstance(info, dict):
        return None
    value = info.get(key)
    if value is None:
        for state in info.get("internal_states") or []:
            if isinstance(state, dict) and state.get(key) is not None:
                value = state[key]
                break
    try:
        return kind(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _memory_usage(info: dict | None) -> dict:
    """`internal_states[0].memory_usage` of newer SGLang (`weight`, `kvcache` in GiB)."""
    if not isinstance(info, dict):
        return {}
    for state in info.get("internal_states") or []:
        usage = state.get("memory_usage") if isinstance(state, dict) else None
        if isinstance(usage, dict):
            return {
                k: float(v)
                for k, v in usage.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
    return {}


def _measured(log: ServerLogMemory | None, info: dict | None, sources: dict, notes: list):
    """weights, KV cache, KV tokens: the log first, the server's self-report second."""
    ranks = log.ranks if log else ()
    weights = max((r.weights_gib for r in ranks if r.weights_gib is not None), default=None)
    if weights is not None:
        how = sorted({r.weights_from for r in ranks if r.weights_gib is not None})
        sources["weights_gib"] = f"server_log (Load weight end: {', '.join(how)})"
    elif ranks:
        notes.append("the log's `Load weight end.` line gives no weight size (no `mem usage=`)")
    kv = max((r.kv_cache_gib for r in ranks if r.kv_cache_gib is not None), default=None)
    if kv is not None:
        sources["kv_cache_gib"] = "server_log (KV Cache is allocated: K size + V size)"
    usage = _memory_usage(info)
    if weights is None and usage.get("weight") is not None:
        weights = usage["weight"]
        sources["weights_gib"] = "server_info (internal_states.memory_usage.weight)"
    if kv is None and usage.get("kvcache") is not None:
        kv = usage["kvcache"]
        sources["kv_cache_gib"] = "server_info (internal_states.memory_usage.kvcache)"
    tokens = next((r.kv_tokens for r in ranks if r.kv_tokens), None)
    if tokens is not None:
        sources["kv_tokens"] = "server_log (KV Cache is allocated: #tokens)"
    elif log and log.max_total_num_tokens is not None:
        tokens = log.max_total_num_tokens
        sources["kv_tokens"] = "server_log (max_total_num_tokens=)"
    elif (tokens := _info_value(info, "max_total_num_tokens", int)) is not None:
        sources["kv_tokens"] = "server_info (max_total_num_tokens)"
    return weights, kv, tokens


def _kv_dtype_bytes(log: ServerLogMemory | None, info: dict | None) -> tuple[int | None, str]:
    """Bytes per KV element when the KV cache's dtype is named (log, or server's kv_cache_dtype)."""
    names = [r.kv_dtype for r in (log.ranks if log else ()) if r.kv_dtype]
    if not names and isinstance(info, dict) and info.get("kv_cache_dtype") not in (None, "auto"):
        names = [str(info["kv_cache_dtype"])]
    for name in names:
        key = name.removeprefix("torch.")
        size = DTYPE_BYTES.get(key) or (1 if key.startswith(("fp8", "float8")) else None)
        if size:
            return size, name
    return None, ""


def _device(npus: list[dict], smi: NpuSmiInfo | None, info: dict | None, sources, notes):
    """HBM capacity and the most HBM in use on one NPU, in GiB."""
    capacity = used = None
    if npus:
        totals = [n["hbm_total_mib"] for n in npus if n["hbm_total_mib"]]
        capacity = max(totals) / 1024 if totals else None
        useds = [n["hbm_used_mib"] for n in npus if n["hbm_used_mib"] is not None]
        used = max(useds) / 1024 if useds else None
        sources["npus"] = "npu_smi"
        if capacity is not None:
            sources["hbm_capacity_gib"] = "npu_smi (HBM-Usage total, MiB / 1024)"
        if smi is None:
            notes.append("npu-smi -t usages gives a whole-percent usage rate: used MiB is +-1%")
        elif not smi.processes:
            notes.append(
                "npu-smi output has no process on any NPU: was the server running? "
                "(which NPUs it used is unknown, so every NPU is listed)"
            )
    sim = info.get("simulator") if isinstance(info, dict) else None
    if capacity is None and isinstance(sim, dict) and isinstance(sim.get("hbm_gib"), int | float):
        capacity = float(sim["hbm_gib"])
        sources["hbm_capacity_gib"] = "server_info (simulator.hbm_gib: the simulated device)"
    return capacity, used


def _busy_only(npus: list[dict], smi: NpuSmiInfo | None, notes: list) -> list[dict]:
    """With a process table, keep the chips something runs on: the server's."""
    if not (smi and smi.processes):
        return npus
    busy = {(p.index, p.chip) for p in smi.processes}
    kept = [n for n in npus if (n["index"], n["chip"]) in busy]
    if len(kept) < len(npus):
        notes.append(f"{len(npus) - len(kept)} NPU(s) with no process left out of `npus`")
    return kept


def collect_memory(
    server_log: str | Path | None = None,
    npu_smi_text: str | None = None,
    server_info: dict | None = None,
    model_dir: str | Path | None = None,
    model_config: str | Path | dict | None = None,
    tp: int | None = None,
) -> dict:
    """The schema's `memory` object from whichever inputs are given (at least one)."""
    if all(x is None for x in (server_log, npu_smi_text, server_info, model_dir, model_config)):
        raise InputError("no memory input given (server log, npu-smi output, server info, model)")
    sources: dict[str, str] = {}
    notes: list[str] = []
    log = read_server_log(server_log) if server_log is not None else None
    arch, arch_from = None, "model_config"
    if isinstance(model_config, dict):
        arch = model_arch(model_config)
    elif model_dir is not None or model_config is not None:
        arch, path = load_model_arch(model_dir, model_config)
        arch_from = f"model_config ({path})"
    npus, smi = npus_from_text(npu_smi_text) if npu_smi_text is not None else ([], None)
    npus = _busy_only(npus, smi, notes)

    tp_size = (
        tp
        or (log.tp_size if log else None)
        or _info_value(server_info, "tp_size", int)
        or (len({r.rank for r in log.ranks}) if log and len(log.ranks) > 1 else None)
        or 1
    )
    weights, kv, kv_tokens = _measured(log, server_info, sources, notes)
    measured_bpt = round(kv * GIB / kv_tokens) if kv is not None and kv_tokens else None
    if measured_bpt is not None:
        sources["kv_bytes_per_token"] = "kv_cache_gib x 2^30 / kv_tokens (+-0.01 GiB rounding)"
    mem_fraction = (log.mem_fraction_static if log else None) or _info_value(
        server_info, "mem_fraction_static", float
    )
    if mem_fraction is not None:
        from_log = bool(log and log.mem_fraction_static)
        sources["mem_fraction_static"] = "server_log (server_args)" if from_log else "server_info"

    expected_w = arch.expected_weights_gib(tp_size) if arch else None
    expected_bpt = None
    if arch:
        kv_bytes, kv_dtype = _kv_dtype_bytes(log, server_info)
        expected_bpt = arch.kv_bytes_per_token_per_rank(tp_size, kv_bytes)
        if expected_w is not None:
            sources["expected_weights_gib"] = f"{arch_from}: {arch.weight_source} / tp {tp_size}"
        sources["expected_kv_bytes_per_token"] = (
            f"{arch_from}: 2 x {arch.num_layers} layers x {max(1, arch.num_kv_heads // tp_size)} "
            f"kv heads x {arch.head_dim} head_dim x {kv_bytes or arch.dtype_bytes} bytes"
            + (f" ({kv_dtype} KV cache)" if kv_dtype else "")
        )
    capacity, used = _device(npus, smi, server_info, sources, notes)

    return {
        "weights_gib": weights,
        "kv_cache_gib": kv,
        "kv_tokens": kv_tokens,
        "kv_bytes_per_token": measured_bpt,
        "expected_weights_gib": round(expected_w, 3) if expected_w is not None else None,
        "expected_kv_bytes_per_token": expected_bpt,
        "hbm_capacity_gib": capacity,
        "mem_fraction_static": mem_fraction,
        "per_rank": [
            {
                "rank": r.rank,
                "dp_rank": r.dp_rank,
                "weights_gib": r.weights_gib,
                "avail_after_weights_gib": r.avail_after_weights_gib,
                "kv_cache_gib": r.kv_cache_gib,
                "kv_tokens": r.kv_tokens,
            }
            for r in (log.ranks if log else ())
        ],
        "npus": npus,
        "sources": sources,
        "reconciliation": reconcile(
            weights_gib=weights,
            expected_weights_gib=expected_w,
            kv_cache_gib=kv,
            kv_tokens=kv_tokens,
            expected_kv_bytes_per_token=expected_bpt,
            mem_fraction_static=mem_fraction,
            hbm_capacity_gib=capacity,
            hbm_used_gib=used,
        ),
        "notes": [*(log.notes if log else ()), *notes],
    }
