"""SGLang's launch flags on the simulator: each changes the model as SGLang's would, and
what SGLang refuses is refused. Numbers are for the shipped Qwen2-7B profile (28 layers,
28 heads, 4 KV heads, head dim 128, 7,615,616,512 BF16 parameters, 64 GiB, 2 GiB reserved)."""

from __future__ import annotations

import pytest

from bench.cli import main
from bench.errors import UsageError
from bench.sim import model, startup
from bench.sim.launch import LaunchFlags, configure
from bench.sim.profile import load_profile
from bench.sim.scheduler import Scheduler, SimRequest
from bench.units import GIB

BASE = load_profile()


def test_no_flags_keep_the_profile_and_its_calibrated_numbers():
    assert configure(BASE, LaunchFlags()) == BASE
    plan = model.memory_plan(BASE)
    assert plan.kv_pool_tokens == int((64 - 2 - 7_615_616_512 * 2 / GIB - 6.4) * GIB // 57_344)


def test_tp_splits_weights_and_kv_heads_and_the_pool_grows():
    tp2 = configure(BASE, LaunchFlags(tp_size=2))
    plan = model.memory_plan(tp2)
    assert plan.weights_gib == pytest.approx(7_615_616_512 * 2 / 2 / GIB)
    # 2 of the 4 KV heads per rank: 2 x 28 x 2 x 128 x 2 bytes = 28,672 per token
    assert tp2.model.kv_bytes_per_token_per_rank(2) == 28_672
    rest = 64 - 2 - plan.weights_gib - 64 * 0.1
    assert plan.kv_pool_tokens == int(rest * GIB // 28_672)
    assert plan.kv_pool_tokens > 2 * model.memory_plan(BASE).kv_pool_tokens
    # tp 4: one KV head per rank (4 // 4); SGLang would replicate below that
    assert configure(BASE, LaunchFlags(tp_size=4)).model.kv_bytes_per_token_per_rank(4) == 14_336


def test_tp_divides_the_per_step_work_and_adds_two_all_reduces_per_layer():
    tp1, tp2 = BASE, configure(BASE, LaunchFlags(tp_size=2))
    t = BASE.timing
    assert model.allreduce_s(tp1, 8) == 0.0
    hidden = 28 * 128
    comm = 2 * 28 * (t.allreduce_s + 8 * hidden * 2 * 2 * (1 / 2) / t.allreduce_bytes_per_s)
    assert model.allreduce_s(tp2, 8) == pytest.approx(comm)
    expected = (
        t.decode_base_s / 2 + 8 * t.decode_s_per_seq + 4000 * t.decode_s_per_context_token / 2
    )
    assert model.decode_step_s(tp2, 8, 4000) == pytest.approx(expected + comm)
    assert model.decode_step_s(tp2, 8, 4000) < model.decode_step_s(tp1, 8, 4000)
    prefill = t.prefill_overhead_s + 1000 * t.prefill_s_per_token / 2
    assert model.prefill_s(tp2, 1000) == pytest.approx(prefill + model.allreduce_s(tp2, 1000))


def test_max_running_requests_caps_admission_and_is_reported():
    profile = configure(BASE, LaunchFlags(max_running_requests=2))
    plan = model.memory_plan(profile)
    assert plan.max_running_requests == 2
    scheduler = Scheduler(profile)
    requests = [SimRequest(16, 4, (1, 2, 3, 4)) for _ in range(5)]
    for req in requests:
        scheduler.submit(req)
    step = scheduler._plan_prefill()
    assert [r for r, _ in step] == requests[:2]
    args = startup.server_args(profile, host="h", port=1, seed=1, tokenizer_path="t")
    assert args["max_running_requests"] == 2
    assert (
        startup.server_args(BASE, host="h", port=1, seed=1, tokenizer_path="t")[
            "max_running_requests"
        ]
        is None
    )
    assert "max_running_requests=2," in startup.startup_log_lines(profile, plan)[-1]


def test_memory_split_chunk_sizes_and_model_path_are_what_the_server_reports():
    flags = LaunchFlags(
        mem_fraction_static=0.8,
        chunked_prefill_size=4096,
        max_prefill_tokens=8192,
        model_path="/models/Qwen/Qwen2-7B-Instruct",
    )
    profile = configure(BASE, flags)
    plan = model.memory_plan(profile)
    assert plan.kv_pool_tokens < model.memory_plan(BASE).kv_pool_tokens
    info = startup.server_info(
        profile,
        plan,
        host="h",
        port=1,
        seed=1,
        speed=1.0,
        tokenizer_path="t",
        last_gen_throughput=0.0,
    )
    assert info["mem_fraction_static"] == 0.8
    assert (info["chunked_prefill_size"], info["max_prefill_tokens"]) == (4096, 8192)
    assert info["model_path"] == "/models/Qwen/Qwen2-7B-Instruct"
    assert info["served_model_name"] == "Qwen/Qwen2-7B-Instruct"
    # a 10,000-token prompt prefills in chunks of 4,096: three steps, each with its overhead
    # (and each chunk's attention to the chunks before it)
    ttft, _ = model.single_request_latency(profile, 10_000, 2)
    chunks = ((0, 4096), (4096, 4096), (8192, 1808))
    steps = [model.prefill_s(profile, n, model.attention_pairs(done, n)) for done, n in chunks]
    assert ttft == pytest.approx(sum(steps))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (LaunchFlags(tp_size=8), "does not divide the model's 28 attention heads"),
        (LaunchFlags(tp_size=16), "needs 16 NPUs; one Ascend910B3 host has 8"),
        (LaunchFlags(mem_fraction_static=0.2), "Not enough memory"),
    ],
)
def test_what_sglang_refuses_is_refused(flags, message):
    with pytest.raises(UsageError, match=message):
        configure(BASE, flags)


def test_kv_heads_that_neither_divide_nor_are_divided_by_tp_are_refused():
    import dataclasses

    odd = dataclasses.replace(
        BASE, model=dataclasses.replace(BASE.model, num_attention_heads=24, num_kv_heads=6)
    )
    with pytest.raises(UsageError, match="6 KV heads"):
        configure(odd, LaunchFlags(tp_size=4))
    assert configure(odd, LaunchFlags(tp_size=2)).server.tp_size == 2


def test_bad_flag_values_are_one_line_usage_errors(capsys):
    assert main(["sim", "--port", "0", "--chunked-prefill-size", "-1"]) == 2
    assert "chunked prefill off, is not simulated" in capsys.readouterr().err
    assert main(["sim", "--port", "0", "--mem-fraction-static", "1.5"]) == 2
    assert main(["sim", "--port", "0", "--tp-size", "3"]) == 2
    assert "does not divide" in capsys.readouterr().err
