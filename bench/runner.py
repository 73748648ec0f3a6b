"""Run a workload profile against a server and write one complete result document.

The steps, in order: ask the server about itself (`/get_server_info`, else `/server_info`,
with a timeout), capture the environment, run every throughput run (the kit's load
generator, or sglang.bench_serving) and every latency run, read memory (the server log
when given, else the self-report), optionally the accuracy self-test, then assemble and
write the document atomically. Each run's records go to `<document>.records/<run>.jsonl`
as requests finish, so a failure or Ctrl-C leaves them on disk; the error says where.
"""

from __future__ import annotations

import math
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import result
from bench.errors import BenchError, InputError, UsageError
from bench.workload.profile import LatencyRun, Profile, ThroughputRun


@dataclass(frozen=True)
class RunOptions:
    """What `bench run` was asked to do beyond the profile itself."""

    base_url: str
    out: Path | None = None
    results_dir: Path = Path("runs")
    server_log: Path | None = None
    submitter: str = "anonymous"
    title: str | None = None
    model: str | None = None
    model_dir: Path | None = None
    tokenizer: str | None = None
    dataset_path: str | None = None
    selftest: bool = False
    command: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunOutcome:
    path: Path
    document: dict[str, Any]
    failed_requests: int


def pick_tokenizer(
    option: str | None,
    self_report: dict[str, Any] | None,
    model_dir: Path | None = None,
    model: str | None = None,
) -> str | None:
    """--tokenizer; else --model-dir (or --model, when it is a local directory) holding
    tokenizer.json; else the tokenizer (or model) directory the server reports, when that
    path exists on this host (the simulator reports its shipped tokenizer; SGLang its model
    path, which may be inside a container)."""
    if option:
        return option
    for candidate in (model_dir, model):
        if candidate is not None and (Path(candidate) / "tokenizer.json").is_file():
            return str(candidate)
    report = self_report or {}
    for key in ("tokenizer_path", "model_path"):
        path = report.get(key)
        if isinstance(path, str) and path and (Path(path) / "tokenizer.json").is_file():
            return path
    return None


def throughput_run(
    spec: ThroughputRun, opts: RunOptions, tokenizer: str | None, records: Path
) -> dict[str, Any]:
    """One throughput run through the driver the profile names."""
    # The workload as both drivers take it; what differs is spelled out below.
    workload: dict[str, Any] = {
        "base_url": opts.base_url,
        "model": opts.model,
        "tokenizer": tokenizer,
        "api": spec.api,
        "dataset": spec.dataset,
        "dataset_path": opts.dataset_path or spec.dataset_path,
        "input_len": spec.input_len,
        "output_len": spec.output_len,
        "range_ratio": spec.range_ratio,
        "num_prompts": spec.num_prompts,
        "max_concurrency": spec.max_concurrency,
        "seed": spec.seed,
        "warmup": spec.warmup,
        "ignore_eos": spec.ignore_eos,
    }
    if spec.driver == "sglang":
        from bench.drivers.sglang_bench_serving import SglangRun, run_sglang

        sglang = SglangRun(
            **workload,
            request_rate=spec.request_rate,
            timeout_s=spec.timeout_s,
            as_written=spec.as_written,
        )
        run = run_sglang(sglang, records / f"{spec.name}.sglang.jsonl", spec.name)
    else:
        from bench.client.loadgen import LoadConfig, run_throughput

        config = LoadConfig(
            **workload,
            request_rate=math.inf if spec.request_rate is None else spec.request_rate,
            timeout=spec.timeout_s,
            name=spec.name,
        )
        run = run_throughput(config, records / f"{spec.name}.jsonl")
    return with_profile_notes(run, spec.notes)


def latency_run(
    spec: LatencyRun, opts: RunOptions, tokenizer: str | None, records: Path
) -> dict[str, Any]:
    from bench.client.latency import LatencyConfig, run_latency

    config = LatencyConfig(
        base_url=opts.base_url,
        model=opts.model,
        api=spec.api,
        tokenizer=tokenizer,
        input_tokens=spec.input_tokens,
        output_tokens=spec.output_tokens,
        runs=spec.runs,
        warmup=spec.warmup,
        timeout=spec.timeout_s,
        seed=spec.seed,
        ignore_eos=spec.ignore_eos,
        name=spec.name,
    )
    return with_profile_notes(run_latency(config, records / f"{spec.name}.jsonl"), spec.notes)


def with_profile_notes(run: dict[str, Any], notes: str | None) -> dict[str, Any]:
    """The run with the profile's notes for it appended to its own (`; `-joined)."""
    if notes:
        run["notes"] = "; ".join(n for n in (run.get("notes"), notes) if n)
    return run


def memory_of(
    opts: RunOptions, self_report: dict[str, Any] | None, notes: list[str]
) -> dict[str, Any] | None:
    """Memory from the server log (and self-report, model dir) when there is any input."""
    if opts.server_log is None and self_report is None and opts.model_dir is None:
        notes.append("memory: no server log, self-report or model directory to read")
        return None
    from bench.memory import collect_memory

    try:
        return collect_memory(
            server_log=opts.server_log, server_info=self_report, model_dir=opts.model_dir
        )
    except InputError as exc:
        if opts.server_log is not None:
            raise
        notes.append(f"memory: {exc}")
        return None


