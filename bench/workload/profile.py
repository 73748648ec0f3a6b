"""Workload profiles: strict TOML files naming what `bench run` sends.

A profile is data, read with the standard library's `tomllib` and checked strictly: an
unknown key (a misspelt setting) is an error naming the key and the file, never silently
ignored, and every value has its type checked. `load_profile("seed")` reads
`profiles/seed.toml` of the kit; a path reads that file.

    [profile]      name, description, source
    [server]       what the server is expected to run with (recorded, not enforced)
    [[throughput]] one entry per throughput run (driver "kit" or "sglang")
    [[latency]]    one entry per latency run (the kit's OpenAI-SDK probe)

`as_dict()` gives the resolved profile (defaults filled in) for the result document's
`provenance.profile`.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import InputError

PROFILES_DIR = Path(__file__).resolve().parent.parent.parent / "profiles"

APIS = ("chat", "completions", "generate")
DATASETS = ("random", "random-ids", "sharegpt")
DRIVERS = ("kit", "sglang")


@dataclass(frozen=True)
class ServerExpectation:
    """How the profile expects the server to be launched; copied into `server.args`."""

    model: str | None = None
    tp_size: int | None = None
    mem_fraction_static: float | None = None
    attention_backend: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class ThroughputRun:
    """One throughput run. `request_rate` None means infinite (all requests at once)."""

    name: str
    driver: str = "kit"
    api: str = "chat"
    dataset: str = "random"
    dataset_path: str | None = None
    input_len: int = 512
    output_len: int = 256
    range_ratio: float = 1.0
    num_prompts: int = 200
    max_concurrency: int | None = None
    request_rate: float | None = None
    seed: int = 1
    warmup: int = 1
    timeout_s: float = 600.0
    ignore_eos: bool = True
    as_written: bool = False
    notes: str | None = None


@dataclass(frozen=True)
class LatencyRun:
    """One latency run: `runs` single requests after `warmup` unmeasured ones."""

    name: str
    api: str = "chat"
    input_tokens: int = 4096
    output_tokens: int = 512
    runs: int = 10
    warmup: int = 2
    seed: int = 1
    timeout_s: float = 600.0
    ignore_eos: bool = True
    notes: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    source: str | None = None
    path: str | None = None
    server: ServerExpectation = field(default_factory=ServerExpectation)
    throughput: tuple[ThroughputRun, ...] = ()
    latency: tuple[LatencyRun, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The resolved profile as plain JSON-ready data (defaults filled in)."""
        return dataclasses.asdict(self)


# Allowed keys per table and the Python types each accepts (bool is not an int here).
_PROFILE_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "description": (str,),
    "source": (str,),
}
_SERVER_KEYS: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "tp_size": (int,),
    "mem_fraction_static": (float, int),
    "attention_backend": (str,),
    "device": (str,),
}
_THROUGHPUT_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "driver": (str,),
    "api": (str,),
    "dataset": (str,),
    "dataset_path": (str,),
    "input_len": (int,),
    "output_len": (int,),
    "range_ratio": (float, int),
    "num_prompts": (int,),
    "max_concurrency": (int,),
    "request_rate": (float, int, str),
    "seed": (int,),
    "warmup": (int,),
    "timeout_s": (float, int),
    "ignore_eos": (bool,),
    "as_written": (bool,),
    "notes": (str,),
}
_LATENCY_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "api": (str,),
    "input_tokens": (int,),
    "output_tokens": (int,),
    "runs": (int,),
    "warmup": (int,),
    "seed": (int,),
    "timeout_s": (float, int),
    "ignore_eos": (bool,),
    "notes": (str,),
}
_TOP_KEYS = ("profile", "server", "throughput", "latency")


def resolve_profile_path(name_or_path: str | Path) -> Path:
    """A bare name (`seed`) is looked up in the kit's profiles/; anything else is a path."""
    text = str(name_or_path)
    if "/" not in text and not text.endswith(".toml"):
        path = PROFILES_DIR / f"{text}.toml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
            raise InputError(f"no profile named {text!r} (known: {known})")
        return path
    path = Path(text)
    if not path.is_file():
        raise InputError(f"profile file not found: {path}")
    return path


def load_profile(name_or_path: str | Path) -> Profile:
    """Read and check a profile; every problem is an InputError naming the file."""
    path = resolve_profile_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    return parse_profile(data, str(path))


