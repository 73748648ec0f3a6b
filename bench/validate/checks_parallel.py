"""Tensor/data parallelism and nodes: the NPU count, every rank's memory, every node.

- The NPUs a document counts (`system.accelerator.count`, which per-NPU rates divide by)
  are what the server's own self-report implies (`bench.system.parallel`), when it gives tp_size.
- Each rank of the log holds its share of the weights (parameters x dtype bytes / TP), as
  the summary does: a rank that holds a whole copy under TP 8 is a misread log.
- The log cannot show more ranks than tp x pp x dp; the nodes captured (`system.nodes`)
  are distinct ranks of the server's `nnodes`, and together hold at least the NPUs used.
"""

from __future__ import annotations

from typing import Any

from bench.system.parallel import npus_of_args
from bench.validate import tolerances as tol
from bench.validate.checks_memory import MEM, expected_weights_gib
from bench.validate.findings import Issue, fmt, items, num, pct, pointer, sub


def _reported_npus(doc: Any) -> int | None:
    """NPUs by the server's own self-report (never by a profile's expectation)."""
    return npus_of_args(sub(sub(doc, "server"), "self_report"))


def check_npu_count_matches_server(doc: Any) -> list[Issue]:
    """system.accelerator.count = tp x pp x dp (dp inside tp with DP attention) of the
    server's self-report, when it reports tp_size."""
    used = _reported_npus(doc)
    count = num(sub(sub(doc, "system"), "accelerator"), "count")
    if used is None or count is None or count == used:
        return []
    return [
        Issue(
            pointer("system", "accelerator", "count"),
            f"{fmt(count)} accelerators counted; the server's self-report implies {used} "
            "(tp_size x pp_size x dp_size, dp inside tp with DP attention)",
        )
    ]


def check_rank_weights(doc: Any) -> list[Issue]:
    """Every rank's weights = parameters x dtype bytes / TP (the summary's bounds)."""
    want = expected_weights_gib(doc)
    if want is None:
        return []
    low = want * (1 - tol.WEIGHTS_UNDER_REL) - tol.MEMORY_ABS_GIB
    high = want * (1 + tol.WEIGHTS_OVER_REL) + tol.MEMORY_ABS_GIB
    out = []
    for i, rank in enumerate(items(sub(sub(doc, "measurements"), "memory"), "per_rank")):
        weights = num(rank, "weights_gib")
        if not isinstance(rank, dict):
            continue
        if weights is not None and not low <= weights <= high:
            out.append(
                Issue(
                    pointer(*MEM, "per_rank", i, "weights_gib"),
                    f"rank {rank.get('rank')} holds {fmt(weights)} GiB of weights; parameters x "
                    f"dtype bytes / TP = {fmt(want)} GiB ({pct(weights, want)}; allowed -3% "
                    "to +10%)",
                )
            )
    return out


def check_ranks_and_nodes(doc: Any) -> list[Issue]:
    """Log ranks <= tp x pp x dp; captured nodes distinct, below nnodes, and holding at
    least the NPUs used when every node is captured (by the server's self-report)."""
    used = _reported_npus(doc)
    out = []
    ranks = items(sub(sub(doc, "measurements"), "memory"), "per_rank")
    if used is not None and len(ranks) > used:
        out.append(
            Issue(
                pointer(*MEM, "per_rank"),
                f"the log shows {len(ranks)} ranks; the server's parallel sizes give {used} NPUs",
            )
        )
    nodes = [n for n in items(sub(doc, "system"), "nodes") if isinstance(n, dict)]
    nnodes = num(sub(sub(doc, "server"), "args"), "nnodes")
    seen: set[Any] = set()
    for i, node in enumerate(nodes):
        rank = node.get("node_rank")
        if rank in seen:
            out.append(Issue(pointer("system", "nodes", i, "node_rank"), f"node {rank} twice"))
        seen.add(rank)
        if nnodes is not None and isinstance(rank, int) and rank >= nnodes:
            out.append(
                Issue(
                    pointer("system", "nodes", i, "node_rank"),
                    f"node rank {rank} of a server that spans {fmt(nnodes)} nodes",
                )
            )
    counts = [num(sub(n, "accelerator"), "count") for n in nodes]
    if used is not None and nnodes and len(nodes) == nnodes and None not in counts:
        total = sum(counts)
        if total < used:
            out.append(
                Issue(
                    pointer("system", "nodes"),
                    f"the {len(nodes)} nodes list {fmt(total)} NPUs; the server uses {used}",
                )
            )
    return out


CHECKS = [check_npu_count_matches_server, check_rank_weights, check_ranks_and_nodes]
