"""`bench throughput`, `bench latency` and `bench run` against a real inference engine on
the CPU, in every `make test`.

The engine is llama.cpp's own HTTP server (the `llama-server` of llama.cpp), run in-process
by xllamacpp, a prebuilt CPU wheel on PyPI (the `engine` extra; see xllamacpp_server.py).
It serves a tiny random-weight llama model built here from the kit's shipped tokenizer
(nothing is downloaded; see tiny_gguf.py), whose every output token is a whole word, so it
never stops early and its text re-tokenizes to exactly what it generated.

The engine reports usage in its stream (chat: a last chunk with empty `choices`, as SGLang
and OpenAI; completions: on the last chunk with a choice), so every count the kit records
is checked against the engine's own, exactly. The engine's counts are themselves checked
against the prompt's construction: 32 tokens for completions, and for chat 32 plus Qwen2's
chat template, written out below.

Behind a buffering proxy (buffering_proxy.py: it holds each reply and writes it in one
piece, as a gateway can), every reply arrives in one read: `bench run` still gives a valid
document, whose delivery figures and warnings say that TPOT and ITL describe delivery.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.records import read_records
from bench.records.sanity import read_sanity_records
from bench.sim import tokenizer_dir
from bench.validate import validate_file
from bench.workload.dataset import load_tokenizer, random_prompts
from tests.integration.buffering_proxy import BufferingProxy
from tests.integration.tiny_gguf import build_tiny_gguf

pytestmark = pytest.mark.slow

LAUNCHER = Path(__file__).with_name("xllamacpp_server.py")
TOKENIZER = str(tokenizer_dir())


def qwen2_chat(user: str) -> str:
    """What the shipped tokenizer's chat template makes of one user message."""
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )


