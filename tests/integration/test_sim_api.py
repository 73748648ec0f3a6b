"""The simulator speaks SGLang's API: a standard OpenAI client, raw SSE, errors, info routes."""

from __future__ import annotations

import json

import openai
import pytest
import requests

from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.server import SimServer
from bench.sim.tokens import load_token_source

TIMEOUT = 30


@pytest.fixture(scope="module")
def sim():
    with SimServer(SimConfig(speed=200.0)) as server:
        yield server


@pytest.fixture(scope="module")
def client(sim):
    return openai.OpenAI(base_url=sim.base_url + "/v1", api_key="EMPTY", timeout=TIMEOUT)


def _sse(sim, path: str, body: dict) -> list[str]:
    """The `data:` payloads of a streamed response, in order, [DONE] included."""
    with requests.post(sim.base_url + path, json=body, stream=True, timeout=TIMEOUT) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        return [
            line[len("data: ") :]
            for line in resp.iter_lines(decode_unicode=True)
            if line and line.startswith("data: ")
        ]


def test_openai_sdk_streams_role_content_usage(client):
    stream = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Describe the Ascend NPU."}],
        max_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    chunks = list(stream)
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant" and not first.choices[0].delta.content
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == 24  # one token per chunk, as SGLang streams
    assert chunks[-2].choices[0].finish_reason == "length"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.completion_tokens == 24
    text = "".join(c.choices[0].delta.content for c in content)
    assert load_token_source(tokenizer_dir()).count(text) == 24  # re-tokenizes to the count


def test_raw_chat_stream_ends_with_done_and_omits_usage_unless_asked(sim):
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 3,
        "stream": True,
    }
    payloads = _sse(sim, "/v1/chat/completions", body)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["choices"] for c in chunks)  # no usage chunk: sglang.bench_serving relies on it
    assert len({c["id"] for c in chunks}) == 1


def test_completions_stream_carries_finish_reason_on_the_last_content_chunk(sim):
    body = {
        "model": "m",
        "prompt": "the model",
        "max_tokens": 4,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    payloads = _sse(sim, "/v1/completions", body)
    chunks = [json.loads(p) for p in payloads[:-1]]
    texts = [c for c in chunks if c["choices"]]
    assert len(texts) == 4 and texts[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4
    assert chunks[-1]["usage"]["prompt_tokens"] == 2  # " model" and "the": two tokens


def test_native_generate_streams_cumulative_text(sim):
    body = {
        "text": "hello",
        "sampling_params": {"max_new_tokens": 3, "ignore_eos": True},
        "stream": True,
    }
    payloads = _sse(sim, "/generate", body)
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert [c["meta_info"]["completion_tokens"] for c in chunks] == [1, 2, 3]
    assert chunks[1]["text"].startswith(chunks[0]["text"])
    assert chunks[-1]["meta_info"]["finish_reason"] == {"type": "length", "length": 3}


def test_non_streaming_chat_and_generate(client, sim):
    resp = client.chat.completions.create(
        model="default", messages=[{"role": "user", "content": "hi"}], max_tokens=5
    )
    assert resp.usage.completion_tokens == 5 and resp.choices[0].finish_reason == "length"
    assert load_token_source(tokenizer_dir()).count(resp.choices[0].message.content) == 5
    gen = requests.post(
        sim.base_url + "/generate",
        timeout=TIMEOUT,
        json={"input_ids": [1, 2, 3], "sampling_params": {"max_new_tokens": 2}},
    )
    assert gen.json()["meta_info"]["prompt_tokens"] == 3
    assert gen.json()["meta_info"]["completion_tokens"] == 2


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": "m", "max_tokens": 3}, "messages"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
            "max_tokens",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"},
            "max_tokens",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 40_000},
            "context length",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n=1"),
        (
            {"model": "m", "messages": [{"role": "user", "content": " model" * 33_000}]},
            "context length",
        ),
    ],
)
def test_bad_requests_are_openai_style_400s(sim, body, needle):
    resp = requests.post(sim.base_url + "/v1/chat/completions", json=body, timeout=TIMEOUT)
    assert resp.status_code == 400
    error = resp.json()
    assert error["object"] == "error" and error["code"] == 400 and needle in error["message"]


def test_malformed_json_body_is_a_400(sim):
    resp = requests.post(sim.base_url + "/v1/completions", data=b"{not json", timeout=TIMEOUT)
    assert resp.status_code == 400 and resp.json()["object"] == "error"


def test_openai_sdk_raises_bad_request_for_a_missing_prompt(client):
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="default", prompt=None, max_tokens=3)


def test_info_routes_report_sglang_fields(sim):
    info = requests.get(sim.base_url + "/get_server_info", timeout=TIMEOUT).json()
    assert info["mem_fraction_static"] == 0.9 and info["tp_size"] == 1
    assert info["max_total_num_tokens"] > 700_000 and info["version"] == "0.5.3"
    assert (
        info["internal_states"][0]["memory_usage"]["token_capacity"] == info["max_total_num_tokens"]
    )
    assert info["simulated"] is True and info["simulator"]["profile"] == "atlas800t-a2-qwen2-7b"
    assert requests.get(sim.base_url + "/server_info", timeout=TIMEOUT).json()["version"]
    models = requests.get(sim.base_url + "/v1/models", timeout=TIMEOUT).json()
    assert models["data"][0]["id"] == "Qwen/Qwen2-7B-Instruct"
    for path in ("/health", "/health_generate"):
        assert requests.get(sim.base_url + path, timeout=TIMEOUT).status_code == 200


def test_temperature_zero_is_greedy_and_sampling_varies(sim):
    def text(prompt: str, temperature: float) -> str:
        body = {"model": "m", "prompt": prompt, "max_tokens": 8, "temperature": temperature}
        resp = requests.post(sim.base_url + "/v1/completions", json=body, timeout=TIMEOUT)
        return resp.json()["choices"][0]["text"]

    assert text("the model", 0.0) == text("the model", 0.0)
    assert text("the model", 0.0) != text("the server", 0.0)
    assert text("the model", 1.0) != text("the model", 1.0)


def test_negative_temperature_is_a_400(sim):
    body = {"model": "m", "prompt": "x", "max_tokens": 2, "temperature": -1}
    resp = requests.post(sim.base_url + "/v1/completions", json=body, timeout=TIMEOUT)
    assert resp.status_code == 400 and "temperature" in resp.json()["message"]


def test_a_request_larger_than_the_kv_pool_is_refused_not_queued_forever(tmp_path):
    from bench.sim import DEFAULT_PROFILE, profiles_dir

    text = (profiles_dir() / f"{DEFAULT_PROFILE}.toml").read_text()
    small = tmp_path / "small.toml"
    small.write_text(text.replace("hbm_gib = 64.0", "hbm_gib = 18.05", 1))
    with SimServer(SimConfig(profile=str(small), speed=100.0)) as server:
        info = requests.get(server.base_url + "/get_server_info", timeout=TIMEOUT).json()
        pool = info["max_total_num_tokens"]
        assert 0 < pool < 2000
        body = {"model": "m", "prompt": "hi", "max_tokens": pool}
        resp = requests.post(server.base_url + "/v1/completions", json=body, timeout=TIMEOUT)
        assert resp.status_code == 400 and "max_total_num_tokens" in resp.json()["message"]
        body["max_tokens"] = pool - 1
        resp = requests.post(server.base_url + "/v1/completions", json=body, timeout=TIMEOUT)
        assert resp.json()["usage"]["completion_tokens"] == pool - 1
