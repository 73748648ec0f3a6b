"""NPUs used by tensor/data/pipeline parallelism, the per-NPU count a result records, and
the nodes of a multi-node server (`bench run --node-env`)."""

from __future__ import annotations

import json

import pytest

from bench.errors import InputError, UsageError
from bench.result import accelerator_count, server_section, system_of, used_accelerators
from bench.system.nodes import nodes_section, parse_node_env
from bench.system.parallel import describe, npus_of_args, npus_used
from bench.validate.checks_parallel import check_ranks_and_nodes


@pytest.mark.parametrize(
    ("tp", "dp", "pp", "dp_attention", "npus"),
    [(1, 1, 1, False, 1), (8, 1, 1, False, 8), (1, 8, 1, False, 8), (2, 4, 1, False, 8),
     (4, 2, 2, False, 16), (8, 4, 1, True, 8), (16, 1, 1, False, 16)],
)  # fmt: skip
def test_npus_used_follows_sglang(tp, dp, pp, dp_attention, npus):
    assert npus_used(tp, dp, pp, dp_attention) == npus


def test_npus_of_args_reads_a_self_report_and_ignores_junk():
    assert npus_of_args({"tp_size": 2, "dp_size": 4}) == 8
    assert npus_of_args({"tp_size": 8, "dp_size": 8, "enable_dp_attention": True}) == 8
    assert npus_of_args({"tp_size": 16, "dp_size": None, "nnodes": 2}) == 16  # over 2 nodes
    assert npus_of_args({"tp_size": 2, "dp_size": True}) == 2  # a bool is not a size
    assert npus_of_args({"dp_size": 4}) is None
    assert npus_of_args({"tp_size": 0}) is None
    assert npus_of_args(None) is None
    assert accelerator_count({"tp_size": 1, "dp_size": 4}) == 4


def test_describe_names_what_is_set():
    assert describe({"tp_size": 8}) == "tp_size 8 x dp_size 1"
    assert describe({"tp_size": 16, "dp_size": 1, "nnodes": 2}) == (
        "tp_size 16 x dp_size 1 over 2 nodes"
    )
    text = describe({"tp_size": 8, "dp_size": 8, "pp_size": 2, "enable_dp_attention": True})
    assert text == "tp_size 8 x dp_size 8 x pp_size 2 (DP attention: dp inside tp)"


def test_a_measured_run_counts_the_npus_the_server_uses_not_those_npu_smi_lists():
    system = {"accelerator": {"name": "910B3", "count": 8}, "host": {}}
    out, notes = used_accelerators(system, {"tp_size": 2, "dp_size": 1})
    assert out["accelerator"] == {"name": "910B3", "count": 2}
    assert system["accelerator"]["count"] == 8  # the input is not changed
    assert notes == [
        "system.accelerator.count = 2 NPUs the server uses (tp_size 2 x dp_size 1); "
        "npu-smi on the client's host lists 8"
    ]
    assert used_accelerators(system, None) == (system, [])  # no self-report: as captured
    assert used_accelerators(system, {"tp_size": 8}) == (system, [])


def test_server_args_record_the_multi_node_and_dp_settings():
    report = {"tp_size": 16, "dp_size": 1, "pp_size": 1, "nnodes": 2, "node_rank": 0,
              "dist_init_addr": "10.0.0.1:20000", "enable_dp_attention": False}  # fmt: skip
    server, _ = server_section(report, {})
    args = server["args"]
    assert (args["nnodes"], args["node_rank"], args["dist_init_addr"]) == (2, 0, "10.0.0.1:20000")
    assert args["enable_dp_attention"] is False and args["pp_size"] == 1
    server, _ = server_section({"tp_size": 1, "nnodes": "2", "enable_dp_attention": 1}, {})
    assert server["args"]["nnodes"] is None and server["args"]["enable_dp_attention"] is None


