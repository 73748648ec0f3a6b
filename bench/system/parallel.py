"""How many NPUs a server's parallel settings use, by SGLang's rules. Pure functions.

SGLang (0.5.3 `server_args.py`, `entrypoints/engine.py`, `data_parallel_controller.py`):

- `--tp-size T` splits one model over T NPUs; `--pp-size P` stages it over P groups of
  them: one copy of the model holds T x P NPUs, over every node (`--nnodes`) together;
- `--dp-size D` without `--enable-dp-attention` starts D such copies, each on its own
  T x P NPUs: D x T x P in all;
- with `--enable-dp-attention` the D attention groups live inside the T tensor-parallel
  NPUs (SGLang asserts T % D == 0): T x P in all.

The kit divides throughput by this count for its per-NPU figures.
"""

from __future__ import annotations

from typing import Any


def npus_used(tp: int, dp: int = 1, pp: int = 1, dp_attention: bool = False) -> int:
    """NPUs a server launched with these sizes uses: tp x pp x (dp unless DP attention)."""
    return tp * pp * (1 if dp_attention else dp)


def _size(value: Any) -> int | None:
    """A positive integer launch argument, else None (absent, null, a bool, a float)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


def npus_of_args(args: dict[str, Any] | None) -> int | None:
    """NPUs from a server's arguments (`/get_server_info` or a document's `server.args`):
    None without a tp_size; dp_size and pp_size default to 1."""
    args = args or {}
    tp = _size(args.get("tp_size"))
    if tp is None:
        return None
    dp = _size(args.get("dp_size")) or 1
    pp = _size(args.get("pp_size")) or 1
    return npus_used(tp, dp, pp, args.get("enable_dp_attention") is True)


def describe(args: dict[str, Any] | None) -> str:
    """`tp_size 8 x dp_size 1` (and pp, DP attention, nodes when they are set), for notes."""
    args = args or {}
    parts = [f"tp_size {args.get('tp_size')}"]
    for key in ("dp_size", "pp_size"):
        if _size(args.get(key)) not in (None, 1) or key == "dp_size":
            parts.append(f"{key} {_size(args.get(key)) or 1}")
    text = " x ".join(parts)
    if args.get("enable_dp_attention") is True:
        text += " (DP attention: dp inside tp)"
    nodes = _size(args.get("nnodes"))
    if nodes and nodes > 1:
        text += f" over {nodes} nodes"
    return text
