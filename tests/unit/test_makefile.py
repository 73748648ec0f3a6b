"""The Makefile: every target documented, `make -n all` printing the real commands, and a
host without Docker engine, npu-smi or arm64 stopped at once with one line."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ISSUE_TARGETS = {
    "help", "venv", "demo", "test", "lint", "perf", "image", "model", "serve", "bench",
    "throughput", "latency", "memory", "env", "validate", "report", "submit", "down",
    "clean", "all",
}  # fmt: skip


def make(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env=env,
        check=False,
    )


def declared_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):(?!=)", text, re.M))


def test_help_is_the_default_goal_and_lists_every_target():
    out = make().stdout
    assert out == make("help").stdout
    listed = set(re.findall(r"^  ([a-z][a-z-]*)\s{2,}\S", out, re.M))
    assert declared_targets() <= listed, declared_targets() - listed
    assert listed >= ISSUE_TARGETS, ISSUE_TARGETS - listed
    for variable in ("MODEL", "MODEL_REVISION", "TP", "NPUS", "MEM_FRACTION", "PORT"):
        assert re.search(rf"\b{variable}\b", out), variable


def test_every_variable_of_the_pipeline_is_overridable():
    text = (REPO / "Makefile").read_text()
    for variable in [
        "MODEL", "MODEL_REVISION", "MODELS_DIR", "TP", "NPUS", "MEM_FRACTION", "PORT",
        "BASE_URL", "PROFILE", "RESULTS_DIR", "SGLANG_IMAGE", "IMAGE", "SUBMITTER",
        "SERVE_TIMEOUT", "SGLANG_FLAGS",
    ]:  # fmt: skip
        assert re.search(rf"^{variable}\s*\?=", text, re.M), variable


def test_make_n_all_prints_the_pipeline_in_order_with_real_sglang_flags():
    proc = make("-n", "all", "MODEL_REVISION=v1.0.0", "RUN_NAME=t")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    steps = [
        "docker build -f Dockerfile.ascend --platform linux/arm64",
        "-m bench model --model Qwen/Qwen2-7B-Instruct --revision 'v1.0.0'",
        "up --detach --no-deps --wait --wait-timeout 1800 server",
        "-m bench run --profile seed --base-url http://127.0.0.1:30000",
        "-m bench memory --server-log .work/logs/server.log",
        "-m bench validate runs/t.json",
        "-m bench report --results runs --out runs/t.md",
        "--profile npu --profile sim down",
    ]
    positions = [out.find(step) for step in steps]
    missing = [step for step, at in zip(steps, positions, strict=True) if at < 0]
    assert not missing, missing
    assert positions == sorted(positions)
    assert "--attention-backend ascend" in out
    assert not re.search(r"(?<![\w-])--backend ascend", out)
    assert "--device npu --tp-size 1 --mem-fraction-static 0.9" in out


def test_bench_samples_the_npus_with_the_npu_smi_make_was_given():
    out = make("-n", "bench", "NPU_SMI=/opt/driver/npu-smi", "RUN_NAME=t").stdout
    assert "-m bench run --profile seed" in out and "--npu-smi /opt/driver/npu-smi" in out


def test_down_runs_also_when_a_step_fails():
    recipe = (REPO / "Makefile").read_text().split("\nall:", 1)[1].split("\n.PHONY", 1)[0]
    assert "|| status=$$?" in recipe
    after_failure = recipe.split("|| status=$$?", 1)[1]
    assert "$(MAKE) --no-print-directory down" in after_failure
    assert after_failure.rstrip().endswith("exit $$status")


def test_serve_maps_every_listed_npu_and_the_tp_flag_follows():
    out = make("-n", "serve", "NPUS=2,3", "TP=2", "MEM_FRACTION=0.8").stdout
    assert "'      - /dev/davinci2' '      - /dev/davinci3'" in out
    assert "NPU_DEVICE=2" in out
    assert "--tp-size 2 --mem-fraction-static 0.8" in out
    runtime = make("-n", "serve", "ASCEND_RUNTIME=1").stdout
    assert "-f compose.ascend-runtime.yaml" in runtime


def test_makefile_flags_match_what_compose_runs_by_default():
    out = make("-n", "serve").stdout
    make_flags = re.search(r"SGLANG_FLAGS='([^']*)'", out).group(1)
    compose = (REPO / "compose.yaml").read_text()
    default = re.search(r"\$\{SGLANG_FLAGS:-(.*)\}\n", compose).group(1)
    resolved = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), default)
    assert shlex.split(make_flags) == shlex.split(resolved)


def test_an_unpinned_sglang_image_is_refused():
    proc = make("image", "SGLANG_IMAGE=lmsysorg/sglang:latest")
    assert proc.returncode != 0
    assert "is not pinned" in proc.stderr


def test_all_on_a_host_that_cannot_run_it_stops_within_seconds_with_one_line():
    started = time.monotonic()
    proc = make("all", "IMAGE_PLATFORM=linux/s390x")
    elapsed = time.monotonic() - started

    assert proc.returncode != 0
    assert elapsed < 30
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "lacks" in lines[0] and "linux/s390x host" in lines[0]
    assert "make demo" in lines[0] and "BASE_URL=" in lines[0]


def test_all_names_what_this_host_lacks():
    has_engine = shutil.which("docker") and make_ok("docker", "info")
    has_npu = shutil.which("npu-smi") is not None
    if has_engine and has_npu and os.uname().machine in ("aarch64", "arm64"):
        pytest.skip("an Atlas host: `make all` would run the real pipeline")
    proc = make("all")
    assert proc.returncode != 0 and len(proc.stderr.splitlines()) == 1
    if not has_npu:
        assert "npu-smi" in proc.stderr
    if not has_engine:
        assert "Docker engine" in proc.stderr or "docker command" in proc.stderr


def make_ok(*argv: str) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_model_without_a_revision_says_how_to_pick_one(tmp_path):
    # -o: never (re)install the virtual environment from inside a test
    proc = make("-o", ".venv/.installed", "model", f"MODELS_DIR={tmp_path}", timeout=120)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--list-revisions" in errors[0]
