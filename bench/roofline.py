"""A result beside the physical limits of its hardware: the roofline lower bounds.

Decode (one step generates one token for each of B sequences; it must read every weight
and each sequence's KV cache once):

    bytes_per_step = W + B x kv_bytes_per_token x C
    TPOT_min       = bytes_per_step / (n x BW)
    decode efficiency = TPOT_min / TPOT measured   (= achieved bytes/s as a % of peak)

Prefill (the prompt of N_in tokens, dense causal attention):

    FLOPs    = 2 x P x N_in + 2 x L x N_in^2 x d_attn
    TTFT_min = max(FLOPs / (n x peak FLOPS), W / (n x BW))
    prefill efficiency = TTFT_min / TTFT measured

with W the weight bytes, P the parameters, L layers, d_attn = heads x head_dim (the hidden
size for these models), C the mean context during decode (N_in + (N_out - 1) / 2), B the
sequences decoded together (1 for a latency run; the achieved concurrency of a throughput
run) and n the accelerators (tensor parallel size). Pure: a document in, numbers out.

What the bounds leave out: kernel launch and scheduling gaps, the sampler and the LM head's
logits write, activations' memory traffic, communication between ranks (n > 1), that
attention kernels rarely reach peak bandwidth, chunked prefill, prefix-cache hits (a hit
makes the measured TTFT beat this bound), queueing, HTTP and tokenization inside TTFT.
The peaks themselves are uncertain for Ascend 910B (bench/data/hardware.toml says why).
"""

from __future__ import annotations

from pathlib import Path

HARDWARE_FILE = Path(__file__).parent / "data" / "hardware.toml"
DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4, "int8": 1, "fp8": 1}

FORMULAS = {
    "decode": "TPOT_min = (W + B x kv_bytes_per_token x C) / (n x BW); "
    "efficiency = TPOT_min / TPOT",
    "prefill": "TTFT_min = max((2 x P x N_in + 2 x L x N_in^2 x d_attn) / (n x FLOPS), "
    "W / (n x BW)); efficiency = TTFT_min / TTFT",
}
LEAVES_OUT = [
    "kernel launch and scheduling gaps, sampling, the LM head's logits",
    "activation traffic; communication between ranks when n > 1",
    "queueing, HTTP and tokenization inside the measured TTFT",
    "prefix-cache hits and chunked prefill (a cache hit lets TTFT beat the bound)",
    "uncertain peaks: published Ascend 910B figures disagree",
]


def load_hardware(path: Path = HARDWARE_FILE) -> dict[str, dict]:
    from bench.strict_toml import load_toml

    return load_toml(path)


def _norm(name: str) -> str:
    return "".join(name.upper().replace("ASCEND", "").replace("NVIDIA", "").split())


def find_peaks(name: str | None, hardware: dict[str, dict] | None = None) -> dict | None:
    """The hardware.toml entry for an accelerator name (exact or alias, case-insensitive)."""
    if not name:
        return None
    hardware = hardware if hardware is not None else load_hardware()
    want = _norm(name)
    for key, entry in hardware.items():
        if want in {_norm(key), *(_norm(a) for a in entry.get("aliases", []))}:
            return {"name": key, **entry}
    if "910B" in want:  # a 910B of unknown variant
        return {"name": "910B", **hardware["910B"]} if "910B" in hardware else None
    return None


