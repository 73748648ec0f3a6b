"""`make demo` (tools/demo.sh) end to end on the simulator: a report whose numbers are
labelled simulated, and a simulator that is stopped on success, failure and Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "tools" / "demo.sh"


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PY=sys.executable, DEMO_DIR=str(tmp_path / "demo"))
    env.update(extra)
    return env


def simulator_pid(output: str) -> int:
    match = re.search(r"^demo: simulator at http://127\.0\.0\.1:\d+ \(pid (\d+)\)$", output, re.M)
    assert match, output
    return int(match.group(1))


def assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"the simulator (pid {pid}) was left running")


@pytest.mark.slow
def test_demo_ends_with_a_report_whose_numbers_are_labelled_simulated(tmp_path):
    proc = subprocess.run(
        [str(DEMO)],
        env=demo_env(tmp_path, PROFILE="quick"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_gone(simulator_pid(proc.stdout))
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("demo: report: ")
    report = Path(last.removeprefix("demo: report: "))
    if not report.is_absolute():
        report = REPO / report
    rows = [
        line
        for line in report.read_text(encoding="utf-8").splitlines()
        if line.startswith("|") and "throughput-128-32" in line
    ]
    assert rows and all("| simulated" in row for row in rows), rows
    result = next(report.parent.glob("results/demo-quick.json"))
    document = json.loads(result.read_text(encoding="utf-8"))
    assert document["kind"] == "simulated"
    # telemetry from the simulated NPU's npu-smi and the simulator's /metrics, labelled so
    for run in document["measurements"]["throughput"] + document["measurements"]["latency"]:
        assert run["telemetry"]["source"] == "simulated" and run["telemetry"]["sample_count"] > 0
        assert run["server_metrics"]["generation_tokens"] == run["metrics"]["total_output_tokens"]
    text = report.read_text(encoding="utf-8")
    assert "## Telemetry" in text and "timeline-R" in text
    assert all(p.is_file() for p in report.parent.glob("REPORT-plots/timeline-R*.png"))
    validate = subprocess.run(
        [sys.executable, "-m", "bench", "validate", str(result)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr


def test_a_failing_step_stops_the_simulator_and_says_where_the_files_are(tmp_path):
    proc = subprocess.run(
        [str(DEMO)],
        env=demo_env(tmp_path, PROFILE=str(tmp_path / "no-such-profile.toml")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert_gone(simulator_pid(proc.stdout))
    failure = proc.stderr.splitlines()[-1]
    assert failure.startswith("demo: failed (exit ")
    run_dir = re.search(r"everything written so far is in (\S+) ", failure).group(1)
    assert (REPO / run_dir / "sim" / "server.log").read_text().strip()


def test_ctrl_c_stops_the_simulator(tmp_path):
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [str(DEMO)],
            env=demo_env(tmp_path, PROFILE="seed"),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while "bench run" not in out.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
            os.killpg(demo.pid, signal.SIGINT)
            status = demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
    text = out.read_text()
    assert status == 130, text
    assert "demo: interrupted" in text
    assert_gone(simulator_pid(text))
