"""The roofline: lower bounds of a workload on its hardware, and how close a result came."""

from __future__ import annotations

import copy
import json

import pytest

from bench.cli import main
from bench.roofline import analyse, find_peaks, load_hardware

QWEN2_7B = {
    "id": "Qwen/Qwen2-7B-Instruct",
    "source": "modelscope",
    "dtype": "bfloat16",
    "parameter_count": 7_615_616_512,
    "weight_bytes": 15_231_233_024,
    "num_layers": 28,
    "num_kv_heads": 4,
    "head_dim": 128,
    "hidden_size": 3584,
}


def article_like(tpot_ms=17.5, ttft_ms=450.0, accelerator="910B"):
    """The article's latency figures on Qwen2-7B: TPOT 17.5 ms, TTFT 0.45 s at ~4K input."""
    return {
        "kind": "reported",
        "system": {"accelerator": {"name": accelerator, "count": 1}},
        "server": {"args": {"tp_size": 1}},
        "model": dict(QWEN2_7B),
        "measurements": {
            "latency": [
                {
                    "name": "latency-4096-512",
                    "workload": {
                        "dataset": "fixed-prompt",
                        "input_len": 4096,
                        "output_len": 512,
                        "num_prompts": 1,
                    },
                    "driver": {"name": "bench.latency"},
                    "metrics": {"ttft_ms": {"mean": ttft_ms}, "tpot_ms": {"mean": tpot_ms}},
                }
            ]
        },
    }


def reference_documents(repo):
    docs = [("built in this test", article_like())]
    for path in sorted((repo / "results" / "reference").glob("*.json")):
        docs.append((path.name, json.loads(path.read_text())))
    return docs


def test_decode_at_17_5_ms_is_40_to_70_percent_of_1_6_tb_s(repo):
    for name, doc in reference_documents(repo):
        r = analyse(doc, {"hbm_tb_s": 1.6})
        assert r is not None, name
        assert 40 <= r["decode_efficiency_pct"] <= 70, (name, r["decode_efficiency_pct"])


def test_decode_bound_by_hand():
    r = analyse(article_like(), {"hbm_tb_s": 1.6})
    run = r["runs"][0]["decode"]
    context = 4096 + (512 - 1) / 2  # mean context over the decode steps
    step = 15_231_233_024 + 57_344 * context  # weights + one sequence's KV cache
    assert run["context_tokens"] == context
    assert run["bytes_per_step"] == round(step)
    assert run["tpot_min_ms"] == pytest.approx(step / 1.6e12 * 1e3, abs=1e-3)  # 9.675 ms
    assert r["decode_efficiency_pct"] == pytest.approx(100 * 9.675 / 17.5, abs=0.1)  # 55.3 %


def test_prefill_bound_by_hand():
    r = analyse(article_like(), {"bf16_tflops": 313, "hbm_tb_s": 1.6})
    p = r["runs"][0]["prefill"]
    flops = 2 * 7_615_616_512 * 4096 + 2 * 28 * 4096**2 * 3584
    assert p["flops"] == flops
    assert p["bound"] == "compute"
    assert p["ttft_min_ms"] == pytest.approx(flops / 313e12 * 1e3, abs=1e-3)  # 210.1 ms
    assert r["prefill_efficiency_pct"] == pytest.approx(100 * flops / 313e12 / 0.450, abs=0.1)


def test_faster_hardware_lowers_the_efficiency_of_the_same_result():
    slow = analyse(article_like(), {"hbm_tb_s": 1.6})["decode_efficiency_pct"]
    fast = analyse(article_like(), {"hbm_tb_s": 3.2})["decode_efficiency_pct"]
    assert fast == pytest.approx(slow / 2, abs=0.1)


def test_tensor_parallel_shares_the_bound():
    doc = article_like()
    doc["server"]["args"]["tp_size"] = 2
    r = analyse(doc, {"hbm_tb_s": 1.6})
    one = analyse(article_like(), {"hbm_tb_s": 1.6})
    assert r["tpot_min_ms"] == pytest.approx(one["tpot_min_ms"] / 2, abs=1e-3)


