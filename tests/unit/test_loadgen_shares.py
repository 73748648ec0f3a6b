"""How requests and the concurrency cap are shared among load-generator workers, and how
their records files are merged back into one."""

from __future__ import annotations

import json
import pickle
from types import SimpleNamespace

import pytest

from bench.client.conversation import Replay
from bench.client.jobs import Job
from bench.client.shares import split, worker_caps, worker_of, workers_used
from bench.client.worker import _bound
from bench.client.workers import merge_parts, part_path, plan_jobs, read_part
from bench.errors import BenchError
from bench.records import Record, RecordWriter, read_records
from bench.workload.conversations import Conversation


def test_workers_used_never_exceeds_the_cap_or_the_requests():
    assert workers_used(4, None, 100) == 4
    assert workers_used(4, 2, 100) == 2
    assert workers_used(4, None, 3) == 3
    assert workers_used(1, 64, 200) == 1
    assert workers_used(2, 1, 1) == 1


def test_without_a_cap_requests_go_round_robin():
    assert split(7, 3, None) == [[0, 3, 6], [1, 4], [2, 5]]
    assert worker_caps(None, 3) == [None, None, None]


def test_the_cap_is_split_and_adds_up_to_the_cap():
    assert worker_caps(64, 2) == [32, 32]
    assert worker_caps(3, 2) == [2, 1]
    assert worker_caps(5, 3) == [2, 2, 1]
    with pytest.raises(ValueError, match="cannot be split"):
        worker_caps(1, 2)


def test_a_divisible_cap_is_plain_round_robin():
    assert all(worker_of(i, 2, 64) == i % 2 for i in range(500))


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("cap", [None, 1, 2, 3, 5, 8, 13, 64])
def test_every_request_once_and_shares_follow_the_caps(workers, cap):
    if cap is not None and cap < workers:
        return  # workers_used never asks for this
    n = 1000
    shares = split(n, workers, cap)
    assert sorted(i for share in shares for i in share) == list(range(n))
    assert all(share == sorted(share) for share in shares)
    caps = worker_caps(cap, workers)
    if cap is None:
        assert max(map(len, shares)) - min(map(len, shares)) <= 1
        return
    assert sum(caps) == cap
    for share, share_cap in zip(shares, caps, strict=True):
        # stream s of cap belongs to worker s mod N: the share is in proportion to the streams
        assert abs(len(share) - n * share_cap / cap) <= share_cap


def spec(index, warmup=False):
    from bench.client.stream import RequestSpec

    return RequestSpec(index=index, rid=f"r{index}", url="u", body={}, warmup=warmup)


def test_plan_jobs_gives_each_worker_its_requests_offsets_and_cap(tmp_path):
    measured = [Job(spec(i)) for i in range(6)]
    warmups = [spec(i, warmup=True) for i in range(3)]
    offsets = [0, 10, 20, 30, 40, 50]
    jobs = plan_jobs("tok", 5.0, 3, warmups, measured, offsets, tmp_path / "r.jsonl", 2)
    assert [j.cap for j in jobs] == [2, 1]
    assert [j.first.index for j in jobs[0].measured] == [0, 2, 3, 5]
    assert jobs[0].offsets_ns == (0, 20, 30, 50)
    assert [j.first.index for j in jobs[1].measured] == [1, 4]
    assert [s.index for s in jobs[0].warmups] == [0, 2]
    assert [s.index for s in jobs[1].warmups] == [1]
    assert jobs[1].records_path == str(tmp_path / "r.jsonl.worker-1")


def test_a_conversation_travels_whole_and_without_its_tokenizer(tmp_path):
    conversation = Conversation(index=0, user_turns=("hi", "more"), reply_tokens=(4, 4))
    replay = Replay(conversation, "completions", "m", "u", True, count=len)
    jobs = plan_jobs("tok", 5.0, None, [], [Job(replay.first(), replay)], [0], tmp_path / "r", 2)
    (sent,) = [j for job in jobs for j in job.measured]  # one job: every turn from one worker
    assert sent.replay.conversation == conversation and sent.replay.count is None
    pickle.dumps(jobs)  # what crosses to a worker
    assert _bound(sent, SimpleNamespace(count=len)).replay.count is len


def record(index, done_ns, warmup=False):
    return Record(index=index, rid=f"r{index}", warmup=warmup, send_ns=0, done_ns=done_ns)


def write_part(path, records, torn=b""):
    with RecordWriter(path) as writer:
        for r in records:
            writer.write(r)
    if torn:
        with open(path, "ab") as f:
            f.write(torn)


def test_merge_writes_warmup_first_then_in_finish_order_and_removes_the_parts(tmp_path):
    out = tmp_path / "run.jsonl"
    a, b = part_path(out, 0), part_path(out, 1)
    write_part(a, [record(0, 5, warmup=True), record(0, 30), record(2, 10)])
    write_part(b, [record(1, 3, warmup=True), record(1, 20)])
    with RecordWriter(out) as writer:
        merged = merge_parts([a, b, part_path(out, 2)], writer)  # worker 2 never started
    on_disk = read_records(out)
    assert on_disk == merged
    assert [(r.warmup, r.index) for r in on_disk] == [
        (True, 1), (True, 0), (False, 2), (False, 1), (False, 0)
    ]  # fmt: skip
    assert not a.exists() and not b.exists()


def test_a_torn_last_line_is_dropped_and_a_bad_line_is_an_error(tmp_path):
    part = tmp_path / "p"
    write_part(part, [record(0, 1), record(1, 2)], torn=b'{"index": 2, "ri')
    assert [r.index for r in read_part(part)] == [0, 1]
    bad = tmp_path / "bad"
    bad.write_text(json.dumps({"nope": 1}) + "\n" + json.dumps(record(0, 1).to_json()) + "\n")
    with pytest.raises(BenchError, match="bad:1: not a valid record"):
        read_part(bad)
