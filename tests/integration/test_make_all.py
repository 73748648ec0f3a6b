"""`make all` run for real, with Docker and npu-smi replaced by recording stand-ins.

The stand-in `docker` logs every call and answers `info`, `build`, `compose up/logs/down`;
the model is a tiny directory with its manifest (so `bench model` verifies offline); the
"server" is the kit's simulator on a free port. Everything else is the real pipeline:
bench run, memory, validate, report, and `down` at the end, also after a failure.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import modelhub
from bench.sim import tokenizer_dir
from bench.sim.process import SimProcess

REPO = Path(__file__).resolve().parents[2]
FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$*" in
  *" up "*) sleep "${FAKE_UP_SLEEP:-0}"; exit "${FAKE_UP_STATUS:-0}" ;;
  *" logs "*) echo "fake server: last log line" ;;
esac
exit 0
"""


@pytest.fixture
def host(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    npu_smi = tmp_path / "fake-npu-smi"  # only for the preflight: not on PATH
    npu_smi.write_text("#!/bin/sh\nexit 0\n")
    npu_smi.chmod(0o755)
    # Qwen2-7B-Instruct's real config (D's fixture) with the simulator's tokenizer.
    model = tmp_path / "models" / "Qwen" / "Tiny"
    shutil.copytree(REPO / "tests" / "fixtures" / "memory" / "model" / "qwen2-7b-instruct", model)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(tokenizer_dir() / name, model / name)
    modelhub.write_manifest(model)
    (model / "MODEL_SOURCE.json").write_text('{"requested_revision": "v1.0.0"}\n')
    return {"tmp": tmp_path, "bin": bin_dir, "npu_smi": npu_smi, "log": tmp_path / "docker.log"}


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "server.log"
    with SimProcess(["--log-file", str(log)], workdir=tmp_path, start_timeout_s=30) as sim:
        yield sim.base_url, log


def make_all_argv(host: dict, *args: str, up_status: int = 0, up_sleep: float = 0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env.update(
        PATH=f"{host['bin']}:{env['PATH']}",
        FAKE_DOCKER_LOG=str(host["log"]),
        FAKE_UP_STATUS=str(up_status),
        FAKE_UP_SLEEP=str(up_sleep),
    )
    arch = {"x86_64": "linux/amd64", "aarch64": "linux/arm64"}[platform.machine()]
    argv = ["make", "--no-print-directory", "-o", ".venv/.installed", "all",
            f"NPU_SMI={host['npu_smi']}", f"IMAGE_PLATFORM={arch}", "MODEL=Qwen/Tiny",
            "MODEL_REVISION=v1.0.0", f"MODELS_DIR={host['tmp'] / 'models'}",
            f"RUN_DIR={host['tmp'] / 'runs'}", "RUN_NAME=t", f"WORK_DIR={host['tmp'] / 'work'}",
            *args]  # fmt: skip
    return argv, env


def make_all(host: dict, *args: str, up_status: int = 0) -> subprocess.CompletedProcess:
    argv, env = make_all_argv(host, *args, up_status=up_status)
    return subprocess.run(
        argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=600, check=False
    )


def docker_calls(host: dict) -> list[str]:
    return host["log"].read_text().splitlines()


@pytest.mark.slow
def test_make_all_runs_every_step_in_order_and_ends_with_down(host, simulator):
    base_url, server_log = simulator
    proc = make_all(host, f"BASE_URL={base_url}", f"SERVER_LOG={server_log}", "PROFILE=quick")

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    calls = docker_calls(host)
    assert calls[0] == "info"  # the preflight (serve's own preflight asks again)
    steps = [call for call in calls if call != "info"]
    assert len(steps) == 3, steps
    assert steps[0].startswith("build -f Dockerfile.ascend --platform linux/")
    assert " up --detach --no-deps --wait " in steps[1]
    assert steps[2].startswith("compose -f compose.yaml --profile npu --profile sim down")
    runs = host["tmp"] / "runs"
    document = json.loads((runs / "t.json").read_text())
    assert document["kind"] == "simulated"
    assert (runs / "t.md").read_text().strip()
    assert proc.stdout.rstrip().endswith(f"report {runs / 't.md'}")


def test_a_server_that_never_gets_healthy_shows_its_log_and_is_taken_down(host):
    proc = make_all(host, up_status=1)

    assert proc.returncode != 0
    calls = docker_calls(host)
    assert any(" logs --no-color --tail 60 server" in call for call in calls)
    assert calls[-1].startswith("compose -f compose.yaml --profile npu --profile sim down")
    assert "fake server: last log line" in proc.stderr
    assert "make serve: server not healthy within 1800s" in proc.stderr
    assert not (host["tmp"] / "runs" / "t.json").exists()


def test_ctrl_c_while_the_server_starts_still_takes_it_down(host):
    argv, env = make_all_argv(host, up_sleep=30)
    make = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(300):
            if host["log"].exists() and " up " in host["log"].read_text():
                break
            time.sleep(0.1)
        time.sleep(0.3)
        os.killpg(make.pid, signal.SIGINT)
        _, err = make.communicate(timeout=60)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    assert make.returncode != 0
    assert docker_calls(host)[-1].startswith(
        "compose -f compose.yaml --profile npu --profile sim down"
    )
    assert "make all: failed (exit 130)" in err
