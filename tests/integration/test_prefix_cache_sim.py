"""Shared prefixes and conversations against the simulator, whose ground truth says how
many prompt tokens it took from its radix cache for each request.

A shared-prefix run reports cached tokens and a lower TTFT for the rest of each group than
for its first request; `--disable-radix-cache` removes both. The records' cached tokens are
the simulator's, exactly. Conversations hit the cache from their second turn on. A `bench
run` of both workloads gives a document that validates, its metrics recomputed from records.

One request at a time where TTFT is compared, so no queueing mixes into it: at speed 5 a
group's first request prefills 2,176 tokens (~52 ms) and the rest 128 (~10 ms).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.records import read_records
from bench.sim import model, tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.profile import load_profile
from bench.sim.server import SimServer
from bench.validate import validate_file

pytestmark = pytest.mark.slow

TOKENIZER = str(tokenizer_dir())
GSP_FLAGS = [
    "--dataset", "generated-shared-prefix", "--gsp-num-groups", "3",
    "--gsp-prompts-per-group", "4", "--gsp-system-prompt-len", "2048",
    "--gsp-question-len", "128", "--gsp-output-len", "8", "--max-concurrency", "1",
    "--warmup", "1", "--timeout", "60",
]  # fmt: skip


def truth(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def throughput(base_url: str, out: Path, flags: list[str], capsys) -> dict:
    code = main(
        ["throughput", "--base-url", base_url, "--tokenizer", TOKENIZER, *flags, "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    return json.loads(out.read_text())


def shared_prefix_run(tmp_path: Path, capsys, *, disable: bool) -> tuple[dict, list, list]:
    ground = tmp_path / "truth.jsonl"
    config = SimConfig(speed=5.0, ground_truth=ground, disable_radix_cache=disable)
    with SimServer(config) as sim:
        run = throughput(sim.base_url, tmp_path / "gsp.json", GSP_FLAGS, capsys)
    return run, read_records(tmp_path / "gsp.records.jsonl"), truth(ground)


def test_a_shared_prefix_run_reports_cache_hits_and_faster_rest_of_group(tmp_path, capsys):
    run, records, sent = shared_prefix_run(tmp_path, capsys, disable=False)
    m = run["metrics"]
    assert m["requests_completed"] == 12 and run["workload"]["gsp_num_groups"] == 3
    # each group's first request found nothing; the 9 others found the system prompt's 16
    # pages (2,048 tokens, after the ~20-token chat template: the last page is partial)
    measured = [r for r in records if not r.warmup]
    firsts = {}
    for r in sorted(measured, key=lambda r: r.send_ns):
        firsts.setdefault(r.group, r)
    assert sorted(r.cached_tokens_server or 0 for r in firsts.values()) == [0, 0, 0]
    rest = [r for r in measured if r not in firsts.values()]
    assert [r.cached_tokens_server for r in rest] == [2048] * 9
    assert m["cached_prompt_tokens"] == 9 * 2048
    assert m["prefix_cache_hit_rate"] == pytest.approx(9 * 2048 / m["total_input_tokens"])
    first, others = m["ttft_first_of_group_ms"], m["ttft_rest_of_group_ms"]
    assert (first["count"], others["count"]) == (3, 9)
    assert others["median"] < first["median"]
    # server side, without the client's noise: ~10 ms against ~52 ms
    by_rid = {t["rid"]: t for t in sent}
    server_ttft = {
        r.rid: by_rid[r.rid]["token_ns"][0] - by_rid[r.rid]["arrival_ns"] for r in measured
    }
    rest_ns = sorted(server_ttft[r.rid] for r in rest)
    first_ns = sorted(server_ttft[r.rid] for r in firsts.values())
    assert rest_ns[len(rest_ns) // 2] < 0.5 * first_ns[1]
    # the records say what the simulator did, request by request
    for r in records:
        assert (r.cached_tokens_server or 0) == by_rid[r.rid]["cached_tokens"]
        assert r.prompt_tokens_server == by_rid[r.rid]["prompt_tokens"]


def test_disabling_the_radix_cache_removes_both(tmp_path, capsys):
    run, records, sent = shared_prefix_run(tmp_path, capsys, disable=True)
    m = run["metrics"]
    assert all(t["cached_tokens"] == 0 for t in sent)
    assert all(r.cached_tokens_server is None for r in records)  # SGLang sends no details
    assert (m["cached_prompt_tokens"], m["prefix_cache_hit_rate"]) == (None, None)
    # every prompt prefilled whole: no TTFT below the model's full prefill (the simulator's
    # steps never end before their deadline), the rest of each group included
    profile = load_profile()
    for r in records:
        n = r.prompt_tokens_server
        full_ms = model.prefill_s(profile, n, model.attention_pairs(0, n)) * 1000 / 5.0
        assert (r.chunk_ns[0] - r.send_ns) / 1e6 >= 0.98 * full_ms
    assert m["ttft_rest_of_group_ms"]["count"] == 9


def test_conversations_hit_the_cache_from_their_second_turn(tmp_path, capsys):
    ground = tmp_path / "truth.jsonl"
    flags = [
        "--dataset", "multi-turn", "--mt-num-conversations", "3", "--mt-num-turns", "3",
        "--mt-user-len", "200", "--output-len", "60", "--max-concurrency", "2",
        "--timeout", "60",
    ]  # fmt: skip
    with SimServer(SimConfig(speed=20.0, ground_truth=ground)) as sim:
        run = throughput(sim.base_url, tmp_path / "mt.json", flags, capsys)
    turns = run["metrics"]["per_turn"]
    assert [t["turn"] for t in turns] == [0, 1, 2]
    assert [t["requests_completed"] for t in turns] == [3, 3, 3]
    assert turns[0]["cached_prompt_tokens"] == 0
    # turn k+1 carries turn k's prompt and reply: each prompt is longer, more of it cached
    assert turns[0]["input_tokens"] < turns[1]["input_tokens"] < turns[2]["input_tokens"]
    assert 0 < turns[1]["cached_prompt_tokens"] < turns[2]["cached_prompt_tokens"]
    records = [r for r in read_records(tmp_path / "mt.records.jsonl") if not r.warmup]
    for conv in range(3):
        mine = sorted((r for r in records if r.group == conv), key=lambda r: r.turn)
        assert [r.turn for r in mine] == [0, 1, 2]
        # a turn is sent only after the turn before it finished
        assert all(a.done_ns <= b.send_ns for a, b in itertools.pairwise(mine))
        # the history carries the reply as the server wrote it: turn 1's prompt and its
        # reply (less its last token, as SGLang caches a finished request) are cached, in
        # whole pages of 128
        kept = mine[1].prompt_tokens_server + 60 - 1
        assert mine[2].cached_tokens_server == kept // 128 * 128


PROFILE = """
[profile]
name = "prefix-tiny"
description = "shared prefix and conversations, small"

