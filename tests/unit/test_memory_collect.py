"""collect_memory: every source into the schema's memory object, reconciled with the model."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from bench.errors import InputError
from bench.memory import collect_memory
from bench.memory.reconcile import comparison, reconcile

SIM_LOG = """\
[2026-01-01 00:00:00 TP0] Load weight begin. avail mem=61.00 GB
[2026-01-01 00:00:05 TP0] Load weight end. type=Qwen2ForCausalLM, dtype=torch.bfloat16, \
avail mem=46.81 GB, mem usage=14.19 GB.
[2026-01-01 00:00:06 TP0] KV Cache is allocated. #tokens: 800000, K size: 21.36 GB, \
V size: 21.36 GB
[2026-01-01 00:00:06 TP0] max_total_num_tokens=800000, chunked_prefill_size=8192, \
max_prefill_tokens=16384, max_running_requests=2048, context_len=32768, \
available_gpu_mem=4.09 GB
"""


def memory_validator(repo):
    schema = json.loads((repo / "schema" / "result.schema.json").read_text())
    return jsonschema.Draft202012Validator({"$ref": "#/$defs/memory", "$defs": schema["$defs"]})


@pytest.fixture
def qwen_log(tmp_path):
    f = tmp_path / "server.log"
    f.write_text(SIM_LOG)
    return f


def test_log_and_model_give_measured_and_expected_figures(qwen_log, fixtures, repo):
    m = collect_memory(
        server_log=qwen_log,
        model_dir=fixtures / "memory/model/qwen2-7b-instruct",
        server_info={"mem_fraction_static": 0.9, "tp_size": 1},
    )
    assert m["weights_gib"] == 14.19 and m["kv_cache_gib"] == 42.72
    assert m["kv_tokens"] == 800000
    assert m["kv_bytes_per_token"] == round(42.72 * 2**30 / 800000)  # 57338: the log rounds
    assert m["expected_kv_bytes_per_token"] == 57344
    assert m["expected_weights_gib"] == pytest.approx(14.185, abs=0.001)
    assert m["mem_fraction_static"] == 0.9 and m["sources"]["mem_fraction_static"] == "server_info"
    assert m["sources"]["weights_gib"].startswith("server_log")
    assert m["sources"]["expected_weights_gib"].endswith("safetensors index total_size / tp 1")
    kv_row = m["reconciliation"][1]
    assert kv_row["what"].startswith("KV pool")
    assert kv_row["expected_gib"] == pytest.approx(800000 * 57344 / 2**30, abs=0.001)
    assert abs(kv_row["diff_pct"]) < 0.1
    assert list(memory_validator(repo).iter_errors(m)) == []


def test_npu_smi_text_gives_npus_and_capacity(qwen_log, fixtures, repo):
    smi = (fixtures / "memory/npu_smi/910b3_x8_64gb_proc_noname.txt").read_text()
    m = collect_memory(server_log=qwen_log, npu_smi_text=smi)
    assert m["npus"][0] == {
        "index": 0,
        "name": "910B3",
        "hbm_used_mib": 58626,
        "hbm_total_mib": 65536,
        "chip": 0,
    }
    assert m["hbm_capacity_gib"] == 64.0
    device_row = m["reconciliation"][-1]
    assert device_row["what"] == "HBM in use (npu-smi) vs weights + KV"
    assert device_row["measured_gib"] == pytest.approx(58627 / 1024, abs=0.001)
    assert list(memory_validator(repo).iter_errors(m)) == []


def test_usages_output_is_accepted_and_its_precision_said(fixtures):
    smi = (fixtures / "memory/npu_smi/usages_910b_64gb_sglang_test.txt").read_text()
    m = collect_memory(npu_smi_text=smi)
    assert m["npus"] == [
        {"index": 0, "name": None, "hbm_used_mib": 1966, "hbm_total_mib": 65536, "chip": 0}
    ]
    assert any("+-1%" in n for n in m["notes"])


def test_tp2_divides_expectations_per_rank(fixtures, tmp_path):
    log = tmp_path / "tp2.log"
    log.write_text(
        "[2026-01-01 00:00:05 TP0] Load weight end. type=Qwen2ForCausalLM, avail mem=50.00 GB, "
        "mem usage=7.20 GB.\n"
        "[2026-01-01 00:00:05 TP1] Load weight end. type=Qwen2ForCausalLM, avail mem=50.10 GB, "
        "mem usage=7.10 GB.\n"
    )
    m = collect_memory(server_log=log, model_dir=fixtures / "memory/model/qwen2-7b-instruct")
    assert [r["rank"] for r in m["per_rank"]] == [0, 1]
    assert m["weights_gib"] == 7.20  # the largest rank
    assert m["expected_weights_gib"] == pytest.approx(15_231_233_024 / 2 / 2**30, abs=0.001)
    assert m["expected_kv_bytes_per_token"] == 57344 // 2


def test_server_info_memory_usage_fills_in_without_a_log():
    info = {
        "max_total_num_tokens": 1000,
        "internal_states": [{"memory_usage": {"weight": 14.19, "kvcache": 0.05}}],
    }
    m = collect_memory(server_info=info)
    assert (m["weights_gib"], m["kv_cache_gib"], m["kv_tokens"]) == (14.19, 0.05, 1000)
    assert m["sources"]["kv_tokens"] == "server_info (max_total_num_tokens)"


def test_the_articles_memory_figures_do_not_fit_its_memory_fraction():
    # model=14.5 GB, kv_cache=48.2 GB on a 64 GB NPU with --mem-fraction-static 0.9
    rows = reconcile(
        weights_gib=14.5,
        expected_weights_gib=15_231_233_024 / 2**30,
        kv_cache_gib=48.2,
        kv_tokens=None,
        expected_kv_bytes_per_token=None,
        mem_fraction_static=0.9,
        hbm_capacity_gib=64.0,
        hbm_used_gib=None,
    )
    static = next(r for r in rows if r["what"].startswith("weights + KV"))
    assert static["measured_gib"] == 62.7 and static["expected_gib"] == 57.6
    assert static["diff_gib"] == pytest.approx(5.1) and static["diff_pct"] > 8


def test_comparison_without_one_side_has_no_difference():
    assert comparison("x", None, 2.0) == {
        "what": "x",
        "measured_gib": None,
        "expected_gib": 2.0,
        "diff_gib": None,
        "diff_pct": None,
    }


def test_no_input_at_all_is_an_input_error():
    with pytest.raises(InputError, match="no memory input"):
        collect_memory()


def test_npus_without_a_process_are_left_out_when_a_process_table_exists(fixtures):
    lines = (fixtures / "memory/npu_smi/910b3_x8_64gb_proc_noname.txt").read_text().splitlines()
    # drop the process rows of NPUs 1-7, keep NPU 0's (pid 71867)
    kept = [ln for ln in lines if not re.match(r"\| [1-7] +0 +\| 718\d\d ", ln)]
    m = collect_memory(npu_smi_text="\n".join(kept))
    assert [n["index"] for n in m["npus"]] == [0]
    assert "7 NPU(s) with no process left out of `npus`" in m["notes"]


def test_an_fp8_kv_cache_halves_the_expected_bytes_per_token(fixtures, tmp_path):
    log = tmp_path / "fp8.log"
    log.write_text(
        "[2026-01-01 00:00:06 TP0] KV Cache is allocated. dtype: torch.float8_e4m3fn, "
        "#tokens: 1000000, K size: 13.35 GB, V size: 13.35 GB\n"
    )
    m = collect_memory(server_log=log, model_dir=fixtures / "memory/model/qwen2-7b-instruct")
    assert m["expected_kv_bytes_per_token"] == 57344 // 2  # 1-byte elements
    assert "float8_e4m3fn" in m["sources"]["expected_kv_bytes_per_token"]
    kv_row = m["reconciliation"][1]
    assert abs(kv_row["diff_pct"]) < 0.1  # 1e6 x 28,672 B = 26.70 GiB
