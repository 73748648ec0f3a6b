"""The system and software a result was measured on, as the result document's sections.

`capture_environment(base_url=None, container=None)` returns `system`, `software` and
`provenance`. Every piece that cannot be read is `null`, with the reason in the section's
`missing` map: on a machine without an NPU, CANN or Docker engine it still succeeds.
Each probe is bounded: subprocesses and HTTP have timeouts. Environment variables are kept
only from an allow-list, and values that look like secrets are redacted.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
from importlib import metadata
from pathlib import Path

from bench import __version__
from bench.client.api import get_server_info
from bench.errors import InputError
from bench.memory.npu_smi import parse_npu_smi_board, parse_npu_smi_info, run_npu_smi
from bench.system.git import KIT_ROOT, head_and_dirty

PROBE_TIMEOUT_S = 5.0
ENV_PREFIXES = (
    "ASCEND_",
    "HCCL_",
    "SGLANG_",
    "PYTORCH_NPU_",
    "TORCH_NPU_",
    "NPU_",
    "ATB_",
    "ACL_",
    "TASK_QUEUE_ENABLE",
    "CPU_AFFINITY_CONF",
    "INF_NAN_MODE_ENABLE",
    "OMP_NUM_THREADS",
    "MODELSCOPE_",
)
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)
_SECRET_VALUE = re.compile(
    r"^(hf_|sk-|ghp_|gho_|github_pat_|glpat-|xox[bp]-|AKIA)|"
    r"[A-Za-z0-9+/_\-]{32,}={0,2}$"  # long opaque strings
)
_URL_PASSWORD = re.compile(r"(://[^/:@\s]+:)[^@\s]+@")
REDACTED = "<redacted>"
CANN_HOMES = (
    "/usr/local/Ascend/ascend-toolkit/latest",
    "/usr/local/Ascend/cann",
    "/usr/local/Ascend/latest",
)
REPO = KIT_ROOT  # the checkout whose commit a run records (a test points it elsewhere)


def redact(name: str, value: str) -> str:
    """The value to record for an environment variable: secrets become `<redacted>`."""
    if _SECRET_NAME.search(name) or _SECRET_VALUE.search(value):
        return REDACTED
    return _URL_PASSWORD.sub(r"\1" + REDACTED + "@", value)


def allowed_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Allow-listed variables (ASCEND_*, HCCL_*, SGLANG_*, ...), sorted, secrets redacted."""
    env = os.environ if environ is None else environ
    return {
        k: redact(k, v) for k, v in sorted(env.items()) if k.startswith(ENV_PREFIXES) and v != ""
    }