def _capture(tmp_path, name: str, count: int) -> str:
    path = tmp_path / name
    env = {
        "system": {
            "product": "Huawei Atlas 800T A2",
            "accelerator": {"name": "910B3", "count": count, "hbm_capacity_gib": 64.0},
            "host": {"cpu_model": "Kunpeng-920", "architecture": "aarch64"},
        },
        "software": {},
    }
    path.write_text(json.dumps(env))
    return str(path)


def test_node_captures_become_system_nodes_and_missing_nodes_are_named(tmp_path):
    a = _capture(tmp_path, "node-0.json", 8)
    b = _capture(tmp_path, "node-1.json", 8)
    nodes, notes = nodes_section(
        [parse_node_env(f"1={b}"), parse_node_env(f"0={a}")], {"nnodes": 2}
    )
    assert [(n["node_rank"], n["source"], n["accelerator"]["count"]) for n in nodes] == [
        (0, a, 8),
        (1, b, 8),
    ]
    assert notes == []
    nodes, notes = nodes_section([(0, tmp_path / "node-0.json")], {"nnodes": 2})
    assert notes == [
        "the server spans 2 nodes (its nnodes); no environment capture for node rank 1 "
        "(bench run --node-env RANK=FILE)"
    ]
    _, notes = nodes_section([(3, tmp_path / "node-0.json")], {"nnodes": 2})
    assert "names node rank 3, but the server reports nnodes 2" in notes[-1]
    assert nodes_section([], {"tp_size": 1}) == ([], [])


def test_bad_node_captures_are_refused_with_one_line(tmp_path):
    for text in ("node.json", "x=node.json", "1="):
        with pytest.raises(UsageError, match="RANK=FILE"):
            parse_node_env(text)
    a = _capture(tmp_path, "node-0.json", 8)
    with pytest.raises(UsageError, match="node rank 0 more than once"):
        nodes_section([(0, a), (0, a)], None)
    (tmp_path / "bad.json").write_text('{"system": {}}')
    with pytest.raises(InputError, match="not a `bench env --json` capture"):
        nodes_section([(1, tmp_path / "bad.json")], None)
    with pytest.raises(InputError, match="cannot read"):
        nodes_section([(1, tmp_path / "absent.json")], None)


def test_every_node_captured_must_hold_the_npus_the_server_uses():
    doc = {
        "server": {"args": {"nnodes": 2}, "self_report": {"tp_size": 16}},
        "system": {
            "nodes": [
                {"node_rank": 0, "source": "a", "accelerator": {"count": 8}},
                {"node_rank": 1, "source": "b", "accelerator": {"count": 4}},
            ]
        },
    }
    (issue,) = check_ranks_and_nodes(doc)
    assert issue.pointer == "/system/nodes"
    assert issue.message == "the 2 nodes list 12 NPUs; the server uses 16"
    doc["system"]["nodes"][1]["accelerator"]["count"] = 8
    assert check_ranks_and_nodes(doc) == []
    doc["system"]["nodes"][1]["node_rank"] = 0
    assert [i.message for i in check_ranks_and_nodes(doc)] == ["node 0 twice"]


def test_every_document_builder_takes_its_system_from_one_rule_by_kind():
    # bench run and a study's cells both call system_of: a measured cell counts the NPUs its
    # server uses, a simulated one names the simulated NPU
    system = {"accelerator": {"name": "910B3", "count": 8}, "host": {}, "missing": {}}
    measured, notes = system_of("measured", system, {"tp_size": 2, "dp_size": 1})
    assert measured["accelerator"]["count"] == 2 and len(notes) == 1
    report = {"tp_size": 1, "simulated": True, "simulator": {"device_name": "Ascend910B3"}}
    simulated, notes = system_of("simulated", system, report)
    assert simulated["accelerator"]["name"] == "Ascend910B3" and notes == []
    assert simulated["product"].startswith("simulated by bench sim")
