"""What each launcher runs for one configuration: pure functions, no process started.

- `command`: the study's template with `{port}`, `{npus}` and every `[grid]` key filled in
  (each value shell-quoted, so a value is one argument), split as a shell would.
- `compose`: the kit's compose `server` service with the grid keys as SGLang launch flags
  (`tp_size` -> `--tp-size` and the first tp_size NPUs of `[server] npus` as devices;
  `mem_fraction_static` -> `--mem-fraction-static`; any key -> `--key-with-dashes VALUE`;
  `true` -> the bare flag, `false` -> nothing), given to compose.yaml through the variables
  it reads (`SGLANG_FLAGS`, `TP`, `NPUS`, `MEM_FRACTION`, `PORT`, `LOG_DIR`, ...) and a
  devices file, as `make serve` does.
- `external`: nothing to run.

`launch_definition` is what of these changes what is measured (the port does not): it goes
into each cell's identity.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.study.spec import ServerSection

ASCEND_FLAGS = "--attention-backend ascend --device npu"
PARALLEL_KEYS = ("tp_size", "dp_size", "pp_size")  # NPUs a configuration needs: their product


def text_of(value: Any) -> str:
    """A grid value as a command line spells it (0.85 -> "0.85", True -> "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return repr(value) if isinstance(value, float) else str(value)


def flag_of(key: str) -> str:
    return "--" + key.replace("_", "-")


def npus_for(server: ServerSection, values: dict[str, Any]) -> tuple[int, ...]:
    """The NPUs a configuration runs on: the first tp x dp x pp of `[server] npus`."""
    needed = 1
    for key in PARALLEL_KEYS:
        value = values.get(key, 1)
        needed *= value if isinstance(value, int) and not isinstance(value, bool) else 1
    if needed > len(server.npus):
        raise InputError(
            f"a configuration with {_describe(values)} needs {needed} NPUs; "
            f"[server] npus lists {len(server.npus)}"
        )
    return server.npus[:needed]


def command_argv(server: ServerSection, values: dict[str, Any], port: int | str) -> list[str]:
    """The command launcher's argv for one configuration."""
    assert server.command is not None
    npus = ",".join(str(n) for n in npus_for(server, values))
    filled = {k: shlex.quote(text_of(v)) for k, v in values.items()}
    text = server.command.format(port=port, npus=npus, **filled)
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise InputError(f"[server] command does not split as a shell would: {exc}") from None


def sglang_flags(server: ServerSection, values: dict[str, Any]) -> str:
    """SGLang's launch flags for a compose configuration (Ascend backend, the grid, extras)."""
    parts = [ASCEND_FLAGS, f"--tp-size {text_of(values.get('tp_size', 1))}"]
    for key, value in values.items():
        if key == "tp_size":
            continue
        if isinstance(value, bool):
            if value:
                parts.append(flag_of(key))
            continue
        parts.append(f"{flag_of(key)} {shlex.quote(text_of(value))}")
    if server.extra_args.strip():
        parts.append(server.extra_args.strip())
    return " ".join(parts)


@dataclass(frozen=True)
class ComposePlan:
    """Everything the compose launcher runs for one configuration."""

    env: dict[str, str]  # the variables compose.yaml reads (on top of the caller's environment)
    devices_file: Path  # a compose override listing the configuration's /dev/davinciN
    devices_yaml: str
    up: list[str]
    logs: list[str]
    stop: list[str]
    rm: list[str]


def compose_plan(
    server: ServerSection,
    values: dict[str, Any],
    workdir: Path,
    docker: str = "docker",
) -> ComposePlan:
    """The compose commands for one configuration; its server log goes to `workdir`."""
    npus = npus_for(server, values)
    devices_file = workdir / "compose.npus.yaml"
    devices = "".join(f"      - /dev/davinci{n}\n" for n in npus)
    yaml = f"services:\n  server:\n    devices:\n{devices}"
    env = {
        "MODEL": server.model or "Qwen/Qwen2-7B-Instruct",
        "MODELS_DIR": str(Path(server.models_dir).resolve()),
        "TP": text_of(values.get("tp_size", 1)),
        "NPUS": ",".join(str(n) for n in npus),
        "NPU_DEVICE": str(npus[0]),
        "PORT": str(server.port),
        "SGLANG_FLAGS": sglang_flags(server, values),
        "SGLANG_EXTRA_ARGS": "",
        "LOG_DIR": str(workdir.resolve()),
        "BENCH_UID": str(os.getuid()) if hasattr(os, "getuid") else "1000",
        "BENCH_GID": str(os.getgid()) if hasattr(os, "getgid") else "1000",
    }
    if "mem_fraction_static" in values:
        env["MEM_FRACTION"] = text_of(values["mem_fraction_static"])
    if server.image:
        env["IMAGE"] = server.image
    base = [docker, "compose", "-f", server.compose_file, "-f", str(devices_file)]
    base += ["--profile", "npu"]
    return ComposePlan(
        env=env,
        devices_file=devices_file,
        devices_yaml=yaml,
        up=[*base, "up", "--detach", "--no-deps", "server"],
        logs=[*base, "logs", "--no-color", "--tail", "200", "server"],
        stop=[*base, "stop", "--timeout", str(math.ceil(server.stop_timeout_s)), "server"],
        rm=[*base, "rm", "--force", "--stop", "server"],
    )


def launch_definition(server: ServerSection, values: dict[str, Any]) -> dict[str, Any]:
    """What of a configuration's launch changes what is measured (not its port)."""
    if server.launcher == "external":
        return {"launcher": "external", "base_url": server.base_url}
    if server.launcher == "command":
        return {"launcher": "command", "command": command_argv(server, values, "{port}")}
    return {
        "launcher": "compose",
        "compose_file": server.compose_file,
        "model": server.model,
        "image": server.image,
        "sglang_flags": sglang_flags(server, values),
        "npus": list(npus_for(server, values)),
    }


def _describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {text_of(v)}" for k, v in values.items()) or "no grid values"
