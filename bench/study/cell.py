"""The cell runner: one repeat of a cell is one `bench run`-like result document.

It is built from the same library as `bench run`: `bench.runner.measure_throughput` runs
the workload, `bench.result.assemble_document` assembles the document, and
`bench.validate.validate_file` checks it (schema, consistency, and its records' sha256)
once it is on disk, before the study records the run as done. The document is written
atomically and never over an existing file.

What is the same for every cell of a configuration is read once, when its server is up
(`prepare`): the server's self-report and model name, the environment (`bench env`'s
capture: host, NPUs, software, git), and memory from the server's log (`bench memory`).
A repeat then costs its flush, its measurement, and its write and validation.

The engine (`bench.study.engine`) only needs the small interface `prepare` / `run` /
`recall`; tests drive it with a fake runner, and a search can call the same runner.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import result
from bench.study.flush import Flusher
from bench.study.launchers import RunningServer
from bench.study.plan import Cell, Configuration
from bench.study.spec import Study
from bench.study.stats import POOLED_P99, headline_values
from bench.workload.profile import Profile, ServerExpectation


@dataclass(frozen=True)
class RunJob:
    cell: Cell
    repeat: int  # 1-based
    run_id: str
    path: Path  # the result document to write


@dataclass(frozen=True)
class RepeatResult:
    """What the study records about one finished run."""

    path: Path
    sha256: str
    valid: bool
    errors: tuple[str, ...]  # the validator's errors, when not valid
    headline: dict[str, float | None]
    requests_sent: int
    requests_failed: int
    pooled: dict[str, list[float]]  # per-request TTFT and TPOT (ms) of completed requests
    costs_s: dict[str, float] = field(default_factory=dict)  # flush, measure, write_validate


@dataclass
class _Context:
    """What one configuration's cells share."""

    target: Any
    environment: dict[str, Any]
    kind: str
    server: dict[str, Any]
    model: dict[str, Any]
    memory: dict[str, Any] | None
    notes: list[str]
    flusher: Flusher
    prepare_s: float


