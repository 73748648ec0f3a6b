"""Simulator profiles: TOML data files, read strictly into a frozen record.

A profile names one serving setup (engine, model, device, launch flags) and the timing
parameters of the performance model, each documented and sourced in the file itself.
Unknown or missing keys are errors that name the key, so a misspelt parameter can never
silently fall back to a default.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from bench import strict_toml
from bench.errors import InputError
from bench.sim import DEFAULT_PROFILE, profiles_dir


@dataclass(frozen=True)
class ModelSpec:
    served_model_name: str
    architecture: str
    dtype: str
    param_count: int
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    kv_dtype_bytes: int
    context_length: int

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V, every layer: 2 x layers x kv_heads x head_dim x bytes (57,344 for Qwen2-7B)."""
        return self.kv_bytes_per_token_per_rank(1)

    def kv_bytes_per_token_per_rank(self, tp_size: int) -> int:
        """One rank's KV bytes per token: its share of the KV heads, at least one (SGLang's
        `get_num_kv_heads`: `max(1, kv_heads // tp)`; fewer heads than ranks are replicated)."""
        heads = max(1, self.num_kv_heads // tp_size)
        return 2 * self.num_layers * heads * self.head_dim * self.kv_dtype_bytes

    @property
    def hidden_size(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def weight_bytes(self) -> int:
        return self.param_count * 2  # BF16/FP16 weights


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    hbm_gib: float
    runtime_reserved_gib: float
    count: int  # NPUs on one host: the most a tensor-parallel group can span here


@dataclass(frozen=True)
class ServerSpec:
    sglang_version: str
    mem_fraction_static: float
    tp_size: int
    attention_backend: str
    chunked_prefill_size: int
    max_prefill_tokens: int
    # Optional in a profile (and None there): set by `bench sim --max-running-requests`,
    # `--model-path`, as SGLang's launch flags of the same names.
    max_running_requests: int | None = None
    model_path: str | None = None
    # Data-parallel replicas (`--dp-size`), each of tp_size NPUs; optional in a profile.
    dp_size: int = 1


@dataclass(frozen=True)
class TimingSpec:
    prefill_overhead_s: float
    prefill_s_per_token: float
    prefill_s_per_attention_pair: float
    decode_base_s: float
    decode_s_per_seq: float
    decode_s_per_context_token: float
    allreduce_s: float  # latency of one all-reduce between tensor-parallel ranks
    allreduce_bytes_per_s: float  # its bus bandwidth (ring: 2 (tp - 1) / tp of the bytes)


@dataclass(frozen=True)
class CalibrationSpec:
    ttft_s: float
    ttft_prompt_tokens: int
    tpot_ms: float
    tpot_output_tokens: int


@dataclass(frozen=True)
class SimProfile:
    name: str
    description: str
    model: ModelSpec
    device: DeviceSpec
    server: ServerSpec
    timing: TimingSpec
    calibration: CalibrationSpec
    source: str  # the file it was read from


_SECTIONS = {
    "model": ModelSpec,
    "device": DeviceSpec,
    "server": ServerSpec,
    "timing": TimingSpec,
    "calibration": CalibrationSpec,
}


def _section(raw: dict, name: str, cls: type, file: Path):
    """Table `[name]` as a `cls`: every field present, of its type, and not negative."""
    table = raw.get(name)
    where = f"profile {file}"
    if not isinstance(table, dict):
        raise InputError(f"{where}: missing table [{name}]")
    values = strict_toml.check_types(table, strict_toml.field_types(cls), where, f"[{name}]")
    for f in fields(cls):
        if f.name not in values and f.default is MISSING:
            raise InputError(f"{where}: missing key {f.name} in [{name}]")
        if f.name not in values:
            continue
        if isinstance(values[f.name], int | float) and values[f.name] < 0:
            raise InputError(f"{where}: [{name}] {f.name} must not be negative")
    return cls(**values)


def resolve_profile_path(name_or_path: str) -> Path:
    """A profile name (a file in bench/sim/profiles/) or a path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or "/" in name_or_path:
        if not path.is_file():
            raise InputError(f"profile file not found: {path}")
        return path
    candidate = profiles_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = ", ".join(sorted(p.stem for p in profiles_dir().glob("*.toml")))
        raise InputError(f"unknown simulator profile {name_or_path!r} (known: {known})")
    return candidate


def load_profile(name_or_path: str = DEFAULT_PROFILE) -> SimProfile:
    file = resolve_profile_path(name_or_path)
    raw = strict_toml.load_toml(file)
    strict_toml.reject_unknown(raw, {*_SECTIONS, "name", "description"}, f"profile {file}")
    for key in ("name", "description"):
        if not isinstance(raw.get(key), str):
            raise InputError(f"profile {file}: missing key {key}")
    parts = {name: _section(raw, name, cls, file) for name, cls in _SECTIONS.items()}
    profile = SimProfile(
        name=raw["name"], description=raw["description"], source=str(file), **parts
    )
    if not 0 < profile.server.mem_fraction_static <= 1:
        raise InputError(f"profile {file}: server.mem_fraction_static must be in (0, 1]")
    return profile
