"""Assemble a complete result document from its parts, and choose where it goes.

Pure functions build each section from what was captured (the environment, the server's
self-report, the profile, the runs); `output_paths` picks a file name that overwrites
nothing; `relative_records` makes each run's records path relative to the document so the
pair can be moved together. `bench.cli.run` does the I/O and calls these.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from bench.errors import OutputExistsError, UsageError
from bench.metrics import per_npu_tok_s
from bench.system.parallel import describe, npus_of_args
from bench.utc import utc_now

SCHEMA_VERSION = "1.0"

# Workload fields that make two runs the same experiment: the report groups and matches
# baselines on them, and the validator compares a publication's description on them.
WORKLOAD_KEY_FIELDS = (
    "dataset",
    "input_len",
    "output_len",
    "range_ratio",
    "num_prompts",
    "max_concurrency",
    "request_rate_rps",
)

# server.args keys the schema names, read from /get_server_info when the server gives them.
SERVER_ARG_KEYS = (
    "tp_size",
    "dp_size",
    "pp_size",
    "enable_dp_attention",
    "nnodes",
    "node_rank",
    "dist_init_addr",
    "mem_fraction_static",
    "attention_backend",
    "device",
    "max_running_requests",
    "max_total_tokens",
    "context_length",
    "chunked_prefill_size",
    "dtype",
    "quantization",
    "disable_cuda_graph",
)
_INT_ARGS = {
    "tp_size",
    "dp_size",
    "pp_size",
    "nnodes",
    "node_rank",
    "max_running_requests",
    "max_total_tokens",
    "context_length",
    "chunked_prefill_size",
}


def is_simulator(self_report: dict[str, Any] | None) -> bool:
    """The kit's simulator says so in its self-report (`"simulated": true`); SGLang never
    sends that key."""
    return bool(self_report) and self_report.get("simulated") is True


def document_kind(self_report: dict[str, Any] | None) -> str:
    return "simulated" if is_simulator(self_report) else "measured"


def simulated_system(system: dict[str, Any], self_report: dict[str, Any]) -> dict[str, Any]:
    """`system` for a run against the simulator: the simulated accelerator it reports in
    place of this host's (which has no NPU); the host stays the client's."""
    sim = self_report.get("simulator") if isinstance(self_report.get("simulator"), dict) else {}
    count = accelerator_count(self_report)
    hbm = sim.get("hbm_gib")
    accelerator = {
        **system.get("accelerator", {}),
        "name": sim.get("device_name") if isinstance(sim.get("device_name"), str) else None,
        "count": count,
        "hbm_capacity_gib": float(hbm) if isinstance(hbm, int | float) else None,
        "driver_version": None,
        "firmware_version": None,
    }
    missing = {k: v for k, v in system.get("missing", {}).items() if k != "product"}
    missing = {k: v for k, v in missing.items() if not k.startswith("accelerator.")}
    missing["accelerator.driver_version"] = "simulated: no NPU driver"
    missing["accelerator.firmware_version"] = "simulated: no NPU firmware"
    profile = sim.get("profile") or "unknown"
    return {
        **system,
        "product": f"simulated by bench sim (profile {profile})",
        "accelerator": accelerator,
        "missing": missing,
    }


def used_accelerators(
    system: dict[str, Any], self_report: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """`system` of a measured run with `accelerator.count` = the NPUs the server uses, when
    its self-report says (npu-smi on the client's host lists every NPU it sees, used or
    not, and on another host than the server's none of them); with a note when they differ."""
    used = accelerator_count(self_report)
    accelerator = system.get("accelerator") or {}
    seen = accelerator.get("count")
    if used is None or used == seen:
        return system, []
    note = f"system.accelerator.count = {used} NPUs the server uses ({describe(self_report)})"
    if isinstance(seen, int):
        note += f"; npu-smi on the client's host lists {seen}"
    return {**system, "accelerator": {**accelerator, "count": used}}, [note]


def system_of(
    kind: str, system: dict[str, Any], self_report: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """The document's `system` for a run of `kind`: the simulated accelerator for a run
    against the simulator, else the NPUs the server uses (`used_accelerators`); with notes."""
    if kind == "simulated":
        return simulated_system(system, self_report or {}), []
    return used_accelerators(system, self_report)


def accelerator_count(self_report: dict[str, Any] | None) -> int | None:
    """NPUs the server uses, from its self-report (`bench.system.parallel.npus_of_args`: tp_size x
    pp_size x dp_size, dp inside tp with DP attention); None when it gives no tp_size."""
    return npus_of_args(self_report)


def with_per_npu_rate(run: dict[str, Any], accelerators: int | None) -> dict[str, Any]:
    """The run with output throughput per NPU filled in when the NPU count is known."""
    metrics = run.get("metrics", {})
    per_npu = per_npu_tok_s(metrics.get("output_throughput_tok_s"), accelerators)
    if per_npu is None or metrics.get("output_throughput_per_npu_tok_s"):
        return run
    return {**run, "metrics": {**metrics, "output_throughput_per_npu_tok_s": per_npu}}


def server_section(
    self_report: dict[str, Any] | None, expected: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """`server` from the self-report, falling back to the profile's expectations.

    Returns the section and notes about every expectation the server contradicts.
    """
    report = self_report or {}
    args: dict[str, Any] = {}
    notes: list[str] = []
    for key in SERVER_ARG_KEYS:
        value = report.get(key)
        if key in _INT_ARGS and not (isinstance(value, int) and not isinstance(value, bool)):
            value = None
        if key == "mem_fraction_static" and not isinstance(value, int | float):
            value = None
        if key in ("attention_backend", "device", "dtype", "quantization", "dist_init_addr"):
            value = value if isinstance(value, str) else None
        if key in ("disable_cuda_graph", "enable_dp_attention") and not isinstance(value, bool):
            value = None
        wanted = expected.get(key)
        if value is None:
            value = wanted
        elif wanted is not None and value != wanted:
            notes.append(f"the server reports {key} = {value!r}; the profile expects {wanted!r}")
        args[key] = value
    if args.get("max_total_tokens") is not None and args["max_total_tokens"] < 0:
        args["max_total_tokens"] = None
    total = report.get("max_total_num_tokens")
    return (
        {
            "launch_command": None,
            "args": args,
            "self_report": self_report,
            "max_total_num_tokens": total if isinstance(total, int) and total >= 0 else None,
        },
        notes,
    )


def served_model(self_report: dict[str, Any] | None) -> str | None:
    report = self_report or {}
    for key in ("served_model_name", "model_path"):
        value = report.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def model_id(expected: str | None, served: str | None) -> tuple[str, list[str]]:
    """The model's id: the profile's hub id when what the server serves is that model (a
    path ending in its name counts), else what the server serves, with a note."""
    if served is None:
        return expected or "unknown", []
    if expected is None:
        return served, []
    name = expected.rstrip("/").split("/")[-1].lower()
    if served.rstrip("/").lower().endswith(name):
        return expected, []
    return served, [f"the server serves {served!r}; the profile expects {expected!r}"]


def model_section(
    model_id: str, self_report: dict[str, Any] | None, arch: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`model`: its id and, with a model config, its architecture."""
    dtype = (self_report or {}).get("dtype")
    section: dict[str, Any] = {
        "id": model_id,
        "source": "unknown",
        "revision": None,
        "dtype": dtype if isinstance(dtype, str) and dtype != "auto" else None,
    }
    if arch:
        section.update(arch)
    return section


def output_paths(
    out: str | os.PathLike[str] | None, results_dir: str | os.PathLike[str], stem: str
) -> tuple[Path, Path]:
    """(document path, records directory). A named --out must not exist; a default name
    under results_dir gets a numeric suffix until neither it nor its records dir exists."""
    if out is not None:
        path = Path(out)
        records = path.with_name(path.name.removesuffix(".json") + ".records")
        if path.exists():
            raise OutputExistsError(path, "name another --out file")
        if records.exists():
            raise OutputExistsError(records, "move it away or name another --out file")
        return path, records
    base = Path(results_dir)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "result"
    for n in range(1, 1000):
        name = safe if n == 1 else f"{safe}-{n}"
        path = base / f"{name}.json"
        records = base / f"{name}.records"
        if not path.exists() and not records.exists():
            return path, records
    raise UsageError(f"no free file name for {safe} under {base}")


def relative_records(run: dict[str, Any], document: Path) -> dict[str, Any]:
    """The run with its records path (and its telemetry timelines' paths) made relative to
    the document's directory."""
    records = run.get("records")
    if isinstance(records, dict) and isinstance(records.get("path"), str):
        run = {**run, "records": _relative_path(records, document)}
    for section in ("telemetry", "server_metrics"):
        part = run.get(section)
        timeline = part.get("timeline") if isinstance(part, dict) else None
        if isinstance(timeline, dict) and isinstance(timeline.get("path"), str):
            run = {**run, section: {**part, "timeline": _relative_path(timeline, document)}}
    return run


def _relative_path(file: dict[str, Any], document: Path) -> dict[str, Any]:
    """A `{path, ...}` object with the path relative to the document's directory."""
    path = Path(file["path"]).resolve()
    try:
        rel = os.path.relpath(path, document.resolve().parent)
    except ValueError:  # another drive (Windows)
        return file
    return {**file, "path": rel}


def assemble_document(
    *,
    kind: str,
    submitter: str,
    title: str,
    environment: dict[str, Any],
    commands: list[str],
    profile: dict[str, Any],
    model: dict[str, Any],
    server: dict[str, Any],
    throughput: list[dict[str, Any]],
    latency: list[dict[str, Any]],
    memory: dict[str, Any] | None,
    accuracy: dict[str, Any] | None,
    notes: list[str],
    created_utc: str | None = None,
    sanity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One result document, keys in the schema's order (`sanity` only when checked)."""
    provenance = {**environment["provenance"], "commands": commands, "profile": profile}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "created_utc": created_utc or utc_now(),
        "submitter": {"name": submitter, "contact": None, "organization": None},
        "title": title,
        "notes": "; ".join(notes) if notes else None,
        "provenance": provenance,
        "system": environment["system"],
        "software": environment["software"],
        "model": model,
        "server": server,
        "measurements": {"throughput": throughput, "latency": latency, "memory": memory},
        "accuracy": accuracy,
        **({"sanity": sanity} if sanity is not None else {}),
    }
