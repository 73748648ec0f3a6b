"""`--driver sglang` runs the shared-prefix dataset as sglang.bench_serving 0.5.3's own
`generated-shared-prefix`, for real, against the simulator (it downloads nothing for it).

The simulator's ground truth shows what was sent: the warm-up (bench_serving's first
prompt), then, after `--flush-cache`, each group's first request without a cache hit and
every other one with its system prompt cached. bench_serving's prompt pickle goes to a HOME
of the run's own, never the user's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from bench.client.target import resolve_target
from bench.drivers.sglang_bench_serving import run_sglang
from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.server import SimServer
from bench.workload.spec import ThroughputWorkload
from tests.integration.test_sglang_driver import run_schema

pytestmark = pytest.mark.slow


def test_the_shared_prefix_workload_runs_as_bench_servings_own_dataset(tmp_path):
    ground = tmp_path / "truth.jsonl"
    home_before = sorted((Path.home() / ".cache" / "sglang").rglob("*.pkl"))
    workload = ThroughputWorkload(
        api="completions", dataset="generated-shared-prefix", gsp_num_groups=3,
        gsp_prompts_per_group=3, gsp_system_prompt_len=300, gsp_question_len=20,
        gsp_output_len=8, max_concurrency=1, timeout_s=60,
    )  # fmt: skip
    with SimServer(SimConfig(speed=20.0, ground_truth=ground)) as sim:
        target = resolve_target(sim.base_url, tokenizer=tokenizer_dir())
        run = run_sglang(workload, target, tmp_path / "out.jsonl", "gsp")
    jsonschema.validate(run, run_schema())
    argv = run["driver"]["command"]
    at = argv.index("--dataset-name")
    assert argv[at + 1] == "generated-shared-prefix"
    for flag, value in (("--gsp-num-groups", "3"), ("--gsp-prompts-per-group", "3"),
                        ("--gsp-system-prompt-len", "300"), ("--gsp-question-len", "20"),
                        ("--gsp-output-len", "8")):  # fmt: skip
        assert argv[argv.index(flag) + 1] == value
    assert "--flush-cache" in argv
    w = run["workload"]
    assert (w["dataset"], w["num_prompts"], w["output_len"], w["range_ratio"]) == (
        "generated-shared-prefix", 9, 8, 1.0,
    )  # fmt: skip
    assert (w["gsp_num_groups"], w["gsp_system_prompt_len"]) == (3, 300)
    assert run["metrics"]["requests_completed"] == 9
    assert run["metrics"]["total_output_tokens"] == 9 * 8
    sent = [json.loads(line) for line in ground.read_text().splitlines()]
    warmup, measured = sent[0], sent[1:]
    assert len(measured) == 9 and warmup["completion_tokens"] == 8  # min(8, 32)
    # one request at a time: each group's first misses (the warm-up's prefix was flushed),
    # the two others hit the system prompt's two full pages (~300 tokens: 256)
    assert sorted(t["cached_tokens"] for t in measured) == [0] * 3 + [256] * 6
    assert measured[0]["prompt_tokens"] == warmup["prompt_tokens"]  # the same prompt, flushed
    # the prompt pickle is the run's, beside its output; the user's home got none
    pickles = list((tmp_path / "out.jsonl.home").rglob("gen_shared_prefix_*.pkl"))
    assert len(pickles) == 1
    assert sorted((Path.home() / ".cache" / "sglang").rglob("*.pkl")) == home_before
    assert os.environ.get("HOME") != str(tmp_path / "out.jsonl.home")  # only the child's
