"""The sampler's contract: a sample at once and one at stop, failures recorded not raised,
a reader's bug kept as the reason, setup in its own thread. Time bounds are generous."""

from __future__ import annotations

import threading
import time

from bench.telemetry.sampler import PeriodicSampler, SampleError


def test_samples_at_start_and_stop_stamped_in_order():
    calls = []

    def read():
        calls.append(time.perf_counter_ns())
        return {"value": len(calls)}

    sampler = PeriodicSampler(read, 0.05)
    before = time.perf_counter_ns()
    sampler.start()
    time.sleep(0.3)
    timeline = sampler.stop()
    after = time.perf_counter_ns()
    assert len(timeline.rows) >= 2  # the first read, and the last at stop
    times = [r["t_ns"] for r in timeline.rows]
    assert times == sorted(times) and before <= times[0] and times[-1] <= after
    assert timeline.rows[-1]["value"] == len(calls)
    assert timeline.started_ns >= before and timeline.failed_reads == 0


def test_failed_reads_are_counted_and_the_first_reason_kept():
    n = {"calls": 0}

    def read():
        n["calls"] += 1
        if n["calls"] % 2:
            raise SampleError(f"timeout {n['calls']}")
        return {}

    sampler = PeriodicSampler(read, 0.02)
    sampler.start()
    time.sleep(0.2)
    timeline = sampler.stop()
    assert timeline.failed_reads >= 1 and timeline.failure == "timeout 1"
    assert timeline.stopped_by is None


def test_a_bug_in_the_reader_stops_sampling_and_says_why():
    def read():
        raise ZeroDivisionError("division by zero")

    sampler = PeriodicSampler(read, 0.02)
    sampler.start()
    timeline = sampler.stop()
    assert timeline.rows == ()
    assert timeline.stopped_by == (
        "internal error in the sampler: ZeroDivisionError: division by zero"
    )


def test_setup_runs_in_the_thread_and_its_failure_is_the_reason():
    main = threading.current_thread()
    seen = []

    def setup():
        seen.append(threading.current_thread())
        raise SampleError("npu-smi is not on PATH")

    sampler = PeriodicSampler(lambda: {}, 0.02, setup=setup)
    sampler.start()
    timeline = sampler.stop()
    assert seen and seen[0] is not main
    assert timeline.setup_failure == "npu-smi is not on PATH" and timeline.rows == ()


def test_a_hung_setup_does_not_hold_up_start():
    release = threading.Event()
    sampler = PeriodicSampler(lambda: {}, 0.02, setup=lambda: release.wait(30))
    began = time.monotonic()
    sampler.start()
    assert time.monotonic() - began < 5  # start() returned while setup still waits
    release.set()
    sampler.stop()
