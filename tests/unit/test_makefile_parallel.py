"""The Makefile past one NPU: TP and DP map the right devices and flags, the preflight
counts TP x DP (over the nodes), `make serve-node` runs one host of a multi-node server
(with stand-ins for docker and npu-smi), and `make bench` records every node's capture."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_makefile import REPO, make

EIGHT = "NPUS=0,1,2,3,4,5,6,7"
FAKE_DOCKER = '#!/bin/sh\necho "$*" >> "$FAKE_DOCKER_LOG"\nexit 0\n'


def test_make_n_all_with_tp_8_maps_eight_devices_and_passes_tp_size_8():
    proc = make("-n", "all", "TP=8", EIGHT, "MODEL_REVISION=v1", "RUN_NAME=t")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    devices = re.findall(r"'      - /dev/davinci(\d+)'", out)
    assert devices == [str(n) for n in range(8)]
    assert "--tp-size 8 --mem-fraction-static 0.9 --dp-size 1" in out
    assert "TP=8 DP=1 NPUS=0,1,2,3,4,5,6,7 NPU_DEVICE=0" in out


def test_dp_reaches_sglang_and_compose():
    out = make("-n", "serve", "DP=4", "NPUS=0,1,2,3").stdout
    assert "--tp-size 1 --mem-fraction-static 0.9 --dp-size 4" in out
    assert " DP=4 " in out
    assert out.count("/dev/davinci") == 4


@pytest.fixture
def host(tmp_path: Path) -> dict:
    """A PATH with a recording `docker`, an `npu-smi` that exists, and this host's platform."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("npu-smi", "#!/bin/sh\nexit 0\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    arch = {"x86_64": "linux/amd64", "aarch64": "linux/arm64"}[platform.machine()]
    return {"bin": bin_dir, "log": tmp_path / "docker.log", "platform": arch, "tmp": tmp_path}


def make_on(host: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env.update(PATH=f"{host['bin']}:{env['PATH']}", FAKE_DOCKER_LOG=str(host["log"]))
    argv = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        f"IMAGE_PLATFORM={host['platform']}",
        f"WORK_DIR={host['tmp'] / 'work'}",
        *args,
    ]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=timeout, check=False)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (("TP=2", "DP=2", "NPUS=0,1"), "4 NPUs for TP=2 x DP=2 (NPUS=0,1)"),
        (("TP=8", "NPUS=0,1,2,3"), "8 NPUs for TP=8 x DP=1 (NPUS=0,1,2,3)"),
    ],
)
def test_the_preflight_refuses_more_npus_than_listed(host, args, missing):
    proc = make_on(host, "preflight", *args)
    assert proc.returncode != 0
    (line,) = proc.stderr.splitlines()
    assert f"this host lacks {missing}" in line


@pytest.mark.parametrize(
    "args",
    [
        ("TP=2", "DP=2", "NPUS=0,1,2,3"),
        ("TP=4", "DP=4", "NPUS=0,1,2,3", "SGLANG_EXTRA_ARGS=--enable-dp-attention"),
        ("TP=8", EIGHT),
    ],
)
def test_the_preflight_passes_when_the_npus_suffice(host, args):
    proc = make_on(host, "preflight", *args)
    assert proc.returncode == 0, proc.stderr
    assert "preflight: checked" in proc.stdout


def test_serve_node_counts_this_hosts_share_of_the_npus(host):
    node = ("NODE_RANK=1", "DIST_INIT_ADDR=10.0.0.1:20000", "HCCL_SOCKET_IFNAME=eth0", "TP=16")
    proc = make_on(host, "serve-node", *node, "NPUS=0,1,2,3")
    assert proc.returncode != 0
    assert "this host lacks 8 NPUs for TP=16 x DP=1 over 2 nodes" in proc.stderr
    assert not host["log"].exists() or " up " not in host["log"].read_text()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("DIST_INIT_ADDR=10.0.0.1:20000", "HCCL_SOCKET_IFNAME=eth0"), "NODE_RANK must be"),
        (("NODE_RANK=2", "DIST_INIT_ADDR=10.0.0.1:20000", "HCCL_SOCKET_IFNAME=eth0"),
         "NODE_RANK=2 is not below NNODES=2"),
        (("NODE_RANK=0", "DIST_INIT_ADDR=10.0.0.1", "HCCL_SOCKET_IFNAME=eth0"),
         "DIST_INIT_ADDR must be host:port"),
        (("NODE_RANK=0", "DIST_INIT_ADDR=10.0.0.1:20000"), "HCCL_SOCKET_IFNAME must name"),
    ],
)  # fmt: skip
def test_serve_node_refuses_missing_settings_with_one_line(host, args, words):
    proc = make_on(host, "serve-node", "TP=16", EIGHT, *args)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert "*** make serve-node: " in line and words in line
    assert not host["log"].exists() or " up " not in host["log"].read_text()


@pytest.mark.slow
def test_serve_node_starts_this_hosts_server_with_the_multinode_file_and_captures_it(host):
    node_env = host["tmp"] / "node-1.env.json"
    proc = make_on(host, "serve-node", "NODE_RANK=1", "DIST_INIT_ADDR=10.0.0.1:20000",
                   "HCCL_SOCKET_IFNAME=eth0", "TP=16", EIGHT, f"NODE_ENV={node_env}")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (up,) = [c for c in host["log"].read_text().splitlines() if " up " in c]
    assert up.startswith("compose -f compose.yaml -f ") and "-f compose.multinode.yaml" in up
    assert up.endswith("up --detach --no-deps --wait --wait-timeout 1800 server")
    capture = json.loads(node_env.read_text())
    assert "accelerator" in capture["system"]  # `bench env --json` of this host
    assert f"its environment is in {node_env}" in proc.stdout


def test_bench_passes_every_nodes_capture():
    out = make("-n", "bench", "RUN_NAME=t", "NODE_ENVS=0=.work/n0.json 1=/tmp/n1.json").stdout
    assert "--node-env 0=.work/n0.json --node-env 1=/tmp/n1.json" in out
