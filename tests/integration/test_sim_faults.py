"""Each fault flag does what the fault table says, at 0% and at 100%, and is marked."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
import requests

from bench.client.stream import RequestSpec, send_request, write_tracing
from bench.metrics import arrived_in_one_read, tokens_per_read, tpot_ms
from bench.sim.config import SimConfig
from bench.sim.faults import FaultConfig
from bench.sim.server import SimServer

TIMEOUT = 30
CHAT = {
    "model": "m",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 6,
    "stream": True,
    "ignore_eos": True,
}


def _sim(tmp_path, speed: float = 100.0, **faults) -> SimServer:
    return SimServer(
        SimConfig(speed=speed, ground_truth=tmp_path / "truth.jsonl", faults=FaultConfig(**faults))
    )


def _truth(tmp_path) -> list[dict]:
    return [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]


def _stream_lines(url: str, body: dict = CHAT) -> tuple[list[bytes], bool]:
    """Raw SSE lines, and whether the stream ended cleanly."""
    lines = []
    try:
        with requests.post(
            url + "/v1/chat/completions", json=body, stream=True, timeout=TIMEOUT
        ) as resp:
            for line in resp.iter_lines():
                if line:
                    lines.append(line)
        return lines, True
    except requests.exceptions.ChunkedEncodingError:
        return lines, False


def _content_count(lines: list[bytes]) -> int:
    n = 0
    for line in lines:
        if line.startswith(b"data: {") and line.endswith(b"}"):
            chunk = json.loads(line[6:])
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                n += 1
    return n


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_error_rate(tmp_path, rate):
    with _sim(tmp_path, error_rate=rate) as sim:
        codes = [
            requests.post(
                sim.base_url + "/v1/chat/completions", json=CHAT, timeout=TIMEOUT
            ).status_code
            for _ in range(5)
        ]
    if rate:
        assert codes == [500] * 5
        assert {t["fault"] for t in _truth(tmp_path)} == {"error_500"}
    else:
        assert codes == [200] * 5
        assert {t["fault"] for t in _truth(tmp_path)} == {None}


def test_error_500_body_is_openai_style(tmp_path):
    with _sim(tmp_path, error_rate=1.0) as sim:
        resp = requests.post(
            sim.base_url + "/v1/completions", json={"prompt": "x"}, timeout=TIMEOUT
        )
    assert resp.status_code == 500 and resp.json()["code"] == 500


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_drop_after_k_tokens(tmp_path, rate):
    with _sim(tmp_path, drop_after=3, drop_rate=rate) as sim:
        lines, clean = _stream_lines(sim.base_url)
    (truth,) = _truth(tmp_path)
    if rate:
        assert _content_count(lines) == 3 and b"data: [DONE]" not in lines
        assert truth["fault"] == "drop" and truth["finish_reason"] == "abort"
        assert truth["completion_tokens"] == 3
    else:
        assert clean and _content_count(lines) == 6 and lines[-1] == b"data: [DONE]"
        assert truth["fault"] is None


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_stall_before_first_token(tmp_path, rate):
    # 5 simulated seconds at speed 10: half a second of real silence
    with _sim(tmp_path, speed=10.0, stall_s=5.0, stall_rate=rate) as sim:
        start = time.perf_counter()
        lines, _ = _stream_lines(sim.base_url)
        elapsed = time.perf_counter() - start
    (truth,) = _truth(tmp_path)
    first_token_s = (truth["token_ns"][0] - truth["arrival_ns"]) / 1e9
    if rate:
        assert first_token_s >= 0.5 and elapsed >= 0.5 and truth["fault"] == "stall"
    else:
        assert first_token_s < 0.4 and truth["fault"] is None
    assert _content_count(lines) == 6


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_malformed_sse_line(tmp_path, rate):
    with _sim(tmp_path, malformed_rate=rate) as sim:
        lines, clean = _stream_lines(sim.base_url)
    broken = [x for x in lines if x.startswith(b"data: {") and not x.endswith(b"}")]
    assert clean and lines[-1] == b"data: [DONE]"
    if rate:
        assert broken == [b'data: {"id": '] and _truth(tmp_path)[0]["fault"] == "malformed"
    else:
        assert broken == [] and _truth(tmp_path)[0]["fault"] is None


def _kit_record(url: str, body: dict = CHAT):
    """One request sent and read by the kit's own client, as `bench run` sends it."""

    async def send():
        spec = RequestSpec(index=0, rid="burst-0", url=url + "/v1/chat/completions", body=body)
        async with aiohttp.ClientSession(trace_configs=[write_tracing()]) as session:
            return await send_request(session, spec, timeout_s=TIMEOUT, tokenizer=None)

    return asyncio.run(send())


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_burst_holds_the_stream_and_writes_it_in_one_piece(tmp_path, rate):
    body = {**CHAT, "stream_options": {"include_usage": True}, "temperature": 0}
    with _sim(tmp_path, speed=10.0, burst_rate=rate) as sim:
        record = _kit_record(sim.base_url, body)
        lines, clean = _stream_lines(sim.base_url, body)
    first, second = _truth(tmp_path)
    assert clean and lines[-1] == b"data: [DONE]" and _content_count(lines) == 6
    assert record.ok and record.completion_tokens_server == 6
    for truth in (first, second):
        assert (truth["completion_tokens"], truth["finish_reason"]) == (6, "length")
    if rate:
        # every chunk handed to the transport at one moment, after the last token
        assert {t["fault"] for t in (first, second)} == {"burst"}
        assert len(set(first["token_ns"])) == 1 and len(first["token_ns"]) == 6
        # the client read the whole reply at once: TPOT 0, one read of 6 tokens
        assert arrived_in_one_read(record) and tpot_ms(record) == 0.0
        assert tokens_per_read(record) == [6] and len(record.chunk_ns) == 6
    else:
        assert {t["fault"] for t in (first, second)} == {None}
        assert len(set(first["token_ns"])) == 6  # one write per token, 1.7 ms apart