def _num(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _stat(metrics: dict, key: str) -> float | None:
    stats = metrics.get(key)
    if not isinstance(stats, dict):
        return None
    return _num(stats.get("median")) if stats.get("median") is not None else _num(stats.get("mean"))


def _model_facts(doc: dict) -> dict | None:
    model = doc.get("model") or {}
    dtype_bytes = DTYPE_BYTES.get(str(model.get("dtype") or "bfloat16"), 2)
    params = _num(model.get("parameter_count"))
    weight_bytes = _num(model.get("weight_bytes"))
    if params is None and weight_bytes is not None:
        params = weight_bytes / dtype_bytes
    if weight_bytes is None and params is not None:
        weight_bytes = params * dtype_bytes
    if params is None:
        return None
    layers, kv_heads = _num(model.get("num_layers")), _num(model.get("num_kv_heads"))
    head_dim, hidden = _num(model.get("head_dim")), _num(model.get("hidden_size"))
    kv_bpt = None
    if layers and kv_heads and head_dim:
        kv_bpt = 2 * layers * kv_heads * head_dim * dtype_bytes
    memory = (doc.get("measurements") or {}).get("memory") or {}
    if kv_bpt is None and _num(memory.get("expected_kv_bytes_per_token")):
        kv_bpt = float(memory["expected_kv_bytes_per_token"])  # per rank; n=1 assumed below
    return {
        "parameters": params,
        "weight_bytes": weight_bytes,
        "kv_bytes_per_token": kv_bpt,
        "num_layers": layers,
        "attention_width": hidden,
    }


def _run_bounds(
    run: dict, kind: str, m: dict, n: int, bw: float | None, flops: float | None
) -> dict | None:
    metrics = run.get("metrics") or {}
    workload = run.get("workload") or {}
    done = _num(metrics.get("requests_completed")) or 0
    n_in = (
        _num(metrics.get("total_input_tokens")) / done
        if done and _num(metrics.get("total_input_tokens"))
        else _num(workload.get("input_len"))
    )
    n_out = (
        _num(metrics.get("total_output_tokens")) / done
        if done and _num(metrics.get("total_output_tokens"))
        else _num(workload.get("output_len"))
    )
    tpot, ttft = _stat(metrics, "tpot_ms"), _stat(metrics, "ttft_ms")
    batch = 1.0 if kind == "latency" else (_num(metrics.get("achieved_concurrency")) or 1.0)
    out: dict = {
        "name": run.get("name"),
        "kind": kind,
        "input_tokens": round(n_in, 1) if n_in is not None else None,
    }
    # Unknown prompt length: the KV read is left out, so the bound is weights only (still a
    # lower bound, only a looser one).
    context = n_in + max((n_out or 1) - 1, 0) / 2 if n_in is not None else None
    if bw and tpot:
        kv_read = batch * (m["kv_bytes_per_token"] or 0) * (context or 0)
        step_bytes = m["weight_bytes"] + kv_read
        tpot_min = step_bytes / (n * bw) * 1e3
        out["decode"] = {
            "batch": round(batch, 2),
            "batch_from": "one request" if kind == "latency" else "achieved_concurrency (approx.)",
            "context_tokens": round(context, 1) if context is not None else None,
            "kv_read_counted": bool(kv_read),
            "bytes_per_step": round(step_bytes),
            "tpot_ms": tpot,
            "tpot_min_ms": round(tpot_min, 3),
            "efficiency_pct": round(100 * tpot_min / tpot, 1),
            "achieved_tb_s": round(step_bytes / (tpot / 1e3) / 1e12, 3),
        }
    single = kind == "latency" or _num(workload.get("max_concurrency")) == 1
    if flops and ttft and single and n_in is not None:  # under load TTFT is mostly queueing
        attn = 2 * (m["num_layers"] or 0) * n_in**2 * (m["attention_width"] or 0)
        total = 2 * m["parameters"] * n_in + attn
        compute_ms = total / (n * flops) * 1e3
        memory_ms = m["weight_bytes"] / (n * bw) * 1e3 if bw else 0.0
        ttft_min = max(compute_ms, memory_ms)
        out["prefill"] = {
            "flops": round(total),
            "attention_flops": round(attn),
            "ttft_ms": ttft,
            "ttft_min_ms": round(ttft_min, 3),
            "bound": "compute" if compute_ms >= memory_ms else "memory",
            "efficiency_pct": round(100 * ttft_min / ttft, 1),
            "achieved_tflops": round(total / (ttft / 1e3) / 1e12, 1),
        }
    if n_in is None:
        out["notes"] = [
            "input length unknown: the decode bound counts weights only (no KV "
            "read) and there is no prefill bound"
        ]
    return out if ("decode" in out or "prefill" in out) else None


def analyse(document: dict, peaks: dict | None = None) -> dict | None:
    """Roofline bounds and efficiencies of every run in a result document.

    `peaks` overrides hardware.toml: {"hbm_tb_s": X, "bf16_tflops": Y} (either or both), or
    a full entry. With only a bandwidth there is no prefill bound, with only FLOPS no decode
    bound. Returns None when the document lacks what the bounds need (the model's size, a
    known accelerator or an override peak, a run with TTFT or TPOT).
    """
    system = document.get("system") or {}
    accel = system.get("accelerator") or {}
    entry = find_peaks(accel.get("name")) or find_peaks(system.get("product"))
    peaks = peaks or {}
    bw = _num(peaks.get("hbm_tb_s")) or (entry or {}).get("hbm_tb_s")
    flops = _num(peaks.get("bf16_tflops")) or (entry or {}).get("bf16_tflops")
    model = _model_facts(document)
    if model is None or not (bw or flops):
        return None
    args = (document.get("server") or {}).get("args") or {}
    n = int(_num(args.get("tp_size")) or _num(accel.get("count")) or 1)
    measurements = document.get("measurements") or {}
    runs = []
    for kind in ("latency", "throughput"):
        for run in measurements.get(kind) or []:
            if isinstance(run, dict) and (
                r := _run_bounds(run, kind, model, n, bw and bw * 1e12, flops and flops * 1e12)
            ):
                runs.append(r)
    if not runs:
        return None
    head_decode = next((r["decode"] for r in runs if "decode" in r), None)
    head_prefill = next((r["prefill"] for r in runs if "prefill" in r), None)
    overridden = sorted(k for k in ("hbm_tb_s", "bf16_tflops") if _num(peaks.get(k)))
    return {
        "kind": document.get("kind"),
        "hardware": {
            "accelerator": accel.get("name") or system.get("product"),
            "peaks_from": (entry or {}).get("name"),
            "overridden": overridden,
            "count": n,
            "hbm_tb_s": bw,
            "bf16_tflops": flops,
            "confidence": "override" if overridden else (entry or {}).get("confidence"),
            "source": (entry or {}).get("source"),
        },
        "model": {k: v for k, v in model.items() if v is not None},
        "decode_efficiency_pct": head_decode["efficiency_pct"] if head_decode else None,
        "tpot_min_ms": head_decode["tpot_min_ms"] if head_decode else None,
        "prefill_efficiency_pct": head_prefill["efficiency_pct"] if head_prefill else None,
        "ttft_min_ms": head_prefill["ttft_min_ms"] if head_prefill else None,
        "runs": runs,
        "formulas": FORMULAS,
        "leaves_out": LEAVES_OUT,
    }
