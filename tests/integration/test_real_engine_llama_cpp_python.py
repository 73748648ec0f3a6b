"""`bench throughput` and `bench latency` against a second real engine on the CPU (opt-in).

`make test` runs test_real_engine.py (llama.cpp's own server, through xllamacpp). This file
is the opt-in second engine, `make real-engine`: llama.cpp behind `llama-cpp-python`'s
own OpenAI-compatible server (a Python front end that streams no usage), serving a
tiny random-weight llama model built here from the kit's shipped tokenizer (nothing is
downloaded; see tiny_gguf.py). The kit's results must agree with the engine's own usage
counts. llama-cpp-python has no binary wheel on PyPI (it compiles llama.cpp, minutes on
two cores), so it is not a pinned dependency: this test runs where it is importable, by
the interpreter named in BENCH_LLAMA_CPP_PYTHON or this one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bench.cli import main
from bench.records import read_records
from bench.sim import tokenizer_dir
from bench.workload.dataset import load_tokenizer, random_prompts

ENGINE_PYTHON = os.environ.get("BENCH_LLAMA_CPP_PYTHON", sys.executable)


def _engine_available() -> bool:
    probe = subprocess.run(
        [ENGINE_PYTHON, "-c", "import llama_cpp.server, gguf"], capture_output=True, timeout=60
    )
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not _engine_available(),
        reason="llama-cpp-python[server] and gguf are not installed for "
        "BENCH_LLAMA_CPP_PYTHON (an optional, compiled dependency)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("engine")
    model = workdir / "tiny.gguf"
    here = os.path.dirname(__file__)
    build = (
        f"import sys; sys.path[:0] = [{os.path.dirname(os.path.dirname(here))!r}]; "
        "from pathlib import Path; from tests.integration.tiny_gguf import build_tiny_gguf; "
        f"build_tiny_gguf(Path({str(model)!r}))"
    )
    subprocess.run([ENGINE_PYTHON, "-c", build], check=True, timeout=120)
    port = _free_port()
    log = open(workdir / "engine.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [ENGINE_PYTHON, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "tiny",
         "--interrupt_requests", "False"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (workdir / "engine.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the engine did not start in 120 s"
            try:
                with urllib.request.urlopen(base_url + "/v1/models", timeout=2) as r:
                    json.loads(r.read())
                break
            except OSError:
                time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def engine_usage(base_url: str, prompt: str, max_tokens: int) -> dict:
    """The engine's own count, from a non-streamed request (its stream carries no usage)."""
    body = {"model": "tiny", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0}
    request = urllib.request.Request(
        base_url + "/v1/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["usage"]


def test_the_engine_counts_the_kits_prompts_as_the_kit_does(engine):
    tokenizer = load_tokenizer(tokenizer_dir())
    for prompt in random_prompts(
        tokenizer, num_prompts=3, input_len=32, output_len=12, range_ratio=1.0, seed=0
    ):
        usage = engine_usage(engine, prompt.text, 12)
        assert usage == {"prompt_tokens": 32, "completion_tokens": 12, "total_tokens": 44}


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_throughput_agrees_with_the_engine(engine, api, tmp_path, capsys):
    out = tmp_path / "tp.json"
    code = main([
        "throughput", "--base-url", engine, "--tokenizer", str(tokenizer_dir()), "--api", api,
        "--num-prompts", "6", "--input-len", "32", "--output-len", "12",
        "--max-concurrency", "2", "--warmup", "1", "--no-ignore-eos", "--timeout", "120",
        "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    run = json.loads(out.read_text())
    records = [r for r in read_records(tmp_path / "tp.records.jsonl") if not r.warmup]
    assert len(records) == 6 and all(r.ok for r in records)
    # llama-cpp-python's stream carries no usage even when asked: the kit counts with the
    # tokenizer, and every count equals what the engine generated (12, finish "length")
    for r in records:
        assert r.completion_tokens_server is None and r.finish_reason == "length"
        assert r.completion_tokens_client == sum(r.chunk_tokens) == 12
    metrics = run["metrics"]
    assert metrics["total_output_tokens"] == 72
    assert metrics["token_counts"]["output_source"] == "tokenizer"
    if api == "completions":  # no template: the client's count is the engine's (see above)
        assert metrics["total_input_tokens"] == 6 * 32
        assert metrics["token_counts"]["input_source"] == "tokenizer"
    else:  # the engine's template is applied server-side and it reports no usage
        assert metrics["total_input_tokens"] == 0
        assert metrics["token_counts"]["input_source"] == "unknown"


def test_latency_agrees_with_the_engine(engine, tmp_path, capsys):
    out = tmp_path / "lat.json"
    code = main([
        "latency", "--base-url", engine, "--tokenizer", str(tokenizer_dir()),
        "--api", "completions", "--input-len", "64", "--output-len", "8",
        "--runs", "2", "--warmup", "1", "--no-ignore-eos", "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    records = [r for r in read_records(tmp_path / "lat.records.jsonl") if not r.warmup]
    assert all(r.ok and r.completion_tokens_client == 8 for r in records)
    run = json.loads(out.read_text())
    assert run["metrics"]["total_input_tokens"] == 128
    assert run["metrics"]["total_output_tokens"] == 16
