"""What a model's config implies: KV bytes per token and weight bytes (Qwen2-7B-Instruct)."""

from __future__ import annotations

import json

import pytest

from bench.errors import InputError
from bench.memory import model_arch
from bench.memory.model_config import load_model_arch
from bench.units import GIB


def qwen2_7b(fixtures):
    return json.loads((fixtures / "memory/model/qwen2-7b-instruct/config.json").read_text())


def test_qwen2_7b_kv_bytes_per_token_is_57344(fixtures):
    arch = model_arch(qwen2_7b(fixtures))
    # 2 (K,V) x 28 layers x 4 kv heads x 128 head_dim x 2 bytes
    assert arch.kv_bytes_per_token == 2 * 28 * 4 * 128 * 2 == 57344


def test_qwen2_7b_parameters_counted_from_config_match_the_published_size(fixtures):
    arch = model_arch(qwen2_7b(fixtures))
    assert arch.params == 7_615_616_512
    assert arch.params * 2 == 15_231_233_024  # the safetensors index's total_size


def test_expected_weights_from_index_total_size(fixtures):
    arch, _ = load_model_arch(fixtures / "memory/model/qwen2-7b-instruct")
    assert arch.weight_source == "safetensors index total_size"
    assert arch.expected_weights_gib() == pytest.approx(15_231_233_024 / GIB)
    assert arch.expected_weights_gib() == pytest.approx(14.2, abs=0.05)


def test_without_index_weights_are_parameters_times_dtype_bytes(fixtures):
    arch = model_arch(qwen2_7b(fixtures))
    assert arch.weight_source == "parameters x dtype bytes"
    assert arch.weight_bytes == 15_231_233_024


def test_tensor_parallelism_divides_both(fixtures):
    arch, _ = load_model_arch(fixtures / "memory/model/qwen2-7b-instruct")
    assert arch.expected_weights_gib(2) == pytest.approx(arch.expected_weights_gib() / 2)
    assert arch.kv_bytes_per_token_per_rank(2) == 57344 // 2
    assert arch.kv_bytes_per_token_per_rank(4) == 57344 // 4
    # 4 KV heads over 8 ranks: SGLang replicates, one head per rank
    assert arch.kv_bytes_per_token_per_rank(8) == 2 * 28 * 1 * 128 * 2


def test_moe_models_have_no_counted_parameters():
    arch = model_arch(
        {
            "num_hidden_layers": 2,
            "hidden_size": 64,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "vocab_size": 100,
            "num_experts": 8,
            "torch_dtype": "bfloat16",
        }
    )
    assert arch.params is None and arch.weight_bytes is None


def test_missing_layers_is_an_input_error():
    with pytest.raises(InputError, match="num_hidden_layers"):
        model_arch({"hidden_size": 64})


def test_unknown_dtype_is_an_input_error():
    with pytest.raises(InputError, match="dtype"):
        model_arch(
            {
                "num_hidden_layers": 2,
                "hidden_size": 64,
                "num_attention_heads": 4,
                "torch_dtype": "complex128",
            }
        )


def test_malformed_config_file_is_an_input_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_model_arch(tmp_path)
