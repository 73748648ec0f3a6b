"""`[search]` in a study, with a fake launcher and a fake cell runner: each probe is a cell
run by the same engine, recorded in study.json as it finishes, resumed without running a
finished probe again, reusing the sweep's runs, and checked by the study validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import InputError
from bench.jsonio import sha256_file
from bench.slo.verdict import RunFacts
from bench.study import document as docs
from bench.study.cell import RepeatResult
from bench.study.engine import Engine
from bench.study.launchers import RunningServer
from bench.study.plan import plan_cells
from bench.study.session import open_resumed
from bench.study.spec import parse_study
from bench.study.stats import HEADLINE_METRICS
from bench.study.validate import study_issues

STUDY = {
    "study": {"name": "fake-search", "repeats": 2, "cv_max": 0.5},
    "server": {"launcher": "command", "command": "serve --port {port} --slots {slots}"},
    "grid": {"slots": [2, 8]},
    "workload": [{"name": "w", "api": "completions", "input_len": 8, "output_len": 4}],
    "load": {"num_prompts": 100},
    "search": {
        "slo": {"ttft_p99_ms": 500, "attainment": 0.9},
        "min": 1,
        "max": 64,
        "precision": 0.1,
        "repeats_at_boundary": 2,
    },
}


def study(**changes):
    data = json.loads(json.dumps(STUDY))
    for key, value in changes.items():
        section, name = key.split("__")
        if value is None:
            data[section].pop(name, None)
        else:
            data[section][name] = value
    return parse_study(data, "fake.toml")


class Launcher:
    def __init__(self, die_after_runs: int | None = None):
        self.started: list[int] = []
        self.runs = 0
        self.die_after_runs = die_after_runs

    def start(self, configuration):
        self.started.append(configuration.index)

        def alive():
            return self.die_after_runs is None or self.runs < self.die_after_runs

        return RunningServer(
            f"http://fake/{configuration.index}", ["serve"], None, alive, lambda: "stopped", 0.1
        )


class Runner:
    """A server of `slots` slots meets the SLO at loads up to 3 x slots: below, p99 TTFT
    100 ms and every request good; above, 900 ms and 70% good."""

    def __init__(self, launcher: Launcher, interrupt_after: int = 0, limit=lambda s: 3 * s):
        self.limit = limit
        self.launcher = launcher
        self.interrupt_after = interrupt_after
        self.ran: list[tuple[int, float, int]] = []

    def prepare(self, server, configuration):
        pass

    def run(self, job):
        if self.interrupt_after and len(self.ran) == self.interrupt_after:
            raise KeyboardInterrupt
        self.launcher.runs += 1
        slots = job.cell.configuration.as_dict["slots"]
        load = job.cell.load.value
        self.ran.append((slots, load, job.repeat))
        job.path.write_text(json.dumps({"slots": slots, "load": load}))
        headline = dict.fromkeys(HEADLINE_METRICS)
        headline["output_throughput_tok_s"] = 10.0 * min(load, self.limit(slots))
        return RepeatResult(job.path, sha256_file(job.path), True, (), headline, 100, 0, {})

    def recall(self, path):
        return {}

    def facts(self, path: Path, slo) -> RunFacts:
        data = json.loads(path.read_text())
        ok = data["load"] <= self.limit(data["slots"])
        tput = 10.0 * min(data["load"], self.limit(data["slots"]))
        return RunFacts(
            {"ttft_p99_ms": 100.0 if ok else 900.0}, 100, 0, 100 if ok else 70, 10.0, tput, tput
        )


def run(tmp_path, s, launcher=None, runner=None, ledger=None) -> tuple[dict, Runner]:
    launcher = launcher or Launcher()
    runner = runner or Runner(launcher)
    engine = Engine(s, plan_cells(s), tmp_path, launcher, runner, ledger=ledger, say=lambda m: None)
    return engine.execute().document, runner


def test_a_search_only_study_finds_each_configurations_largest_passing_load(tmp_path):
    doc, _runner = run(tmp_path, study())
    assert doc["status"] == "complete" and doc["cells"] == [] and study_issues(doc) == []
    found = {e["configuration"]: e for e in doc["search"]}
    # 2 slots pass up to 6: 1, 2, 4, 8 (fails), 6 passes, 7 fails -> [6, 7]
    assert (found[1]["largest_passing"], found[1]["smallest_failing"]) == (6, 7)
    assert (found[2]["largest_passing"], found[2]["smallest_failing"]) == (24, 26)
    assert found[1]["goodput_rps"] == pytest.approx(10.0)  # 100 good requests in 10 s
    assert found[1]["output_throughput_per_npu_tok_s"] == pytest.approx(60.0)
    probes = found[1]["probes"]
    assert [p["load"] for p in probes] == [1, 2, 4, 8, 6, 7]
    assert [p["verdict"]["status"] for p in probes] == ["pass"] * 3 + ["fail", "pass", "fail"]
    assert [len(p["runs"]) for p in probes] == [1, 1, 1, 1, 2, 2]  # the bounds confirmed
    seqs = [r["seq"] for p in probes for r in p["runs"]]
    assert sorted(seqs) == list(range(1, 9))
    first = probes[0]["runs"][0]
    assert first["path"] == "cells/c1-slots-2/w/c1/repeat-1.json"
    assert first["sha256"] == sha256_file(tmp_path / first["path"])
    assert first["slo"]["requests_good"] == 100
    assert doc["study"]["search"]["slo"] == {"ttft_p99_ms": 500.0, "attainment": 0.9}


def test_an_interrupted_search_resumes_without_running_a_finished_probe(tmp_path):
    s = study()
    launcher = Launcher()
    runner = Runner(launcher, interrupt_after=5)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, s, launcher, runner)
    first = list(runner.ran)
    doc = json.loads((tmp_path / "study.json").read_text())
    assert doc["status"] == "interrupted"
    assert sum(len(p["runs"]) for p in doc["search"][0]["probes"]) == 5

    ledger, _created, _file = open_resumed(s, tmp_path)
    doc2, runner2 = run(tmp_path, s, ledger=ledger)
    assert doc2["status"] == "complete" and study_issues(doc2) == []
    assert not set(first) & set(runner2.ran)  # nothing run twice
    fresh, _ = run(tmp_path / "fresh", s)
    assert [e["probes"] for e in doc2["search"]] != []
    for a, b in zip(doc2["search"], fresh["search"], strict=True):
        assert [(p["load"], len(p["runs"])) for p in a["probes"]] == [
            (p["load"], len(p["runs"])) for p in b["probes"]
        ]
        assert (a["largest_passing"], a["smallest_failing"]) == (
            b["largest_passing"],
            b["smallest_failing"],
        )


def test_a_probe_at_a_swept_level_takes_the_sweeps_runs(tmp_path):
    s = study(load__max_concurrency=[4, 8], load__num_prompts=100)
    doc, runner = run(tmp_path, s)
    assert study_issues(doc) == []
    ran = [(slots, load) for slots, load, _r in runner.ran]
    assert ran.count((2, 4)) == 2  # the sweep's two repeats; the probe at 4 took repeat 1
    assert ran.count((2, 8)) == 2  # the probe at 8 and its confirmation took both
    entry = doc["search"][0]
    probe4 = next(p for p in entry["probes"] if p["load"] == 4)
    cell4 = next(
        c for c in doc["cells"] if c["grid"]["slots"] == 2 and c["load"]["max_concurrency"] == 4
    )
    assert probe4["cell_id"] == cell4["id"]
    assert probe4["runs"][0]["run_id"] == cell4["repeats"][0]["run_id"]


def test_a_server_dying_in_a_search_fails_its_configuration_and_the_rest_runs(tmp_path):
    launcher = Launcher(die_after_runs=3)
    doc, _ = run(tmp_path, study(grid__slots=[2]), launcher)
    assert doc["status"] == "failed"
    assert doc["configurations"][0]["status"] == "failed"
    assert doc["search"][0]["status"] == "failed"
    assert "server died during the search" in doc["search"][0]["error"]
    assert study_issues(doc) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"search__slo": {"ttft_p95_ms": 100}}, "[search] slo: unknown key 'ttft_p95_ms'"),
        ({"search__min": 64, "search__max": 8}, "[search] min (64) is greater than max (8)"),
        ({"search__precision": 0}, "[search] precision must be > 0, got 0"),
        ({"search__precision": -0.5}, "[search] precision must be > 0, got -0.5"),
        ({"search__axis": "tokens"}, "[search] axis must be one of max_concurrency, request_rate"),
        ({"search__min": 1.5}, "[search] min must be an integer >= 1 for max_concurrency"),
        ({"search__repeats_at_boundary": 0}, "repeats_at_boundary must be an integer >= 1"),
        ({"search__slo": {"ttft_p99_ms": -1}}, "slo: ttft_p99_ms must be a number of milli"),
        ({"search__attainment": 0.9}, "gives attainment twice"),
        ({"search__slo": {"attainment": 0.9}}, "slo needs at least one bound"),
        ({"search__steps": 3}, "[search]: unknown key 'steps'"),
        ({"search__slo": None}, "[search] needs slo = {"),
        (
            {
                "search__axis": "request_rate",
                "search__min": 0.5,
                "load__num_prompts": None,
                "load__prompts_per_concurrency": 4,
            },
            "[load] prompts_per_concurrency needs [search] axis = max_concurrency",
        ),
    ],
)
def test_bad_search_input_is_one_line_naming_it(change, message):
    with pytest.raises(InputError) as err:
        study(**change)
    text = str(err.value)
    assert message in text and "\n" not in text and text.startswith("fake.toml: ")


def test_a_workload_setting_the_searched_key_is_refused():
    data = json.loads(json.dumps(STUDY))
    data["workload"][0]["max_concurrency"] = 4
    with pytest.raises(InputError, match="sets max_concurrency, which \\[search\\] searches"):
        parse_study(data, "fake.toml")
    data["workload"][0].pop("max_concurrency")
    data["workload"][0]["driver"] = "sglang"
    with pytest.raises(InputError, match='needs driver = "kit"'):
        parse_study(data, "fake.toml")


def test_a_study_without_search_is_unchanged():
    data = json.loads(json.dumps(STUDY))
    data.pop("search")
    data["load"]["max_concurrency"] = [1]
    s = parse_study(data, "fake.toml")
    assert s.search is None and "search" not in s.as_dict()
    assert "search" not in docs.build_document(
        s, plan_cells(s), docs.Ledger(), status="running", created_utc="2025-01-01T00:00:00Z",
        updated_utc="2025-01-01T00:00:00Z", study_file={"path": None, "sha256": None},
        provenance={},
    )  # fmt: skip


def test_the_validator_replays_the_search_and_recomputes_its_answer(tmp_path):
    import copy

    doc, _ = run(tmp_path, study())
    assert study_issues(doc) == []
    wrong = copy.deepcopy(doc)
    wrong["search"][0]["largest_passing"] = 7
    assert [(i.pointer, i.message) for i in study_issues(wrong)] == [
        ("/search/0/largest_passing", "is not what the search's recorded runs give")
    ]
    wrong = copy.deepcopy(doc)  # a run's facts changed: its load now passes where it failed
    probe8 = next(p for p in wrong["search"][0]["probes"] if p["load"] == 8)
    probe8["runs"][0]["slo"]["statistics"]["ttft_p99_ms"] = 100.0
    probe8["runs"][0]["slo"]["requests_good"] = 100
    messages = [i.message for i in study_issues(wrong)]
    assert "run 5 is at load 6, but the search asks load 16 after the runs before it" in messages
    wrong = copy.deepcopy(doc)
    wrong["search"][0]["probes"][-1]["runs"].pop()  # the last confirmation run is gone
    for r in wrong["search"][0]["probes"][-1]["runs"]:
        r["seq"] = min(r["seq"], 7)
    pointers = [i.pointer for i in study_issues(wrong)]
    assert "/search/0/status" in pointers  # done, but the search asks for that run


def test_search_csv_has_one_row_per_run_in_order(tmp_path):
    _doc, _ = run(tmp_path, study(grid__slots=[2]))
    rows = (tmp_path / "search.csv").read_text().splitlines()
    assert rows[0].startswith("configuration,workload,axis,seq,load,repeat,cell_id,verdict,")
    assert [r.split(",")[4] for r in rows[1:]] == ["1", "2", "4", "8", "6", "7", "6", "7"]
    assert [r.split(",")[7] for r in rows[1:]][-2:] == ["pass", "fail"]


def test_the_report_ranks_configurations_by_load_under_the_slo_with_ties(tmp_path):
    from bench.study.report import build_study_report

    launcher = Launcher()
    limits = {2: 6, 8: 6, 16: 40}  # two configurations alike, one far ahead
    runner = Runner(launcher, limit=lambda s: limits[s])
    doc, _ = run(tmp_path, study(grid__slots=[2, 8, 16]), launcher, runner)
    report = build_study_report(doc, tmp_path, tmp_path / "REPORT.md", [])
    text = report.markdown
    assert "### The most load under the SLO (ttft\\_p99\\_ms=500, attainment=0.9)" in text
    rows = [line for line in text.splitlines() if line.startswith("| 1 ") or "(tie: " in line]
    assert rows[0].startswith("| 1 | C3 | 40 | 44 | 10.000 | 1.000 | 400.0 |")
    assert "| 2 (tie: C2) | C1 | 6 | 7 |" in text and "| 2 (tie: C1) | C2 | 6 | 7 |" in text
    (plot,) = [p for p in report.plots if p.name == "goodput-vs-load-1.png"]
    assert plot.png.startswith(b"\x89PNG")
    again = build_study_report(doc, tmp_path, tmp_path / "REPORT.md", [])
    assert again.markdown == text and again.plots[0].png == plot.png  # deterministic


def test_the_shipped_slo_study_searches_concurrency_on_the_simulator():
    from bench.study.spec import load_study

    s = load_study(Path(__file__).resolve().parents[2] / "studies" / "slo-sim.toml")
    assert s.search.axis == "max_concurrency" and s.search.slo.bounds == (("ttft_p99_ms", 60.0),)
    assert plan_cells(s) == [] and s.load.prompts_at(8) == 32
