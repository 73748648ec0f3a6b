"""The readings `npu-smi info -t common -i N` and `npu-smi info -t power -i N` print.

`-t common` (910B, from Huawei's npu-smi reference as GPUStack quotes it):

    NPU ID                         : 0
    Chip Count                     : 1

    Chip ID                        : 0
    Memory Usage Rate(%)           : 6
    HBM Usage Rate(%)              : 0
    Aicore Usage Rate(%)           : 0
    ...
    Temperature(C)                 : 46
    NPU Real-time Power(W)         : 69.0

Each `Chip ID` line opens a chip's block; a `Chip Name : mcu` line opens the board
controller's block (Atlas 300I cards), whose temperature is not a chip's and whose power is
the card's. `-t power` prints one power line for the NPU: `NPU Real-time Power(W)` on the
910 series and 310P, `Power Dissipation(W)` on boards npu-smi does not count as an NPU type
(the Atlas 300I Duo card prints it, with `Chip Name : MCU`). The 310's `Rated Power
Dissipation(W)` is a rating, not a reading, and is not taken. `NA` reads as unknown.

The `npu-smi info` table and `-t usages` are parsed by `bench.memory.npu_smi`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.errors import InputError
from bench.memory.npu_smi import key_values

POWER_LABELS = ("NPU Real-time Power(W)", "Power Dissipation(W)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def reading(value: str | None) -> float | None:
    """A number as npu-smi prints it; `NA`, `-` and anything else are None."""
    return float(value) if value is not None and _NUMBER.fullmatch(value.strip()) else None


@dataclass(frozen=True)
class ChipCommon:
    chip: int
    aicore_pct: float | None
    hbm_usage_pct: float | None
    temperature_c: float | None


@dataclass(frozen=True)
class CommonInfo:
    npu: int | None
    chips: tuple[ChipCommon, ...]
    power_w: float | None  # the NPU's (or card's) power, wherever the output prints it


def parse_common(text: str) -> CommonInfo:
    """Parse `npu-smi info -t common -i N`. Raises InputError when no chip block is found."""
    npu: int | None = None
    chips: list[ChipCommon] = []
    block: dict[str, str] | None = None
    chip_id = -1
    powers: list[float] = []

    def close() -> None:
        if block is not None and chip_id >= 0:
            chips.append(
                ChipCommon(
                    chip=chip_id,
                    aicore_pct=reading(block.get("Aicore Usage Rate(%)")),
                    hbm_usage_pct=reading(block.get("HBM Usage Rate(%)")),
                    temperature_c=reading(block.get("Temperature(C)")),
                )
            )

    for key, value in key_values(text):
        if key == "NPU ID":
            npu = int(value) if value.isdigit() else None
        elif key == "Chip ID":
            close()
            block, chip_id = {}, int(value) if value.isdigit() else -1
        elif key == "Chip Name":  # the board controller: not a chip
            close()
            block, chip_id = {}, -1
        elif key in POWER_LABELS:
            if (watts := reading(value)) is not None:
                powers.append(watts)
        elif block is not None:
            block[key] = value
    close()
    if not chips:
        raise InputError("npu-smi common output has no `Chip ID` block (expected `-t common`)")
    return CommonInfo(npu=npu, chips=tuple(chips), power_w=sum(powers) if powers else None)


def parse_power(text: str) -> float | None:
    """The power `npu-smi info -t power -i N` reports (W), summed when it prints one line per
    chip; None when it prints `NA`. Raises InputError when there is no power line at all."""
    values = [value for key, value in key_values(text) if key in POWER_LABELS]
    if not values:
        labels = " or ".join(f"`{label}`" for label in POWER_LABELS)
        raise InputError(f"npu-smi power output has no {labels} line")
    watts = [w for w in (reading(v) for v in values) if w is not None]
    return sum(watts) if watts else None
