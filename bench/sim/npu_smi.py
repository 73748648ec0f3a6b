"""A stand-in `npu-smi` for the simulated NPU (`bench sim --npu-smi-dir DIR`).

`bench sim` writes `DIR/npu-smi`, a small Python script that asks the running simulator for
its NPU's state (`GET /_sim/npu`, see `bench.sim.npu`) and prints it in the real tool's
formats: the `npu-smi info` table (910B3 layout, one NPU, the simulator's process listed)
and `npu-smi info -t common|usages|power -i 0`. Its version reads `bench-sim-<kit version>`,
which is how the kit's sampler knows the readings are simulated. Anything else it is asked
(`-t board`, another NPU id) it refuses as npu-smi refuses what a board does not support.
This module imports only the standard library: the script starts fast.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import urllib.request
from pathlib import Path

STATE_PATH = "/_sim/npu"
VERSION_PREFIX = "bench-sim"
TIMEOUT_S = 5.0
BUS_ID = "0000:C1:00.0"
BAR = "+" + "-" * 96 + "+"
COLUMNS = "+" + "-" * 27 + "+" + "-" * 15 + "+" + "-" * 52 + "+"
DOUBLE = "+" + "=" * 27 + "+" + "=" * 15 + "+" + "=" * 52 + "+"


def _row(a: str, b: str, c: str) -> str:
    return f"| {a:<26}| {b:<14}| {c:<51}|"


def table(state: dict, version: str) -> str:
    """`npu-smi info` for one NPU, laid out as a 910B3's (tests/fixtures/memory/npu_smi)."""
    used, total = state["hbm_used_mib"], state["hbm_total_mib"]
    readings = f"{state['power_w']:<12.1f}{state['temperature_c']:<18}0    / 0"
    memory = f"{state['aicore_pct']:<12}0    / 0          {used:>5}/ {total:<5}"
    process_mib = max(0, used - state["runtime_reserved_mib"])
    lines = [
        BAR,
        f"| {'npu-smi ' + version:<33}Version: {version:<53}|",
        COLUMNS,
        _row("NPU   Name", "Health", "Power(W)    Temp(C)           Hugepages-Usage(page)"),
        _row("Chip", "Bus-Id", "AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)"),
        DOUBLE,
        _row(f"0     {state['name']}", "OK", readings),
        _row("0", BUS_ID, memory),
        DOUBLE,
        COLUMNS,
        f"| {'NPU     Chip':<26}| {'Process id':<14}| {'Process name':<25}| "
        f"{'Process memory(MB)':<24}|",
        DOUBLE,
        f"| {'0       0':<26}| {state['pid']:<14}| {'python3':<25}| {process_mib:<24}|",
        DOUBLE,
    ]
    return "\n".join(lines) + "\n"


def _pairs(pairs: list[tuple[str, object]]) -> str:
    return "".join(f"\t{key:<30} : {value}\n" if key else "\n" for key, value in pairs)


def common(state: dict) -> str:
    """`npu-smi info -t common -i 0` (910B layout: the chip block carries the power)."""
    rate = round(100 * state["hbm_used_mib"] / state["hbm_total_mib"])
    return _pairs([
        ("NPU ID", 0), ("Chip Count", 1), ("", ""), ("Chip ID", 0),
        ("Memory Usage Rate(%)", 0), ("HBM Usage Rate(%)", rate),
        ("Aicore Usage Rate(%)", state["aicore_pct"]), ("Aicore Freq(MHZ)", 1800),
        ("Aicore curFreq(MHZ)", 1800), ("Aicore Count", 20),
        ("Temperature(C)", state["temperature_c"]),
        ("NPU Real-time Power(W)", f"{state['power_w']:.1f}"),
    ])  # fmt: skip


def usages(state: dict) -> str:
    """`npu-smi info -t usages -i 0`: HBM as a whole-percent rate of capacity."""
    rate = round(100 * state["hbm_used_mib"] / state["hbm_total_mib"])
    return _pairs([
        ("NPU ID", 0), ("Chip Count", 1), ("", ""), ("DDR Capacity(MB)", 0),
        ("DDR Usage Rate(%)", 0), ("HBM Capacity(MB)", state["hbm_total_mib"]),
        ("HBM Usage Rate(%)", rate), ("Aicore Usage Rate(%)", state["aicore_pct"]),
        ("Aicpu Usage Rate(%)", 0), ("Ctrlcpu Usage Rate(%)", 0), ("Chip ID", 0),
    ])  # fmt: skip


def power(state: dict) -> str:
    """`npu-smi info -t power -i 0`."""
    return _pairs([
        ("NPU ID", 0), ("Chip Count", 1), ("", ""),
        ("NPU Real-time Power(W)", f"{state['power_w']:.1f}"), ("Chip ID", 0),
    ])  # fmt: skip


def _fetch(base_url: str) -> dict:
    with urllib.request.urlopen(base_url + STATE_PATH, timeout=TIMEOUT_S) as response:
        return json.loads(response.read(1 << 20))


def main(argv: list[str], base_url: str, version: str) -> int:
    """What the written script runs. Exit 0 and the output, or a message and exit 1 or 2."""
    kinds = {"common": common, "usages": usages, "power": power}
    if argv == ["info"]:
        render = None
    elif len(argv) == 5 and argv[:2] == ["info", "-t"] and argv[3] == "-i":
        if argv[2] not in kinds:
            sys.stderr.write(f"The simulated npu-smi does not support -t {argv[2]}.\n")
            return 1
        if argv[4] != "0":
            sys.stderr.write(f"The device id {argv[4]} is invalid (the simulator has NPU 0).\n")
            return 1
        render = kinds[argv[2]]
    else:
        sys.stderr.write(
            "usage: npu-smi info [-t common|usages|power -i 0] (simulated by bench sim)\n"
        )
        return 2
    try:
        state = _fetch(base_url)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"the simulator at {base_url} did not answer: {exc}\n")
        return 1
    sys.stdout.write(table(state, version) if render is None else render(state))
    return 0


SCRIPT = """#!{python}
# Written by `bench sim --npu-smi-dir`: reports the simulated NPU of the simulator at
# {base_url}. Every figure it prints is simulated.
import sys
sys.path.insert(0, {root!r})
from bench.sim.npu_smi import main
sys.exit(main(sys.argv[1:], {base_url!r}, {version!r}))
"""


def prepare_directory(directory: Path) -> None:
    """Create `directory` for the script, or say in one line why it cannot be (BenchError)."""
    from bench.errors import BenchError

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(f"cannot create --npu-smi-dir {directory}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BenchError(f"cannot write into --npu-smi-dir {directory}")


def write_executable(directory: Path, base_url: str) -> Path:
    """Write `directory/npu-smi` (replacing an earlier one) for the simulator at `base_url`."""
    from bench import __version__

    path = directory / "npu-smi"
    text = SCRIPT.format(
        python=sys.executable,
        base_url=base_url,
        root=str(Path(__file__).resolve().parents[2]),
        version=f"{VERSION_PREFIX}-{__version__}",
    )
    tmp = path.with_name(".npu-smi.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, path)
    return path