def chat_prompt_tokens(input_len: int) -> int:
    """N_in of a chat request whose user message is `input_len` of the kit's word tokens."""
    tokenizer = load_tokenizer(tokenizer_dir())
    (prompt,) = random_prompts(
        tokenizer, num_prompts=1, input_len=input_len, output_len=1, range_ratio=1.0, seed=7
    )
    return tokenizer.count(qwen2_chat(prompt.text))


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("engine")
    model = build_tiny_gguf(workdir / "tiny.gguf")
    log = open(workdir / "engine.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), str(model)], stdout=subprocess.PIPE, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        line = b""
        while not line.endswith(b"\n"):
            assert process.poll() is None, (workdir / "engine.log").read_text()[-2000:]
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the engine did not start in 60 s"
            ready, _, _ = select.select([process.stdout], [], [], min(remaining, 1.0))
            if ready:
                line += os.read(process.stdout.fileno(), 4096)
        base_url = line.decode().split()[-1]
        assert base_url.startswith("http://127.0.0.1:"), line
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


def post(base_url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_the_engine_counts_the_kits_prompts_as_the_kit_does(engine):
    tokenizer = load_tokenizer(tokenizer_dir())
    for prompt in random_prompts(
        tokenizer, num_prompts=3, input_len=32, output_len=12, range_ratio=1.0, seed=0
    ):
        usage = post(engine, "/v1/completions", {"prompt": prompt.text, "max_tokens": 12})["usage"]
        assert (usage["prompt_tokens"], usage["completion_tokens"]) == (32, 12)
        messages = [{"role": "user", "content": prompt.text}]
        usage = post(engine, "/v1/chat/completions", {"messages": messages, "max_tokens": 12})
        expected = tokenizer.count(qwen2_chat(prompt.text))
        assert (usage["usage"]["prompt_tokens"], usage["usage"]["completion_tokens"]) == (
            expected,
            12,
        )


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_throughput_agrees_with_the_engines_usage(engine, api, tmp_path, capsys):
    # 12 requests two at a time: enough to meet the server closing kept-alive connections
    # after each stream (the load generator sends such a request again; none may fail)
    out = tmp_path / "tp.json"
    code = main([
        "throughput", "--base-url", engine, "--tokenizer", TOKENIZER, "--api", api,
        "--num-prompts", "12", "--input-len", "32", "--output-len", "12",
        "--max-concurrency", "2", "--warmup", "1", "--timeout", "60", "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    n_in = 32 if api == "completions" else chat_prompt_tokens(32)
    records = [r for r in read_records(tmp_path / "tp.records.jsonl") if not r.warmup]
    assert len(records) == 12 and all(r.ok for r in records)
    for r in records:
        assert r.finish_reason == "length"
        assert r.prompt_tokens_server == n_in
        assert r.completion_tokens_server == r.completion_tokens_client == sum(r.chunk_tokens) == 12
        if api == "completions":  # no template: the client counts the prompt too
            assert r.prompt_tokens_client == 32
    metrics = json.loads(out.read_text())["metrics"]
    assert (metrics["requests_completed"], metrics["requests_failed"]) == (12, 0)
    assert metrics["total_input_tokens"] == 12 * n_in
    assert metrics["total_output_tokens"] == 12 * 12
    assert metrics["token_counts"] == {
        "input_source": "server_usage",
        "output_source": "server_usage",
        "requests_with_mismatch": 0,
        "output_tokens_mismatch": 0,
        "input_tokens_mismatch": 0,
    }


def test_latency_agrees_with_the_engines_usage(engine, tmp_path, capsys):
    out = tmp_path / "lat.json"
    code = main([
        "latency", "--base-url", engine, "--tokenizer", TOKENIZER, "--input-len", "64",
        "--output-len", "8", "--runs", "2", "--warmup", "1", "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    n_in = chat_prompt_tokens(64)
    records = [r for r in read_records(tmp_path / "lat.records.jsonl") if not r.warmup]
    assert len(records) == 2
    for r in records:
        assert r.ok and r.finish_reason == "length" and r.prompt_tokens_server == n_in
        assert r.completion_tokens_server == r.completion_tokens_client == sum(r.chunk_tokens) == 8
    metrics = json.loads(out.read_text())["metrics"]
    assert (metrics["total_input_tokens"], metrics["total_output_tokens"]) == (2 * n_in, 16)
    assert metrics["token_counts"]["requests_with_mismatch"] == 0


PROFILE = """
[profile]
name = "real-engine"
description = "tiny: 8 prompts of 32 in / 12 out, two at a time, each API; latency 64 in / 8 out"

[[throughput]]
name = "chat"
api = "chat"
input_len = 32
output_len = 12
num_prompts = 8
max_concurrency = 2
timeout_s = 60

[[throughput]]
name = "completions"
api = "completions"
input_len = 32
output_len = 12
num_prompts = 8
max_concurrency = 2
timeout_s = 60

[[latency]]
name = "latency"
input_len = 64
output_len = 8
runs = 2
warmup = 1
timeout_s = 60
"""


def bench_run(base_url: str, tmp_path: Path, capsys) -> Path:
    """`bench run` of PROFILE against base_url; the document's path."""
    profile = tmp_path / "real-engine.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "doc.json"
    code = main([
        "run", "--profile", str(profile), "--base-url", base_url, "--tokenizer", TOKENIZER,
        "--submitter", "test", "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    return out


def test_bench_run_writes_a_valid_measured_document(engine, tmp_path, capsys):
    out = bench_run(engine, tmp_path, capsys)
    assert [f for f in validate_file(out) if f.level == "error"] == []
    doc = load_document(out)
    assert doc["kind"] == "measured" and doc["model"]["id"] == "tiny"
    runs = {r["name"]: r for r in doc["measurements"]["throughput"]}
    runs.update({r["name"]: r for r in doc["measurements"]["latency"]})
    expected = {  # name: (N_in, N_out), summed over the measured requests
        "chat": (8 * chat_prompt_tokens(32), 8 * 12),
        "completions": (8 * 32, 8 * 12),
        "latency": (2 * chat_prompt_tokens(64), 2 * 8),
    }
    for name, (n_in, n_out) in expected.items():
        metrics = runs[name]["metrics"]
        assert (metrics["total_input_tokens"], metrics["total_output_tokens"]) == (n_in, n_out)
        assert metrics["token_counts"]["input_source"] == "server_usage"
        assert metrics["token_counts"]["requests_with_mismatch"] == 0
        # llama.cpp's own counters over the measured window: prompt tokens processed plus
        # those reused from its prompt cache (the chat template's), and tokens predicted
        server = runs[name]["server_metrics"]
        assert (server["engine"], server["window"], server["reason"]) == (
            "llama.cpp",
            "measured",
            None,
        )
        assert (server["prompt_tokens"], server["generation_tokens"]) == (n_in, n_out)
        assert server["requests"] is None and server["mean_ttft_ms"] is None  # not exposed
        assert runs[name]["telemetry"]["source"] == "npu-smi"  # none here: a reason, no samples


def test_behind_a_buffering_proxy_the_document_is_valid_and_says_replies_came_whole(
    engine, tmp_path, capsys
):
    # A gateway that holds each reply and writes it in one piece: every reply arrives in
    # one read, so its TPOT and ITL are 0. The kit keeps that and says what it describes.
    with BufferingProxy(engine) as proxy:
        out = bench_run(proxy.base_url, tmp_path, capsys)
    assert proxy.replies >= 8 + 8 + 3  # every generation request went through it
    findings = validate_file(out)
    assert [f"{f.pointer}: {f.message}" for f in findings if f.level == "error"] == []
    warned = {f.pointer: f.message for f in findings if "/metrics/" in f.pointer}
    doc = load_document(out)
    for section, runs in (("throughput", ("chat", "completions")), ("latency", ("latency",))):
        for i, name in enumerate(runs):
            run = doc["measurements"][section][i]
            metrics = run["metrics"]
            replies = metrics["requests_completed"]
            assert run["name"] == name and replies == (2 if name == "latency" else 8)
            assert metrics["delivery"]["single_read_requests"] == replies
            assert metrics["delivery"]["tokens_per_read"]["min"] == run["workload"]["output_len"]
            assert metrics["tpot_ms"]["max"] == metrics["itl_ms"]["max"] == 0
            where = f"/measurements/{section}/{i}/metrics"
            assert [p for p in warned if p.startswith(where + "/")] == [f"{where}/tpot_ms/median"]
            assert warned[f"{where}/tpot_ms/median"].startswith(
                f"tpot_ms median is 0 ms: {replies} of {replies} replies arrived in one read"
            )


def test_a_real_engine_answering_garbage_fails_the_sanity_check(engine, tmp_path, capsys):
    # Random weights: fast, and nonsense. Only whole words can win its output projection, so
    # no reply holds a number: every answer is wrong, and the result says so.
    out = tmp_path / "sanity.json"
    code = main(["sanity", "--base-url", engine, "--questions", "5", "--max-tokens", "8",
                 "--timeout", "60", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 1 and "sanity: 0 of 5 answers right" in printed
    records = read_sanity_records(tmp_path / "sanity.records.jsonl")
    assert [r.reason for r in records] == ["no number in the reply"] * 5
    assert all(r.reply and r.completion_tokens == 8 and r.error_kind is None for r in records)


SANITY_PROFILE = """
[profile]
name = "real-engine-sanity"
description = "one small latency run, then the sanity check"

[[latency]]
name = "latency"
input_len = 32
output_len = 8
runs = 2
warmup = 1
timeout_s = 60

[[sanity]]
questions = 5
max_tokens = 8
"""


def test_a_real_engine_answering_garbage_gives_an_invalid_measured_document(
    engine, tmp_path, capsys
):
    profile = tmp_path / "sanity.toml"
    profile.write_text(SANITY_PROFILE)
    out = tmp_path / "doc.json"
    code = main(["run", "--profile", str(profile), "--base-url", engine, "--tokenizer",
                 TOKENIZER, "--submitter", "test", "--out", str(out)])  # fmt: skip
    assert code == 1 and out.exists()
    doc = load_document(out)
    assert doc["kind"] == "measured" and doc["sanity"]["accuracy"] == 0.0
    assert doc["measurements"]["latency"][0]["metrics"]["requests_completed"] == 2  # it is fast
    errors = [f"{f.pointer}: {f.message}" for f in validate_file(out) if f.level == "error"]
    assert errors == [
        "/sanity/accuracy: the server's answers were wrong: 0 of 5 sanity questions answered "
        "right, accuracy 0 is below min_accuracy 0.8; a fast result with wrong answers is not "
        "ranked"
    ]


def test_a_shared_prefix_run_reports_the_engines_prompt_cache_hits(engine, tmp_path, capsys):
    # llama.cpp's server keeps each slot's last prompt (cache_prompt, on by default) and sends
    # the tokens it reused as usage.prompt_tokens_details.cached_tokens (and timings.cache_n).
    # Two groups, one request at a time, two slots: once each group's first request has
    # filled a slot, every other request of the group finds its system prompt there.
    out = tmp_path / "gsp.json"
    code = main([
        "throughput", "--base-url", engine, "--tokenizer", TOKENIZER, "--api", "completions",
        "--dataset", "generated-shared-prefix", "--gsp-num-groups", "2",
        "--gsp-prompts-per-group", "3", "--gsp-system-prompt-len", "256",
        "--gsp-question-len", "16", "--gsp-output-len", "4", "--max-concurrency", "1",
        "--timeout", "60", "--out", str(out),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    records = [r for r in read_records(tmp_path / "gsp.records.jsonl") if not r.warmup]
    assert len(records) == 6 and all(r.ok for r in records)
    assert all(r.cached_tokens_server is not None for r in records)  # the engine reports it
    assert all(r.cached_tokens_server <= r.prompt_tokens_server for r in records)
    seen: set[int] = set()
    for r in sorted(records, key=lambda r: r.send_ns):
        if r.group in seen:  # the system prompt and its separator, at least
            assert r.cached_tokens_server >= 256, r
        seen.add(r.group)
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["cached_prompt_tokens"] == sum(r.cached_tokens_server for r in records)
    assert metrics["cached_prompt_tokens"] >= 4 * 256
    assert 0 < metrics["prefix_cache_hit_rate"] < 1
    assert metrics["ttft_first_of_group_ms"]["count"] == 2
