"""`--workers N` against the simulator: one clock and one schedule for every worker, the cap
held across them, the window hooks at the right moments, the records merged whole; and
however the run ends (Ctrl-C, a killed worker, a dead server), every finished request on
disk, the message saying where, and no worker process left behind.

(`tests/golden/test_client_accuracy.py` checks two workers' numbers against the ground
truth: every request completed, N_out exact, TTFT within the golden bound.)
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bench.client.loadgen import run_throughput
from bench.client.target import resolve_target
from bench.records import read_records
from bench.sim import tokenizer_dir
from bench.sim.process import SimProcess
from bench.workload.spec import ThroughputWorkload

TAG = "BENCH_WORKERS_TEST_TAG"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workers")
    truth = workdir / "truth.jsonl"
    args = ["--speed", "4", "--ground-truth", str(truth)]
    with SimProcess(args, workdir=workdir, start_timeout_s=30) as server:
        yield server.base_url, truth


class Window:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def window_started(self) -> None:
        self.calls.append(("started", time.perf_counter_ns()))

    def window_ended(self) -> None:
        self.calls.append(("ended", time.perf_counter_ns()))


def workload(**changes) -> ThroughputWorkload:
    fields = dict(input_len=32, output_len=16, range_ratio=0.5, num_prompts=24,
                  max_concurrency=4, warmup=4, seed=3, timeout_s=60)  # fmt: skip
    return ThroughputWorkload(**{**fields, **changes})


def test_two_workers_one_window_every_record_merged_and_hashed(sim, tmp_path):
    base_url, _truth = sim
    records = tmp_path / "run.jsonl"
    window = Window()
    run = run_throughput(
        workload(), resolve_target(base_url, tokenizer=tokenizer_dir()), records,
        progress=False, window=window, workers=2,
    )  # fmt: skip
    assert run["driver"]["workers"] == 2 and "2 load generator workers" in run["notes"]
    assert run["records"]["sha256"] == hashlib.sha256(records.read_bytes()).hexdigest()
    on_disk = read_records(records)
    assert run["records"]["count"] == len(on_disk) == 4 + 24
    warm = [r for r in on_disk if r.warmup]
    measured = [r for r in on_disk if not r.warmup]
    assert on_disk[: len(warm)] == warm  # warm-up first
    assert sorted(r.index for r in warm) == [0, 1, 2, 3]
    assert sorted(r.index for r in measured) == list(range(24))  # each request once
    assert [r.done_ns for r in measured] == sorted(r.done_ns for r in measured)
    assert all(r.ok for r in on_disk)
    assert [kind for kind, _ in window.calls] == ["started", "ended"]
    (_, started), (_, ended) = window.calls
    # the parent's clock and the workers' are one: the window holds every measured request
    assert max(r.done_ns for r in warm) <= started < min(r.submit_ns for r in measured)
    assert max(r.done_ns for r in measured) <= ended
    # one schedule: every measured request was scheduled at the one common start
    assert len({r.scheduled_ns for r in measured}) == 1
    assert not list(tmp_path.glob("*.worker-*"))


def most_at_once(intervals: list[tuple[int, int]]) -> int:
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    now = peak = 0
    for _, step in events:  # an end sorts before a start at the same instant
        now += step
        peak = max(peak, now)
    return peak


@pytest.mark.parametrize(("cap", "workers", "used"), [(3, 2, 2), (1, 2, 1), (5, 3, 3)])
def test_the_cap_holds_across_workers(sim, tmp_path, cap, workers, used):
    base_url, truth_path = sim
    records = tmp_path / "run.jsonl"
    run = run_throughput(
        workload(max_concurrency=cap, num_prompts=6 * cap, warmup=0),
        resolve_target(base_url, tokenizer=tokenizer_dir()), records,
        progress=False, workers=workers,
    )  # fmt: skip
    assert run["driver"]["workers"] == used
    if used < workers:
        assert f"{workers} load generator workers asked, {used} used" in run["notes"]
    measured = read_records(records)
    assert all(r.ok for r in measured)
    # in flight as the client held its slots, and as the server saw the requests
    assert most_at_once([(r.submit_ns, r.done_ns) for r in measured]) == cap
    time.sleep(0.2)  # a truth line is written just after the last byte
    truth = {}
    for line in truth_path.read_text().splitlines():
        entry = json.loads(line)
        truth[entry["id"]] = entry
    seen = [truth[r.response_id] for r in measured]
    assert most_at_once([(t["arrival_ns"], t["token_ns"][-1]) for t in seen]) <= cap


def test_a_conversation_goes_whole_from_one_worker_turn_after_turn(sim, tmp_path):
    base_url, _truth = sim
    records = tmp_path / "mt.jsonl"
    run = run_throughput(
        workload(dataset="multi-turn", api="completions", mt_num_conversations=4,
                 mt_num_turns=3, mt_user_len=40, output_len=8, num_prompts=12, warmup=2),
        resolve_target(base_url, tokenizer=tokenizer_dir()), records,
        progress=False, workers=2,
    )  # fmt: skip
    assert run["driver"]["workers"] == 2
    measured = [r for r in read_records(records) if not r.warmup]
    assert len(measured) == 12 and all(r.ok for r in measured)
    for conv in range(4):
        mine = sorted((r for r in measured if r.group == conv), key=lambda r: r.turn)
        assert [r.turn for r in mine] == [0, 1, 2]
        assert all(a.done_ns <= b.send_ns for a, b in itertools.pairwise(mine))
    # each worker counted the growing prompts with its own tokenizer, as the server did
    assert all(r.prompt_tokens_client == r.prompt_tokens_server for r in measured)


def _stamp(queue) -> None:
    queue.put(time.perf_counter_ns())


def test_perf_counter_is_one_clock_for_every_process_of_the_host():
    if sys.platform == "linux":
        assert time.get_clock_info("perf_counter").implementation == (
            "clock_gettime(CLOCK_MONOTONIC)"
        )
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    before = time.perf_counter_ns()
    child = ctx.Process(target=_stamp, args=(queue,))
    child.start()
    theirs = queue.get(timeout=60)
    after = time.perf_counter_ns()
    child.join(30)
    assert before < theirs < after


def test_a_profiles_workers_key_runs_two_workers_into_a_valid_document(sim, tmp_path, capsys):
    from bench.cli import main
    from bench.jsonio import load_document
    from bench.validate import validate_file

    base_url, _truth = sim
    profile = tmp_path / "two.toml"
    profile.write_text(
        '[profile]\nname = "two"\n\n[[throughput]]\nname = "tp"\nworkers = 2\n'
        "input_len = 32\noutput_len = 8\nnum_prompts = 12\nmax_concurrency = 4\n"
    )
    out = tmp_path / "doc.json"
    code = main(["run", "--profile", str(profile), "--base-url", base_url, "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert [f.message for f in validate_file(out) if f.level == "error"] == []
    doc = load_document(out)
    (tp,) = doc["measurements"]["throughput"]
    assert tp["driver"]["workers"] == 2
    assert tp["metrics"]["requests_completed"] == 12
    assert doc["provenance"]["profile"]["throughput"][0]["workers"] == 2


# -- runs cut short, as a user would run them ---------------------------------------------


def start(base_url: str, tmp_path: Path, tag: str) -> subprocess.Popen:
    """`bench throughput --workers 2` in a session of its own (a terminal's Ctrl-C reaches
    the whole group), every process of it marked with `tag` in its environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "throughput", "--base-url", base_url,
         "--tokenizer", str(tokenizer_dir()), "--num-prompts", "400", "--input-len", "64",
         "--output-len", "32", "--max-concurrency", "4", "--warmup", "2",
         "--timeout", "10", "--workers", "2", "--out", str(tmp_path / "run.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**os.environ, TAG: tag},
    )  # fmt: skip


