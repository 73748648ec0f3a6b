"""A study's searches, run by the engine on each configuration's server after its cells.

Each probe is a cell (`bench.study.plan.make_cell` at the probed load), and each of its
runs is a repeat of that cell, measured by the same cell runner (`run(job)`) into
`cells/<configuration>/<workload>/<load>/repeat-N.json`. The k-th run of a probe is the
cell's repeat k: when the study's load sweep already measured that repeat, it is taken as
it is, not run again. After every run the study document is rewritten, so an
interruption loses nothing finished: on resume the recorded runs (their files intact,
checked by sha256) are replayed through the same pure decisions (`bench.slo.search`),
which ask for exactly the run that comes next.
"""

from __future__ import annotations

import shutil
from typing import Any

from bench.errors import BenchError
from bench.slo.search import load_limit, next_step, outcome
from bench.slo.verdict import probe_verdict
from bench.study.cell import RunJob
from bench.study.plan import Configuration, LoadLevel, configurations, make_cell
from bench.study.search_doc import history_of, search_key
from bench.utc import utc_stamp


class Searcher:
    def __init__(self, engine: Any):
        self.engine = engine
        self.study = engine.study
        self.spec = engine.study.search
        self.ledger = engine.ledger
        facts = getattr(engine.runner, "facts", None)
        if facts is None:
            from bench.slo.facts import facts_of_document as facts
        self.facts = facts
        self._keep_intact()

    # -- the engine's interface -------------------------------------------------------------
    def pending(self, configuration: Configuration) -> bool:
        return any(
            self.ledger.searches.get(self._key(configuration, w.name), {}).get("status") != "done"
            for w in self.study.workloads
        )

    def failed(self) -> list[str]:
        out = []
        for configuration in configurations(self.study):
            for w in self.study.workloads:
                state = self.ledger.searches.get(self._key(configuration, w.name), {})
                if state.get("status") == "failed":
                    out.append(f"{configuration.label} | {w.name} | search: {state.get('error')}")
        return out

    def fail(self, configuration: Configuration, why: str) -> None:
        for w in self.study.workloads:
            key = self._key(configuration, w.name)
            if self.ledger.searches.get(key, {}).get("status") != "done":
                self.ledger.searches[key] = {"status": "failed", "error": why}

    def run(self, configuration: Configuration, server: Any) -> str | None:
        """Every unfinished search of this configuration; a reason when its server died."""
        for workload in self.study.workloads:
            key = self._key(configuration, workload.name)
            if self.ledger.searches.get(key, {}).get("status") == "done":
                continue
            why = self._search(configuration, workload, key, server)
            if why is not None:
                return why
        return None

    # -- one search -------------------------------------------------------------------------
    def _search(self, configuration, workload, key: str, server: Any) -> str | None:
        state = {"status": "running", "error": None}
        self.ledger.searches[key] = state
        entries = self.ledger.probes.setdefault(key, [])
        label = f"{configuration.label} | {workload.name}"
        bound = load_limit(self.spec) * self.spec.repeats_at_boundary + 1
        for _ in range(bound):  # every step adds a run; the decisions stop within the limit
            step = next_step(self.spec, history_of(entries))
            if step.action == "done":
                state["status"] = "done"
                self.engine.write()
                self.engine.say(f"{label} | search done: {self._answer_text(entries)}")
                return None
            if not server.alive():
                return f"server died during the search of {workload.name}"
            repeat = 1 + sum(1 for e in entries if e["load"] == step.load)
            try:
                entry = self._run(configuration, workload, step.load, repeat)
            except BenchError as exc:
                if not server.alive():
                    return f"server died during the search of {workload.name}: {exc}"
                state.update(status="failed", error=f"load {step.load:g}, run {repeat}: {exc}")
                self.engine.write()
                self.engine.say(f"{label} | search failed: {state['error']}")
                return None
            entries.append({"seq": len(entries) + 1, "load": step.load, **entry})
            self.engine.write()
            self.engine.say(f"{label} | {self._probe_text(entries, step)}")
        raise AssertionError("the search did not stop within its bound")  # pragma: no cover

    def _run(self, configuration, workload, load: float, repeat: int) -> dict[str, Any]:
        level = LoadLevel(self.spec.axis, load, self.study.load.prompts_at(load))
        cell = make_cell(self.study, configuration, workload, level)
        run_id = cell.run_id(repeat)
        path = self.engine.run_path(cell, repeat)
        known = self.ledger.repeats.get(run_id)
        if known is not None:  # the sweep measured this repeat of this cell already
            entry = dict(known)
        else:
            job = RunJob(cell, repeat, run_id, path)
            self._set_aside(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            entry = self.engine.repeat_entry(job, self.engine.runner.run(job))
            self.engine.note_kind()
        facts = self.facts(self.engine.out / entry["path"], self.spec.slo)
        return {"cell_id": cell.id, **entry, "slo": facts.as_dict()}

    # -- records on disk --------------------------------------------------------------------
    def _keep_intact(self) -> None:
        """Keep each search's runs up to the first whose file is missing or changed (the
        decisions after it rested on it); the files of the runs after it are set aside."""
        for key, entries in self.ledger.probes.items():
            for i, entry in enumerate(entries):
                if not self.engine.intact(entry):
                    for later in entries[i:]:
                        self._set_aside(self.engine.out / later["path"])
                    self.engine.say(f"search {key}: run {i + 1} is missing or changed; from it on")
                    del entries[i:]
                    self.ledger.searches.pop(key, None)
                    break

    def _set_aside(self, path) -> None:
        """Move a leftover document and its records (a run not recorded) to incomplete/."""
        if path.is_relative_to(self.engine.out) and self._recorded(path):
            return
        records = path.with_name(path.name.removesuffix(".json") + ".records")
        for leftover in (path, records):
            if leftover.exists():
                target = self.engine.out / "incomplete" / utc_stamp()
                target = target / leftover.relative_to(self.engine.out)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(leftover), str(target))

    def _recorded(self, path) -> bool:
        """The file is a sweep run the study recorded (never moved)."""
        rel = path.relative_to(self.engine.out).as_posix()
        return any(e.get("path") == rel for e in self.ledger.repeats.values())

    # -- words ------------------------------------------------------------------------------
    def _key(self, configuration: Configuration, workload: str) -> str:
        return search_key(configuration.key, workload)

    def _probe_text(self, entries: list[dict[str, Any]], step) -> str:
        runs = [e for e in entries if e["load"] == step.load]
        verdict = probe_verdict([f for _, f in history_of(runs)], self.spec.slo)
        why = f" ({'; '.join(verdict.reasons)})" if verdict.reasons else ""
        return (
            f"probe {self._load_text(step.load)}, run {len(runs)}: {verdict.status}{why} "
            f"[{step.why}]"
        )

    def _answer_text(self, entries: list[dict[str, Any]]) -> str:
        answer = outcome(self.spec, history_of(entries))
        lo, hi = answer.largest_passing, answer.smallest_failing
        parts = [
            f"largest passing {self._load_text(lo) if lo is not None else 'none'}",
            f"smallest failing {self._load_text(hi) if hi is not None else 'none'}",
            f"{answer.loads} loads, {answer.runs} runs",
        ]
        return ", ".join(parts) + "".join(f"; {n}" for n in answer.notes)

    def _load_text(self, load: float) -> str:
        return LoadLevel(self.spec.axis, load, None).label
