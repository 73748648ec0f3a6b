"""Run a workload profile against a server and write one complete result document.

The steps, in order: ask the server about itself (`/get_server_info`, else `/server_info`,
with a timeout), capture the environment, run every throughput run (the kit's load
generator, or sglang.bench_serving) and every latency run, then the profile's sanity check
(its questions asked after every measured run, so none of its requests falls into a measured
window), read memory (the server log when given, else the self-report), optionally the
accuracy self-test, then assemble and write the document atomically. Each run's records go
to `<document>.records/<run>.jsonl` as requests finish, so a failure or Ctrl-C leaves them on
disk; the error says where.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import result
from bench.client.target import Target, resolve_target
from bench.errors import BenchError, InputError
from bench.telemetry.session import TelemetryOptions, attach_telemetry, run_telemetry
from bench.utc import utc_stamp
from bench.workload.profile import LatencyRun, Profile, SanityRun, ThroughputRun


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
    telemetry: TelemetryOptions | None = None  # None: no NPU or /metrics sampling
    node_envs: tuple[tuple[int, Path], ...] = ()  # (node rank, `bench env --json` file)


@dataclass(frozen=True)
class RunOutcome:
    path: Path
    document: dict[str, Any]
    failed_requests: int


def measure_throughput(
    spec: ThroughputRun,
    target: Target,
    records_dir: Path,
    dataset_path: str | None = None,
    telemetry: TelemetryOptions | None = None,
) -> dict[str, Any]:
    """One throughput run of a profile (or a study's cell) through the driver it names;
    its records go to `records_dir/<name>.jsonl` (`.sglang.jsonl` for the sglang driver),
    its telemetry timelines (when `telemetry` is given) beside them."""
    workload = spec.workload.with_dataset_path(dataset_path)
    with run_telemetry(telemetry, target.base_url, records_dir, spec.name) as session:
        if spec.driver == "sglang":
            from bench.drivers.sglang_bench_serving import SglangOptions, run_sglang

            options = SglangOptions(as_written=spec.as_written)
            out = records_dir / f"{spec.name}.sglang.jsonl"
            run = run_sglang(workload, target, out, spec.name, options)
        else:
            from bench.client.loadgen import run_throughput

            records = records_dir / f"{spec.name}.jsonl"
            run = run_throughput(
                workload, target, records, name=spec.name, window=session, workers=spec.workers
            )
    run = attach_telemetry(run, session)
    run = result.with_per_npu_rate(run, result.accelerator_count(target.self_report))
    return with_profile_notes(run, spec.notes)


def measure_latency(
    spec: LatencyRun,
    target: Target,
    records_dir: Path,
    telemetry: TelemetryOptions | None = None,
) -> dict[str, Any]:
    """One latency run of a profile; its records go to `records_dir/<name>.jsonl`."""
    from bench.client.latency import run_latency

    records = records_dir / f"{spec.name}.jsonl"
    with run_telemetry(telemetry, target.base_url, records_dir, spec.name) as session:
        run = run_latency(spec.workload, target, records, name=spec.name, window=session)
    return with_profile_notes(attach_telemetry(run, session), spec.notes)


def measure_sanity(spec: SanityRun, target: Target, records_dir: Path) -> dict[str, Any]:
    """The sanity check of a profile; its records go to `records_dir/<name>.jsonl`."""
    from bench.client.sanity import run_sanity

    sanity = run_sanity(spec.check, target, records_dir / f"{spec.name}.jsonl", name=spec.name)
    return with_profile_notes(sanity, spec.notes)


def with_profile_notes(run: dict[str, Any], notes: str | None) -> dict[str, Any]:
    """The run with the profile's notes for it appended to its own (`; `-joined)."""
    if notes:
        run["notes"] = "; ".join(n for n in (run.get("notes"), notes) if n)
    return run


def memory_of(
    server_log: Path | None,
    self_report: dict[str, Any] | None,
    model_dir: str | Path | None,
    notes: list[str],
    *,
    log_named_by_user: bool,
) -> dict[str, Any] | None:
    """Memory from the server log (and self-report, model dir) when there is any input.
    What cannot be read is a note, except a log the user named, whose error stops the run."""
    if server_log is None and self_report is None and model_dir is None:
        notes.append("memory: no server log, self-report or model directory to read")
        return None
    from bench.memory import collect_memory

    try:
        return collect_memory(server_log=server_log, server_info=self_report, model_dir=model_dir)
    except InputError as exc:
        if log_named_by_user and server_log is not None:
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


def needs_tokenizer(profile: Profile) -> bool:
    """The kit's own drivers build prompts; sglang.bench_serving can do without one."""
    return bool(profile.latency) or any(t.driver == "kit" for t in profile.throughput)


def run_profile(profile: Profile, opts: RunOptions) -> RunOutcome:
    """Run every run of the profile and write the document; return where it went."""
    from bench.jsonio import write_json_atomic
    from bench.system.capture import capture_environment
    from bench.system.nodes import nodes_section

    preflight(profile, opts)
    target = resolve_target(
        opts.base_url,
        model=opts.model,
        tokenizer=opts.tokenizer,
        model_dir=opts.model_dir,
        need_tokenizer=needs_tokenizer(profile),
    )
    report = target.self_report
    kind = result.document_kind(report)
    path, records = output_paths_for(opts, f"{profile.name}-{kind}-{utc_stamp()}")
    notes: list[str] = []
    if report is None:
        notes.append(f"no server self-report ({target.self_report_missing}); kind set to measured")
    environment = capture_environment(
        opts.base_url, self_report=(report, target.self_report_missing)
    )
    server, server_notes = result.server_section(report, _expected(profile))
    notes += server_notes
    nodes, node_notes = nodes_section(list(opts.node_envs), report)  # read before measuring
    notes += node_notes
    throughput, latency, commands, sanity = _measure_all(profile, opts, target, records, path)
    model, model_notes = result.model_id(
        profile.server.model, opts.model or result.served_model(report) or target.model
    )
    notes += model_notes
    memory = memory_of(opts.server_log, report, opts.model_dir, notes, log_named_by_user=True)
    accuracy = _selftest(records / "selftest") if opts.selftest else None
    if kind == "simulated":
        notes.insert(0, "every number was measured against the kit's simulator: simulated")
    system, system_notes = result.system_of(kind, environment["system"], report)
    environment = {**environment, "system": system}
    notes += system_notes
    if nodes:
        environment = {**environment, "system": {**environment["system"], "nodes": nodes}}
    document = result.assemble_document(
        kind=kind,
        submitter=opts.submitter,
        title=opts.title or f"{profile.name}: {profile.description}"[:200],
        environment=environment,
        commands=commands,
        profile=profile.as_dict(),
        model=result.model_section(model, report, model_arch_of(opts.model_dir)),
        server=server,
        throughput=throughput,
        latency=latency,
        memory=memory,
        accuracy=accuracy,
        notes=notes,
        sanity=sanity,
    )
    write_json_atomic(path, document, overwrite=False)
    failed = sum(r["metrics"]["requests_failed"] for r in (*throughput, *latency))
    return RunOutcome(path=path, document=document, failed_requests=failed)


def _measure_all(
    profile: Profile, opts: RunOptions, target: Target, records: Path, document: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], dict[str, Any] | None]:
    """(throughput runs, latency runs, commands run, the sanity check or None). A failure
    or Ctrl-C part-way says where the records of the finished runs are; no document is
    written then."""
    records.mkdir(parents=True, exist_ok=False)
    throughput: list[dict[str, Any]] = []
    latency: list[dict[str, Any]] = []
    commands = [shlex.join(opts.command)] if opts.command else []
    sanity = None
    try:
        for spec in profile.throughput:
            _say(f"throughput run {spec.name} ({spec.driver})")
            run = measure_throughput(spec, target, records, opts.dataset_path, opts.telemetry)
            if run["driver"].get("command"):
                commands.append(shlex.join(run["driver"]["command"]))
            throughput.append(result.relative_records(run, document))
        for spec in profile.latency:
            _say(f"latency run {spec.name}")
            run = measure_latency(spec, target, records, opts.telemetry)
            latency.append(result.relative_records(run, document))
        if profile.sanity is not None:
            _say(f"sanity check {profile.sanity.name} ({profile.sanity.check.questions} questions)")
            sanity = measure_sanity(profile.sanity, target, records)
            sanity = result.relative_records(sanity, document)
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
    return throughput, latency, commands, sanity


def preflight(profile: Profile, opts: RunOptions) -> None:
    """Refuse, before anything is sent, runs that cannot start: a ShareGPT run (the
    article's command as written is one) with no local dataset file."""
    for spec in profile.throughput:
        try:
            spec.workload.with_dataset_path(opts.dataset_path).check_dataset()
        except BenchError as exc:
            if spec.as_written and not (opts.dataset_path or spec.workload.dataset_path):
                raise type(exc)(f"the article's command as written runs ShareGPT: {exc}") from None
            raise type(exc)(f"{spec.name}: {exc}") from None


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