def tagged(tag: str) -> list[int]:
    """Live processes whose environment carries `tag`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if f"{TAG}={tag}".encode() in environ.split(b"\0") and state != "Z":
                pids.append(int(entry.name))
    return pids


def wait_until(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def finished_in_parts(records: Path) -> int:
    parts = records.parent.glob(records.name + ".worker-*")
    return sum(p.read_bytes().count(b"\n") for p in parts)


@contextlib.contextmanager
def client_run(tmp_path: Path, speed: str = "4"):
    """The simulator and `bench throughput --workers 2` against it; both ended on exit."""
    tag = uuid.uuid4().hex
    with SimProcess(["--speed", speed], workdir=tmp_path, start_timeout_s=30) as server:
        client = start(server.base_url, tmp_path, tag)
        try:
            yield server, client, tag
        finally:
            if client.poll() is None:
                os.killpg(client.pid, signal.SIGKILL)
                client.wait()
            for pid in tagged(tag):
                os.kill(pid, signal.SIGKILL)


def cut_short(tmp_path: Path, kill) -> tuple[subprocess.Popen, str, float]:
    """Run `bench throughput --workers 2`; once 6 requests have finished, call
    `kill(server, client, tag)`. Returns the client, its stderr, and the seconds from the
    kill until every process of the run had ended."""
    records = tmp_path / "run.records.jsonl"
    with client_run(tmp_path) as (server, client, tag):
        wait_until(lambda: finished_in_parts(records) >= 6, 120)
        assert len(tagged(tag)) >= 3  # the command and its two workers
        kill(server, client, tag)
        killed = time.monotonic()
        _out, err = client.communicate(timeout=60)
        wait_until(lambda: not tagged(tag), 15)
        return client, err, time.monotonic() - killed


linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for the workers")


@linux_only
def test_ctrl_c_stops_every_worker_and_keeps_every_finished_request(tmp_path):
    def ctrl_c(_server, client, _tag):
        os.killpg(client.pid, signal.SIGINT)  # as a terminal does: to every process

    client, err, stopped_s = cut_short(tmp_path, ctrl_c)
    records = tmp_path / "run.records.jsonl"
    assert client.returncode == 130, err
    assert f"Interrupted: every finished request is in {records}" in err, err
    assert "Traceback" not in err, err
    assert 6 <= len(read_records(records)) < 402  # stopped, not run to the end
    assert stopped_s < 10  # 400 requests would take longer
    assert not list(tmp_path.glob("*.worker-*"))


@linux_only
def test_a_killed_worker_fails_the_run_with_every_finished_request_on_disk(tmp_path):
    killed: list[int] = []

    def kill_a_worker(_server, client, tag):
        workers = [p for p in tagged(tag) if p != client.pid and _is_worker(p)]
        assert len(workers) == 2
        killed.append(workers[1])
        os.kill(workers[1], signal.SIGKILL)

    client, err, _s = cut_short(tmp_path, kill_a_worker)
    records = tmp_path / "run.records.jsonl"
    assert client.returncode == 1, err
    assert f"(pid {killed[0]}) was killed by signal 9 before it finished" in err, err
    finished = read_records(records)
    assert len(finished) >= 6
    assert f"{len(finished)} finished requests are in {records}" in err, err
    assert not (tmp_path / "run.json").exists()
    assert not list(tmp_path.glob("*.worker-*"))


@linux_only
def test_a_parent_killed_outright_leaves_no_worker_and_its_records_in_the_parts(tmp_path):
    def kill_the_parent(_server, client, _tag):
        os.kill(client.pid, signal.SIGKILL)  # no cleanup: the workers see their pipe close

    cut_short(tmp_path, kill_the_parent)
    parts = sorted(tmp_path.glob("run.records.jsonl.worker-*"))
    assert [p.name[-1] for p in parts] == ["0", "1"]
    assert sum(len(read_records(p)) for p in parts) >= 6  # whole records, nothing lost


def _is_worker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


@linux_only
def test_a_dead_server_ends_a_run_of_two_workers_saying_where_the_records_are(tmp_path):
    def kill_the_server(server, _client, _tag):
        os.kill(server.pid, signal.SIGKILL)

    client, err, _s = cut_short(tmp_path, kill_the_server)
    records = tmp_path / "run.records.jsonl"
    assert client.returncode == 1, err
    assert err.startswith("Error: the server at") and "stopped accepting connections" in err
    finished = read_records(records)
    assert sum(r.ok for r in finished) >= 6 and len(finished) < 402
    assert f"{len(finished)} finished requests are in {records}" in err, err
