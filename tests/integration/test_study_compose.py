"""The compose launcher for real, with stand-ins for `docker` and `npu-smi` on PATH (as
test_make_all.py does for `make all`): the stand-in docker logs every call and, for
`compose ... up`, starts the kit's simulator with the SGLang flags compose.yaml would hand
to `sglang.launch_server` (its Ascend-only flags dropped), writing its log where compose
would (LOG_DIR/server.log, which compose.yaml's `tee` fills with the server's output);
`stop` stops it. The stand-in npu-smi reports HBM in use that
stays high for a moment after a stop, so the study must wait for it between configurations.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.jsonio import load_document
from bench.study.hbm import HbmGuard, above_baseline, wait_for_baseline
from bench.study.process import free_port

pytestmark = pytest.mark.slow

FAKE_DOCKER = """#!{python}
import json, os, shlex, signal, subprocess, sys, time
from pathlib import Path
state = Path(os.environ["FAKE_STATE"])
args = sys.argv[1:]
with open(state / "docker.log", "a") as log:
    keys = ("TP", "NPUS", "MEM_FRACTION", "PORT", "SGLANG_FLAGS")
    env = {{k: os.environ.get(k, "") for k in keys}}
    log.write(json.dumps({{"argv": args, "env": env}}) + "\\n")
if "up" in args:
    flags = shlex.split(os.environ["SGLANG_FLAGS"])
    for ascend_only in ("--attention-backend", "--device"):
        i = flags.index(ascend_only)
        del flags[i:i + 2]
    logdir = Path(os.environ["LOG_DIR"])
    out = open(logdir / "server.log", "ab")
    proc = subprocess.Popen(
        [{python!r}, "-m", "bench", "sim", "--port", os.environ["PORT"], "--speed", "50", *flags],
        stdout=out, stderr=out, start_new_session=True,
    )
    (state / "pid").write_text(str(proc.pid))
    (state / "hbm").write_text("40000")
