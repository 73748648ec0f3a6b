"""`python -m bench memory`: flags, --json, the table, --result, and one-line errors."""

from __future__ import annotations

import json
import shutil

import pytest

from bench.cli import main

LOGS = "memory/server_log"
SMI = "memory/npu_smi"


def run_json(capsys, *argv):
    assert main(["memory", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


@pytest.mark.parametrize(
    ("log", "weights", "kv", "tokens"),
    [
        ("sglang_044_gemma3_single.log", 8.13, 108.24, 834615),
        ("sglang_npu_qwen3vl_dp2_tp2.log", 30.67, 17.68, 192896),
        ("sglang_npu_grok2_tp16_excerpts.log", 35.57, 11.84, 387968),
        ("sglang_04x_llama_jetson_single.log", None, 8.82, 420200),
        ("sglang_dsv32_dp8_tp8_kv_size.log", None, 43.67, 975424),
    ],
)
def test_json_from_real_logs(capsys, fixtures, log, weights, kv, tokens):
    m = run_json(
        capsys,
        "--server-log",
        str(fixtures / LOGS / log),
        "--npu-smi",
        str(fixtures / SMI / "910b2_x8_64gb_noproc.txt"),
    )
    assert m["weights_gib"] == weights
    assert m["kv_cache_gib"] == pytest.approx(kv)
    assert m["kv_tokens"] == tokens
    assert len(m["npus"]) == 8 and m["npus"][7]["hbm_used_mib"] == 3373
    for key in ("expected_weights_gib", "expected_kv_bytes_per_token", "sources"):
        assert key in m


def test_json_with_the_model_gives_qwen2_expectations(capsys, fixtures):
    m = run_json(capsys, "--model-dir", str(fixtures / "memory/model/qwen2-7b-instruct"))
    assert m["expected_kv_bytes_per_token"] == 57344
    assert m["expected_weights_gib"] == pytest.approx(14.185, abs=0.001)


def test_without_npu_smi_on_path_it_says_so(capsys, fixtures, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    m = run_json(
        capsys, "--model-config", str(fixtures / "memory/model/qwen2-7b-instruct/config.json")
    )
    assert m["npus"] == []
    assert any("npu-smi is not on PATH" in n for n in m["notes"])


def test_table_output_is_readable(capsys, fixtures):
    assert (
        main(
            [
                "memory",
                "--server-log",
                str(fixtures / LOGS / "sglang_044_gemma3_single.log"),
                "--npu-smi",
                str(fixtures / SMI / "910b4_x4_32gb_noproc.txt"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "weights (GiB, one NPU)" in out and "8.13" in out and "834615" in out
    assert "910B4" in out


def test_result_memory_section_is_replaced_in_place(capsys, fixtures, tmp_path):
    doc_path = tmp_path / "run.json"
    shutil.copy(fixtures / "results" / "simulated_valid.json", doc_path)
    before = json.loads(doc_path.read_text())
    assert (
        main(
            [
                "memory",
                "--server-log",
                str(fixtures / LOGS / "sglang_044_gemma3_single.log"),
                "--npu-smi",
                str(fixtures / SMI / "910b4_x4_32gb_noproc.txt"),
                "--result",
                str(doc_path),
            ]
        )
        == 0
    )
    after = json.loads(doc_path.read_text())
    assert after["measurements"]["memory"]["weights_gib"] == 8.13
    after["measurements"]["memory"] = before["measurements"]["memory"]
    assert after == before  # nothing else changed
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary left behind


def test_result_that_is_not_a_result_document_is_left_untouched(capsys, fixtures, tmp_path):
    doc_path = tmp_path / "other.json"
    doc_path.write_text('{"hello": 1}')
    code = main(
        [
            "memory",
            "--model-dir",
            str(fixtures / "memory/model/qwen2-7b-instruct"),
            "--result",
            str(doc_path),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "measurements" in err and err.count("\n") == 1
    assert doc_path.read_text() == '{"hello": 1}'


def test_server_info_from_a_saved_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    info = tmp_path / "info.json"
    info.write_text(json.dumps({"mem_fraction_static": 0.9, "max_total_num_tokens": 12}))
    m = run_json(capsys, "--server-info", str(info))
    assert m["mem_fraction_static"] == 0.9 and m["kv_tokens"] == 12


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        ([], 2, "give at least one"),
        (["--tp", "0", "--server-log", "x"], 2, "--tp"),
        (["--server-log", "/nonexistent/server.log"], 1, "cannot read server log"),
        (["--npu-smi", "/etc/hostname"], 1, "no NPU rows"),
        (["--server-info", "http://127.0.0.1:9/"], 1, "cannot reach"),
    ],
)
def test_bad_input_is_one_error_line(capsys, argv, code, words):
    assert main(["memory", *argv]) == code
    err = capsys.readouterr().err
    assert err.startswith("Error:") and words in err and err.count("\n") == 1


def test_a_memory_section_the_schema_rejects_is_never_written(
    capsys, fixtures, tmp_path, monkeypatch
):
    import bench.memory

    doc_path = tmp_path / "run.json"
    shutil.copy(fixtures / "results" / "simulated_valid.json", doc_path)
    before = doc_path.read_bytes()
    monkeypatch.setattr(
        bench.memory, "collect_memory", lambda **_: {"weights_gib": "x", "notes": []}
    )
    code = main(
        [
            "memory",
            "--npu-smi",
            str(fixtures / SMI / "910b4_x4_32gb_noproc.txt"),
            "--result",
            str(doc_path),
        ]
    )
    assert code == 1
    assert "fails the schema at /measurements/memory/weights_gib" in capsys.readouterr().err
    assert doc_path.read_bytes() == before
