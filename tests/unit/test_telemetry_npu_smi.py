"""npu-smi's power, temperature, AI Core and HBM readings: parsed from real outputs, and read
per sample by `NpuSmiReader` through a stand-in npu-smi (subprocess, no NPU)."""

from __future__ import annotations

import pytest

from bench.errors import InputError
from bench.memory.npu_smi import parse_npu_smi_info, parse_npu_smi_usages
from bench.telemetry.npu import NpuSmiReader, ReadError
from bench.telemetry.npu_smi_fields import parse_common, parse_power
from tests.conftest import REPO
from tests.fake_npu_smi import one_910b3, write_fake_npu_smi

TELEMETRY = REPO / "tests" / "fixtures" / "telemetry" / "npu_smi"
MEMORY = REPO / "tests" / "fixtures" / "memory" / "npu_smi"


def text(directory, name: str) -> str:
    return (directory / name).read_text(encoding="utf-8")


def test_the_table_gives_power_temperature_and_aicore_per_chip():
    info = parse_npu_smi_info(text(MEMORY, "910b3_x8_64gb_proc_noname.txt"))
    first = info.devices[0]
    assert (first.power_w, first.temperature_c, first.aicore_pct) == (100.9, 40.0, 0.0)
    assert [d.power_w for d in info.devices] == [100.9, 96.2, 90.5, 97.7, 93.6, 97.0, 100.0, 93.5]
    older = parse_npu_smi_info(text(MEMORY, "910a_x1_32gb_ddr_proc.txt")).devices[0]
    assert (older.power_w, older.temperature_c, older.aicore_pct) == (67.8, 45.0, 12.0)


def test_na_and_dash_power_read_as_unknown():
    card = parse_npu_smi_info(text(TELEMETRY, "info_300iduo_power_na.txt"))
    assert [(d.chip, d.power_w, d.temperature_c) for d in card.devices] == [
        (0, None, 45.0),
        (1, None, 47.0),
    ]
    a3 = parse_npu_smi_info(text(MEMORY, "a3_ascend910_2chips_excerpt.txt"))
    assert [d.power_w for d in a3.devices[:2]] == [178.5, None]  # power once per NPU id


def test_common_on_a_910b_has_the_power_in_the_chip_block():
    info = parse_common(text(TELEMETRY, "common_910b_huawei_doc.txt"))
    assert info.npu == 0 and info.power_w == 69.0
    (chip,) = info.chips
    assert (chip.chip, chip.aicore_pct, chip.hbm_usage_pct, chip.temperature_c) == (0, 0, 0, 46)


def test_common_keeps_the_mcu_block_apart_from_the_chips():
    info = parse_common(text(TELEMETRY, "common_310p_huawei_doc.txt"))
    assert info.power_w == 13.4
    assert [(c.chip, c.temperature_c) for c in info.chips] == [(0, 43.0)]  # mcu's 41 is not a chip
    card = parse_common(text(TELEMETRY, "common_300iduo_2chips_mcu.txt"))
    assert card.npu == 2944 and card.power_w == 42.8
    assert [(c.chip, c.temperature_c) for c in card.chips] == [(0, 45.0), (1, 47.0)]


def test_power_accepts_both_labels():
    assert parse_power(text(TELEMETRY, "power_910b_realtime.txt")) == 103.5
    assert parse_power(text(TELEMETRY, "power_300iduo_dissipation.txt")) == 42.9
    assert parse_power("NPU Real-time Power(W) : NA\n") is None
    with pytest.raises(InputError, match="no `NPU Real-time Power"):
        parse_power("Rated Power Dissipation(W) : 8.0\n")  # a rating, not a reading


def test_usages_with_the_newer_lines_still_give_hbm():
    (chip,) = parse_npu_smi_usages(text(TELEMETRY, "usages_910b_npu_utilization.txt"))
    assert (chip["hbm_total_mib"], chip["hbm_usage_pct"], chip["hbm_used_mib"]) == (65536, 5, 3277)


def test_common_without_a_chip_block_is_an_input_error():
    with pytest.raises(InputError, match="no `Chip ID` block"):
        parse_common("NPU ID : 0\nChip Count : 1\n")


# --- the reader, through a stand-in npu-smi ---------------------------------------------


def test_reader_takes_everything_from_the_table_when_it_has_it(tmp_path):
    exe = write_fake_npu_smi(tmp_path, {"info": one_910b3(power="250.5", hbm="60000")})
    reader = NpuSmiReader(str(exe))
    reader.discover()
    assert reader.npus == [0] and reader.selection == "the NPUs npu-smi lists a process on"
    assert not any(reader.extra.values()) and not reader.simulated
    (reading,) = reader.read()
    assert reading.as_row() == {
        "npu": 0,
        "power_w": 250.5,
        "hbm_used_mib": 60000.0,
        "hbm_total_mib": 65536.0,
        "aicore_util_pct": 73.0,
        "temperature_c": 55.0,
    }


def test_reader_fills_na_power_from_the_power_command(tmp_path):
    exe = write_fake_npu_smi(
        tmp_path,
        {
            "info": text(TELEMETRY, "info_300iduo_power_na.txt"),
            "info -t power -i 2944": text(TELEMETRY, "power_300iduo_dissipation.txt"),
        },
    )
    reader = NpuSmiReader(str(exe))
    reader.discover()
    assert reader.selection == "every NPU npu-smi lists (it lists no process)"
    (card,) = reader.read()  # two chips, one NPU id: summed memory, the card's power
    assert (card.index, card.power_w, card.temperature_c) == (2944, 42.9, 47.0)
    assert (card.hbm_used_mib, card.hbm_total_mib) == (1255 + 1472, 44278 + 43693)


def test_reader_failures_are_read_errors_with_the_reason(tmp_path):
    with pytest.raises(ReadError, match="not an executable file or a command on PATH"):
        NpuSmiReader(str(tmp_path / "missing")).discover()
    exe = write_fake_npu_smi(tmp_path / "bad", {"info": "no table here\n"})
    with pytest.raises(ReadError, match="unparsable"):
        NpuSmiReader(str(exe)).discover()


def test_reader_takes_the_power_from_common_when_the_power_command_has_none(tmp_path):
    exe = write_fake_npu_smi(
        tmp_path,
        {
            "info": text(TELEMETRY, "info_300iduo_power_na.txt"),
            "info -t power -i 2944": "\tNPU ID : 2944\n\tPower Dissipation(W) : NA\n",
            "info -t common -i 2944": text(TELEMETRY, "common_300iduo_2chips_mcu.txt"),
        },
    )
    reader = NpuSmiReader(str(exe))
    reader.discover()
    assert reader.read()[0].power_w == 42.8
