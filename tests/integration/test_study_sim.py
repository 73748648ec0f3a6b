"""`bench study` for real on the simulator: the command launcher starts `bench sim` with
SGLang's launch flags once per configuration; every repeat is a validated result document;
the report has a real Pareto plot; Ctrl-C leaves a study that resumes without running a
finished cell again; a server that cannot start fails its cells and the rest run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.validate import validate_file

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

STUDY = """
[study]
name = "sim-mrr"
description = "two admission limits x three concurrency levels, twice"
repeats = 2
cv_max = 0.5

[server]
launcher = "command"
command = '''bench sim --port {{port}} --speed {speed}
  --max-running-requests {{max_running_requests}}'''
start_timeout_s = 60

[grid]
max_running_requests = {limits}

[[workload]]
name = "64-32"
api = "completions"
input_len = 64
output_len = 32
timeout_s = 60

[load]
max_concurrency = [1, 4, 16]
num_prompts = 16
"""


def write_study(tmp_path: Path, limits: str = "[2, 16]", speed: int = 50) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(limits=limits, speed=speed))
    return path


def test_a_study_on_the_simulator_measures_what_the_configurations_do(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["study", str(write_study(tmp_path)), "--out", str(out)]) == 0, capsys.readouterr()
    doc = load_document(out / "study.json")
    assert doc["kind"] == "simulated" and doc["status"] == "complete"
    assert [f for f in validate_file(out / "study.json") if f.level == "error"] == []
    cells = {
        (c["grid"]["max_running_requests"], c["load"]["max_concurrency"]): c for c in doc["cells"]
    }
    assert len(cells) == 6 and all(len(c["repeats"]) == 2 for c in cells.values())
    for cell in cells.values():
        for rep in cell["repeats"]:
            assert rep["valid"], rep["errors"]
            assert [f for f in validate_file(out / rep["path"]) if f.level == "error"] == []
        for stats in cell["statistics"].values():
            if stats and stats["ci95_low"] is not None:
                assert stats["ci95_low"] <= stats["mean"] <= stats["ci95_high"]
    tput = {k: c["statistics"]["output_throughput_tok_s"]["mean"] for k, c in cells.items()}
    # 16 requests in flight: a limit of 2 runs them in 8 waves, a limit of 16 in one
    assert tput[(16, 16)] > 2 * tput[(2, 16)]
    assert tput[(16, 1)] == pytest.approx(tput[(2, 1)], rel=0.5)  # one at a time: alike
    # each repeat's document says which cell and configuration it measured
    first = load_document(out / cells[(2, 4)]["repeats"][0]["path"])
    assert first["provenance"]["profile"]["study"]["cell_id"] == cells[(2, 4)]["id"]
    assert first["server"]["args"]["max_running_requests"] == 2
    assert "--max-running-requests" in first["server"]["launch_command"]
    assert "prefix cache flushed (POST /flush_cache)" in first["notes"]
    assert (out / "summary.csv").read_text().count("\n") == 1 + 6

    assert main(["report", "--results", str(out)]) == 0
    report = (out / "REPORT.md").read_text()
    assert "# Study sim-mrr (simulated ×50 speed)" in report and "On the Pareto front:" in report
    png = (out / "REPORT-plots" / "pareto-1.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert main(["validate", str(out)]) == 0  # study.json and every result document
    # the cells' documents are an ordinary results folder for the ordinary report
    code = main(["report", "--results", str(out / "cells"), "--out", str(tmp_path / "r.md")])
    assert code == 0


def _wait_for(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _cells_done(out: Path) -> int:
    try:
        doc = json.loads((out / "study.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(1 for c in doc["cells"] if c["status"] == "done")


def test_ctrl_c_after_the_first_cell_then_resume_runs_only_what_is_left(tmp_path):
    study = write_study(tmp_path, limits="[16]", speed=5)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "bench", "study", str(study), "--out", str(out)]
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(lambda: _cells_done(out) >= 1, 120)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Resume with:" in err and "--resume" in err
    doc = load_document(out / "study.json")
    assert doc["status"] == "interrupted"
    assert doc["configurations"][0]["stop"].startswith("stopped by SIGTERM")
    first = doc["cells"][0]
    assert first["status"] == "done"
    before = {r["run_id"]: r["sha256"] for r in first["repeats"]}

    done = subprocess.run(
        [*argv, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "resuming:" in done.stderr
    doc = load_document(out / "study.json")
    assert doc["status"] == "complete"
    assert {r["run_id"]: r["sha256"] for r in doc["cells"][0]["repeats"]} == before
    assert [f for f in validate_file(out / "study.json") if f.level == "error"] == []
    ran_again = [line for line in done.stderr.splitlines() if "concurrency 1, repeat" in line]
    assert ran_again == []  # the first cell (concurrency 1) did not run again


def test_a_server_that_cannot_start_fails_its_cells_and_the_rest_run(tmp_path, capsys):
    text = write_study(tmp_path, limits="[0, 4]").read_text()
    text = text.replace("repeats = 2", "repeats = 1").replace("[1, 4, 16]", "[4]")
    study = tmp_path / "failing.toml"
    study.write_text(text)
    out = tmp_path / "out"
    code = main(["study", str(study), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Error: 1 cell(s) failed: max_running_requests=0 | 64-32 | concurrency 4" in err
    doc = load_document(out / "study.json")
    failed, ok = doc["configurations"]
    assert failed["status"] == "failed" and ok["status"] == "done"
    assert "--max-running-requests must be >= 1" in failed["log_tail"]
    assert [c["status"] for c in doc["cells"]] == ["failed", "done"]
    assert "Error: --max-running-requests" in (out / failed["server_log"]).read_text()


def test_a_killed_study_resumes_and_stops_the_server_it_left_running(tmp_path):
    study = write_study(tmp_path, limits="[16]", speed=5)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "bench", "study", str(study), "--out", str(out)]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _cells_done(out) >= 1, 120)
        proc.kill()  # a crash: nothing runs after this, the server is left behind
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    doc = load_document(out / "study.json")
    pid = doc["configurations"][0]["pid"]
    assert doc["status"] == "running" and Path(f"/proc/{pid}").exists()
    before = {r["run_id"]: r["sha256"] for r in doc["cells"][0]["repeats"]}
    try:
        done = subprocess.run(
            [*argv, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    assert done.returncode == 0, done.stderr
    assert f"stopped the server an earlier session left running (pid {pid})" in done.stderr
    _wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10)
    doc = load_document(out / "study.json")
    assert doc["status"] == "complete" and doc["configurations"][0]["pid"] is None
    assert {r["run_id"]: r["sha256"] for r in doc["cells"][0]["repeats"]} == before
    assert main(["validate", str(out)]) == 0
