"""Read the NPUs with the installed `npu-smi`: one reading per NPU per sample.

The `npu-smi info` table gives every NPU's power, temperature, AI Core % and HBM in use (in
MiB) in one call, so each sample runs it once. What the table leaves blank on this driver
(`NA` power on Atlas 300I cards, say) is read per NPU with the command that has it: power
from `-t power` (else `-t common`), AI Core % and temperature from `-t common`, HBM from
`-t usages` (a whole-percent rate of capacity, so good to 1% of it). Which commands are
needed is decided once, from the first table.

Which NPUs: those the table lists a process on (the server's, on a host that runs only the
server), else every NPU it lists; `NpuSmiReader.selection` says which rule chose them.
An NPU id with two chips (Atlas A3) is one NPU here: its chips' power and HBM are summed,
AI Core % averaged, the hotter temperature kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.errors import InputError
from bench.memory.npu_smi import (
    NpuDevice,
    parse_npu_smi_info,
    parse_npu_smi_usages,
    run_npu_smi,
)
from bench.telemetry.npu_smi_fields import parse_common, parse_power

SIMULATED_VERSION_PREFIX = "bench-sim"  # `bench sim --npu-smi-dir` prints this as its version
READ_TIMEOUT_S = 10.0


class ReadError(Exception):
    """npu-smi could not be run or read this time; the sampler records it and goes on."""


@dataclass(frozen=True)
class NpuReading:
    index: int
    name: str
    power_w: float | None
    hbm_used_mib: float | None
    hbm_total_mib: float | None
    aicore_util_pct: float | None
    temperature_c: float | None

    def as_row(self) -> dict:
        return {
            "npu": self.index,
            "power_w": self.power_w,
            "hbm_used_mib": self.hbm_used_mib,
            "hbm_total_mib": self.hbm_total_mib,
            "aicore_util_pct": self.aicore_util_pct,
            "temperature_c": self.temperature_c,
        }


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def combine(index: int, chips: list[NpuDevice]) -> NpuReading:
    """One NPU's reading from its chips' table rows."""
    util = [c.aicore_pct for c in chips if c.aicore_pct is not None]
    temps = [c.temperature_c for c in chips if c.temperature_c is not None]
    return NpuReading(
        index=index,
        name=chips[0].name,
        power_w=_sum([c.power_w for c in chips]),
        hbm_used_mib=_sum([c.hbm_used_mib for c in chips]),
        hbm_total_mib=_sum([c.hbm_total_mib for c in chips]),
        aicore_util_pct=sum(util) / len(util) if util else None,
        temperature_c=max(temps) if temps else None,
    )


def choose_npus(info) -> tuple[list[int], str]:
    """(NPU ids, how they were chosen) from a parsed `npu-smi info` table."""
    listed = sorted({d.index for d in info.devices})
    busy = sorted({p.index for p in info.processes} & set(listed))
    if busy:
        return busy, "the NPUs npu-smi lists a process on"
    return listed, "every NPU npu-smi lists (it lists no process)"


class NpuSmiReader:
    """Reads the chosen NPUs; `discover()` first, then `read()` once per sample."""

    def __init__(self, program: str = "npu-smi", timeout_s: float = READ_TIMEOUT_S) -> None:
        self.program = program
        self.timeout_s = timeout_s
        self.npus: list[int] = []
        self.names: dict[int, str] = {}
        self.selection = ""
        self.version: str | None = None
        self.extra: dict[str, bool] = {"power": False, "common": False, "usages": False}

    @property
    def simulated(self) -> bool:
        return bool(self.version and self.version.startswith(SIMULATED_VERSION_PREFIX))

    def _run(self, *args: str) -> str:
        text, reason = run_npu_smi(*args, timeout=self.timeout_s, program=self.program)
        if text is None:
            raise ReadError(reason)
        return text

    def _table(self):
        try:
            return parse_npu_smi_info(self._run("info"))
        except InputError as exc:
            raise ReadError(f"`npu-smi info` unparsable: {exc}") from None

    def discover(self) -> None:
        """Choose the NPUs and the commands each sample needs. Raises ReadError."""
        info = self._table()
        self.version = info.version
        self.npus, self.selection = choose_npus(info)
        first = {i: combine(i, [d for d in info.devices if d.index == i]) for i in self.npus}
        self.names = {i: r.name for i, r in first.items()}
        readings = list(first.values())
        self.extra["power"] = any(r.power_w is None for r in readings)
        self.extra["common"] = any(
            r.aicore_util_pct is None or r.temperature_c is None for r in readings
        )
        self.extra["usages"] = any(r.hbm_used_mib is None for r in readings)

    def read(self) -> list[NpuReading]:
        """One reading of every chosen NPU. Raises ReadError."""
        info = self._table()
        out = []
        for index in self.npus:
            chips = [d for d in info.devices if d.index == index]
            if not chips:
                raise ReadError(f"NPU {index} is missing from `npu-smi info`")
            out.append(self._fill(combine(index, chips)))
        return out

    def _fill(self, r: NpuReading) -> NpuReading:
        """What the table left blank, from the per-NPU commands chosen at discovery."""
        power, util, temp = r.power_w, r.aicore_util_pct, r.temperature_c
        used, total = r.hbm_used_mib, r.hbm_total_mib
        i = str(r.index)
        try:
            if self.extra["power"] and power is None:
                power = parse_power(self._run("info", "-t", "power", "-i", i))
            if self.extra["common"] or power is None:
                common = parse_common(self._run("info", "-t", "common", "-i", i))
                chip_util = [c.aicore_pct for c in common.chips if c.aicore_pct is not None]
                chip_temp = [c.temperature_c for c in common.chips if c.temperature_c is not None]
                if util is None and chip_util:
                    util = sum(chip_util) / len(chip_util)
                if temp is None and chip_temp:
                    temp = max(chip_temp)
                power = power if power is not None else common.power_w
            if self.extra["usages"] and used is None:
                chips = parse_npu_smi_usages(self._run("info", "-t", "usages", "-i", i))
                used = _sum([c["hbm_used_mib"] for c in chips])
                total = _sum([c["hbm_total_mib"] for c in chips])
        except InputError as exc:
            raise ReadError(f"npu-smi output for NPU {i} unparsable: {exc}") from None
        return NpuReading(r.index, r.name, power, used, total, util, temp)
