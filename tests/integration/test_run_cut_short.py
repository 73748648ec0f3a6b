"""A run cut short: killing the server mid-run, or Ctrl-C. The command exits non-zero (the
first within its timeout), the records file holds every finished request, and the
message says where it is."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from bench.records import read_records
from bench.sim import tokenizer_dir
from bench.sim.process import SimProcess

TIMEOUT_S = 10


def wait_for(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def start_client(base_url: str, tmp_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "throughput", "--base-url", base_url,
         "--tokenizer", str(tokenizer_dir()), "--num-prompts", "200", "--input-len", "64",
         "--output-len", "32", "--max-concurrency", "2", "--warmup", "0",
         "--timeout", str(TIMEOUT_S), "--out", str(tmp_path / "run.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@contextlib.contextmanager
def simulator_and_client(tmp_path) -> Iterator[tuple[SimProcess, subprocess.Popen]]:
    """The simulator, and `bench throughput` running against it; both ended on exit."""
    with SimProcess(["--speed", "5"], workdir=tmp_path, start_timeout_s=30) as sim:
        client = start_client(sim.base_url, tmp_path)
        try:
            yield sim, client
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()


def test_a_killed_server_ends_the_run_with_every_finished_request_on_disk(tmp_path):
    records = tmp_path / "run.records.jsonl"
    with simulator_and_client(tmp_path) as (sim, client):
        wait_for(lambda: records.exists() and len(records.read_text().splitlines()) >= 3, 60)
        os.kill(sim.pid, signal.SIGKILL)
        killed = time.monotonic()
        _out, err = client.communicate(timeout=TIMEOUT_S + 20)
        elapsed = time.monotonic() - killed
    assert client.returncode == 1, err
    assert elapsed < TIMEOUT_S
    assert err.startswith("Error: the server at") and str(records) in err
    finished = read_records(records)  # every line is a whole record
    assert sum(r.ok for r in finished) >= 3
    assert {r.error_kind for r in finished if not r.ok} <= {"stream_cut", "connection"}
    assert len(finished) < 200
    assert f"{len(finished)} finished requests" in err
    assert not (tmp_path / "run.json").exists()  # no result pretends the run completed


def test_ctrl_c_keeps_every_finished_request_and_says_where(tmp_path):
    records = tmp_path / "run.records.jsonl"
    with simulator_and_client(tmp_path) as (_sim, client):
        wait_for(lambda: records.exists() and len(records.read_text().splitlines()) >= 2, 60)
        client.send_signal(signal.SIGINT)
        _out, err = client.communicate(timeout=30)
    assert client.returncode == 130, err
    assert f"Interrupted: every finished request is in {records}" in err, err
    assert "Traceback" not in err, err
    assert len(read_records(records)) >= 2
