"""Device memory from Ascend's `npu-smi`: the `info` table, `-t usages` and `-t board`.

`npu-smi info` prints two rows per chip:

    | 0     910B3         | OK           | 94.7        54                0    / 0          |
    | 0                   | 0000:C1:00.0 | 0           0    / 0          3396 / 65536      |

(columns narrowed here) the first with NPU id, chip name, health, `Power(W)` and `Temp(C)`
(power is `NA` on some cards and `-` on the second chip of an Atlas A3 NPU, which reports
once per NPU), the second with chip id (and, on Atlas A3, the physical id), bus id, AICore %,
`Memory-Usage(MB)` (DDR) and `HBM-Usage(MB)` as `used / total`.
Some drivers print `58626/ 65536` with no space. A3 boards repeat the NPU id once per chip.
A process table may follow (`| NPU  Chip | Process id | Process name | Process memory(MB) |`,
the name may be blank, a fifth column `Process id in container` may be present), or
`No running processes found in NPU N`. "MB" here is MiB (npu-smi reports 64 GB HBM as 65536).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from bench.errors import InputError

NPU_SMI_TIMEOUT_S = 15

_PAIR = r"(\d+)\s*/\s*(\d+)"
_ROW1_ID = re.compile(r"^(\d+)\s+(\S.*?)$")
_ROW2_ID = re.compile(r"^(\d+)(?:\s+(\d+))?$")
_ROW2_DATA = re.compile(r"^(\d+|-|NA)\s+" + _PAIR + r"(?:\s+" + _PAIR + r")?$")
_BUS = re.compile(r"^[0-9A-Fa-fx]{4}:[0-9A-Fa-fx]{2}:[0-9A-Fa-fx]{2}\.[0-9A-Fa-fx]$")
_VERSION = re.compile(r"npu-smi\s+(\S+)\s+Version:\s*(\S+)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _number(text: str | None) -> float | None:
    """A reading as npu-smi prints it; `NA`, `-` and blanks are None."""
    return float(text) if text is not None and _NUMBER.fullmatch(text) else None


@dataclass(frozen=True)
class NpuDevice:
    """One chip as the table shows it. Memory in MiB."""

    index: int  # NPU id
    chip: int
    name: str
    health: str | None
    hbm_used_mib: int | None
    hbm_total_mib: int | None
    ddr_used_mib: int | None
    ddr_total_mib: int | None
    phy_id: int | None = None
    bus_id: str | None = None
    power_w: float | None = None  # `Power(W)` of row 1; None for `NA` or `-`
    temperature_c: float | None = None  # `Temp(C)` of row 1
    aicore_pct: float | None = None  # `AICore(%)` of row 2


@dataclass(frozen=True)
class NpuProcess:
    index: int
    chip: int
    pid: int
    name: str
    memory_mib: int


@dataclass(frozen=True)
class NpuSmiInfo:
    version: str | None
    devices: tuple[NpuDevice, ...]
    processes: tuple[NpuProcess, ...]


def _cells(line: str) -> list[str] | None:
    s = line.strip()
    if not (s.startswith("|") and s.endswith("|")):
        return None
    return [c.strip() for c in s[1:-1].split("|")]


def parse_npu_smi_info(text: str) -> NpuSmiInfo:
    """Parse `npu-smi info`. Raises InputError when no chip rows are found."""
    version = m.group(2) if (m := _VERSION.search(text)) else None
    devices: list[NpuDevice] = []
    processes: list[NpuProcess] = []
    in_processes = False
    pending: tuple[int, str, str, list[str]] | None = None  # npu id, name, health, readings
    for line in text.splitlines():
        cells = _cells(line)
        if cells is None:
            continue
        if any("Process id" in c for c in cells):
            in_processes = True
            continue
        if in_processes:
            ids = _ROW2_ID.match(cells[0]) if len(cells) >= 4 else None
            if ids and ids.group(2) and cells[1].isdigit() and cells[-1].isdigit():
                processes.append(
                    NpuProcess(
                        index=int(ids.group(1)),
                        chip=int(ids.group(2)),
                        pid=int(cells[1]),
                        name=cells[2],
                        memory_mib=int(cells[3]) if cells[3].isdigit() else int(cells[-1]),
                    )
                )
            continue
        if len(cells) < 3:
            continue
        if (r1 := _ROW1_ID.match(cells[0])) and not _BUS.match(cells[1]):
            pending = (int(r1.group(1)), r1.group(2), cells[1] or None, cells[2].split())
            continue
        r2 = _ROW2_ID.match(cells[0])
        data = _ROW2_DATA.match(re.sub(r"\s+", " ", cells[2]))
        if pending and r2 and _BUS.match(cells[1]) and data:
            a, b, c, d = (data.group(i) for i in (2, 3, 4, 5))
            hbm = (int(c), int(d)) if c is not None else (None, None)
            ddr = (int(a), int(b))
            if c is None:  # one pair only (310P-style): that pair is the device memory
                hbm, ddr = ddr, (None, None)
            readings = pending[3] + [None, None]  # Power(W), Temp(C), Hugepages...
            devices.append(
                NpuDevice(
                    index=pending[0],
                    chip=int(r2.group(1)),
                    name=pending[1],
                    health=pending[2],
                    hbm_used_mib=hbm[0],
                    hbm_total_mib=hbm[1],
                    ddr_used_mib=ddr[0],
                    ddr_total_mib=ddr[1],
                    phy_id=int(r2.group(2)) if r2.group(2) else None,
                    bus_id=cells[1],
                    power_w=_number(readings[0]),
                    temperature_c=_number(readings[1]),
                    aicore_pct=_number(data.group(1)),
                )
            )
            pending = None
    if not devices:
        raise InputError("npu-smi output has no NPU rows (expected the `npu-smi info` table)")
    return NpuSmiInfo(version=version, devices=tuple(devices), processes=tuple(processes))


def key_values(text: str) -> list[tuple[str, str]]:
    """Every `Key : value` line of npu-smi's `-t` outputs, in order (keys may repeat)."""
    out = []
    for line in text.splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            if key.strip():
                out.append((key.strip(), value.strip()))
    return out


