"""Ground truth: one line per request, agreeing with what the server streamed, and when."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import requests

from bench.sim import tokenizer_dir
from bench.sim.config import SimConfig
from bench.sim.server import SimServer
from bench.sim.tokens import load_token_source


async def _one(session, url: str, i: int) -> dict:
    """Stream one request; return its id, text, and each content chunk's arrival time."""
    if i % 3 == 0:
        path, body = (
            "/v1/chat/completions",
            {
                "model": "m",
                "messages": [{"role": "user", "content": "tell me" * i}],
                "max_tokens": 5 + i,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
    elif i % 3 == 1:
        path, body = (
            "/v1/completions",
            {"model": "m", "prompt": " model" * (10 + i), "max_tokens": 5 + i, "stream": True},
        )
    else:
        path, body = (
            "/generate",
            {
                "text": " model" * (10 + i),
                "stream": True,
                "sampling_params": {"max_new_tokens": 5 + i},
            },
        )
    out = {"rid": f"req-{i}", "path": path, "text": "", "arrivals": [], "id": None}
    async with session.post(url + path, json=body, headers={"X-Request-Id": f"req-{i}"}) as r:
        async for line in r.content:
            line = line.strip()
            if not line.startswith(b"data: {"):
                continue
            now = time.perf_counter_ns()
            chunk = json.loads(line[6:])
            if path == "/generate":
                out["id"] = chunk["meta_info"]["id"]
                new = chunk["text"][len(out["text"]) :]
                out["text"] = chunk["text"]
            else:
                out["id"] = chunk["id"]
                if not chunk["choices"]:
                    continue
                c = chunk["choices"][0]
                new = (c.get("delta") or {}).get("content") or c.get("text") or ""
                out["text"] += new
            if new:
                out["arrivals"].append(now)
    return out


async def _many(url: str, n: int) -> list[dict]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        return await asyncio.gather(*(_one(session, url, i) for i in range(n)))


def test_every_request_has_one_truthful_line(tmp_path):
    truth_path = tmp_path / "truth.jsonl"
    with SimServer(SimConfig(speed=20.0, ground_truth=truth_path)) as sim:
        results = asyncio.run(_many(sim.base_url, 24))
    lines = [json.loads(line) for line in truth_path.read_text().splitlines()]
    assert len(lines) == 24
    by_id = {line["id"]: line for line in lines}
    source = load_token_source(tokenizer_dir())
    for res in results:
        truth = by_id[res["id"]]
        assert truth["rid"] == res["rid"] and truth["endpoint"] == res["path"]
        n = source.count(res["text"])
        assert truth["completion_tokens"] == n == len(truth["token_ns"])
        assert truth["finish_reason"] == "length" and truth["fault"] is None
        assert truth["token_ns"] == sorted(truth["token_ns"])
        assert truth["arrival_ns"] < truth["token_ns"][0]
        # one chunk per token: the client saw each chunk after the server wrote it
        assert len(res["arrivals"]) == n
        assert all(
            seen >= wrote for seen, wrote in zip(res["arrivals"], truth["token_ns"], strict=True)
        )
        if res["path"] != "/v1/chat/completions":
            assert truth["prompt_tokens"] == 10 + int(res["rid"].split("-")[1])


def test_tokens_per_chunk_is_recorded_per_token(tmp_path):
    truth_path = tmp_path / "truth.jsonl"
    with SimServer(SimConfig(speed=50.0, ground_truth=truth_path, tokens_per_chunk=4)) as sim:
        (res,) = asyncio.run(_many_completions(sim.base_url))
    (truth,) = [json.loads(line) for line in truth_path.read_text().splitlines()]
    assert truth["completion_tokens"] == 10 and len(res) == 3  # chunks of 4, 4, 2 tokens
    assert truth["token_ns"][0] == truth["token_ns"][3] != truth["token_ns"][4]


async def _many_completions(url: str) -> list[list[str]]:
    body = {"model": "m", "prompt": "hi", "max_tokens": 10, "stream": True}
    texts = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url + "/v1/completions", json=body) as r,
    ):
        async for line in r.content:
            line = line.strip()
            if line.startswith(b"data: {"):
                texts.append(json.loads(line[6:])["choices"][0]["text"])
    return [texts]


def test_a_reply_sent_whole_records_every_token_at_its_one_write(tmp_path):
    truth_path = tmp_path / "truth.jsonl"
    body = {"model": "m", "prompt": "hi", "max_tokens": 7, "stream": False}
    with SimServer(SimConfig(speed=50.0, ground_truth=truth_path)) as sim:
        reply = requests.post(sim.base_url + "/v1/completions", json=body, timeout=60).json()
    (truth,) = [json.loads(line) for line in truth_path.read_text().splitlines()]
    assert reply["usage"]["completion_tokens"] == truth["completion_tokens"] == 7
    assert len(set(truth["token_ns"])) == 1 and len(truth["token_ns"]) == 7
    assert (truth["finish_reason"], truth["fault"], truth["id"]) == ("length", None, reply["id"])


def test_a_client_that_goes_away_mid_stream_is_recorded_as_an_abort(tmp_path):
    truth_path = tmp_path / "truth.jsonl"
    long = {"model": "m", "prompt": "hi", "max_tokens": 2000, "stream": True}
    short = {**long, "max_tokens": 3, "stream": False}
    with SimServer(SimConfig(speed=1.0, ground_truth=truth_path)) as sim:
        with requests.post(
            sim.base_url + "/v1/completions", json=long, stream=True, timeout=60
        ) as r:
            next(r.iter_lines())  # the first chunk came: then the client leaves
        # the engine freed its place: another request is served to the end
        done = requests.post(sim.base_url + "/v1/completions", json=short, timeout=60).json()
        assert done["usage"]["completion_tokens"] == 3
    lines = [json.loads(line) for line in truth_path.read_text().splitlines()]
    left = next(t for t in lines if t["finish_reason"] != "length")
    assert left["finish_reason"] == "abort" and left["fault"] is None
    assert 0 < left["completion_tokens"] < 2000
