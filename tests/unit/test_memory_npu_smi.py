"""`npu-smi` output -> chips with HBM used/total (MiB), on real public samples."""

from __future__ import annotations

import pytest

from bench.errors import InputError
from bench.memory.npu_smi import (
    parse_npu_smi_board,
    parse_npu_smi_info,
    parse_npu_smi_usages,
    run_npu_smi,
)


def text(fixtures, name):
    return (fixtures / "memory" / "npu_smi" / name).read_text()


def test_eight_64gb_910b2_without_processes(fixtures):
    info = parse_npu_smi_info(text(fixtures, "910b2_x8_64gb_noproc.txt"))
    assert info.version == "24.1.0.3"
    assert [d.index for d in info.devices] == list(range(8))
    assert {d.name for d in info.devices} == {"910B2"}
    assert [d.hbm_used_mib for d in info.devices] == [
        3375,
        3374,
        3376,
        3379,
        3375,
        3376,
        3377,
        3373,
    ]
    assert {d.hbm_total_mib for d in info.devices} == {65536}
    assert info.processes == ()


def test_four_32gb_910b4(fixtures):
    info = parse_npu_smi_info(text(fixtures, "910b4_x4_32gb_noproc.txt"))
    assert [(d.index, d.hbm_used_mib, d.hbm_total_mib) for d in info.devices] == [
        (0, 2859, 32768),
        (1, 2848, 32768),
        (2, 2847, 32768),
        (3, 2847, 32768),
    ]
    assert info.devices[0].bus_id == "0000:C1:00.0" and info.devices[0].health == "OK"


def test_running_server_with_process_table_and_unspaced_pairs(fixtures):
    info = parse_npu_smi_info(text(fixtures, "910b3_x8_64gb_proc_noname.txt"))
    assert len(info.devices) == 8
    assert info.devices[2].hbm_used_mib == 58627  # printed "58627/ 65536"
    assert [(p.index, p.pid, p.name, p.memory_mib) for p in info.processes][:2] == [
        (0, 71867, "", 55278),
        (1, 71868, "", 55278),
    ]
    assert len(info.processes) == 8


def test_one_910prob_32gb_with_ddr_in_use_and_a_process(fixtures):
    info = parse_npu_smi_info(text(fixtures, "910prob_x1_32gb_proc.txt"))
    (d,) = info.devices
    assert (d.name, d.hbm_used_mib, d.hbm_total_mib) == ("910ProB", 30711, 32768)
    assert (d.ddr_used_mib, d.ddr_total_mib) == (1198, 15137)
    assert [(p.pid, p.name, p.memory_mib) for p in info.processes] == [(55115, "python", 30784)]


def test_atlas_a3_has_two_chips_per_npu_id(fixtures):
    info = parse_npu_smi_info(text(fixtures, "a3_ascend910_2chips_excerpt.txt"))
    assert [(d.index, d.chip, d.phy_id, d.hbm_used_mib) for d in info.devices] == [
        (0, 0, 0, 3416),
        (0, 1, 1, 3195),
        (1, 0, 2, 3415),
    ]


@pytest.mark.parametrize(
    ("name", "chip", "used", "total"),
    [
        ("910b2c_x2_64gb_excerpt.txt", "910B2C", [3455, 3434], 65536),
        ("910b4-1_x2_64gb_excerpt.txt", "910B4-1", [3197, 3197], 65536),
        ("910a_x1_32gb_ddr_proc.txt", "910A", [1024], 32768),
    ],
)
def test_other_variants(fixtures, name, chip, used, total):
    info = parse_npu_smi_info(text(fixtures, name))
    assert {d.name for d in info.devices} == {chip}
    assert [d.hbm_used_mib for d in info.devices] == used
    assert {d.hbm_total_mib for d in info.devices} == {total}


def test_text_without_npu_rows_is_an_input_error():
    with pytest.raises(InputError, match="no NPU rows"):
        parse_npu_smi_info("nvidia-smi says hello\n| 0 | 1 |\n")


def test_usages_capacity_and_rate(fixtures):
    (chip,) = parse_npu_smi_usages(text(fixtures, "usages_910b_64gb_sglang_test.txt"))
    assert chip["index"] == 0 and chip["chip"] == 0
    assert chip["hbm_total_mib"] == 65536 and chip["hbm_usage_pct"] == 3.0
    assert chip["hbm_used_mib"] == 1966  # 65536 x 3 / 100, rounded: the rate is whole percent
    (doc,) = parse_npu_smi_usages(text(fixtures, "usages_910b_32gb_doc.txt"))
    assert (doc["hbm_total_mib"], doc["hbm_used_mib"]) == (32768, 0)


def test_usages_memory_keys_of_other_chips():
    chips = parse_npu_smi_usages(
        "NPU ID : 3\nMemory Capacity(MB) : 65536\nMemory Usage Rate(%) : 50\nChip ID : 0\n"
    )
    assert chips == [
        {
            "index": 3,
            "chip": 0,
            "hbm_total_mib": 65536,
            "hbm_usage_pct": 50.0,
            "hbm_used_mib": 32768,
        }
    ]


def test_usages_without_chip_id_is_an_input_error():
    with pytest.raises(InputError, match="Chip ID"):
        parse_npu_smi_usages("HBM Capacity(MB) : 65536\n")


def test_board_gives_driver_and_firmware(fixtures):
    b = parse_npu_smi_board(text(fixtures, "board_910b_doc.txt"))
    assert (b["npu_id"], b["driver_version"], b["firmware_version"]) == (0, "23.0.5", "7.1.0.7.220")
    b2 = parse_npu_smi_board(text(fixtures, "board_910b2c_excerpt.txt"))
    assert (b2["driver_version"], b2["firmware_version"]) == ("25.2.0", "7.7.0.6.236")
    assert b2["product_name"] == "IT21HMDB02-B2"


def test_run_npu_smi_says_plainly_when_it_is_absent(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    out, reason = run_npu_smi("info")
    assert out is None and "not on PATH" in reason


def test_run_npu_smi_reads_a_stub_on_path(tmp_path, monkeypatch, fixtures):
    stub = tmp_path / "npu-smi"
    sample = fixtures / "memory" / "npu_smi" / "910b4_x4_32gb_noproc.txt"
    stub.write_text(f"#!/bin/sh\ncat '{sample}'\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    out, reason = run_npu_smi("info")
    assert reason is None and len(parse_npu_smi_info(out).devices) == 4


def test_run_npu_smi_gives_up_on_a_hung_driver(tmp_path, monkeypatch):
    stub = tmp_path / "npu-smi"
    stub.write_text("#!/bin/sh\nexec sleep 30\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    out, reason = run_npu_smi("info", timeout=0.5)
    assert out is None and "did not answer within 0.5 s" in reason
