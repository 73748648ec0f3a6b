"""A stand-in npu-smi for tests: a shell script that prints fixed outputs per command line."""
# ruff: noqa: E501 (a real npu-smi table is wider than the line limit)

from __future__ import annotations

import shlex
from pathlib import Path

ONE_910B3 = """\
+------------------------------------------------------------------------------------------------+
| npu-smi 25.3.rc1                 Version: 25.3.rc1                                             |
+---------------------------+---------------+----------------------------------------------------+
| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
+===========================+===============+====================================================+
| 0     910B3               | OK            | {power:<12}{temp:<18}0    / 0             |
| 0                         | 0000:C1:00.0  | {aicore:<12}0    / 0          {hbm:<5}/ 65536         |
+===========================+===============+====================================================+
+---------------------------+---------------+----------------------------------------------------+
| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |
+===========================+===============+====================================================+
| 0       0                 | 71867         |                          | 55278                   |
+===========================+===============+====================================================+
"""


def one_910b3(
    power: str = "250.0", temp: str = "55", aicore: str = "73", hbm: str = "58626"
) -> str:
    """A real 910B3 table (tests/fixtures/memory/npu_smi/910b3_x8_64gb_proc_noname.txt, NPU 0
    only) with the readings given."""
    return ONE_910B3.format(power=power, temp=temp, aicore=aicore, hbm=hbm)


def write_fake_npu_smi(directory: Path, outputs: dict[str, str]) -> Path:
    """`directory/npu-smi`: prints outputs[" ".join(argv)]; anything else exits 2."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["#!/bin/sh", 'case "$*" in']
    for i, (args, text) in enumerate(outputs.items()):
        file = directory / f"out{i}.txt"
        file.write_text(text, encoding="utf-8")
        lines.append(f"  {shlex.quote(args)}) cat {shlex.quote(str(file))} ;;")
    lines += ['  *) echo "fake npu-smi: unsupported: $*" >&2; exit 2 ;;', "esac", ""]
    path = directory / "npu-smi"
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o755)
    return path