def parse_profile(data: dict[str, Any], where: str = "<profile>") -> Profile:
    """Build a Profile from parsed TOML, rejecting unknown keys and wrong types."""
    _reject_unknown(data, _TOP_KEYS, where, "")
    head = _table(data, "profile", where)
    _check(head, _PROFILE_KEYS, where, "[profile]")
    if "name" not in head:
        raise InputError(f"{where}: [profile] needs a name")
    server = _table(data, "server", where)
    _check(server, _SERVER_KEYS, where, "[server]")
    if "mem_fraction_static" in server:
        server["mem_fraction_static"] = float(server["mem_fraction_static"])
    throughput = tuple(
        _throughput(entry, where, i) for i, entry in enumerate(_array(data, "throughput", where))
    )
    latency = tuple(
        _latency(entry, where, i) for i, entry in enumerate(_array(data, "latency", where))
    )
    if not throughput and not latency:
        raise InputError(f"{where}: the profile has no [[throughput]] and no [[latency]] run")
    names = [run.name for run in (*throughput, *latency)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{where}: run names must be unique, repeated: {', '.join(duplicates)}")
    return Profile(
        name=head["name"],
        description=head.get("description", ""),
        source=head.get("source"),
        path=where,
        server=ServerExpectation(**server),
        throughput=throughput,
        latency=latency,
    )


def _throughput(entry: Any, where: str, index: int) -> ThroughputRun:
    label = f"[[throughput]] #{index + 1}"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: {label} must be a table")
    _check(entry, _THROUGHPUT_KEYS, where, label)
    values = dict(entry)
    values.setdefault("name", f"throughput-{index + 1}")
    values["request_rate"] = _rate(values.get("request_rate"), where, label)
    for key in ("range_ratio", "timeout_s"):
        if key in values:
            values[key] = float(values[key])
    run = ThroughputRun(**values)
    _one_of(run.driver, DRIVERS, where, label, "driver")
    _one_of(run.api, APIS, where, label, "api")
    _one_of(run.dataset, DATASETS, where, label, "dataset")
    _positive(run, ("num_prompts", "input_len", "output_len", "timeout_s"), where, label)
    _non_negative(run, ("warmup", "seed"), where, label)
    if run.max_concurrency is not None and run.max_concurrency < 1:
        raise InputError(f"{where}: {label} max_concurrency must be >= 1")
    if not 0.0 <= run.range_ratio <= 1.0:
        raise InputError(f"{where}: {label} range_ratio must be within [0, 1]")
    if run.as_written and run.driver != "sglang":
        raise InputError(f'{where}: {label} as_written needs driver = "sglang"')
    return run


def _latency(entry: Any, where: str, index: int) -> LatencyRun:
    label = f"[[latency]] #{index + 1}"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: {label} must be a table")
    _check(entry, _LATENCY_KEYS, where, label)
    values = dict(entry)
    values.setdefault("name", f"latency-{index + 1}")
    if "timeout_s" in values:
        values["timeout_s"] = float(values["timeout_s"])
    run = LatencyRun(**values)
    _one_of(run.api, ("chat", "completions"), where, label, "api")
    _positive(run, ("input_tokens", "output_tokens", "runs", "timeout_s"), where, label)
    _non_negative(run, ("warmup", "seed"), where, label)
    return run


def _rate(value: Any, where: str, label: str) -> float | None:
    """`"inf"` (or absent) means infinite; otherwise a positive number of requests/s."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "inf"):
        return None
    if isinstance(value, str):
        raise InputError(f'{where}: {label} request_rate must be a number or "inf"')
    rate = float(value)
    if math.isinf(rate):
        return None
    if not rate > 0:
        raise InputError(f'{where}: {label} request_rate must be > 0 (or "inf")')
    return rate


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InputError(f"{where}: [{key}] must be a table")
    return dict(value)


def _array(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise InputError(f"{where}: {key} must be an array of tables ([[{key}]])")
    return value


def _reject_unknown(data: dict[str, Any], allowed: Any, where: str, label: str) -> None:
    for key in data:
        if key not in allowed:
            place = f" in {label}" if label else ""
            raise InputError(f"{where}: unknown key {key!r}{place}")


def _check(table: dict[str, Any], spec: dict[str, tuple[type, ...]], where: str, label: str):
    _reject_unknown(table, spec, where, label)
    for key, value in table.items():
        kinds = spec[key]
        is_bool_for_number = isinstance(value, bool) and bool not in kinds
        if is_bool_for_number or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise InputError(f"{where}: {label} {key} must be {names}, not {type(value).__name__}")


def _one_of(value: str, allowed: tuple[str, ...], where: str, label: str, key: str) -> None:
    if value not in allowed:
        raise InputError(f"{where}: {label} {key} must be one of {', '.join(allowed)}")


def _positive(run: Any, keys: tuple[str, ...], where: str, label: str) -> None:
    for key in keys:
        if not getattr(run, key) > 0:
            raise InputError(f"{where}: {label} {key} must be > 0")


def _non_negative(run: Any, keys: tuple[str, ...], where: str, label: str) -> None:
    for key in keys:
        if getattr(run, key) < 0:
            raise InputError(f"{where}: {label} {key} must be >= 0")
