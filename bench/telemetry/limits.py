"""Power ratings the validator holds a sampled NPU's power against, each with its basis.

The check exists to catch a wrong unit or a misread column (milliwatts as watts, a card's
power summed twice), never an honest reading; so each rating is the highest public figure,
and a sample may exceed it by RATING_MARGIN before it is flagged (short peaks above a
design power are real). No Huawei datasheet with per-variant 910B power was found: the
ratings are of low confidence and say so in the message.
"""

from __future__ import annotations

from bench.roofline import find_peaks

RATING_MARGIN = 0.25
# Chip key (as bench/data/hardware.toml names it, aliases resolved) -> (watts, basis).
RATED_POWER_W: dict[str, tuple[float, str]] = {
    "910B": (400.0, "public 910B figures range 310 to 400 W; no primary datasheet found"),
    "910B1": (400.0, "public 910B figures range 310 to 400 W; no primary datasheet found"),
    "910B2": (400.0, "public 910B figures range 310 to 400 W; no primary datasheet found"),
    "910B3": (400.0, "public 910B figures range 310 to 400 W; no primary datasheet found"),
    "910B4": (400.0, "public 910B figures range 310 to 400 W; no primary datasheet found"),
    "910B4-1": (400.0, "public 910B figures range 310 to 400 W; no primary datasheet found"),
    "H100-SXM": (700.0, "NVIDIA H100 datasheet: SXM5 up to 700 W"),
    "A100-SXM-80GB": (400.0, "NVIDIA A100 datasheet: SXM 400 W"),
}
# An accelerator the table does not know: no single accelerator card draws more than this.
UNKNOWN_CHIP_CEILING_W = 1500.0


def rated_power_w(name: str | None) -> tuple[float, str]:
    """(the rating one NPU is held to, its basis) for a chip name as npu-smi prints it."""
    entry = find_peaks(name) if name else None
    key = entry["name"] if entry else None
    if key in RATED_POWER_W:
        return RATED_POWER_W[key]
    return UNKNOWN_CHIP_CEILING_W, f"no rating known for {name!r}: the ceiling of any one card"