def test_peaks_from_the_hardware_file_by_npu_smi_name():
    hw = load_hardware()
    for name in ("910B1", "910B2", "910B3", "910B4", "H100-SXM"):
        entry = hw[name]
        assert entry["hbm_tb_s"] > 0 and entry["bf16_tflops"] > 0
        assert entry["source"] and entry["confidence"] in {"high", "medium", "low"}
    assert find_peaks("Ascend910B3")["name"] == "910B3"
    assert find_peaks("910B2C")["name"] == "910B2"
    assert find_peaks("NVIDIA H100 80GB HBM3")["hbm_tb_s"] == 3.35
    assert find_peaks("910B")["name"] == "910B"
    assert find_peaks("Ascend 910B9 (new)")["name"] == "910B"  # unknown variant
    assert find_peaks("TPU v5e") is None


def test_every_910b_variant_says_its_figures_are_uncertain():
    hw = load_hardware()
    variants = sorted(k for k in hw if k.startswith("910B"))
    assert variants == ["910B", "910B1", "910B2", "910B3", "910B4", "910B4-1"]
    assert {hw[k]["confidence"] for k in variants} == {"low"}


def test_unknown_accelerator_without_override_cannot_be_bounded():
    assert analyse(article_like(accelerator="Mystery-1")) is None
    assert analyse(article_like(accelerator="Mystery-1"), {"hbm_tb_s": 2, "bf16_tflops": 100})


def test_unknown_input_length_bounds_decode_by_the_weights_alone():
    doc = article_like(accelerator=None)
    doc["system"]["product"] = "Atlas 800T"  # a server name: 910B of unknown variant
    doc["measurements"]["latency"][0]["workload"]["input_len"] = None
    r = analyse(doc)
    assert r["hardware"]["peaks_from"] == "910B"
    d = r["runs"][0]["decode"]
    assert d["bytes_per_step"] == 15_231_233_024 and d["kv_read_counted"] is False
    assert r["tpot_min_ms"] == pytest.approx(15_231_233_024 / 1.6e12 * 1e3, abs=1e-3)  # 9.52
    assert r["prefill_efficiency_pct"] is None
    assert "input length unknown" in r["runs"][0]["notes"][0]


def test_a_bandwidth_alone_gives_the_decode_bound_only():
    r = analyse(article_like(accelerator="Mystery-1"), {"hbm_tb_s": 1.6})
    assert r["tpot_min_ms"] == pytest.approx(9.675, abs=1e-3)
    assert r["prefill_efficiency_pct"] is None and "prefill" not in r["runs"][0]


def test_model_without_size_cannot_be_bounded():
    doc = article_like()
    del doc["model"]["parameter_count"], doc["model"]["weight_bytes"]
    assert analyse(doc) is None


def test_throughput_runs_get_a_decode_bound_with_their_concurrency_but_no_prefill_bound():
    doc = article_like()
    run = copy.deepcopy(doc["measurements"]["latency"][0])
    run["name"] = "throughput-512-256"
    run["workload"].update(input_len=512, output_len=256, max_concurrency=None)
    run["metrics"].update(achieved_concurrency=100.0, tpot_ms={"median": 40.0})
    doc["measurements"]["throughput"] = [run]
    r = analyse(doc, {"hbm_tb_s": 1.6})
    t = r["runs"][1]
    assert t["decode"]["batch"] == 100.0
    step = 15_231_233_024 + 100 * 57_344 * (512 + 255 / 2)
    assert t["decode"]["bytes_per_step"] == round(step)
    assert "prefill" not in t


def test_cli_prints_the_formula_and_the_efficiencies(tmp_path, capsys):
    f = tmp_path / "article.json"
    f.write_text(json.dumps(article_like()))
    assert main(["roofline", str(f), "--hbm-tb-s", "1.6"]) == 0
    out = capsys.readouterr().out
    assert "TPOT_min = (W + B x kv_bytes_per_token x C) / (n x BW)" in out
    assert "TTFT_min = max(" in out
    assert "55.3" in out and "9.675" in out
    assert "REPORTED" in out


def test_cli_json_and_errors(tmp_path, capsys):
    f = tmp_path / "article.json"
    f.write_text(json.dumps(article_like()))
    assert main(["roofline", str(f), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["hardware"]["peaks_from"] == "910B" and r["hardware"]["hbm_tb_s"] == 1.6
    assert main(["roofline", str(f), "--tflops", "-1"]) == 2
    assert "--tflops" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {}}))
    assert main(["roofline", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and err.count("\n") == 1
