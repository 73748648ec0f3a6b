"""`sglang.bench_serving` 0.5.3 (no torch) completes runs against the simulator, 0 failed.

Nothing is downloaded: `--dataset-name random-ids` needs no ShareGPT file, the shipped
tokenizer is passed with `--tokenizer`, and the Hugging Face hub is set offline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.server import SimServer

NUM_PROMPTS = 6


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    truth = tmp_path_factory.mktemp("sim") / "truth.jsonl"
    with SimServer(SimConfig(speed=100.0, ground_truth=truth)) as server:
        yield server


@pytest.mark.parametrize("backend", ["sglang", "sglang-oai", "sglang-oai-chat"])
def test_bench_serving_completes_with_zero_failures(sim, tmp_path, backend):
    out = tmp_path / "bench.jsonl"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "sglang.bench_serving",
        "--backend",
        backend,
        "--base-url",
        sim.base_url,
        "--dataset-name",
        "random-ids",
        "--random-input-len",
        "64",
        "--random-output-len",
        "16",
        "--random-range-ratio",
        "1.0",
        "--num-prompts",
        str(NUM_PROMPTS),
        "--tokenizer",
        str(tokenizer_dir()),
        "--output-file",
        str(out),
        "--disable-tqdm",
        "--seed",
        "1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (result,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert result["completed"] == NUM_PROMPTS
    assert result["total_output_tokens"] == NUM_PROMPTS * 16
    assert result["total_output_tokens_retokenized"] == NUM_PROMPTS * 16
    assert "Successful requests:" in proc.stdout  # completed == num_prompts: 0 failed
