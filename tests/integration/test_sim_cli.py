"""`python -m bench sim` as a process: ready file, SGLang log, signals, crash, bad flags."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bench.errors import BenchError
from bench.sim.process import SimProcess

TIMEOUT = 30


def _start(tmp_path: Path, *extra: str) -> tuple[SimProcess, dict]:
    sim = SimProcess(
        [
            "--log-file",
            str(tmp_path / "sim.log"),
            "--ground-truth",
            str(tmp_path / "truth.jsonl"),
            *extra,
        ],
        workdir=tmp_path,
        start_timeout_s=TIMEOUT,
    )
    sim.start()
    return sim, sim.ready


def _stop(sim: SimProcess, sig: int = signal.SIGTERM) -> tuple[int, str]:
    return sim.stop(sig, timeout_s=TIMEOUT), sim.stderr_text()


def test_ready_file_log_and_sigterm(tmp_path):
    proc, ready = _start(tmp_path, "--speed", "100")
    try:
        assert ready["pid"] == proc.pid
        assert ready["base_url"] == f"http://127.0.0.1:{ready['port']}"
        body = {"model": "m", "prompt": "hi", "max_tokens": 4}
        resp = requests.post(ready["base_url"] + "/v1/completions", json=body, timeout=TIMEOUT)
        assert resp.json()["usage"]["completion_tokens"] == 4
    finally:
        code, err = _stop(proc)
    assert code == 0
    assert f"ground truth in {tmp_path / 'truth.jsonl'}" in err
    log = (tmp_path / "sim.log").read_text()
    assert "server_args=ServerArgs(model_path='Qwen/Qwen2-7B-Instruct'" in log
    assert "mem_fraction_static=0.9, " in log and "tp_size=1, " in log
    assert "Load weight end. type=Qwen2ForCausalLM, dtype=torch.bfloat16" in log
    assert "mem usage=14.19 GB." in log
    assert "KV Cache is allocated. #tokens: 775474, K size: 20.71 GB, V size: 20.71 GB" in log
    assert "max_total_num_tokens=775474, chunked_prefill_size=8192" in log
    assert "Load weight end." in err  # the same lines go to stderr, as SGLang logs them
    (truth,) = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert truth["completion_tokens"] == 4 and truth["finish_reason"] == "length"


def test_sigint_mid_stream_flushes_the_ground_truth(tmp_path):
    proc, ready = _start(tmp_path, "--speed", "1")
    body = {"model": "m", "prompt": "hi", "max_tokens": 1000, "stream": True}
    try:
        with requests.post(
            ready["base_url"] + "/v1/completions", json=body, stream=True, timeout=TIMEOUT
        ) as resp:
            seen = 0
            for line in resp.iter_lines():
                seen += line.startswith(b"data: {")
                if seen == 3:
                    break
            code, err = _stop(proc, signal.SIGINT)
    finally:
        proc.stop(signal.SIGKILL)
    assert code == 0 and "ground truth in" in err
    (truth,) = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert truth["finish_reason"] == "abort" and 3 <= truth["completion_tokens"] < 1000


def test_crash_fault_exits_3(tmp_path):
    sim, ready = _start(tmp_path, "--speed", "100", "--fault-crash-after", "1")
    body = {"model": "m", "prompt": "hi", "max_tokens": 2}
    try:
        ok = requests.post(ready["base_url"] + "/v1/completions", json=body, timeout=TIMEOUT)
        assert ok.status_code == 200
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(ready["base_url"] + "/v1/completions", json=body, timeout=TIMEOUT)
        code = sim.proc.wait(timeout=TIMEOUT)
    finally:
        sim.stop(signal.SIGKILL)
    assert code == 3 and "Simulated crash after 1 requests" in sim.stderr_text()


def test_start_failure_is_reported_with_the_reason(tmp_path):
    with pytest.raises(BenchError, match="exited with 2: Error: --speed"):
        SimProcess(["--speed", "-1"], workdir=tmp_path).start()


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--speed", "0"], 2, "--speed"),
        (["--fault-error-rate", "1.5"], 2, "--fault-error-rate"),
        (["--profile", "no-such-profile"], 1, "unknown simulator profile"),
        (["--tokenizer", "/nonexistent/tokenizer.json"], 1, "cannot load tokenizer"),
        (["--log-file", "/nonexistent/dir/sim.log"], 1, "cannot write log file"),
        (["--ground-truth", "/nonexistent/dir/t.jsonl"], 1, "cannot open ground-truth file"),
        (["--host", "8.8.8.8"], 2, "--host"),
    ],
)
def test_bad_flags_are_one_line_errors(args, code, needle):
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "sim", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == code
    assert proc.stderr.startswith("Error:") and needle in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_port_in_use_is_a_one_line_error(tmp_path):
    proc, ready = _start(tmp_path, "--speed", "100")
    try:
        second = subprocess.run(
            [sys.executable, "-m", "bench", "sim", "--port", str(ready["port"])],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    finally:
        _stop(proc)
    assert second.returncode == 1 and second.stderr.startswith("Error: cannot listen")


def test_runtime_log_lines_follow_sglang(tmp_path):
    sim, ready = _start(tmp_path, "--speed", "100")
    body = {"model": "m", "prompt": " model" * 1000, "max_tokens": 81}
    try:
        requests.post(ready["base_url"] + "/v1/completions", json=body, timeout=TIMEOUT)
    finally:
        _stop(sim)
    log = (tmp_path / "sim.log").read_text().splitlines()
    prefill = [x for x in log if "Prefill batch." in x]
    decode = [x for x in log if "Decode batch." in x]
    assert len(prefill) == 1 and "#new-seq: 1, #new-token: 1000, #cached-token: 0, " in prefill[0]
    assert len(decode) == 2  # 80 decode steps, one line every 40 as SGLang's default
    assert "#running-req: 1, #token: 1041, token usage: 0.00, " in decode[0]  # 1000 + 1 + 40
    assert "gen throughput (token/s): " in decode[0] and decode[0].startswith("[")


def test_client_disconnect_is_an_abort_without_a_traceback(tmp_path):
    sim, ready = _start(tmp_path, "--speed", "1")
    body = {"model": "m", "prompt": "hi", "max_tokens": 1000, "stream": True}
    try:
        resp = requests.post(
            ready["base_url"] + "/v1/completions",
            json=body,
            headers={"X-Request-Id": "gone"},
            stream=True,
            timeout=TIMEOUT,
        )
        lines = resp.iter_lines()
        next(lines)
        resp.close()  # the client goes away mid-stream
        after = requests.post(
            ready["base_url"] + "/v1/completions",
            timeout=TIMEOUT,
            json={"model": "m", "prompt": "hi", "max_tokens": 2},
        )
        assert after.status_code == 200
    finally:
        code, err = _stop(sim)
    assert code == 0 and "Traceback" not in err
    lines = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    (first,) = [x for x in lines if x["rid"] == "gone"]
    assert first["finish_reason"] == "abort" and first["completion_tokens"] < 1000