def test_burst_with_drop_writes_the_k_tokens_at_once_then_cuts(tmp_path):
    with _sim(tmp_path, burst_rate=1.0, drop_after=3) as sim:
        record = _kit_record(sim.base_url)
    (truth,) = _truth(tmp_path)
    assert truth["fault"] == "drop+burst" and truth["finish_reason"] == "abort"
    assert truth["completion_tokens"] == 3 and len(set(truth["token_ns"])) == 1
    assert record.error_kind == "stream_cut" and len(record.chunk_ns) == 3
    assert len(set(record.chunk_ns)) == 1


def test_burst_leaves_a_reply_sent_whole_unmarked(tmp_path):
    with _sim(tmp_path, burst_rate=1.0) as sim:
        reply = requests.post(
            sim.base_url + "/v1/chat/completions", json={**CHAT, "stream": False}, timeout=TIMEOUT
        )
    assert reply.json()["usage"]["completion_tokens"] == 6
    assert _truth(tmp_path)[0]["fault"] is None


def test_slow_health_check(tmp_path):
    with _sim(tmp_path, health_delay_s=0.5) as sim:
        start = time.perf_counter()
        assert requests.get(sim.base_url + "/health", timeout=TIMEOUT).status_code == 200
        assert time.perf_counter() - start >= 0.5


def test_failing_health_check(tmp_path):
    with _sim(tmp_path, health_fail=True) as sim:
        for path in ("/health", "/health_generate"):
            assert requests.get(sim.base_url + path, timeout=TIMEOUT).status_code == 503
        # generation itself still works: only the health check fails
        assert (
            requests.post(
                sim.base_url + "/v1/chat/completions", json=CHAT, timeout=TIMEOUT
            ).status_code
            == 200
        )


def test_crash_after_n_requests(tmp_path):
    with _sim(tmp_path, crash_after=2) as sim:
        for _ in range(2):
            lines, clean = _stream_lines(sim.base_url)
            assert clean and _content_count(lines) == 6
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(sim.base_url + "/v1/chat/completions", json=CHAT, timeout=TIMEOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the server stops listening shortly after
            try:
                requests.get(sim.base_url + "/health", timeout=1)
            except requests.exceptions.ConnectionError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the server still answers after the crash")
    truth = _truth(tmp_path)
    assert [t["fault"] for t in truth] == [None, None, "crash"]
    assert [t["finish_reason"] for t in truth] == ["length", "length", "error"]


def _open_stream_then_crash(url: str) -> None:
    long_chat = {**CHAT, "max_tokens": 2000}
    with requests.post(
        url + "/v1/chat/completions", json=long_chat, stream=True, timeout=TIMEOUT
    ) as resp:
        lines = resp.iter_lines()
        next(lines)  # the stream is open
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(url + "/v1/chat/completions", json=CHAT, timeout=TIMEOUT)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for _ in lines:
                pass


def test_crash_resets_open_streams(tmp_path):
    with _sim(tmp_path, speed=1.0, crash_after=1) as sim:
        _open_stream_then_crash(sim.base_url)
    crashed, open_stream = sorted(_truth(tmp_path), key=lambda t: t["arrival_ns"], reverse=True)
    assert crashed["fault"] == "crash" and crashed["finish_reason"] == "error"
    assert open_stream["fault"] == "crash" and open_stream["finish_reason"] == "abort"
    assert 0 < open_stream["completion_tokens"] < 2000


@pytest.mark.parametrize(
    ("eos_rate", "ignore_eos", "expected"), [(0.0, False, 6), (1.0, False, 1), (1.0, True, 6)]
)
def test_eos_rate_honours_ignore_eos(tmp_path, eos_rate, ignore_eos, expected):
    body = {**CHAT, "stream": False, "ignore_eos": ignore_eos}
    with SimServer(SimConfig(speed=100.0, eos_rate=eos_rate)) as sim:
        resp = requests.post(
            sim.base_url + "/v1/chat/completions", json=body, timeout=TIMEOUT
        ).json()
    assert resp["usage"]["completion_tokens"] == expected
    assert resp["choices"][0]["finish_reason"] == ("length" if expected == 6 else "stop")