def model_arch_of(model_dir: Path | None) -> dict[str, Any] | None:
    """Architecture from config.json, and source and revision from MODEL_SOURCE.json."""
    if model_dir is None:
        return None
    from bench.memory.model_config import load_model_arch
    from bench.modelhub import model_provenance

    arch, _path = load_model_arch(model_dir, None)
    hub = model_provenance(Path(model_dir)) or {}  # written by `bench model`
    return {
        "source": hub.get("source") or "local",
        "revision": hub.get("revision"),
        "dtype": arch.dtype,
        "parameter_count": arch.params,
        "weight_bytes": arch.weight_bytes_published,
        "num_layers": arch.num_layers,
        "num_kv_heads": arch.num_kv_heads,
        "head_dim": arch.head_dim,
        "hidden_size": arch.hidden_size,
        "max_position_embeddings": arch.max_position_embeddings,
    }


def run_profile(profile: Profile, opts: RunOptions) -> RunOutcome:
    """Run every run of the profile and write the document; return where it went."""
    from bench.envinfo import capture_environment, server_self_report
    from bench.jsonio import write_json_atomic

    preflight(profile, opts)
    self_report, why = server_self_report(opts.base_url)
    listed = None
    if self_report is None and opts.model is None:
        from bench.client.runinfo import discover_model

        listed = discover_model(opts.base_url)  # an unreachable server stops here, clearly
    kind = result.document_kind(self_report)
    stem = f"{profile.name}-{kind}-{result.utc_now().replace(':', '').replace('-', '')}"
    path, records = output_paths_for(opts, stem)
    notes: list[str] = []
    if self_report is None:
        notes.append(f"no server self-report ({why}); kind set to measured")
    tokenizer = pick_tokenizer(opts.tokenizer, self_report, opts.model_dir, opts.model)
    if tokenizer is None and (
        profile.latency or any(t.driver == "kit" for t in profile.throughput)
    ):
        raise UsageError(
            "no tokenizer: pass --tokenizer DIR or --model-dir DIR (a directory holding the "
            "model's tokenizer.json); the server did not report one that exists here"
        )
    environment = capture_environment(opts.base_url, self_report=(self_report, why))
    server, server_notes = result.server_section(self_report, _expected(profile))
    notes += server_notes
    records.mkdir(parents=True, exist_ok=False)
    throughput: list[dict[str, Any]] = []
    latency: list[dict[str, Any]] = []
    commands = [shlex.join(opts.command)] if opts.command else []
    try:
        for spec in profile.throughput:
            _say(f"throughput run {spec.name} ({spec.driver})")
            run = throughput_run(spec, opts, tokenizer, records)
            if run["driver"].get("command"):
                commands.append(shlex.join(run["driver"]["command"]))
            run = result.with_per_npu_rate(run, result.accelerator_count(self_report))
            throughput.append(result.relative_records(run, path))
        for spec in profile.latency:
            _say(f"latency run {spec.name}")
            latency.append(
                result.relative_records(latency_run(spec, opts, tokenizer, records), path)
            )
    except (BenchError, KeyboardInterrupt) as exc:
        if not any(records.iterdir()):
            records.rmdir()
            where = "no records were written"
        else:
            where = f"records of the runs so far are in {records}"
        if isinstance(exc, KeyboardInterrupt):
            sys.stderr.write(f"Interrupted; {where}\n")
            raise
        raise type(exc)(f"{exc} ({where}; no result document written)") from None
    model, model_notes = result.model_id(
        profile.server.model, opts.model or result.served_model(self_report) or listed
    )
    notes += model_notes
    memory = memory_of(opts, self_report, notes)
    accuracy = _selftest(records / "selftest") if opts.selftest else None
    if kind == "simulated":
        notes.insert(0, "every number was measured against the kit's simulator: simulated")
        environment = {
            **environment,
            "system": result.simulated_system(environment["system"], self_report or {}),
        }
    document = result.assemble_document(
        kind=kind,
        submitter=opts.submitter,
        title=opts.title or f"{profile.name}: {profile.description}"[:200],
        environment=environment,
        commands=commands,
        profile=profile.as_dict(),
        model=result.model_section(model, self_report, model_arch_of(opts.model_dir)),
        server=server,
        throughput=throughput,
        latency=latency,
        memory=memory,
        accuracy=accuracy,
        notes=notes,
    )
    write_json_atomic(path, document, overwrite=False)
    failed = sum(r["metrics"]["requests_failed"] for r in (*throughput, *latency))
    return RunOutcome(path=path, document=document, failed_requests=failed)


def preflight(profile: Profile, opts: RunOptions) -> None:
    """Refuse, before anything is sent, runs that cannot start: a ShareGPT run (the
    article's command as written is one) with no local dataset file."""
    for spec in profile.throughput:
        path = opts.dataset_path or spec.dataset_path
        if spec.dataset == "sharegpt" and not path:
            what = "the article's command as written" if spec.as_written else spec.name
            raise UsageError(
                f"{what} runs the ShareGPT dataset, which the kit never downloads: "
                "give a local ShareGPT JSON file with --dataset-path"
            )
        if path and spec.dataset == "sharegpt" and not Path(path).is_file():
            raise InputError(f"dataset file not found: {path}")


def output_paths_for(opts: RunOptions, stem: str) -> tuple[Path, Path]:
    return result.output_paths(opts.out, opts.results_dir, stem)


def _expected(profile: Profile) -> dict[str, Any]:
    s = profile.server
    return {
        "tp_size": s.tp_size,
        "mem_fraction_static": s.mem_fraction_static,
        "attention_backend": s.attention_backend,
        "device": s.device,
    }


def _selftest(workdir: Path) -> dict[str, Any]:
    """The accuracy self-test (its own simulator, this client host); files in workdir."""
    from bench.selftest import run_selftest

    _say(f"accuracy self-test (files in {workdir})")
    return run_selftest(workdir, echo=_say)


def _say(message: str) -> None:
    sys.stderr.write(f"bench run: {message}\n")
