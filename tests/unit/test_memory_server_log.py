"""SGLang log lines -> per-rank memory figures, across versions, single rank and TP > 1.

Each fixture is a real public log excerpt (tests/fixtures/memory/README.md says where from);
the expected numbers are typed from the file, not computed by the parser under test.
"""

from __future__ import annotations

import pytest

from bench.errors import InputError
from bench.memory.server_log import parse_server_log, read_server_log


def load(fixtures, name):
    return read_server_log(fixtures / "memory" / "server_log" / name)


def rank(parsed, r):
    return next(x for x in parsed.ranks if x.rank == r)


def test_single_rank_044_gives_weights_kv_and_tokens(fixtures):
    p = load(fixtures, "sglang_044_llama8b_fa3_single.log")
    assert [r.rank for r in p.ranks] == [0]
    r0 = p.ranks[0]
    assert r0.weights_gib == 15.11 and r0.weights_from == "mem usage"
    assert r0.kv_cache_gib == pytest.approx(27.02 + 27.02)
    assert r0.kv_tokens == 442750
    assert r0.model_class == "LlamaForCausalLM" and r0.dtype == "torch.bfloat16"


def test_gb_in_sglang_lines_is_gib_and_is_not_rescaled():
    # 2 layers x 8 heads x 128 dim x 2 bytes x 2 (K,V) x 2**20 tokens = exactly 8 GiB;
    # SGLang prints it as "K size: 4.00 GB, V size: 4.00 GB".
    p = parse_server_log(
        "[2025-01-01 00:00:00] KV Cache is allocated. #tokens: 1048576, "
        "K size: 4.00 GB, V size: 4.00 GB"
    )
    assert p.ranks[0].kv_cache_gib == 8.0  # GiB, not 8e9/2**30 = 7.45


def test_041_without_mem_usage_or_tokens_leaves_them_unknown(fixtures):
    r0 = load(fixtures, "sglang_041_llama8b_h100_single.log").ranks[0]
    assert r0.weights_gib is None and r0.avail_after_weights_gib == 63.72
    assert r0.kv_cache_gib == pytest.approx(54.26) and r0.kv_tokens is None


def test_weights_from_avail_difference_when_mem_usage_is_absent():
    p = parse_server_log(
        "[2025-01-23 19:35:00 TP0] Load weight begin. avail mem=78.50 GB\n"
        "[2025-01-23 19:35:20 TP0] Load weight end. type=LlamaForCausalLM, "
        "dtype=torch.bfloat16, avail mem=63.72 GB\n"
    )
    assert p.ranks[0].weights_gib == pytest.approx(14.78)
    assert p.ranks[0].weights_from == "avail difference"


def test_scheduler_summary_gives_max_total_num_tokens(fixtures):
    p = load(fixtures, "sglang_04x_llama_jetson_single.log")
    assert p.max_total_num_tokens == 420200
    assert p.scheduler["max_running_requests"] == "4097"
    assert p.ranks[0].kv_cache_gib == pytest.approx(8.82)


def test_npu_dp_tp_prefixes_give_one_entry_per_rank(fixtures):
    p = load(fixtures, "sglang_npu_qwen3vl_dp2_tp2.log")
    assert [r.rank for r in p.ranks] == [0, 1]
    assert rank(p, 0).weights_gib == 30.67 and rank(p, 0).avail_after_weights_gib == 29.86
    assert rank(p, 1).avail_after_weights_gib == 29.92
    assert rank(p, 1).kv_cache_gib == pytest.approx(17.68) and rank(p, 1).kv_tokens == 192896


def test_npu_elapsed_without_dtype_and_kv_line_with_dtype(fixtures):
    p = load(fixtures, "sglang_npu_grok2_tp16_excerpts.log")
    assert [r.rank for r in p.ranks] == [1, 4, 10, 13, 14, 15]
    r14 = rank(p, 14)
    assert r14.weights_gib == 35.51 and r14.load_elapsed_s == 51.21 and r14.dtype is None
    assert r14.kv_cache_gib == pytest.approx(11.84) and r14.kv_tokens == 387968
    assert r14.kv_dtype == "torch.bfloat16"
    assert rank(p, 4).weights_gib is None  # its load line is not in the excerpt


