"""Assembling the result document: kind, server section, paths that overwrite nothing."""

from __future__ import annotations

import pytest

from bench import result
from bench.errors import OutputExistsError

SIM_REPORT = {"simulated": True, "tp_size": 1, "mem_fraction_static": 0.9, "version": "0.5.3"}


def test_kind_is_simulated_only_when_the_server_says_so():
    assert result.document_kind(SIM_REPORT) == "simulated"
    assert result.document_kind({"version": "0.5.3", "tp_size": 1}) == "measured"
    assert result.document_kind({"simulated": "yes"}) == "measured"  # only JSON true counts
    assert result.document_kind(None) == "measured"


def test_server_args_come_from_the_self_report_and_contradictions_are_noted():
    report = {"tp_size": 1, "mem_fraction_static": 0.8, "attention_backend": "ascend"}
    server, notes = result.server_section(report, {"mem_fraction_static": 0.9, "tp_size": 1})
    assert server["args"]["mem_fraction_static"] == 0.8
    assert server["self_report"] is report
    assert notes == ["the server reports mem_fraction_static = 0.8; the profile expects 0.9"]


def test_server_args_fall_back_to_the_profile_without_a_self_report():
    server, notes = result.server_section(None, {"mem_fraction_static": 0.9, "tp_size": 1})
    assert server["args"]["mem_fraction_static"] == 0.9
    assert server["args"]["dp_size"] is None
    assert server["self_report"] is None and notes == []


def test_wrongly_typed_self_report_values_are_not_copied():
    server, _ = result.server_section({"tp_size": "1", "max_total_num_tokens": -5}, {})
    assert server["args"]["tp_size"] is None
    assert server["max_total_num_tokens"] is None


def test_model_id_is_the_profiles_hub_id_only_when_the_server_serves_that_model():
    assert result.model_id("Qwen/Qwen2-7B-Instruct", "/models/Qwen/Qwen2-7B-Instruct") == (
        "Qwen/Qwen2-7B-Instruct",
        [],
    )
    assert result.model_id("Qwen/Qwen2-7B-Instruct", "./models/qwen/Qwen2-7B-Instruct/")[0] == (
        "Qwen/Qwen2-7B-Instruct"
    )
    served, notes = result.model_id("Qwen/Qwen2-7B-Instruct", "tiny-llama")
    assert served == "tiny-llama"
    assert notes == ["the server serves 'tiny-llama'; the profile expects 'Qwen/Qwen2-7B-Instruct'"]
    assert result.model_id(None, None) == ("unknown", [])
    assert result.served_model({"model_path": "/m", "served_model_name": "s"}) == "s"


def test_model_section_keeps_a_real_dtype_only():
    assert result.model_section("m", {"dtype": "auto"}) == {
        "id": "m",
        "source": "unknown",
        "revision": None,
        "dtype": None,
    }
    assert result.model_section("m", {"dtype": "bfloat16"})["dtype"] == "bfloat16"


def test_default_paths_get_a_suffix_instead_of_overwriting(tmp_path):
    first, records = result.output_paths(None, tmp_path, "seed-simulated-1")
    assert (first.name, records.name) == ("seed-simulated-1.json", "seed-simulated-1.records")
    first.write_text("{}")
    second, _ = result.output_paths(None, tmp_path, "seed-simulated-1")
    assert second.name == "seed-simulated-1-2.json"
    (tmp_path / "seed-simulated-1-2.records").mkdir()
    third, _ = result.output_paths(None, tmp_path, "seed-simulated-1")
    assert third.name == "seed-simulated-1-3.json"


def test_a_named_out_file_that_exists_is_refused(tmp_path):
    out = tmp_path / "mine.json"
    assert result.output_paths(out, tmp_path, "x") == (out, tmp_path / "mine.records")
    out.write_text("{}")
    with pytest.raises(OutputExistsError, match="exists") as refused:
        result.output_paths(out, tmp_path, "x")
    assert refused.value.exit_code == 1  # as for every command whose output exists


def test_records_paths_become_relative_to_the_document(tmp_path):
    run = {"name": "r", "records": {"path": str(tmp_path / "d.records" / "r.jsonl")}}
    rel = result.relative_records(run, tmp_path / "d.json")
    assert rel["records"]["path"] == "d.records/r.jsonl"
    assert run["records"]["path"].startswith("/")  # the input is not changed


def test_document_keys_come_in_the_schema_order_with_schema_version_first():
    env = {
        "system": {},
        "software": {"engine": {"name": "bench-sim"}},
        "provenance": {"kit_version": "0.1.0", "git_commit": None, "git_dirty": None},
    }
    doc = result.assemble_document(
        kind="simulated",
        submitter="me",
        title="t",
        environment=env,
        commands=["python -m bench run --profile quick --base-url http://127.0.0.1:1"],
        profile={"name": "quick"},
        model={"id": "m"},
        server={"args": {}},
        throughput=[],
        latency=[],
        memory=None,
        accuracy=None,
        notes=["a", "b"],
        created_utc="2026-01-01T00:00:00Z",
    )
    assert list(doc)[:3] == ["schema_version", "kind", "created_utc"]
    assert doc["notes"] == "a; b"
    assert doc["provenance"]["profile"] == {"name": "quick"}
    assert doc["provenance"]["commands"][0].startswith("python -m bench run")


def test_a_simulated_system_names_the_simulated_npu_not_this_host():
    system = {
        "product": None,
        "accelerator": {"name": None, "count": None},
        "host": {"cpu_count": 2},
        "missing": {"product": "no DMI", "accelerator.name": "npu-smi is not on PATH"},
    }
    report = {
        "tp_size": 1,
        "simulator": {"profile": "p", "device_name": "Ascend910B3", "hbm_gib": 64},
    }
    out = result.simulated_system(system, report)
    assert out["product"] == "simulated by bench sim (profile p)"
    assert out["accelerator"]["name"] == "Ascend910B3"
    assert (out["accelerator"]["count"], out["accelerator"]["hbm_capacity_gib"]) == (1, 64.0)
    assert out["host"] == {"cpu_count": 2}
    assert "accelerator.name" not in out["missing"]
    assert out["missing"]["accelerator.driver_version"] == "simulated: no NPU driver"


def test_per_npu_rate_divides_by_tp_times_dp():
    assert result.accelerator_count({"tp_size": 2, "dp_size": 2}) == 4
    assert result.accelerator_count({"tp_size": "2"}) is None
    run = {"metrics": {"output_throughput_tok_s": 300.0}}
    assert result.with_per_npu_rate(run, 4)["metrics"]["output_throughput_per_npu_tok_s"] == 75.0
    assert result.with_per_npu_rate(run, None) is run
