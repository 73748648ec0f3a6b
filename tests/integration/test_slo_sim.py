"""`bench slo` and a study's `[search]` for real on the simulator: Ctrl-C leaves every
finished probe run on disk and says how to continue; `--resume` with the same flags runs
only what is left and ends where an uninterrupted search ends; a study with a sweep and a
search reuses the sweep's runs, validates, and its report ranks the configurations and
plots goodput against load."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.sim import tokenizer_dir
from bench.sim.process import SimProcess

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _runs(out: Path) -> list[dict]:
    try:
        doc = json.loads((out / "study.json").read_text())
    except (OSError, ValueError):
        return []
    return [r for s in doc.get("search") or [] for p in s["probes"] for r in p["runs"]]


def _wait_for(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_ctrl_c_keeps_the_finished_probes_and_resume_runs_only_what_is_left(tmp_path):
    out = tmp_path / "slo"
    with SimProcess(["--speed", "10", "--max-running-requests", "4"], workdir=tmp_path) as sim:
        argv = [
            sys.executable, "-m", "bench", "slo", "--base-url", sim.base_url,
            "--tokenizer", str(tokenizer_dir()), "--slo", "ttft_p99_ms=60",
            "--max", "32", "--api", "completions", "--input-len", "32", "--output-len", "64",
            "--num-prompts", "16", "--repeats-at-boundary", "2", "--out", str(out),
        ]  # fmt: skip
        proc = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            _wait_for(lambda: len(_runs(out)) >= 2, 120)
            proc.send_signal(signal.SIGINT)
            stdout, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert f"every finished run is in {out}" in err and "--resume" in err
        assert "probe concurrency 1, run 1: pass" in stdout
        before = {r["run_id"]: r["sha256"] for r in _runs(out)}
        assert len(before) >= 2

        done = subprocess.run(
            [*argv, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
        after = {r["run_id"]: r["sha256"] for r in _runs(out)}
        assert {k: after[k] for k in before} == before  # kept, not run again
        assert "probe concurrency 1, run 1" not in done.stdout
        doc = load_document(out / "study.json")
        entry = doc["search"][0]
        assert entry["status"] == "done" and doc["status"] == "complete"
        # 4 slots: a 5th request in flight queues for a whole reply
        assert (entry["largest_passing"], entry["smallest_failing"]) == (4, 5)
        assert "largest passing load: concurrency 4; smallest failing load: concurrency 5" in (
            done.stdout
        )
    assert main(["validate", str(out)]) == 0


STUDY = """
[study]
name = "sweep-and-search"
description = "two admission limits: a sweep and the most load under a TTFT SLO"
repeats = 1
cv_max = 0.5

[server]
launcher = "command"
command = "bench sim --port {port} --speed 10 --max-running-requests {max_running_requests}"
start_timeout_s = 60

[grid]
max_running_requests = [2, 4]

[[workload]]
name = "32-64"
api = "completions"
input_len = 32
output_len = 64
timeout_s = 60

[load]
max_concurrency = [2, 8]
num_prompts = 16

[search]
slo = { ttft_p99_ms = 60 }
min = 1
max = 16
repeats_at_boundary = 2
"""


def test_a_study_with_a_sweep_and_a_search_reuses_runs_validates_and_ranks(tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    out = tmp_path / "out"
    assert main(["study", str(study), "--out", str(out)]) == 0
    doc = load_document(out / "study.json")
    found = {e["configuration"]: e for e in doc["search"]}
    assert (found[1]["largest_passing"], found[1]["smallest_failing"]) == (2, 3)
    assert (found[2]["largest_passing"], found[2]["smallest_failing"]) == (4, 5)
    swept = {
        (c["grid"]["max_running_requests"], c["load"]["max_concurrency"]): c for c in doc["cells"]
    }
    probe2 = next(p for p in found[1]["probes"] if p["load"] == 2)
    assert probe2["runs"][0]["run_id"] == swept[(2, 2)]["repeats"][0]["run_id"]  # reused
    assert main(["validate", str(out)]) == 0
    assert main(["report", "--results", str(out)]) == 0
    report = (out / "REPORT.md").read_text()
    assert "| 1 | C2 | 4 | 5 |" in report and "| 2 | C1 | 2 | 3 |" in report
    png = (out / "REPORT-plots" / "goodput-vs-load-1.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    capsys.readouterr()
    a, b = (f"{out}:{p['cell_id']}" for p in (found[1]["probes"][0], found[2]["probes"][0]))
    assert main(["compare", a, b]) == 0  # probe cells are study cells too
