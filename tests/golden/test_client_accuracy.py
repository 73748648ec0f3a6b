"""Golden: the kit's load generator against the simulator's ground truth, at speed 1.

The oracle here reads the raw records file and the simulator's ground-truth file with
`json` alone; it does not use the kit's metric, record or self-test code. At concurrency
1, 16 and 64, with one process and with two workers (`--workers 2`), it requires: every
request completed and every N_out (server usage, client tokenizer, and the sum over
chunks) equal to the number of tokens the simulator generated; median |TTFT error|
< 1 ms; median |TPOT error| < 2 %. The last test shows the oracle can fail.

TTFT starts when the request's last byte was written to the socket (the record's
`send_ns`), so the TTFT error is the first chunk's receipt minus the simulator's write
of the first token. The simulator's arrival stamp comes later than the write whenever
its event loop is busy; the oracle checks it is never earlier (causality).

The first wave is judged apart. With no rate limit, the first `concurrency` requests are
sent together when the window opens and their first tokens come back in one burst, about
0.2 s later, after the client has been idle; it reads that burst in one go, so on a machine
with no core free for it the moment the burst starts (the simulator writing it on one,
anything else on the other: `yes > /dev/null` beside the test, other work), the whole wave
is read late together. Measured on this 2-core machine with `yes` beside it and a load
average of 3-4: over ten runs, the first wave's median error was 0.03-1.5 ms and every later
first token's 0.13-0.37 ms (in one run of c=16, 15 first chunks written over 0.5 ms were
all read 2.9-3.1 ms late, at the same moment); at a load average above 4, a c=64 wave's
median reached 12 ms while the requests after it stayed at 0.2 ms. With n = 2 x concurrency
the wave is half the requests, and the single median over all of them failed one run in
three. So the 1 ms bound holds over the requests after the first wave (the client reading
streams it is already reading: most of any benchmark); the first wave's median is printed,
and every first chunk, the wave's too, must be received after the simulator wrote it (a
client that took the role chunk, or anything before the content, as the first token fails).
How fast the client reads a burst is a timing claim for `make perf`, on pinned cores.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest

from bench.client.loadgen import run_throughput
from bench.client.target import resolve_target
from bench.sim import tokenizer_dir
from bench.sim.process import SimProcess
from bench.workload.spec import ThroughputWorkload

pytestmark = pytest.mark.slow

TTFT_MEDIAN_MS = 1.0
TPOT_MEDIAN_PCT = 2.0


def oracle_pairs(records_path: Path, truth_path: Path) -> list[tuple[dict, dict]]:
    """Every measured record with its ground truth, in the order they were sent."""
    records = [json.loads(line) for line in records_path.read_text().splitlines()]
    measured = sorted((r for r in records if not r["warmup"]), key=lambda r: r["send_ns"])
    deadline = time.monotonic() + 10  # a truth line is written just after the last byte
    while True:
        truth = {}
        for line in truth_path.read_text().splitlines():
            entry = json.loads(line)
            truth[entry["id"]] = entry
        if all(r["response_id"] in truth for r in measured) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return [(r, truth[r["response_id"]]) for r in measured]


def assert_accurate(pairs: list[tuple[dict, dict]], first_wave: int = 0) -> dict[str, float]:
    """Raise AssertionError unless the measured values match the ground truth. `pairs` in
    send order; the first `first_wave` of them were sent together when the window opened."""
    assert pairs, "nothing to compare"
    ttft_errors_ms, tpot_errors_pct = [], []
    for record, truth in pairs:
        assert record["error_kind"] is None, record["error"]
        n = truth["completion_tokens"]
        assert record["completion_tokens_server"] == n, (record["rid"], "server N_out")
        assert record["completion_tokens_client"] == n, (record["rid"], "client N_out")
        assert sum(record["chunk_tokens"]) == n, (record["rid"], "chunk token sum")
        assert truth["arrival_ns"] >= record["send_ns"], "the server saw it before it was sent"
        assert record["chunk_ns"][0] >= truth["token_ns"][0], "first token read before written"
        assert record["chunk_ns"][-1] >= truth["token_ns"][-1], "last token read before written"
        measured_ttft = record["chunk_ns"][0] - record["send_ns"]
        true_ttft = truth["token_ns"][0] - record["send_ns"]
        ttft_errors_ms.append(abs(measured_ttft - true_ttft) / 1e6)
        if n > 1:
            measured = (record["chunk_ns"][-1] - record["chunk_ns"][0]) / (n - 1)
            true = (truth["token_ns"][-1] - truth["token_ns"][0]) / (n - 1)
            tpot_errors_pct.append(100 * abs(measured - true) / true)
    wave, rest = ttft_errors_ms[:first_wave], ttft_errors_ms[first_wave:]
    found = {"tpot_median_pct": statistics.median(tpot_errors_pct)}
    if wave:  # reported, not bounded: see the module's docstring
        found["first_wave_ttft_median_ms"] = statistics.median(wave)
    if rest:
        found["ttft_median_ms"] = statistics.median(rest)
        assert found["ttft_median_ms"] < TTFT_MEDIAN_MS, (
            f"median |TTFT error| {found['ttft_median_ms']:.3f} ms"
        )
    assert found["tpot_median_pct"] < TPOT_MEDIAN_PCT, (
        f"median |TPOT error| {found['tpot_median_pct']:.3f} %"
    )
    return found


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    """The simulator in its own process at speed 1, writing ground truth."""
    workdir = tmp_path_factory.mktemp("golden")
    truth = workdir / "truth.jsonl"
    args = ["--speed", "1", "--ground-truth", str(truth)]
    with SimProcess(args, workdir=workdir, start_timeout_s=30) as sim:
        yield sim.base_url, truth, workdir


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("concurrency", "requests"), [(1, 6), (16, 32), (64, 128)])
def test_measured_values_match_the_ground_truth(simulator, concurrency, requests, workers):
    base_url, truth, workdir = simulator
    records = workdir / f"c{concurrency}-w{workers}.jsonl"
    run = run_throughput(
        ThroughputWorkload(
            input_len=128,
            output_len=32,
            range_ratio=0.5,  # spread finishes out, as `bench selftest` does
            num_prompts=requests,
            max_concurrency=concurrency,
            warmup=concurrency,
            seed=concurrency,
            timeout_s=120,
        ),
        resolve_target(base_url, tokenizer=tokenizer_dir()),
        records,
        progress=False,
        workers=workers,
    )
    assert run["driver"]["workers"] == min(workers, concurrency)
    assert run["metrics"]["requests_completed"] == requests
    pairs = oracle_pairs(records, truth)
    assert len(pairs) == requests
    found = assert_accurate(pairs, first_wave=concurrency)
    print(f"c={concurrency} workers={workers}: {found}")
    # the kit's own metric code reports the same TTFT the oracle measured
    oracle_ttft_ms = statistics.median(
        (r["chunk_ns"][0] - r["send_ns"]) / 1e6 for r, _truth in pairs
    )
    assert run["metrics"]["ttft_ms"]["median"] == pytest.approx(oracle_ttft_ms, abs=1e-6)


def fake_pair(ttft_error_ns=0, tpot_scale=1.0, n_client=4):
    """A request the simulator answered with 4 tokens written at 10, 20, 30, 40 ms."""
    ms = 1_000_000
    truth = {"id": "x", "arrival_ns": 1 * ms, "completion_tokens": 4,
             "token_ns": [10 * ms, 20 * ms, 30 * ms, 40 * ms]}  # fmt: skip
    first = 10 * ms + ttft_error_ns
    step = int(10 * ms * tpot_scale)
    record = {
        "rid": "r", "warmup": False, "error_kind": None, "error": None, "send_ns": 0,
        "chunk_ns": [first + i * step for i in range(4)], "chunk_tokens": [1, 1, 1, 1],
        "completion_tokens_server": 4, "completion_tokens_client": n_client,
    }  # fmt: skip
    return record, truth


def test_the_oracle_can_fail():
    assert_accurate([fake_pair()])  # exact: passes
    with pytest.raises(AssertionError, match="TTFT"):
        assert_accurate([fake_pair(ttft_error_ns=1_500_000)])
    with pytest.raises(AssertionError, match="TPOT"):
        assert_accurate([fake_pair(tpot_scale=1.03)])
    with pytest.raises(AssertionError, match="client N_out"):
        assert_accurate([fake_pair(n_client=5)])
    wave_late = [fake_pair(ttft_error_ns=5_000_000), fake_pair()]
    assert_accurate(wave_late, first_wave=1)  # the first wave has its own bound
    with pytest.raises(AssertionError, match=r"^median \|TTFT error\|"):
        assert_accurate(wave_late, first_wave=0)
    with pytest.raises(AssertionError, match="first token read before written"):
        assert_accurate([fake_pair(ttft_error_ns=-100), fake_pair()], first_wave=1)
