"""Running a study: configuration by configuration, start the server, run every cell's
repeats that are not done yet, record each as it finishes, stop the server.

The engine owns the order and the record keeping, nothing else: a `Launcher` starts and
stops servers (`bench.study.launchers`), a cell runner measures one repeat
(`bench.study.cell.DocumentRunner`, or a fake one in tests). After every run the study
document is rewritten atomically, so an interruption at any moment (Ctrl-C, a crash, a
reboot) leaves a document that names every finished run; a result file of a run it does
not name is set aside under `incomplete/` when the study is resumed, and that run is run
again. A configuration whose server does not start, or dies, is recorded as failed with
its log's tail, and the study goes on with the next.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.jsonio import sha256_file, write_atomic, write_json_atomic
from bench.study import document as docs
from bench.study import resume
from bench.study.cell import RepeatResult, RunJob
from bench.study.launchers import Launcher, RunningServer
from bench.study.plan import Cell, Configuration, configurations
from bench.study.process import LaunchError
from bench.study.spec import Study
from bench.study.stats import cell_statistics
from bench.utc import utc_now, utc_stamp

BOOTSTRAP_SEED = 0  # fixed and recorded: the same pooled values give the same interval


@dataclass(frozen=True)
class Outcome:
    document: dict[str, Any]
    path: Path
    failed_cells: tuple[str, ...]  # labels


class Engine:
    def __init__(
        self,
        study: Study,
        cells: list[Cell],
        out: Path,
        launcher: Launcher,
        runner: Any,  # prepare(server, configuration), run(job) -> RepeatResult, recall(path)
        *,
        ledger: docs.Ledger | None = None,
        created_utc: str | None = None,
        study_file: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        hbm: Callable[[], Any] | None = None,  # a HbmGuard, or None where there is no npu-smi
        say: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.study = study
        self.cells = cells
        self.out = out
        self.launcher = launcher
        self.runner = runner
        self.ledger = ledger or docs.Ledger()
        self.created_utc = created_utc or utc_now()
        self.study_file = study_file or {"path": None, "sha256": None}
        self.provenance = provenance or {}
        self.hbm = hbm
        self.say = say or (lambda m: sys.stderr.write(f"bench study: {m}\n"))
        self.clock = clock
        self.status = "running"
        self.pooled: dict[str, dict[str, list[float]]] = {}  # run id -> per-request values
        self._began = clock()
        self._runs_now = 0
        self.searcher = None
        if study.search is not None:
            from bench.study.probes import Searcher

            self.searcher = Searcher(self)

    # -- paths ------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.out / "study.json"

    def run_path(self, cell: Cell, repeat: int) -> Path:
        return self.out / "cells" / cell.key / f"repeat-{repeat}.json"

    # -- the whole study --------------------------------------------------------------------
    def execute(self) -> Outcome:
        n = self.study.head.repeats
        planned = [cell.run_id(r) for cell in self.cells for r in range(1, n + 1)]
        decision = resume.decide(planned, self.ledger.repeats, self.intact)
        for run_id in decision.set_aside:
            del self.ledger.repeats[run_id]
        todo = set(decision.todo)
        self._set_aside_leftovers(todo)
        for cell in self.cells:
            self._update_statistics(cell)
        self._todo_total = len(todo)
        if decision.done:
            self.say(f"resuming: {len(decision.done)} of {len(planned)} runs already done")
        self.write()
        try:
            for configuration in self._configurations():
                jobs = [
                    (cell, r)
                    for cell in self.cells
                    if cell.configuration.index == configuration.index
                    for r in range(1, n + 1)
                    if cell.run_id(r) in todo
                ]
                searching = self.searcher is not None and self.searcher.pending(configuration)
                if jobs or searching:
                    self._run_configuration(configuration, jobs)
        except KeyboardInterrupt:
            self.status = "interrupted"
            self.write()
            raise
        failed = self.failed_cells()
        if self.searcher is not None:
            failed += self.searcher.failed()
        self.status = "failed" if failed else "complete"
        document = self.write()
        return Outcome(document, self.path, tuple(failed))

    def _configurations(self) -> list[Configuration]:
        return configurations(self.study)

    # -- one configuration ------------------------------------------------------------------
    def _run_configuration(self, configuration: Configuration, jobs: list[tuple[Cell, int]]):
        state: dict[str, Any] = {"status": "starting"}
        self.ledger.configurations[configuration.index] = state
        for cell, _ in jobs:
            self.ledger.cell_errors.pop(cell.id, None)
        if self.hbm is not None:
            state["hbm"] = self.hbm.before_start()
            self.say(state["hbm"])
        self.say(f"starting configuration {configuration.index}: {configuration.label}")
        self.write()
        try:
            server = self.launcher.start(configuration)
        except LaunchError as exc:
            state["server_log"] = self._relative(exc.log)
            self._fail(configuration, jobs, f"server did not start: {exc}", exc.log_tail)
            return
        state.update(
            status="running",
            pid=server.pid,
            launch_command=server.launch_command,
            base_url=server.base_url,
            server_log=self._relative(server.log),
            start_s=round(server.start_s, 3),
        )
        try:
            self._run_jobs(configuration, server, jobs, state)
        finally:
            began = self.clock()
            state["stop"] = server.stop()
            state["stop_s"] = round(self.clock() - began, 3)
            state.pop("pid", None)
            self.write()

    def _run_jobs(
        self,
        configuration: Configuration,
        server: RunningServer,
        jobs: list[tuple[Cell, int]],
        state: dict[str, Any],
    ) -> None:
        from bench.study.process import log_tail

        try:
            self.runner.prepare(server, configuration)
        except BenchError as exc:
            self._fail(configuration, jobs, f"could not prepare its cells: {exc}", "")
            return
        context = getattr(self.runner, "context", None)
        state["memory"] = _memory_summary(context)
        prepare_s = getattr(context, "prepare_s", None)
        state["prepare_s"] = round(prepare_s, 3) if isinstance(prepare_s, float) else None
        for i, (cell, repeat) in enumerate(jobs):
            if cell.id in self.ledger.cell_errors:
                continue  # an earlier repeat of this cell failed
            if not server.alive():
                why = f"server died before {cell.label}, repeat {repeat}"
                self._fail(configuration, jobs[i:], why, log_tail(server.log))
                return
            job = RunJob(cell, repeat, cell.run_id(repeat), self.run_path(cell, repeat))
            job.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                outcome = self.runner.run(job)
            except BenchError as exc:
                if not server.alive():
                    why = f"server died during {cell.label}, repeat {repeat}: {exc}"
                    self._fail(configuration, jobs[i:], why, log_tail(server.log))
                    return
                self.ledger.cell_errors[cell.id] = f"repeat {repeat}: {exc}"
                self.say(f"cell failed: {cell.label}, repeat {repeat}: {exc}")
                self.write()
                continue
            self._record(job, outcome)
        if self.searcher is not None:
            why = self.searcher.run(configuration, server)
            if why is not None:
                self._fail(configuration, [], why, log_tail(server.log))
                return
        state["status"] = "done"

    def _fail(
        self, configuration: Configuration, jobs: list[tuple[Cell, int]], why: str, tail: str
    ) -> None:
        state = self.ledger.configurations[configuration.index]
        state.update(status="failed", error=why, log_tail=tail or None)
        for cell, _ in jobs:
            self.ledger.cell_errors.setdefault(cell.id, f"configuration failed: {why}")
        if self.searcher is not None:
            self.searcher.fail(configuration, f"configuration failed: {why}")
        self.say(f"configuration {configuration.index} ({configuration.label}) failed: {why}")
        self.write()

    # -- one run ----------------------------------------------------------------------------
    def _record(self, job: RunJob, outcome: RepeatResult) -> None:
        """Record a run only now: its document is on disk and was validated."""
        self.ledger.repeats[job.run_id] = self.repeat_entry(job, outcome)
        self.note_kind()
        self.pooled[job.run_id] = outcome.pooled
        self._update_statistics(job.cell)
        self._runs_now += 1
        self.write()
        self._progress(job, outcome)

    def repeat_entry(self, job: RunJob, outcome: RepeatResult) -> dict[str, Any]:
        """What the study document records about one finished run."""
        return {
            "repeat": job.repeat,
            "run_id": job.run_id,
            "path": self._relative(outcome.path),
            "sha256": outcome.sha256,
            "valid": outcome.valid,
            "errors": list(outcome.errors),
            "requests_sent": outcome.requests_sent,
            "requests_failed": outcome.requests_failed,
            "metrics": outcome.headline,
            "costs_s": {k: round(v, 4) for k, v in outcome.costs_s.items()},
        }

    def note_kind(self) -> None:
        kind = getattr(getattr(self.runner, "context", None), "kind", None)
        if kind:
            self.ledger.kinds.add(kind)

    def _update_statistics(self, cell: Cell) -> None:
        n = self.study.head.repeats
        entries = [
            (cell.run_id(r), self.ledger.repeats[cell.run_id(r)])
            for r in range(1, n + 1)
            if cell.run_id(r) in self.ledger.repeats
        ]
        if not entries:
            self.ledger.statistics.pop(cell.id, None)
            return
        pooled: dict[str, list[float]] = {}
        for run_id, entry in entries:
            if run_id not in self.pooled:
                self.pooled[run_id] = self.runner.recall(self.out / entry["path"])
            for key, values in self.pooled[run_id].items():
                pooled.setdefault(key, []).extend(values)
        self.ledger.statistics[cell.id] = cell_statistics(
            [entry["metrics"] for _, entry in entries],
            pooled,
            self.study.head.cv_max,
            BOOTSTRAP_SEED,
        )

    def _progress(self, job: RunJob, outcome: RepeatResult) -> None:
        done_cells = sum(1 for c in self.cells if self._cell_done(c))
        runs_done = len(self.ledger.repeats)
        runs_total = len(self.cells) * self.study.head.repeats
        elapsed = self.clock() - self._began
        left = (self._todo_total - self._runs_now) * elapsed / max(self._runs_now, 1)
        tput = outcome.headline.get("output_throughput_tok_s")
        figure = f", {tput:.1f} output tok/s" if tput is not None else ""
        flag = "" if outcome.valid else " (INVALID document)"
        self.say(
            f"{done_cells}/{len(self.cells)} cells done ({runs_done}/{runs_total} runs), "
            f"elapsed {_clock_text(elapsed)}, about {_clock_text(left)} left: "
            f"{job.cell.label}, repeat {job.repeat}/{self.study.head.repeats}{figure}{flag}"
        )

    # -- records on disk --------------------------------------------------------------------
    def _cell_done(self, cell: Cell) -> bool:
        n = self.study.head.repeats
        return all(cell.run_id(r) in self.ledger.repeats for r in range(1, n + 1))

    def failed_cells(self) -> list[str]:
        return [c.label for c in self.cells if c.id in self.ledger.cell_errors]

    def intact(self, entry: dict[str, Any]) -> bool:
        """The run's result document is where the ledger says, with the bytes it recorded."""
        path = self.out / str(entry.get("path"))
        try:
            return path.is_file() and sha256_file(path) == entry.get("sha256")
        except BenchError:
            return False

    def _set_aside_leftovers(self, todo: set[str]) -> None:
        """Move files of runs still to do (a crash left them) to incomplete/<stamp>/."""
        aside = self.out / "incomplete" / utc_stamp()
        moved = 0
        for cell in self.cells:
            for r in range(1, self.study.head.repeats + 1):
                if cell.run_id(r) not in todo:
                    continue
                path = self.run_path(cell, r)
                records = path.with_name(path.name.removesuffix(".json") + ".records")
                for leftover in (path, records):
                    if leftover.exists():
                        target = aside / leftover.relative_to(self.out)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.move(str(leftover), str(target))
                        moved += 1
        if moved:
            self.say(f"set aside {moved} file(s) of unfinished runs in {aside}; they run again")

    def _relative(self, path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return path.resolve().relative_to(self.out.resolve()).as_posix()
        except ValueError:
            return str(path)

    def document(self) -> dict[str, Any]:
        return docs.build_document(
            self.study,
            self.cells,
            self.ledger,
            status=self.status,
            created_utc=self.created_utc,
            updated_utc=utc_now(),
            study_file=self.study_file,
            provenance=self.provenance,
        )

    def write(self) -> dict[str, Any]:
        document = self.document()
        write_json_atomic(self.path, document, overwrite=True)
        write_atomic(self.out / "summary.csv", docs.summary_csv(document).encode(), overwrite=True)
        if self.searcher is not None:
            from bench.study.search_doc import search_csv

            write_atomic(self.out / "search.csv", search_csv(document).encode(), overwrite=True)
        return document


def _memory_summary(context: Any) -> dict[str, Any] | None:
    memory = getattr(context, "memory", None)
    if not isinstance(memory, dict):
        return None
    keys = ("weights_gib", "kv_cache_gib", "kv_tokens", "hbm_capacity_gib", "mem_fraction_static")
    return {k: memory.get(k) for k in keys}


def _clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
