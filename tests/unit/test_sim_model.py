"""The simulator's performance model and profiles: calibrated, sourced, strict."""

from __future__ import annotations

import pytest

from bench.errors import InputError
from bench.sim import DEFAULT_PROFILE, model, profiles_dir
from bench.sim.profile import load_profile


@pytest.fixture(scope="module")
def profile():
    return load_profile(DEFAULT_PROFILE)


def test_default_profile_is_the_articles_setting(profile):
    assert profile.name == "atlas800t-a2-qwen2-7b"
    assert profile.server.mem_fraction_static == 0.9
    assert profile.server.tp_size == 1
    assert profile.device.hbm_gib == 64.0
    assert profile.model.kv_bytes_per_token == 57_344  # 2 x 28 layers x 4 heads x 128 x 2 B


def test_batch1_latency_reproduces_the_article_within_5_percent(profile):
    cal = profile.calibration
    ttft_s, tpot_s = model.single_request_latency(
        profile, cal.ttft_prompt_tokens, cal.tpot_output_tokens
    )
    assert ttft_s == pytest.approx(0.45, rel=0.05)
    assert tpot_s * 1000 == pytest.approx(17.5, rel=0.05)
    assert ttft_s == pytest.approx(cal.ttft_s, rel=0.05)


def test_kv_pool_follows_sglangs_formula(profile):
    plan = model.memory_plan(profile)
    # 64 GiB - 2 reserved - 14.19 weights - 64 x (1 - 0.9) = 41.41 GiB of KV at 57,344 B/token
    expected = int((64 - 2 - 7_615_616_512 * 2 / 2**30 - 6.4) * 2**30 // 57_344)
    assert plan.kv_pool_tokens == expected
    assert 770_000 < plan.kv_pool_tokens < 780_000
    assert plan.k_gib == plan.v_gib
    used = plan.weights_gib + plan.k_gib + plan.v_gib + profile.device.runtime_reserved_gib
    assert used <= 64 * 0.9 + profile.device.runtime_reserved_gib + 0.01
    assert plan.max_running_requests == 4096


def test_decode_step_grows_with_batch_and_context(profile):
    one = model.decode_step_s(profile, 1, 1000)
    assert model.decode_step_s(profile, 64, 1000) > one
    assert model.decode_step_s(profile, 1, 100_000) > one
    # a saturated batch of ~150 ShareGPT-length requests steps near vLLM-Ascend's 62.8 ms
    assert 0.045 < model.decode_step_s(profile, 150, 150 * 450) < 0.075


def test_prefill_is_overhead_plus_per_token_plus_per_attention_pair(profile):
    t = profile.timing
    assert model.prefill_s(profile, 0) == t.prefill_overhead_s
    assert model.prefill_s(profile, 1000, 7) == pytest.approx(
        t.prefill_overhead_s + 1000 * t.prefill_s_per_token + 7 * t.prefill_s_per_attention_pair
    )


def test_attention_pairs_are_causal_and_count_the_cached_context():
    assert model.attention_pairs(0, 1) == 1
    assert model.attention_pairs(0, 4) == 1 + 2 + 3 + 4
    assert model.attention_pairs(10, 2) == 11 + 12  # two new tokens after ten cached ones
    # split anywhere, the pairs of a prompt add up to those of the whole
    assert model.attention_pairs(0, 300) + model.attention_pairs(300, 700) == (
        model.attention_pairs(0, 1000)
    )


def test_the_attention_costs_the_same_flops_rate_as_the_weights(profile):
    # [timing]'s comment: 2 x params FLOP per token, 4 x layers x hidden FLOP per pair, one E
    t, m = profile.timing, profile.model
    per_token_flops = 2 * m.param_count
    per_pair_flops = 4 * m.num_layers * m.num_attention_heads * m.head_dim  # 4 x 28 x 3584
    rate_tokens = per_token_flops / t.prefill_s_per_token
    rate_pairs = per_pair_flops / t.prefill_s_per_attention_pair
    assert rate_pairs == pytest.approx(rate_tokens, rel=1e-3)
    assert 140e12 < rate_tokens < 170e12  # ~50% of a 910B's ~300 TFLOPS BF16


def test_ttft_grows_faster_than_the_prompt(profile):
    short = model.single_request_latency(profile, 1024, 2)[0]
    long = model.single_request_latency(profile, 32_256, 2)[0]
    assert long / short > 32_256 / 1024 * 1.1  # the quadratic attention term shows
    assert 4.0 < long < 5.5


def test_long_prompts_prefill_in_chunks(profile):
    chunk = profile.server.chunked_prefill_size
    ttft, _ = model.single_request_latency(profile, 2 * chunk, 2)
    first = model.prefill_s(profile, chunk, model.attention_pairs(0, chunk))
    second = model.prefill_s(profile, chunk, model.attention_pairs(chunk, chunk))
    assert second > first  # the second chunk attends to the first one too
    assert ttft == pytest.approx(first + second)


def test_every_profile_parameter_carries_a_comment():
    text = (profiles_dir() / f"{DEFAULT_PROFILE}.toml").read_text()
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#") and not line.startswith("name"):
            if line.startswith("description"):
                continue
            assert "#" in line, f"undocumented parameter: {line}"


def _write_variant(tmp_path, old: str, new: str):
    text = (profiles_dir() / f"{DEFAULT_PROFILE}.toml").read_text()
    assert old in text
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new, 1))
    return str(path)


def test_unknown_profile_key_is_rejected_by_name(tmp_path):
    path = _write_variant(tmp_path, "tp_size = 1", "tp_sise = 1")
    with pytest.raises(InputError, match=r"unknown key 'tp_sise' in \[server\]"):
        load_profile(path)


def test_wrong_type_and_bad_fraction_are_rejected(tmp_path):
    with pytest.raises(InputError, match="num_layers must be int"):
        load_profile(_write_variant(tmp_path, "num_layers = 28", 'num_layers = "28"'))
    with pytest.raises(InputError, match="mem_fraction_static"):
        load_profile(
            _write_variant(tmp_path, "mem_fraction_static = 0.9", "mem_fraction_static = 1.5")
        )


def test_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(InputError, match="atlas800t-a2-qwen2-7b"):
        load_profile("no-such-profile")