class DocumentRunner:
    def __init__(self, study: Study, submitter: str, command: list[str]):
        self.study = study
        self.submitter = submitter
        self.command = command
        self.context: _Context | None = None

    # -- once per configuration -------------------------------------------------------------
    def prepare(self, server: RunningServer, configuration: Configuration) -> None:
        from bench.client.target import resolve_target
        from bench.system.capture import capture_environment

        began = time.monotonic()
        s = self.study.server
        target = resolve_target(
            server.base_url,
            model=s.model,
            tokenizer=s.tokenizer,
            model_dir=s.model_dir,
            need_tokenizer=any(w.driver == "kit" for w in self.study.workloads),
        )
        report = target.self_report
        notes = list(server.notes)
        if report is None:
            notes.append(
                f"no server self-report ({target.self_report_missing}); kind set to measured"
            )
        environment = capture_environment(
            server.base_url, self_report=(report, target.self_report_missing)
        )
        kind = result.document_kind(report)
        system, system_notes = result.system_of(kind, environment["system"], report)
        environment = {**environment, "system": system}
        notes += system_notes
        expected = {k: v for k, v in configuration.values if k in result.SERVER_ARG_KEYS}
        section, server_notes = result.server_section(report, expected)
        section["launch_command"] = server.launch_command
        model, model_notes = result.model_id(s.model, result.served_model(report) or target.model)
        from bench.runner import memory_of, model_arch_of

        log = server.log if server.log is not None and server.log.is_file() else None
        arch = model_arch_of(Path(s.model_dir)) if s.model_dir else None
        self.context = _Context(
            target=target,
            environment=environment,
            kind=kind,
            server=section,
            model=result.model_section(model, report, arch),
            memory=memory_of(log, report, s.model_dir, notes, log_named_by_user=False),
            notes=[*notes, *server_notes, *model_notes],
            flusher=Flusher(server.base_url, s.flush),
            prepare_s=time.monotonic() - began,
        )

    # -- once per repeat --------------------------------------------------------------------
    def run(self, job: RunJob) -> RepeatResult:
        from bench.jsonio import sha256_file, write_json_atomic
        from bench.runner import measure_throughput
        from bench.validate import validate_file

        ctx = self.context
        assert ctx is not None, "prepare() first"
        t0 = time.monotonic()
        flushed = ctx.flusher.flush()
        t1 = time.monotonic()
        records = job.path.with_name(job.path.name.removesuffix(".json") + ".records")
        records.mkdir(parents=True, exist_ok=False)
        spec = job.cell.run
        run = measure_throughput(spec, ctx.target, records)
        run = result.relative_records(run, job.path)
        t2 = time.monotonic()
        document = self._document(job, run, flushed)
        write_json_atomic(job.path, document, overwrite=False)
        findings = validate_file(job.path)
        errors = tuple(
            f"{f.pointer or '(root)'}: {f.message}" for f in findings if f.level == "error"
        )
        t3 = time.monotonic()
        metrics = run["metrics"]
        return RepeatResult(
            path=job.path,
            sha256=sha256_file(job.path),
            valid=not errors,
            errors=errors,
            headline=headline_values(metrics),
            requests_sent=int(metrics.get("requests_sent") or 0),
            requests_failed=int(metrics.get("requests_failed") or 0),
            pooled=pooled_values(records / f"{spec.name}.jsonl"),
            costs_s={"flush": t1 - t0, "measure": t2 - t1, "write_validate": t3 - t2},
        )

    def recall(self, path: Path) -> dict[str, list[float]]:
        """The pooled per-request values of a run finished earlier (for its cell's p99)."""
        return recall_pooled(path)

    def _document(self, job: RunJob, run: dict[str, Any], flushed: str) -> dict[str, Any]:
        ctx = self.context
        assert ctx is not None
        study, cell = self.study, job.cell
        values = cell.configuration.as_dict
        profile = Profile(
            name=study.name,
            description=study.head.description,
            path=study.path,
            server=ServerExpectation(
                model=study.server.model,
                tp_size=values.get("tp_size"),
                mem_fraction_static=values.get("mem_fraction_static"),
            ),
            throughput=(cell.run,),
        )
        place = {
            "name": study.name,
            "cell_id": cell.id,
            "run_id": job.run_id,
            "repeat": job.repeat,
            "repeats": study.head.repeats,
            "configuration": values,
            "workload": cell.workload_name,
            "load": {"kind": cell.load.kind, "value": cell.load.json_value},
        }
        notes = [
            f"study {study.name}: cell {cell.id} ({cell.label}), repeat {job.repeat} of "
            f"{study.head.repeats}, run {job.run_id}",
            flushed,
            "environment and memory read once for this configuration, when its server was up",
            *ctx.notes,
        ]
        if ctx.kind == "simulated":
            notes.insert(0, "every number was measured against the kit's simulator: simulated")
        commands = [" ".join(self.command)]
        if ctx.server.get("launch_command"):
            import shlex

            commands.insert(0, shlex.join(ctx.server["launch_command"]))
        title = f"{study.name}: {cell.label}, repeat {job.repeat}/{study.head.repeats}"
        return result.assemble_document(
            kind=ctx.kind,
            submitter=self.submitter,
            title=title[:200],
            environment=ctx.environment,
            commands=commands,
            profile={**profile.as_dict(), "study": place},
            model=ctx.model,
            server=ctx.server,
            throughput=[run],
            latency=[],
            memory=ctx.memory,
            accuracy=None,
            notes=notes,
        )


def pooled_values(records_path: Path) -> dict[str, list[float]]:
    """TTFT and TPOT (ms) of every completed, measured request of one run's records."""
    from bench.metrics import tpot_ms, ttft_ns
    from bench.records import read_records
    from bench.units import NS_PER_MS

    out: dict[str, list[float]] = {source: [] for source in POOLED_P99.values()}
    if not records_path.is_file():
        return out
    for record in read_records(records_path):
        if record.warmup or record.error_kind is not None:
            continue
        ttft = ttft_ns(record)
        if ttft is not None:
            out["ttft_ms"].append(ttft / NS_PER_MS)
        tpot = tpot_ms(record)
        if tpot is not None:
            out["tpot_ms"].append(tpot)
    return out


def recall_pooled(document: Path) -> dict[str, list[float]]:
    """Pooled values of a finished run, from the records its document names."""
    from bench.errors import InputError
    from bench.jsonio import load_document

    try:
        doc = load_document(document)
        runs = doc["measurements"]["throughput"]
        records = document.parent / runs[0]["records"]["path"]
    except (InputError, KeyError, IndexError, TypeError):
        return {source: [] for source in POOLED_P99.values()}
    return pooled_values(records)