def parse_npu_smi_usages(text: str) -> list[dict]:
    """`npu-smi info -t usages -i N`: one dict per chip (keys before each `Chip ID` line).

    It gives capacity and a usage *rate* in whole percent, not MiB in use: `hbm_used_mib` is
    capacity x rate / 100, good to 1% of capacity (655 MiB on a 64 GB chip). Older or other
    chips print `Memory Capacity(MB)` / `Memory Usage Rate(%)` instead of the HBM keys.
    """
    npu_id = None
    chips: list[dict] = []
    block: dict[str, str] = {}
    for key, value in key_values(text):
        if key == "NPU ID":
            npu_id = int(value) if value.isdigit() else None
        elif key == "Chip ID":
            cap = block.get("HBM Capacity(MB)", block.get("Memory Capacity(MB)"))
            rate = block.get("HBM Usage Rate(%)", block.get("Memory Usage Rate(%)"))
            total = int(cap) if cap and cap.isdigit() else None
            pct = float(rate) if rate and re.fullmatch(r"\d+(\.\d+)?", rate) else None
            chips.append(
                {
                    "index": npu_id,
                    "chip": int(value) if value.isdigit() else None,
                    "hbm_total_mib": total,
                    "hbm_usage_pct": pct,
                    "hbm_used_mib": round(total * pct / 100) if total and pct is not None else None,
                }
            )
            block = {}
        else:
            block[key] = value
    if not chips:
        raise InputError("npu-smi usages output has no `Chip ID` line (expected `-t usages`)")
    return chips


def parse_npu_smi_board(text: str) -> dict:
    """`npu-smi info -t board -i N`: driver (`Software Version`) and firmware versions."""
    kv = dict(key_values(text))
    if "NPU ID" not in kv and "Software Version" not in kv:
        raise InputError("npu-smi board output has no `NPU ID` or `Software Version` line")

    def val(key: str) -> str | None:
        v = kv.get(key)
        return v if v and v.upper() != "NA" else None

    return {
        "npu_id": int(kv["NPU ID"]) if kv.get("NPU ID", "").isdigit() else None,
        "driver_version": val("Software Version"),
        "firmware_version": val("Firmware Version"),
        "product_name": val("Product Name"),
        "chip_name": val("Chip Name"),
    }


def run_npu_smi(
    *args: str, timeout: float = NPU_SMI_TIMEOUT_S, program: str = "npu-smi"
) -> tuple[str | None, str | None]:
    """Run `npu-smi ARGS` (`program`: a name looked up on PATH, or a path): (stdout, None)
    or (None, the reason it could not be read)."""
    exe = shutil.which(program)
    if exe is None:
        if program == "npu-smi":
            return None, "npu-smi is not on PATH (no Ascend driver on this machine)"
        return None, f"{program} is not an executable file or a command on PATH"
    try:
        proc = subprocess.run(
            [exe, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"`npu-smi {' '.join(args)}` did not answer within {timeout:g} s"
    except OSError as exc:
        return None, f"`npu-smi {' '.join(args)}` could not run: {exc}"
    if proc.returncode != 0:
        first = (proc.stderr or proc.stdout).strip().splitlines()[:1]
        return None, f"`npu-smi {' '.join(args)}` exited {proc.returncode}: {' '.join(first)}"
    return proc.stdout, None
