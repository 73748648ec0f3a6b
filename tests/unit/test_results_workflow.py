""".github/workflows/results.yml: valid for GitHub, and its run steps do what it says.

Offline: the file is checked against GitHub's workflow schema as vendored in
check-jsonschema (with any proxy pointed at a closed port, so a download would fail), and
every `python -m bench` command in it is parsed by the kit's own CLI. Then its run steps
(all but the install) are run, with bash as GitHub runs them, in a scratch git repository
holding a copy of results/ plus a submission signed through `bench submit --sign`: they
pass, and one changed records byte, an unknown signer or a stale index fails them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import trust_kit as kit
from ruamel.yaml import YAML

from bench.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "results.yml"
BIN = Path(sys.executable).parent
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


def _workflow() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))


def _steps() -> list[dict]:
    return _workflow()["jobs"]["check"]["steps"]


def _step(name_part: str) -> dict:
    (step,) = [s for s in _steps() if name_part in s["name"]]
    return step


def _schema_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **OFFLINE},
        check=False,
    )


def test_the_workflow_is_valid_against_githubs_schema_offline():
    p = _schema_check(WORKFLOW)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ok -- validation done" in p.stdout


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    runs-on: ubuntu-latest\n", ""),  # a job must say where it runs
        ("    timeout-minutes: 20\n", "    timeout-minutes: soon\n"),
        (
            "        uses: actions/checkout@v4\n",
            "        uses: actions/checkout@v4\n        run: x\n",
        ),
    ],
)
def test_the_schema_check_fails_a_broken_workflow(tmp_path, old, new):
    text = WORKFLOW.read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "results.yml"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    assert _schema_check(broken).returncode == 1


def test_it_runs_on_pull_requests_touching_results_with_the_history_and_python_311():
    wf = _workflow()
    assert wf["on"] == {"pull_request": {"paths": ["results/**"]}}
    job = wf["jobs"]["check"]
    assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] > 0
    uses = {s["uses"].split("@")[0]: s.get("with", {}) for s in _steps() if "uses" in s}
    assert uses["actions/checkout"] == {"fetch-depth": 0}
    assert uses["actions/setup-python"] == {"python-version": "3.11"}
    assert "pip install" in _step("Install the kit")["run"] and " -e ." in _step("Install")["run"]


def test_the_steps_validate_verify_report_and_diff_in_that_order():
    runs = "\n".join(s.get("run", "") for s in _steps())
    order = [
        "python -m bench validate results",
        "python -m bench verify results --allowed-signers results/allowed_signers",
        "python -m bench report",
        "git diff --exit-code",
    ]
    positions = [runs.index(command) for command in order]
    assert positions == sorted(positions)


def test_every_bench_command_in_it_is_one_the_kit_parses():
    parser = build_parser()
    text = WORKFLOW.read_text(encoding="utf-8")
    commands = re.findall(r"^\s*(?:run:\s*)?python -m bench ([^\n>|]+)", text, re.M)
    assert len(commands) == 3  # validate, verify, report
    for command in commands:
        args, unknown = parser.parse_known_args(shlex.split(command))
        assert unknown == [] and args.command, command


# --- the run steps, run ------------------------------------------------------------------


def _run(script: str, cwd: Path, path_prefix: Path = BIN) -> subprocess.CompletedProcess:
    """A run step as GitHub runs it with `shell: bash`."""
    env = {**os.environ, "PATH": f"{path_prefix}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def pull_request(tmp_path_factory) -> Path:
    """A scratch repository: results/ as committed here plus one signed submission, with
    its key in allowed_signers and the report regenerated, all committed."""
    base = tmp_path_factory.mktemp("pr")
    repo = base / "repo"
    shutil.copytree(REPO / "results", repo / "results")
    keys = base / "keys"
    keys.mkdir()
    key = kit.keygen(keys, "alice")
    source = kit.measured_with_records(base / "runs")
    results = repo / "results"
    assert main(["submit", str(source), "--results", str(results), "--sign", str(key)]) == 0
    public = Path(f"{key}.pub").read_text(encoding="utf-8").strip()
    with (results / "allowed_signers").open("a", encoding="utf-8") as f:
        f.write(f'alice@example.com namespaces="ascend-bench-kit" {public}\n')
    assert main(["report", "--results", str(results)]) == 0
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "Add a result", cwd=repo)
    return repo


def _copy(repo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    return copy


def _run_steps(repo: Path) -> list[tuple[str, subprocess.CompletedProcess]]:
    """Every run step after the install, in order, until one fails."""
    done = []
    for step in _steps():
        if "run" not in step or "pip install" in step["run"]:
            continue
        p = _run(step["run"], repo)
        done.append((step["name"], p))
        if p.returncode != 0:
            break
    return done


def test_the_steps_pass_on_a_signed_submission_and_a_current_report(pull_request, tmp_path):
    done = _run_steps(_copy(pull_request, tmp_path))
    failed = [(name, p.stdout + p.stderr) for name, p in done if p.returncode != 0]
    assert failed == []
    assert len(done) == 5
    out = {name.split()[0]: p.stdout for name, p in done}
    assert "verified: signed by alice@example.com" in out["Verify"]
    assert "file(s) checked: 2 valid, 0 invalid" in out["Validate"]


def test_one_changed_records_byte_fails_validate_and_verify_naming_the_file(pull_request, tmp_path):
    repo = _copy(pull_request, tmp_path)
    (records,) = (repo / "results").rglob("throughput.jsonl")
    kit.flip_byte(records, b"1")
    done = _run_steps(repo)
    name, validate = done[-1]
    assert name.startswith("Validate") and validate.returncode == 1
    rel = records.relative_to(repo / "results" / "910b3-x1").as_posix()
    assert "::error file=results/910b3-x1/" in validate.stdout
    assert records.name in validate.stdout
    verify = _run(_step("Verify")["run"], repo)
    assert verify.returncode == 1
    assert f"FAILED: results/910b3-x1/{rel}: sha256 " in verify.stdout


def test_an_unknown_signer_fails_the_verify_step(pull_request, tmp_path):
    repo = _copy(pull_request, tmp_path)
    signers = repo / "results" / "allowed_signers"
    lines = signers.read_text(encoding="utf-8").splitlines()
    signers.write_text("\n".join(ln for ln in lines if "alice" not in ln) + "\n", "utf-8")
    verify = _run(_step("Verify")["run"], repo)
    assert verify.returncode == 1 and "UNKNOWN SIGNER: key ED25519 SHA256:" in verify.stdout


def test_an_index_not_committed_fails_the_last_step(pull_request, tmp_path):
    repo = _copy(pull_request, tmp_path)
    _git("rm", "-q", "results/index.json", cwd=repo)
    _git("commit", "-q", "-m", "forget the index", cwd=repo)
    name, last = _run_steps(repo)[-1]
    assert name.startswith("The committed report") and last.returncode == 1
    assert "results/index.json" in last.stdout and "::error::" in last.stdout


@pytest.mark.parametrize(("version", "ok"), [("9.6p1", True), ("8.2p1", True), ("8.1p1", False)])
def test_the_openssh_step_needs_8_2_or_later(tmp_path, version, ok):
    fake = tmp_path / "bin"
    fake.mkdir()
    ssh = fake / "ssh"
    ssh.write_text(f"#!/bin/sh\necho 'OpenSSH_{version} Ubuntu, OpenSSL 3.0.13' >&2\n", "utf-8")
    ssh.chmod(0o755)
    p = _run(_step("ssh-keygen can check")["run"], tmp_path, path_prefix=fake)
    assert (p.returncode == 0) is ok, p.stdout + p.stderr


def test_the_openssh_here_passes_the_step(tmp_path):
    p = _run(_step("ssh-keygen can check")["run"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
