"""What a run sends: one `ThroughputWorkload` and one `LatencyWorkload`.

Every way of declaring a run takes these two records: a profile's `[[throughput]]` and
`[[latency]]` entries, the `bench throughput` and `bench latency` flags, the kit's load
generator, the latency probe and the sglang.bench_serving driver. Each field is declared
once, here, with its default, its one spelling (the profile key; the flag is the key with
dashes, `timeout_s` is `--timeout`) and its help text; drivers keep only their own extras.

- An infinite request rate is `math.inf` (`"inf"` in TOML and on the command line, `null`
  as `request_rate_rps` in a result document, since JSON has no infinity).
- `output_len` left unset means the dataset's own: 256 tokens for `random`, each reply's
  own length for `sharegpt`.
- The seed is 1 everywhere (sglang.bench_serving's default), so `bench throughput` and a
  profile send the same prompts for the same workload.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import InputError, UsageError

APIS = ("chat", "completions", "generate")
LATENCY_APIS = ("chat", "completions")
DATASETS = ("random", "sharegpt")
RANDOM_OUTPUT_LEN = 256


def _f(default: Any, help: str, flag: str | None = None) -> Any:
    """A field with its help text (and flag, when it is not `--key-with-dashes`)."""
    meta = {"help": help} if flag is None else {"help": help, "flag": flag}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ThroughputWorkload:
    """Many requests under a concurrency cap and a send schedule; warm-up excluded."""

    api: str = _f("chat", "endpoint family: chat, completions, or generate (sglang driver only)")
    dataset: str = _f("random", "random (exact lengths) or sharegpt (a local file)")
    dataset_path: str | None = _f(None, "local ShareGPT-format JSON (never downloaded)")
    input_len: int = _f(512, "prompt tokens (random)")
    output_len: int | None = _f(
        None, "max_tokens per request (random: 256; sharegpt: each reply's own length)"
    )
    range_ratio: float = _f(
        1.0, "lengths uniform in [ratio x len, len], as SGLang defines it (1.0 = fixed)"
    )
    num_prompts: int = _f(200, "measured requests")
    max_concurrency: int | None = _f(None, "cap on requests in flight (none: no cap)")
    request_rate: float = _f(math.inf, "requests/s on a Gamma schedule (inf: all at once)")
    burstiness: float = _f(1.0, "Gamma shape of the inter-arrival times (1 = Poisson)")
    seed: int = _f(1, "seed of every random choice (prompts, lengths, schedule)")
    warmup: int = _f(1, "warm-up requests before the measured window (not measured)")
    timeout_s: float = _f(600.0, "per-request timeout, seconds", flag="--timeout")
    ignore_eos: bool = _f(True, "ask for exactly max_tokens (an SGLang/vLLM extension)")

    def __post_init__(self) -> None:
        _one_of(self.api, APIS, "api")
        _one_of(self.dataset, DATASETS, "dataset")
        if self.output_len is None and self.dataset == "random":
            object.__setattr__(self, "output_len", RANDOM_OUTPUT_LEN)
        _at_least(self, ("input_len", "num_prompts"), 1)
        if self.output_len is not None:
            _at_least(self, ("output_len",), 1)
        _at_least(self, ("warmup", "seed"), 0)
        if self.max_concurrency is not None:
            _at_least(self, ("max_concurrency",), 1)
        if not 0.0 <= self.range_ratio <= 1.0:
            raise UsageError(f"range_ratio must be within [0, 1], got {self.range_ratio}")
        if math.isnan(self.request_rate) or not self.request_rate > 0:
            raise UsageError(f'request_rate must be > 0 or "inf", got {self.request_rate}')
        _positive(self, ("burstiness", "timeout_s"))

    def with_dataset_path(self, path: str | None) -> ThroughputWorkload:
        """The workload reading its dataset from `path` (a profile names a ShareGPT run; the
        command line says where the file is on this host). None keeps the workload's own."""
        return self if path is None else dataclasses.replace(self, dataset_path=path)

    def check_dataset(self) -> None:
        """Before anything is sent: a ShareGPT run needs a local file, which must exist."""
        if self.dataset != "sharegpt":
            return
        if not self.dataset_path:
            raise UsageError(
                "the sharegpt dataset needs a local ShareGPT JSON file (--dataset-path FILE); "
                "the kit never downloads one"
            )
        if not Path(self.dataset_path).is_file():
            raise InputError(f"dataset file not found: {self.dataset_path}")

    @property
    def request_rate_rps(self) -> float | None:
        """The rate as a result document spells it: None when infinite."""
        return None if math.isinf(self.request_rate) else self.request_rate

    def to_dict(self) -> dict[str, Any]:
        """As a profile spells it (an infinite rate is "inf"), every field present."""
        out = dataclasses.asdict(self)
        out["request_rate"] = "inf" if math.isinf(self.request_rate) else self.request_rate
        return out


@dataclass(frozen=True)
class LatencyWorkload:
    """One request at a time: `runs` measured after `warmup` unmeasured ones, each with a
    new prompt, so no run is answered from the prefix cache."""

    api: str = _f("chat", "endpoint family: chat or completions")
    input_len: int = _f(4096, "prompt tokens")
    output_len: int = _f(512, "max_tokens per run")
    runs: int = _f(10, "measured runs")
    warmup: int = _f(2, "unmeasured runs first")
    seed: int = _f(1, "seed of the prompts")
    timeout_s: float = _f(600.0, "per-request timeout, seconds", flag="--timeout")
    ignore_eos: bool = _f(True, "ask for exactly max_tokens (an SGLang/vLLM extension)")

    def __post_init__(self) -> None:
        _one_of(self.api, LATENCY_APIS, "api")
        _at_least(self, ("input_len", "output_len", "runs"), 1)
        _at_least(self, ("warmup", "seed"), 0)
        _positive(self, ("timeout_s",))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def flag_of(f: dataclasses.Field) -> str:
    """The command-line flag of a workload field."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def parse_rate(value: Any) -> float:
    """A request rate as TOML or a command line gives it: a number, or "inf"."""
    if isinstance(value, str):
        if value.strip().lower() == "inf":
            return math.inf
        try:
            return float(value)
        except ValueError:
            raise UsageError(f'request_rate must be a number or "inf", got {value!r}') from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f'request_rate must be a number or "inf", got {value!r}')
    return float(value)


def _one_of(value: str, allowed: tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise UsageError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")


def _at_least(obj: Any, keys: tuple[str, ...], minimum: int) -> None:
    for key in keys:
        if getattr(obj, key) < minimum:
            raise UsageError(f"{key} must be >= {minimum}, got {getattr(obj, key)}")


def _positive(obj: Any, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = getattr(obj, key)
        if math.isnan(value) or not value > 0:
            raise UsageError(f"{key} must be > 0, got {value}")
