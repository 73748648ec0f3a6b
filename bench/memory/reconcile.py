"""Measured memory against what the model and the server's settings imply. Pure functions.

Each comparison is `{what, measured_gib, expected_gib, diff_gib, diff_pct}` with
diff = measured - expected and diff_pct = 100 x diff / expected:

1. weights: the log's `mem usage` on one rank vs the checkpoint's bytes / tp
   (the difference is what loading adds: padding, format conversion, workspaces, or a
   dtype that is not the checkpoint's);
2. KV pool: the log's K + V size vs kv_tokens x 2 x layers x kv_heads/tp x head_dim x dtype;
3. static pool: weights + KV vs mem_fraction_static x HBM capacity (SGLang sizes the KV pool
   so that weights + KV fit in that fraction of the device's memory);
4. device: HBM in use per npu-smi vs weights + KV (the rest: activations, graphs, HCCL
   buffers, the runtime itself).
"""

from __future__ import annotations

from bench.units import GIB


def comparison(what: str, measured: float | None, expected: float | None) -> dict:
    """One reconciliation row; diff fields are None when either side is missing."""
    row: dict = {"what": what, "measured_gib": _r(measured), "expected_gib": _r(expected)}
    if measured is not None and expected is not None:
        row["diff_gib"] = _r(measured - expected)
        row["diff_pct"] = _r(100.0 * (measured - expected) / expected) if expected else None
    else:
        row["diff_gib"] = None
        row["diff_pct"] = None
    return row


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def reconcile(
    *,
    weights_gib: float | None,
    expected_weights_gib: float | None,
    kv_cache_gib: float | None,
    kv_tokens: int | None,
    expected_kv_bytes_per_token: int | None,
    mem_fraction_static: float | None,
    hbm_capacity_gib: float | None,
    hbm_used_gib: float | None,
) -> list[dict]:
    """Every comparison the inputs allow, in a fixed order."""
    rows = []
    if weights_gib is not None or expected_weights_gib is not None:
        rows.append(comparison("weights: log vs checkpoint", weights_gib, expected_weights_gib))
    if kv_cache_gib is not None and kv_tokens and expected_kv_bytes_per_token:
        rows.append(
            comparison(
                "KV pool: log vs tokens x bytes per token",
                kv_cache_gib,
                kv_tokens * expected_kv_bytes_per_token / GIB,
            )
        )
    static = (
        weights_gib + kv_cache_gib if weights_gib is not None and kv_cache_gib is not None else None
    )
    if static is not None and mem_fraction_static and hbm_capacity_gib:
        rows.append(
            comparison(
                "weights + KV vs mem_fraction_static x HBM",
                static,
                mem_fraction_static * hbm_capacity_gib,
            )
        )
    if static is not None and hbm_used_gib is not None:
        rows.append(comparison("HBM in use (npu-smi) vs weights + KV", hbm_used_gib, static))
    return rows