def test_tp8_load_begin_and_kv_lines(fixtures):
    p = load(fixtures, "sglang_tp8_h200_2025-10.log")
    assert rank(p, 7).avail_before_weights_gib == 137.52
    assert rank(p, 6).kv_cache_gib == pytest.approx(106.62) and rank(p, 6).kv_tokens == 2795207


def test_line_without_rank_tag_is_rank_zero(fixtures):
    p = load(fixtures, "sglang_b200_no_prefix_2025-11.log")
    assert [r.rank for r in p.ranks] == [0]
    assert p.ranks[0].kv_cache_gib == pytest.approx(119.82) and p.ranks[0].kv_tokens == 2243474


def test_mla_single_kv_size(fixtures):
    r0 = load(fixtures, "sglang_dsv32_dp8_tp8_kv_size.log").ranks[0]
    assert r0.kv_cache_gib == 43.67 and r0.kv_tokens == 975424


def test_time_only_prefix(fixtures):
    r0 = load(fixtures, "sglang_time_only_rocm.log").ranks[0]
    assert r0.weights_gib == 1.21 and r0.kv_tokens == 1131687
    assert r0.kv_cache_gib == pytest.approx(120.88)


def test_two_kv_pools_are_summed_and_said(fixtures):
    p = load(fixtures, "sglang_fp8kv_two_pools_tp2.log")
    assert rank(p, 1).kv_pools == 2
    assert rank(p, 1).kv_cache_gib == pytest.approx(3.46 * 2 + 1.08 * 2)
    assert rank(p, 1).kv_tokens == 454112
    assert any("more than one KV pool" in n for n in p.notes)


def test_ascend_image_summary_line(fixtures):
    p = load(fixtures, "sglang_051_npu_dsv2lite_tp2.log")
    assert p.max_total_num_tokens == 1470848 and p.scheduler["context_len"] == "163840"


def test_server_args_line_gives_mem_fraction_and_tp():
    p = parse_server_log(
        "[2025-11-11 04:27:11] server_args=ServerArgs(model_path='Qwen/Qwen2-7B-Instruct', "
        "mem_fraction_static=0.851, max_running_requests=None, tp_size=2, "
        "warmups=None, json_model_override_args='{}')"
    )
    assert p.mem_fraction_static == 0.851 and p.tp_size == 2
    assert p.model_path == "Qwen/Qwen2-7B-Instruct"


def test_compose_log_prefix_is_tolerated():
    p = parse_server_log(
        "server-1  | [2025-03-27 21:33:31 TP0] KV Cache is allocated. #tokens: 834615, "
        "K size: 54.12 GB, V size: 54.12 GB"
    )
    assert p.ranks[0].kv_tokens == 834615


def test_a_file_without_memory_lines_is_an_input_error(tmp_path):
    f = tmp_path / "other.log"
    f.write_text("INFO: Uvicorn running\nMemory usage: model=14.5 GB, kv_cache=48.2 GB.\n")
    with pytest.raises(InputError, match="no SGLang memory lines"):
        read_server_log(f)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read server log"):
        read_server_log(tmp_path / "absent.log")


def test_the_kits_simulator_lines_parse():
    from bench.sim.model import memory_plan
    from bench.sim.profile import load_profile
    from bench.sim.startup import startup_log_lines

    profile = load_profile("atlas800t-a2-qwen2-7b")
    plan = memory_plan(profile)
    p = parse_server_log("\n".join(startup_log_lines(profile, plan, now=0.0)))
    r0 = p.ranks[0]
    assert r0.weights_gib == round(plan.weights_gib, 2)
    assert r0.kv_cache_gib == pytest.approx(round(plan.k_gib, 2) + round(plan.v_gib, 2))
    assert r0.kv_tokens == plan.kv_pool_tokens == p.max_total_num_tokens


def test_server_args_line_cut_short_still_gives_its_settings():
    # the start of a real server_args line (sgl-project/sglang issue #7883), cut mid-way
    p = parse_server_log(
        "[2025-07-09 11:52:19] server_args=ServerArgs(model_path='/home/u/Qwen3-8B', "
        "dtype='auto', kv_cache_dtype='auto', device='cuda', mem_fraction_static=0.874, "
        "max_running_requests=None, max_total_tokens=None, chunked_prefill_size=8192, "
        "page_size=1, tp_size=1, pp_size=1, max_micro_batch_size=None, constrained_json_whi"
    )
    assert (p.mem_fraction_static, p.tp_size) == (0.874, 1)