def _version_of(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _key_file(path: Path, key: str) -> str | None:
    """`key=value` files (CANN's install.info, the driver's version.info)."""
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            k, sep, v = line.partition("=")
            if sep and k.strip().lower() == key.lower() and v.strip():
                return v.strip()
    except OSError:
        return None
    return None


def cann_version(environ: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(version, None) from the toolkit's ascend_toolkit_install.info, or (None, reason)."""
    env = os.environ if environ is None else environ
    homes = [env[k] for k in ("ASCEND_TOOLKIT_HOME", "ASCEND_HOME_PATH") if env.get(k)]
    homes += list(CANN_HOMES)
    for home in homes:
        root = Path(home)
        for info in (
            *sorted(root.glob("*-linux/ascend_toolkit_install.info")),
            root / "version.cfg",
            root / "version.info",
        ):
            if info.is_file() and (v := _key_file(info, "version")):
                return v, None
    return None, "no CANN toolkit found (ASCEND_TOOLKIT_HOME unset, /usr/local/Ascend absent)"


def _host() -> tuple[dict, dict]:
    missing: dict[str, str] = {}
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpu = cpu or platform.processor() or None
    if cpu is None:
        missing["host.cpu_model"] = "no model name in /proc/cpuinfo"
    mem = None
    try:
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        mem = round(int(m.group(1)) / 2**20, 2) if m else None
    except OSError:
        missing["host.memory_gib"] = "/proc/meminfo unreadable"
    try:
        osr = platform.freedesktop_os_release()
        os_name = osr.get("PRETTY_NAME") or osr.get("NAME")
    except OSError:
        os_name = f"{platform.system()} (no os-release)"
    host = {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "memory_gib": mem,
        "os": os_name,
        "kernel": platform.release() or None,
        "architecture": platform.machine() or None,
    }
    for key, value in host.items():  # a capture is complete or says why not
        if value is None:
            missing.setdefault(f"host.{key}", "not reported by this system")
    return host, missing


def product_name(dmi: Path = Path("/sys/class/dmi/id")) -> tuple[str | None, str]:
    """(The server model from DMI, e.g. `Huawei Atlas 800T A2`, "") or (None, reason)."""
    try:
        name = (dmi / "product_name").read_text().strip()
    except OSError:
        return None, "no DMI product name (/sys/class/dmi/id): give it in the result"
    vendor = ""
    with contextlib.suppress(OSError):
        vendor = (dmi / "sys_vendor").read_text().strip()
    if not name or name.lower() in ("to be filled by o.e.m.", "default string", "none"):
        return None, "the DMI product name is empty or a placeholder"
    return (f"{vendor} {name}".strip() if vendor and vendor not in name else name), ""


def _accelerator() -> tuple[dict, dict]:
    accel = {
        "name": None,
        "count": None,
        "hbm_capacity_gib": None,
        "driver_version": None,
        "firmware_version": None,
    }
    text, reason = run_npu_smi("info", timeout=PROBE_TIMEOUT_S)
    if text is None:
        return accel, {f"accelerator.{k}": reason for k in accel}
    missing: dict[str, str] = {}
    try:
        info = parse_npu_smi_info(text)
    except Exception as exc:  # a driver's odd output must not stop the capture
        return accel, {f"accelerator.{k}": f"npu-smi info unparsable: {exc}" for k in accel}
    accel["name"] = info.devices[0].name
    accel["count"] = len(info.devices)
    if info.devices[0].hbm_total_mib:
        accel["hbm_capacity_gib"] = round(info.devices[0].hbm_total_mib / 1024, 2)
    board_text, why = run_npu_smi("info", "-t", "board", "-i", str(info.devices[0].index))
    board = {}
    if board_text:
        try:
            board = parse_npu_smi_board(board_text)
        except Exception as exc:
            why = f"npu-smi board output unparsable: {exc}"
    accel["driver_version"] = board.get("driver_version") or _key_file(
        Path("/usr/local/Ascend/driver/version.info"), "Version"
    )
    accel["firmware_version"] = board.get("firmware_version") or _key_file(
        Path("/usr/local/Ascend/firmware/version.info"), "Version"
    )
    for k in ("driver_version", "firmware_version"):
        if accel[k] is None:
            missing[f"accelerator.{k}"] = why or "npu-smi board and version.info give none"
    if accel["hbm_capacity_gib"] is None:
        missing["accelerator.hbm_capacity_gib"] = "npu-smi info gives no HBM total"
    return accel, missing


def server_self_report(base_url: str, timeout: float = PROBE_TIMEOUT_S) -> tuple[dict | None, str]:
    """(/get_server_info or /server_info JSON, "") or (None, the reason there is none)."""
    try:
        return get_server_info(base_url, timeout), ""
    except InputError as exc:  # no self-report is a reason to record, not a crash
        return None, str(exc)


def _image(container: str | None) -> tuple[dict, dict]:
    image = {"name": None, "digest": None}
    if not container:
        return image, {"image": "no container named (bench env --container NAME, from the host)"}
    try:
        import docker

        client = docker.from_env(timeout=PROBE_TIMEOUT_S)
        client.ping()
    except Exception as exc:
        return image, {"image": f"no Docker engine reachable: {exc}"[:300]}
    try:
        attrs = client.containers.get(container).attrs
        image["name"] = attrs.get("Config", {}).get("Image")
        repo_digests = client.images.get(attrs["Image"]).attrs.get("RepoDigests") or []
        if repo_digests:
            image["digest"] = repo_digests[0].split("@", 1)[1]
    except Exception as exc:
        return image, {"image": f"container {container!r} not inspectable: {exc}"[:300]}
    return image, {} if image["digest"] else {"image.digest": "image has no registry digest"}


def _git() -> tuple[str | None, bool | None]:
    """The kit's commit and dirty flag, from its own checkout only (`bench.system.git`): an
    installed kit's directory (site-packages) can lie inside some other repository, whose
    commit says nothing about the kit."""
    return head_and_dirty(REPO)


def capture_environment(
    base_url: str | None = None,
    container: str | None = None,
    *,
    self_report: tuple[dict | None, str] | None = None,
) -> dict:
    """`system`, `software` and `provenance` sections; nulls with reasons, never a crash.

    `self_report` is what `server_self_report(base_url)` returned, when the caller already
    asked the server (so it is not asked twice)."""
    host, host_missing = _host()
    accel, accel_missing = _accelerator()
    product, why = product_name()
    system = {
        "product": product,
        "accelerator": accel,
        "host": host,
        "missing": {
            **({"product": why} if product is None else {}),
            **host_missing,
            **accel_missing,
        },
    }
    sw_missing: dict[str, str] = {}
    engine = {"name": "unknown", "version": None}
    if base_url:
        info, why = self_report or server_self_report(base_url)
        if info and info.get("simulated"):
            sim = info.get("simulator") or {}
            engine = {"name": "bench-sim", "version": sim.get("kit_version") or info.get("version")}
        elif info:
            engine = {"name": "sglang", "version": info.get("version")}
        else:
            sw_missing["engine.version"] = why
    else:
        sw_missing["engine.version"] = "no server given (bench env --base-url URL)"
    if engine["name"] != "unknown" and engine["version"] is None:
        sw_missing["engine.version"] = "the server's self-report has no version"
    cann, why = cann_version()
    if cann is None:
        sw_missing["cann_version"] = why
    versions = {k: _version_of(p) for k, p in (("torch", "torch"), ("torch_npu", "torch-npu"))}
    for k, v in versions.items():
        if v is None:
            sw_missing[f"{k}_version"] = f"{k} is not installed in this Python"
    image, image_missing = _image(container)
    software = {
        "engine": engine,
        "cann_version": cann,
        "torch_version": versions["torch"],
        "torch_npu_version": versions["torch_npu"],
        "python_version": platform.python_version(),
        "image": image,
        "env": allowed_env(),
        "missing": {**sw_missing, **image_missing},
    }
    commit, dirty = _git()
    provenance = {"kit_version": __version__, "git_commit": commit, "git_dirty": dirty}
    if commit is None:
        provenance_missing = "the kit is not a git checkout (an installed copy), or no git"
        software["missing"]["provenance.git_commit"] = provenance_missing
    elif dirty is None:
        software["missing"]["provenance.git_dirty"] = "git status failed in the kit's checkout"
    return {"system": system, "software": software, "provenance": provenance}
