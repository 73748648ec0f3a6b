"""docs/telemetry.md says what the code does: its flags, every engine's metric names, the
constants of the energy rule and the power ratings."""

from __future__ import annotations

from dataclasses import fields

import pytest

from bench.telemetry import energy, limits
from bench.telemetry.engines import ENGINES
from tests.conftest import REPO


@pytest.fixture(scope="module")
def docs() -> str:
    return (REPO / "docs" / "telemetry.md").read_text(encoding="utf-8")


def test_every_flag_is_documented(docs):
    for flag in ("--npu-smi PATH", "--telemetry-interval S", "--no-telemetry", "--npu-smi-dir"):
        assert f"`{flag}" in docs, flag


def test_every_metric_name_the_kit_reads_is_in_the_mapping_table(docs):
    for names in ENGINES:
        for f in fields(names):
            value = getattr(names, f.name)
            values = value if isinstance(value, tuple) else (value,)
            for name in values:
                if isinstance(name, str) and name.startswith(names.prefix) and f.name != "prefix":
                    assert f"`{name}`" in docs, name


def test_the_documented_constants_are_the_codes(docs):
    assert f"longer than **{energy.MAX_GAP_INTERVALS} intervals**" in docs
    assert f"longer than {energy.GAP_INTERVALS} intervals" in docs
    assert f"+ {limits.RATING_MARGIN:.0%}" in docs
    assert f"{limits.RATED_POWER_W['910B'][0]:.0f} W for the 910B family" in docs
    assert f"{limits.UNKNOWN_CHIP_CEILING_W:,.0f} W for a chip" in docs
