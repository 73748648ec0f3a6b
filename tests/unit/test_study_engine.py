"""The study engine with a fake launcher and a fake cell runner: order, records, resume,
failures, statistics and the front, with numbers that can be checked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import BenchError, InputError
from bench.jsonio import sha256_file
from bench.study import document as docs
from bench.study.cell import RepeatResult
from bench.study.engine import Engine
from bench.study.launchers import RunningServer
from bench.study.plan import plan_cells
from bench.study.process import LaunchError
from bench.study.session import open_resumed
from bench.study.spec import parse_study
from bench.study.stats import HEADLINE_METRICS
from bench.study.validate import study_issues

STUDY = {
    "study": {"name": "fake", "repeats": 2, "cv_max": 0.05},
    "server": {"launcher": "command", "command": "serve --port {port} --slots {slots}"},
    "grid": {"slots": [1, 2]},
    "workload": [{"name": "w", "api": "completions", "input_len": 8, "output_len": 4}],
    "load": {"max_concurrency": [1, 4], "num_prompts": 8},
}


def study(**changes):
    data = json.loads(json.dumps(STUDY))
    for key, value in changes.items():
        section, name = key.split("__")
        data[section][name] = value
    return parse_study(data, "fake.toml")


class FakeLauncher:
    def __init__(self, fail: set[int] = frozenset(), die_after: dict[int, int] | None = None):
        self.fail = fail
        self.die_after = die_after or {}  # configuration index -> runs before it dies
        self.started: list[int] = []
        self.stopped: list[int] = []
        self.runs_on: dict[int, int] = {}

    def start(self, configuration):
        self.started.append(configuration.index)
        if configuration.index in self.fail:
            raise LaunchError("the server exited before it was healthy", "Error: no memory\n")
        index = configuration.index
        self.runs_on[index] = 0

        def alive() -> bool:
            return self.runs_on[index] < self.die_after.get(index, 10**9)

        def stop() -> str:
            self.stopped.append(index)
            return "stopped by SIGTERM (0)"

        return RunningServer(f"http://fake/{index}", ["serve"], None, alive, stop, 0.1)


class FakeRunner:
    """Output throughput = 100 x slots x concurrency (+ `jitter` on even repeats), TPOT
    = 10 ms x concurrency / slots; writes a small file as the 'document'."""

    def __init__(self, launcher: FakeLauncher, jitter: float = 0.0, interrupt_after: int = 0):
        self.launcher = launcher
        self.jitter = jitter
        self.interrupt_after = interrupt_after
        self.ran: list[str] = []
        self.configuration = None

    def prepare(self, server, configuration):
        self.configuration = configuration

    def run(self, job):
        if self.interrupt_after and len(self.ran) == self.interrupt_after:
            raise KeyboardInterrupt
        self.launcher.runs_on[job.cell.configuration.index] += 1
        self.ran.append(job.run_id)
        slots = job.cell.configuration.as_dict["slots"]
        conc = job.cell.load.value
        tput = 100.0 * slots * conc + (self.jitter if job.repeat % 2 == 0 else 0.0)
        tpot = 10.0 * conc / slots
        headline = dict.fromkeys(HEADLINE_METRICS)
        headline.update(
            output_throughput_tok_s=tput,
            output_throughput_per_npu_tok_s=tput,
            interactivity_tok_s=1000.0 / tpot,
            tpot_ms_p50=tpot,
            tpot_ms_p99=tpot,
            ttft_ms_p50=5.0,
            ttft_ms_p99=6.0,
        )
        job.path.write_text(json.dumps({"run": job.run_id}))
        return RepeatResult(
            job.path,
            sha256_file(job.path),
            True,
            (),
            headline,
            8,
            0,
            {"ttft_ms": [5.0, 6.0], "tpot_ms": [tpot, tpot]},
        )

    def recall(self, path):
        return {"ttft_ms": [5.0, 6.0], "tpot_ms": []}


def engine(tmp_path: Path, s, launcher, runner, ledger=None) -> Engine:
    return Engine(s, plan_cells(s), tmp_path, launcher, runner, ledger=ledger, say=lambda m: None)


def test_every_cell_runs_its_repeats_and_the_document_validates(tmp_path):
    s = study()
    launcher = FakeLauncher()
    runner = FakeRunner(launcher)
    outcome = engine(tmp_path, s, launcher, runner).execute()

    doc = outcome.document
    assert launcher.started == launcher.stopped == [1, 2]
    assert len(runner.ran) == 2 * 2 * 2 and outcome.failed_cells == ()
    assert doc["status"] == "complete" and study_issues(doc) == []
    cell = next(
        c for c in doc["cells"] if c["grid"] == {"slots": 2} and c["load"] == {"max_concurrency": 4}
    )
    stats = cell["statistics"]["output_throughput_tok_s"]
    assert (stats["n"], stats["mean"], stats["std"], stats["cv"]) == (2, 800.0, 0.0, 0.0)
    assert (stats["ci95_low"], stats["ci95_high"]) == (800.0, 800.0)
    assert [r["repeat"] for r in cell["repeats"]] == [1, 2]
    assert all(r["sha256"] == sha256_file(tmp_path / r["path"]) for r in cell["repeats"])
    # points (tok/s per user, tok/s): slots 1: (100, 100), (25, 400); slots 2: (200, 200),
    # (50, 800). (100, 100) is beaten by (200, 200); (25, 400) by (50, 800).
    front = doc["pareto"][0]
    by_id = {c["id"]: c for c in doc["cells"]}
    shown = [
        (by_id[i]["grid"]["slots"], by_id[i]["load"]["max_concurrency"]) for i in front["cells"]
    ]
    assert shown == [(2, 4), (2, 1)]
    assert front["y_metric"] == "output_throughput_per_npu_tok_s"
    csv_lines = (tmp_path / "summary.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 4 and csv_lines[0].startswith("cell_id,configuration,slots,")


def test_a_cell_over_cv_max_is_unstable_and_never_ranked(tmp_path):
    s = study()
    launcher = FakeLauncher()
    doc = engine(tmp_path, s, launcher, FakeRunner(launcher, jitter=80.0)).execute().document
    # slots 1, concurrency 1: 100 and 180 -> mean 140, std 56.57, cv 0.404 > 0.05
    cell = next(
        c for c in doc["cells"] if c["grid"] == {"slots": 1} and c["load"] == {"max_concurrency": 1}
    )
    assert cell["unstable"] and not cell["ranked"]
    assert cell["statistics"]["output_throughput_tok_s"]["cv"] == pytest.approx(
        56.5685 / 140, rel=1e-4
    )
    assert all(cell["id"] not in f["cells"] for f in doc["pareto"])
    assert study_issues(doc) == []


def test_a_server_that_does_not_start_fails_its_cells_and_the_rest_run(tmp_path):
    s = study()
    launcher = FakeLauncher(fail={1})
    runner = FakeRunner(launcher)
    outcome = engine(tmp_path, s, launcher, runner).execute()

    doc = outcome.document
    assert launcher.started == [1, 2] and launcher.stopped == [2]
    assert len(outcome.failed_cells) == 2 and all("slots=1" in f for f in outcome.failed_cells)
    conf = doc["configurations"][0]
    assert conf["status"] == "failed" and "Error: no memory" in conf["log_tail"]
    assert [c["status"] for c in doc["cells"]] == ["failed", "failed", "done", "done"]
    assert doc["status"] == "failed" and study_issues(doc) == []


def test_a_server_that_dies_fails_what_is_left_of_its_configuration(tmp_path):
    s = study()
    launcher = FakeLauncher(die_after={1: 3})
    outcome = engine(tmp_path, s, launcher, FakeRunner(launcher)).execute()
    doc = outcome.document
    assert [c["status"] for c in doc["cells"]] == ["done", "failed", "done", "done"]
    assert len(doc["cells"][1]["repeats"]) == 1  # the run before it died is kept
    assert "server died" in doc["configurations"][0]["error"]


def test_an_interrupted_study_resumes_without_running_finished_runs_again(tmp_path):
    s = study()
    launcher = FakeLauncher()
    first = FakeRunner(launcher, interrupt_after=3)
    with pytest.raises(KeyboardInterrupt):
        engine(tmp_path, s, launcher, first).execute()
    assert launcher.stopped == [1]  # the server is stopped on Ctrl-C
    saved = json.loads((tmp_path / "study.json").read_text())
    assert saved["status"] == "interrupted"
    assert sum(len(c["repeats"]) for c in saved["cells"]) == 3

    ledger, _created, _file = open_resumed(s, tmp_path)
    launcher2 = FakeLauncher()
    second = FakeRunner(launcher2)
    doc = engine(tmp_path, s, launcher2, second, ledger).execute().document
    assert len(second.ran) == 8 - 3 and not set(first.ran) & set(second.ran)
    assert doc["status"] == "complete" and study_issues(doc) == []


def test_a_run_written_but_not_recorded_is_set_aside_and_run_again(tmp_path):
    s = study()
    launcher = FakeLauncher()
    e = engine(tmp_path, s, launcher, FakeRunner(launcher))
    cell = e.cells[0]
    leftover = e.run_path(cell, 1)
    leftover.parent.mkdir(parents=True)
    leftover.write_text("{}")  # a crash after the write, before the record
    runner = FakeRunner(launcher)
    e.runner = runner
    e.execute()
    assert cell.run_id(1) in runner.ran
    aside = list((tmp_path / "incomplete").rglob("repeat-1.json"))
    assert len(aside) == 1 and aside[0].read_text() == "{}"


def test_a_recorded_run_whose_file_changed_runs_again(tmp_path):
    s = study()
    launcher = FakeLauncher()
    engine(tmp_path, s, launcher, FakeRunner(launcher)).execute()
    ledger, _, _ = open_resumed(s, tmp_path)
    cells = plan_cells(s)
    changed = tmp_path / ledger.repeats[cells[0].run_id(2)]["path"]
    changed.write_text("edited")
    runner = FakeRunner(launcher)
    engine(tmp_path, s, launcher, runner, ledger).execute()
    assert runner.ran == [cells[0].run_id(2)]


def test_a_changed_study_file_is_refused_for_resume_naming_the_key(tmp_path):
    s = study()
    launcher = FakeLauncher()
    engine(tmp_path, s, launcher, FakeRunner(launcher)).execute()
    with pytest.raises(InputError, match=r"load\.max_concurrency\[1\] changed"):
        open_resumed(study(load__max_concurrency=[1, 8]), tmp_path)
    with pytest.raises(InputError, match=r"study\.repeats changed"):
        open_resumed(study(study__repeats=3), tmp_path)


def test_a_repeat_that_raises_fails_its_cell_only(tmp_path):
    s = study()
    launcher = FakeLauncher()

    class Flaky(FakeRunner):
        def run(self, job):
            if job.cell.load.value == 4 and job.cell.configuration.index == 1:
                raise BenchError("every request timed out")
            return super().run(job)

    outcome = engine(tmp_path, s, launcher, Flaky(launcher)).execute()
    assert [c["status"] for c in outcome.document["cells"]] == ["done", "failed", "done", "done"]
    assert "timed out" in outcome.document["cells"][1]["error"]


def test_statistics_in_the_document_are_checked_against_the_repeats(tmp_path):
    s = study()
    launcher = FakeLauncher()
    doc = engine(tmp_path, s, launcher, FakeRunner(launcher, jitter=4.0)).execute().document
    tampered = json.loads(json.dumps(doc))
    tampered["cells"][0]["statistics"]["output_throughput_tok_s"]["mean"] += 1
    found = {i.pointer for i in study_issues(tampered)}
    assert "/cells/0/statistics/output_throughput_tok_s/mean" in found
    tampered = json.loads(json.dumps(doc))
    stats = tampered["cells"][0]["statistics"]["output_throughput_tok_s"]
    stats["ci95_high"] = stats["mean"] - 1
    assert any("does not hold its mean" in i.message for i in study_issues(tampered))
    tampered = json.loads(json.dumps(doc))
    tampered["pareto"][0]["cells"].reverse()
    assert any(i.pointer == "/pareto" for i in study_issues(tampered))


def test_documents_cells_carry_grid_values_workload_and_load():
    s = study()
    ledger = docs.Ledger()
    doc = docs.build_document(
        s, plan_cells(s), ledger, status="running", created_utc="2026-01-01T00:00:00Z",
        updated_utc="2026-01-01T00:00:00Z", study_file={"path": "study.toml", "sha256": None},
        provenance={},
    )  # fmt: skip
    assert [(c["grid"], c["workload"], c["load"]) for c in doc["cells"]] == [
        ({"slots": 1}, "w", {"max_concurrency": 1}),
        ({"slots": 1}, "w", {"max_concurrency": 4}),
        ({"slots": 2}, "w", {"max_concurrency": 1}),
        ({"slots": 2}, "w", {"max_concurrency": 4}),
    ]
    assert all(c["status"] == "pending" for c in doc["cells"]) and study_issues(doc) == []
