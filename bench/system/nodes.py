"""Every node of a multi-node server, as far as the client can know it: `system.nodes`.

The client runs on one host and talks to the server's rank 0 over HTTP. What it can see
of the server's other nodes is what the server says about itself (`nnodes`, `tp_size`,
... in `/get_server_info`) and what the user brings from each node: the output of
`bench env --json` captured there (`make serve-node` writes it), given to `bench run` as
`--node-env RANK=FILE`. Each capture becomes one entry of `system.nodes`, labelled with
the file it came from; nothing about a node is guessed. A node the server counts but no
capture covers is named in the document's notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import InputError, UsageError
from bench.jsonio import load_document

NODE_KEYS = ("product", "accelerator", "host")  # of a capture's `system` section


def parse_node_env(text: str) -> tuple[int, Path]:
    """`RANK=FILE` (the `--node-env` value) -> (rank, path); a UsageError naming the problem."""
    rank, sep, file = text.partition("=")
    if not sep or not rank.strip().isdigit() or not file.strip():
        raise UsageError(f"--node-env wants RANK=FILE (e.g. 1=node-1.env.json), got {text!r}")
    return int(rank), Path(file.strip())


def read_node(rank: int, path: Path) -> dict[str, Any]:
    """One `system.nodes` entry from a `bench env --json` file captured on node `rank`."""
    doc = load_document(path)
    system = doc.get("system") if isinstance(doc, dict) else None
    if not isinstance(system, dict) or not isinstance(system.get("accelerator"), dict):
        raise InputError(f"{path}: not a `bench env --json` capture (no system.accelerator)")
    entry: dict[str, Any] = {"node_rank": rank, "source": str(path)}
    for key in NODE_KEYS:
        entry[key] = system.get(key)
    if not isinstance(entry["host"], dict):
        entry["host"] = {}
    if not isinstance(entry["product"], str):
        entry["product"] = None
    return entry


def nodes_section(
    node_envs: list[tuple[int, Path]], self_report: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """(`system.nodes`, notes). Each rank once; the notes name the nodes the server counts
    (its `nnodes`) that no capture covers, and captures for ranks it does not have."""
    ranks = [rank for rank, _ in node_envs]
    twice = sorted({r for r in ranks if ranks.count(r) > 1})
    if twice:
        raise UsageError(f"--node-env gives node rank {twice[0]} more than once")
    nodes = [read_node(rank, path) for rank, path in sorted(node_envs)]
    nnodes = (self_report or {}).get("nnodes")
    notes: list[str] = []
    if isinstance(nnodes, int) and not isinstance(nnodes, bool) and nnodes >= 1:
        missing = [r for r in range(nnodes) if r not in ranks]
        if nnodes > 1 and missing:
            notes.append(
                f"the server spans {nnodes} nodes (its nnodes); no environment capture for "
                f"node rank {', '.join(map(str, missing))} (bench run --node-env RANK=FILE)"
            )
        beyond = [r for r in ranks if r >= nnodes]
        if beyond:
            notes.append(
                f"--node-env names node rank {beyond[0]}, but the server reports nnodes {nnodes}"
            )
    return nodes, notes
