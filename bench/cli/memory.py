"""Read device memory from every source given and reconcile it with the model.

Sources: the server's log (SGLang's `Load weight end.`, `KV Cache is allocated.`,
`max_total_num_tokens=` lines, one set per tensor-parallel rank), saved `npu-smi info` or
`npu-smi info -t usages -i N` output (without --npu-smi, `npu-smi info` is run when it is on
PATH), the server's `/get_server_info`, and the model's config.json (+ safetensors index).
SGLang's "GB" is GiB (2^30 bytes); every figure here is GiB or MiB.

Examples:
  python -m bench memory --server-log server.log --model-dir models/Qwen2-7B-Instruct
  python -m bench memory --server-log server.log --npu-smi npu-smi.txt --json
  python -m bench memory --server-log server.log --result runs/run.json
"""

from __future__ import annotations

import argparse

SERVER_INFO_TIMEOUT_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-log", metavar="FILE", help="SGLang server (or container) log")
    parser.add_argument("--npu-smi", metavar="FILE", help="saved `npu-smi info` (or -t usages)")
    parser.add_argument(
        "--server-info", metavar="URL|FILE", help="/get_server_info: a server URL or saved JSON"
    )
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model-dir", metavar="DIR", help="model directory (config.json, index)")
    model.add_argument("--model-config", metavar="FILE", help="the model's config.json")
    parser.add_argument("--tp", type=int, metavar="N", help="tensor-parallel size (default: log)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--result", metavar="FILE", help="update the memory section of this result document"
    )


def _read_text(path: str, what: str) -> str:
    from pathlib import Path

    from bench.errors import InputError

    try:
        return Path(path).read_bytes()[: 64 * 1024 * 1024].decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def fetch_server_info(source: str) -> dict:
    """A server's self-report from a URL (with a timeout) or a saved JSON file."""
    from urllib.parse import urlsplit

    from bench.client.api import SERVER_INFO_PATHS, get_server_info

    if not source.startswith(("http://", "https://")):
        from bench.jsonio import load_document

        return load_document(source)
    parts = urlsplit(source)
    paths = (parts.path,) if parts.path not in ("", "/") else SERVER_INFO_PATHS
    return get_server_info(f"{parts.scheme}://{parts.netloc}", SERVER_INFO_TIMEOUT_S, paths)


def _show(value) -> str:
    return "-" if value is None else str(value)


def render_table(memory: dict) -> str:
    """The memory object as readable tables (tabulate)."""
    from tabulate import tabulate

    src = memory.get("sources", {})
    keys = [
        ("weights_gib", "weights (GiB, one NPU)"),
        ("kv_cache_gib", "KV cache (GiB, one NPU)"),
        ("kv_tokens", "KV pool tokens"),
        ("kv_bytes_per_token", "KV bytes per token (measured)"),
        ("expected_weights_gib", "weights expected (GiB)"),
        ("expected_kv_bytes_per_token", "KV bytes per token expected"),
        ("hbm_capacity_gib", "HBM capacity (GiB)"),
        ("mem_fraction_static", "mem_fraction_static"),
    ]
    blocks = [
        tabulate(
            [(label, _show(memory.get(k)), src.get(k, "")) for k, label in keys],
            headers=["figure", "value", "source"],
        )
    ]
    if memory.get("per_rank"):
        blocks.append(tabulate(memory["per_rank"], headers="keys"))
    if memory.get("npus"):
        blocks.append(tabulate(memory["npus"], headers="keys"))
    if memory.get("reconciliation"):
        blocks.append(tabulate(memory["reconciliation"], headers="keys"))
    blocks += [f"note: {n}" for n in memory.get("notes", [])]
    return "\n\n".join(blocks)


def update_result(path: str, memory: dict) -> None:
    """Replace measurements.memory in a result document, atomically; nothing else changes."""
    from bench.errors import InputError
    from bench.jsonio import load_document, write_json_atomic

    doc = load_document(path)
    measurements = doc.get("measurements")
    if not isinstance(measurements, dict):
        raise InputError(f"{path}: no `measurements` object: is this a result document?")
    measurements["memory"] = memory
    from bench.errors import BenchError
    from bench.validate.schema import schema_issues

    bad = [i for i in schema_issues(doc) if i.pointer.startswith("/measurements/memory")]
    if bad:  # a bug in the kit: never write a section the schema rejects
        raise BenchError(f"memory section fails the schema at {bad[0].pointer}: {bad[0].message}")
    write_json_atomic(path, doc, overwrite=True)


def run(args: argparse.Namespace) -> int:
    import json

    from bench.errors import UsageError
    from bench.memory import collect_memory
    from bench.memory.npu_smi import run_npu_smi

    given = (args.server_log, args.npu_smi, args.server_info, args.model_dir, args.model_config)
    if not any(given):
        raise UsageError(
            "give at least one of --server-log, --npu-smi, --server-info, --model-dir, "
            "--model-config"
        )
    if args.tp is not None and args.tp < 1:
        raise UsageError("--tp must be at least 1")
    smi_note = None
    if args.npu_smi:
        smi_text = _read_text(args.npu_smi, "npu-smi output")
    else:
        smi_text, smi_note = run_npu_smi("info")
    memory = collect_memory(
        server_log=args.server_log,
        npu_smi_text=smi_text,
        server_info=fetch_server_info(args.server_info) if args.server_info else None,
        model_dir=args.model_dir,
        model_config=args.model_config,
        tp=args.tp,
    )
    if smi_note:
        memory["notes"].append(f"no device readings: {smi_note}")
    if args.result:
        update_result(args.result, memory)
    if args.json:
        print(json.dumps(memory, ensure_ascii=False, allow_nan=False))
    else:
        print(render_table(memory))
        if args.result:
            print(f"\nmemory section written to {args.result}")
    return 0
