"""`bench env` / capture_environment: works without NPU, CANN or Docker; never leaks secrets."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from bench.system.capture import (
    REDACTED,
    allowed_env,
    cann_version,
    capture_environment,
    product_name,
    redact,
)

SECRETS = {
    "HF_TOKEN": "hf_PLANTEDhfTOKENvalue0123456789abcd",
    "MODELSCOPE_API_TOKEN": "ms-PLANTED-modelscope-token-value",
    "SGLANG_API_KEY": "PLANTED-sglang-api-key",
    "ASCEND_PROXY": "http://user:PLANTEDpassword@proxy.local:8080",
}


def section_validator(repo, name):
    schema = json.loads((repo / "schema" / "result.schema.json").read_text())
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})


def test_env_json_on_this_machine_exits_0_with_nulls_and_reasons(repo):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **SECRETS, "ASCEND_RT_VISIBLE_DEVICES": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "env", "--json"],
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for secret in SECRETS.values():
        assert secret not in proc.stdout and secret not in proc.stderr
    assert "PLANTED" not in proc.stdout
    doc = json.loads(proc.stdout)
    accel = doc["system"]["accelerator"]
    assert accel["name"] is None and accel["count"] is None
    assert "npu-smi" in doc["system"]["missing"]["accelerator.name"]
    assert doc["software"]["cann_version"] is None
    assert "CANN" in doc["software"]["missing"]["cann_version"]
    assert doc["software"]["env"]["ASCEND_RT_VISIBLE_DEVICES"] == "0"
    assert doc["software"]["env"]["SGLANG_API_KEY"] == REDACTED
    assert "HF_TOKEN" not in doc["software"]["env"]  # not on the allow-list at all
    for name in ("system", "software", "provenance"):
        errors = list(section_validator(repo, name).iter_errors(doc[name]))
        assert errors == [], (name, errors)


def test_provenance_has_the_kits_commit():
    prov = capture_environment()["provenance"]
    assert prov["kit_version"]
    assert prov["git_commit"] is None or len(prov["git_commit"]) == 40
    assert prov["git_dirty"] in (True, False, None)


def test_a_kit_inside_another_repository_records_no_commit(tmp_path, monkeypatch):
    """An installed kit (site-packages) inside someone's repository is not that commit."""
    import bench.system.capture as envinfo

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True, timeout=30)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True, timeout=30)
    inside = tmp_path / "venv" / "lib" / "site-packages"
    inside.mkdir(parents=True)
    monkeypatch.setattr(envinfo, "REPO", inside.resolve())
    assert envinfo._git() == (None, None)
    monkeypatch.setattr(envinfo, "REPO", tmp_path.resolve())
    commit, dirty = envinfo._git()
    assert commit is not None and len(commit) == 40 and dirty is False


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("ASCEND_RT_VISIBLE_DEVICES", "0,1", True),
        ("HCCL_BUFFSIZE", "1024", True),
        ("SGLANG_API_KEY", "abc", False),
        ("ASCEND_SECRET_THING", "abc", False),
        ("HCCL_IF_IP", "hf_abcdefghijklmnopqrstuvwxyz0123", False),
        ("SGLANG_SOMETHING", "QWxhZGRpbjpvcGVuIHNlc2FtZQxxxxxxxxxxxxx==", False),
    ],
)
def test_redaction(name, value, kept):
    assert (redact(name, value) == value) is kept


def test_url_passwords_are_redacted_but_the_url_kept():
    assert redact("ASCEND_PROXY", "http://u:pw@h:1") == f"http://u:{REDACTED}@h:1"


def test_allow_list_drops_everything_else():
    env = {"ASCEND_X": "1", "PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "x", "HF_TOKEN": "y"}
    assert allowed_env(env) == {"ASCEND_X": "1"}


def test_cann_version_from_the_toolkit_install_info(tmp_path, fixtures):
    home = tmp_path / "ascend-toolkit" / "latest"
    (home / "aarch64-linux").mkdir(parents=True)
    src = fixtures / "memory/cann/ascend_toolkit_install_8.3.RC2.info"
    (home / "aarch64-linux" / "ascend_toolkit_install.info").write_text(src.read_text())
    assert cann_version({"ASCEND_TOOLKIT_HOME": str(home)}) == ("8.3.RC2", None)


def test_no_docker_engine_is_a_reason_not_a_crash(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    sw = capture_environment(container="sglang-server")["software"]
    assert sw["image"] == {"name": None, "digest": None}
    assert "no Docker engine reachable" in sw["missing"]["image"]


def test_npu_stub_fills_the_accelerator(tmp_path, monkeypatch, fixtures):
    table = fixtures / "memory/npu_smi/910b3_x8_64gb_proc_noname.txt"
    board = fixtures / "memory/npu_smi/board_910b_doc.txt"
    stub = tmp_path / "npu-smi"
    stub.write_text(
        f"#!/bin/sh\nif [ \"$2\" = \"-t\" ]; then cat '{board}'; else cat '{table}'; fi\n"
    )
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    accel = capture_environment()["system"]["accelerator"]
    assert accel == {
        "name": "910B3",
        "count": 8,
        "hbm_capacity_gib": 64.0,
        "driver_version": "23.0.5",
        "firmware_version": "7.1.0.7.220",
    }


def test_product_from_dmi(tmp_path):
    (tmp_path / "product_name").write_text("Atlas 800T A2\n")
    (tmp_path / "sys_vendor").write_text("Huawei\n")
    assert product_name(tmp_path) == ("Huawei Atlas 800T A2", "")
    (tmp_path / "product_name").write_text("To be filled by O.E.M.\n")
    assert product_name(tmp_path)[0] is None
    assert "no DMI product name" in product_name(tmp_path / "absent")[1]