elif "stop" in args and (state / "pid").exists():
    pid = int((state / "pid").read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    (state / "pid").unlink()
    (state / "release_at").write_text(str(time.time() + 1.5))
elif "logs" in args:
    print("fake compose logs: nothing more")
"""

FAKE_NPU_SMI = """#!{python}
import os, time
from pathlib import Path
state = Path(os.environ["FAKE_STATE"])
used = int((state / "hbm").read_text()) if (state / "hbm").exists() else 3000
release = state / "release_at"
if release.exists() and time.time() >= float(release.read_text()):
    used = 3000
    (state / "hbm").write_text("3000")
print((state / "table.txt").read_text().replace("USED_", f"{{used:<5d}}"))
"""
# `npu-smi info` of one 910B3 (see tests/fixtures/memory/npu_smi/); USED_ is HBM in use, MiB
TABLE = """\
+------------------------------------------------------------------------------------------+
| npu-smi 23.0.rc1.b050            Version: 23.0.rc1.b050                                   |
+----------------------+---------------+----------------------------------------------------+
| NPU   Name           | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
| Chip                 | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
+======================+===============+====================================================+
| 0     910B3          | OK            | 94.7        54                0    / 0             |
| 0                    | 0000:C1:00.0  | 0           0    / 0          USED_/ 65536         |
+======================+===============+====================================================+
"""

STUDY = """
[study]
name = "compose-tp"
repeats = 1

[server]
launcher = "compose"
model = "Qwen/Qwen2-7B-Instruct"
port = {port}
npus = [0, 1]
start_timeout_s = 60
stop_timeout_s = 10
hbm_settle_timeout_s = 30

[grid]
tp_size = [1, 2]
mem_fraction_static = [0.85]

[[workload]]
name = "64-16"
api = "completions"
input_len = 64
output_len = 16
timeout_s = 60

[load]
max_concurrency = [2]
num_prompts = 8
"""


@pytest.fixture
def host(tmp_path: Path, monkeypatch) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("npu-smi", FAKE_NPU_SMI)):
        path = bin_dir / name
        path.write_text(text.format(python=sys.executable))
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STATE", str(state))
    (state / "table.txt").write_text(TABLE)
    yield state
    pid = state / "pid"
    if pid.exists():  # a failed test must not leave a simulator running
        os.kill(int(pid.read_text()), 15)


def test_the_compose_launcher_starts_each_configuration_and_waits_for_hbm(host, tmp_path, capsys):
    study = tmp_path / "compose.toml"
    study.write_text(STUDY.format(port=free_port()))
    out = tmp_path / "out"
    assert main(["study", str(study), "--out", str(out)]) == 0, capsys.readouterr().err
    calls = [json.loads(line) for line in (host / "docker.log").read_text().splitlines()]
    verbs = [next(a for a in c["argv"] if a in ("up", "stop", "rm", "logs")) for c in calls]
    # rm first: a container a crashed session left behind would hold the port
    assert verbs == ["rm", "up", "stop", "rm", "rm", "up", "stop", "rm"]
    first, second = calls[1], calls[5]
    assert first["argv"][:4] == ["compose", "-f", "compose.yaml", "-f"]
    assert first["argv"][-4:] == ["up", "--detach", "--no-deps", "server"]
    assert (first["env"]["TP"], first["env"]["NPUS"]) == ("1", "0")
    assert (second["env"]["TP"], second["env"]["NPUS"]) == ("2", "0,1")
    assert second["env"]["SGLANG_FLAGS"] == (
        "--attention-backend ascend --device npu --tp-size 2 --mem-fraction-static 0.85"
    )
    devices = out / "servers" / "c2-tp_size-2-mem_fraction_static-0.85" / "compose.npus.yaml"
    assert "/dev/davinci1" in devices.read_text()

    doc = load_document(out / "study.json")
    assert doc["status"] == "complete" and doc["kind"] == "simulated"
    c1, c2 = doc["configurations"]
    assert c1["hbm"].startswith("HBM baseline before the first configuration: NPU 0 3000 MiB")
    assert c2["hbm"].startswith("HBM back at its baseline after")
    # memory is read from the log compose.yaml writes, and follows the TP split
    assert c2["memory"]["weights_gib"] == pytest.approx(c1["memory"]["weights_gib"] / 2, rel=0.01)
    result = load_document(out / doc["cells"][1]["repeats"][0]["path"])
    assert result["server"]["args"]["tp_size"] == 2
    assert result["server"]["launch_command"][-4:] == ["up", "--detach", "--no-deps", "server"]
    assert main(["validate", str(out)]) == 0


def test_hbm_that_never_returns_is_said_and_the_wait_is_bounded():
    now = [0.0]
    readings = iter([({0: 3000}, None)] + [({0: 9000}, None)] * 100)
    guard = HbmGuard(1024, 10.0, read=lambda: next(readings))
    assert guard.before_start().startswith("HBM baseline")
    note = wait_for_baseline(
        guard.baseline,
        1024,
        10.0,
        read=lambda: next(readings),
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0],
    )
    assert "did NOT return to its baseline within 10 s (NPU 0 +6000 MiB)" in note
    assert above_baseline({0: 4000, 1: 100}, {0: 3000, 1: 0}, 1024) == {}
    assert HbmGuard(1, 1, read=lambda: (None, "npu-smi is not on PATH")).before_start() == (
        "HBM not checked: npu-smi is not on PATH"
    )


def test_a_compose_server_that_fails_to_come_up_is_reported(host, tmp_path, capsys):
    docker = Path(os.environ["PATH"].split(os.pathsep)[0]) / "docker"
    docker.write_text("#!/bin/sh\necho 'Error response from daemon: no such image' >&2\nexit 1\n")
    study = tmp_path / "compose.toml"
    study.write_text(STUDY.format(port=free_port()).replace("tp_size = [1, 2]", "tp_size = [1]"))
    out = tmp_path / "out"
    started = time.monotonic()
    assert main(["study", str(study), "--out", str(out)]) == 1
    assert time.monotonic() - started < 30
    doc = load_document(out / "study.json")
    assert doc["configurations"][0]["status"] == "failed"
    assert "no such image" in doc["configurations"][0]["error"]
    assert "cell(s) failed" in capsys.readouterr().err