[[throughput]]
name = "gsp"
dataset = "generated-shared-prefix"
gsp_num_groups = 2
gsp_prompts_per_group = 3
gsp_system_prompt_len = 300
gsp_question_len = 20
gsp_output_len = 8
max_concurrency = 2
timeout_s = 60

[[throughput]]
name = "mt"
api = "completions"
dataset = "multi-turn"
mt_num_conversations = 2
mt_num_turns = 3
mt_user_len = 150
output_len = 8
max_concurrency = 2
timeout_s = 60
"""


def test_bench_run_of_both_workloads_gives_a_valid_document(tmp_path, capsys):
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "doc.json"
    with SimServer(SimConfig(speed=50.0)) as sim:
        code = main([
            "run", "--profile", str(profile), "--base-url", sim.base_url,
            "--tokenizer", TOKENIZER, "--out", str(out),
        ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    findings = validate_file(out)  # schema, consistency, and metrics recomputed from records
    assert [f"{f.level} {f.pointer}: {f.message}" for f in findings if f.level == "error"] == []
    gsp, mt = load_document(out)["measurements"]["throughput"]
    assert gsp["workload"]["dataset"] == "generated-shared-prefix"
    assert gsp["workload"]["input_len"] is None and gsp["workload"]["num_prompts"] == 6
    assert gsp["metrics"]["cached_prompt_tokens"] > 0
    # the simulator's /metrics counts the same hits as the replies' usage, to the token
    for run in (gsp, mt):
        server, client = run["server_metrics"], run["metrics"]
        assert server["cached_tokens"] == client["cached_prompt_tokens"] > 0
        assert server["prompt_tokens"] == client["total_input_tokens"]
    assert mt["workload"]["mt_num_turns"] == 3 and len(mt["metrics"]["per_turn"]) == 3
    # a changed record is caught: the cached tokens are recomputed from the records
    records = out.with_name("doc.records") / "gsp.jsonl"
    lines = records.read_text().splitlines()
    doc = json.loads(out.read_text())
    doc["measurements"]["throughput"][0]["metrics"]["cached_prompt_tokens"] += 128
    doc["measurements"]["throughput"][0]["metrics"]["prefix_cache_hit_rate"] = None
    out.write_text(json.dumps(doc))
    assert len(lines) == 7
    assert any(
        f.pointer.endswith("/metrics/cached_prompt_tokens") and "recomputed" in f.message
        for f in validate_file(out)
    )
