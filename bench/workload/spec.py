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
- `num_prompts` left unset means 200, except for the two datasets whose size is their own:
  `generated-shared-prefix` sends `gsp_num_groups x gsp_prompts_per_group` requests (as
  SGLang's bench_serving does, which ignores --num-prompts for it) and `multi-turn` sends
  `mt_num_conversations x mt_num_turns`. Set to anything else, it is an error.
- The `gsp_*` keys belong to `generated-shared-prefix` and the `mt_*` keys to `multi-turn`;
  set with another dataset, they are an error (docs/workloads.md).
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
GSP = "generated-shared-prefix"  # SGLang bench_serving's name for it
MULTI_TURN = "multi-turn"
DATASETS = ("random", "sharegpt", GSP, MULTI_TURN)
RANDOM_OUTPUT_LEN = 256
DEFAULT_NUM_PROMPTS = 200
# sglang.bench_serving's defaults for its generated-shared-prefix flags (0.5.3 and later)
GSP_DEFAULTS = {
    "gsp_num_groups": 64,
    "gsp_prompts_per_group": 16,
    "gsp_system_prompt_len": 2048,
    "gsp_question_len": 128,
    "gsp_output_len": 256,
}
# The kit's synthetic conversations: 16 of 4 turns, 256-token user turns, 256-token replies
MT_DEFAULTS = {"mt_num_conversations": 16, "mt_num_turns": 4, "mt_user_len": 256}


def described(default: Any, help: str, flag: str | None = None) -> Any:
    """A field with its help text (and flag, when it is not `--key-with-dashes`)."""
    meta = {"help": help} if flag is None else {"help": help, "flag": flag}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ThroughputWorkload:
    """Many requests under a concurrency cap and a send schedule; warm-up excluded."""

    api: str = described(
        "chat", "endpoint family: chat, completions, or generate (sglang driver only)"
    )
    dataset: str = described(
        "random",
        "random (exact lengths), sharegpt (a local file), generated-shared-prefix or multi-turn",
    )
    dataset_path: str | None = described(
        None, "local ShareGPT-format JSON (never downloaded); multi-turn: its conversations"
    )
    input_len: int = described(512, "prompt tokens (random)")
    output_len: int | None = described(
        None, "max_tokens per request (random: 256; sharegpt: each reply's own length)"
    )
    range_ratio: float = described(
        1.0, "lengths uniform in [ratio x len, len], as SGLang defines it (1.0 = fixed)"
    )
    num_prompts: int | None = described(
        None,
        "measured requests (default 200; generated-shared-prefix: groups x prompts per "
        "group; multi-turn: conversations x turns)",
    )
    max_concurrency: int | None = described(None, "cap on requests in flight (none: no cap)")
    request_rate: float = described(math.inf, "requests/s on a Gamma schedule (inf: all at once)")
    burstiness: float = described(1.0, "Gamma shape of the inter-arrival times (1 = Poisson)")
    seed: int = described(1, "seed of every random choice (prompts, lengths, schedule)")
    warmup: int = described(1, "warm-up requests before the measured window (not measured)")
    timeout_s: float = described(600.0, "per-request timeout, seconds", flag="--timeout")
    ignore_eos: bool = described(True, "ask for exactly max_tokens (an SGLang/vLLM extension)")
    gsp_num_groups: int | None = described(
        None, "generated-shared-prefix: groups, one system prompt each (default 64)"
    )
    gsp_prompts_per_group: int | None = described(
        None, "generated-shared-prefix: questions per group (default 16)"
    )
    gsp_system_prompt_len: int | None = described(
        None, "generated-shared-prefix: system prompt tokens (default 2048)"
    )
    gsp_question_len: int | None = described(
        None, "generated-shared-prefix: question tokens (default 128)"
    )
    gsp_output_len: int | None = described(
        None, "generated-shared-prefix: max_tokens per request, = output_len (default 256)"
    )
    mt_num_conversations: int | None = described(None, "multi-turn: conversations (default 16)")
    mt_num_turns: int | None = described(
        None, "multi-turn: turns replayed per conversation (default 4)"
    )
    mt_user_len: int | None = described(
        None, "multi-turn without a dataset file: tokens of each user turn (default 256)"
    )

    def __post_init__(self) -> None:
        one_of(self.api, APIS, "api")
        one_of(self.dataset, DATASETS, "dataset")
        _only_with(self, GSP_DEFAULTS, GSP)
        _only_with(self, MT_DEFAULTS, MULTI_TURN)
        requests = DEFAULT_NUM_PROMPTS
        if self.dataset == GSP:
            requests = self._resolve_shared_prefix()
        elif self.dataset == MULTI_TURN:
            requests = self._resolve_multi_turn()
        elif self.output_len is None and self.dataset == "random":
            object.__setattr__(self, "output_len", RANDOM_OUTPUT_LEN)
        if self.num_prompts is None:
            object.__setattr__(self, "num_prompts", requests)
        elif self.dataset in (GSP, MULTI_TURN) and self.num_prompts != requests:
            sizes = "gsp_num_groups x gsp_prompts_per_group"
            if self.dataset == MULTI_TURN:
                sizes = "mt_num_conversations x mt_num_turns"
            raise UsageError(
                f"num_prompts of a {self.dataset} run is {sizes} = {requests}, got "
                f"{self.num_prompts} (leave num_prompts out)"
            )
        at_least(self, ("input_len", "num_prompts"), 1)
        if self.output_len is not None:
            at_least(self, ("output_len",), 1)
        at_least(self, ("warmup", "seed"), 0)
        if self.max_concurrency is not None:
            at_least(self, ("max_concurrency",), 1)
        if not 0.0 <= self.range_ratio <= 1.0:
            raise UsageError(f"range_ratio must be within [0, 1], got {self.range_ratio}")
        if math.isnan(self.request_rate) or not self.request_rate > 0:
            raise UsageError(f'request_rate must be > 0 or "inf", got {self.request_rate}')
        positive(self, ("burstiness", "timeout_s"))

    def _resolve_shared_prefix(self) -> int:
        """Fill in SGLang's defaults; gsp_output_len and output_len are one setting."""
        if self.dataset_path is not None:
            raise UsageError(f"dataset {GSP} builds its prompts: it reads no dataset_path")
        out = self.gsp_output_len
        if out is not None and self.output_len is not None and out != self.output_len:
            raise UsageError(
                f"gsp_output_len {out} and output_len {self.output_len} disagree (they are "
                "one setting: give one)"
            )
        out = out or self.output_len or GSP_DEFAULTS["gsp_output_len"]
        for key, default in GSP_DEFAULTS.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, default)
        object.__setattr__(self, "gsp_output_len", out)
        object.__setattr__(self, "output_len", out)
        at_least(self, tuple(GSP_DEFAULTS), 1)
        return self.gsp_num_groups * self.gsp_prompts_per_group

    def _resolve_multi_turn(self) -> int:
        """Synthetic (no file): user turns of mt_user_len tokens, replies of output_len
        (256). From a file: the file's user turns, each reply's own length unless output_len."""
        for key in ("mt_num_conversations", "mt_num_turns"):
            if getattr(self, key) is None:
                object.__setattr__(self, key, MT_DEFAULTS[key])
        if self.dataset_path is not None:
            if self.mt_user_len is not None:
                raise UsageError(
                    "mt_user_len applies to synthetic conversations; with a dataset_path "
                    "the user turns are the file's"
                )
        else:
            if self.mt_user_len is None:
                object.__setattr__(self, "mt_user_len", MT_DEFAULTS["mt_user_len"])
            if self.output_len is None:
                object.__setattr__(self, "output_len", RANDOM_OUTPUT_LEN)
            at_least(self, ("mt_user_len",), 1)
        at_least(self, ("mt_num_conversations", "mt_num_turns"), 1)
        return self.mt_num_conversations * self.mt_num_turns

    def with_dataset_path(self, path: str | None) -> ThroughputWorkload:
        """The workload reading its dataset from `path` (a profile names a ShareGPT run; the
        command line says where the file is on this host). None keeps the workload's own, and
        so does a run that reads no file: a multi-turn run takes the path only when it names
        a file of its own (else its conversations are synthetic)."""
        reads_file = self.dataset == "sharegpt" or (
            self.dataset == MULTI_TURN and self.dataset_path is not None
        )
        if path is None or not reads_file:
            return self
        return dataclasses.replace(self, dataset_path=path)

    def check_dataset(self) -> None:
        """Before anything is sent: a ShareGPT run needs a local file, which must exist (and
        so does a multi-turn run that names one)."""
        if self.dataset == MULTI_TURN and self.dataset_path:
            if not Path(self.dataset_path).is_file():
                raise InputError(f"dataset file not found: {self.dataset_path}")
            return
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

    api: str = described("chat", "endpoint family: chat or completions")
    input_len: int = described(4096, "prompt tokens")
    output_len: int = described(512, "max_tokens per run")
    runs: int = described(10, "measured runs")
    warmup: int = described(2, "unmeasured runs first")
    seed: int = described(1, "seed of the prompts")
    timeout_s: float = described(600.0, "per-request timeout, seconds", flag="--timeout")
    ignore_eos: bool = described(True, "ask for exactly max_tokens (an SGLang/vLLM extension)")

    def __post_init__(self) -> None:
        one_of(self.api, LATENCY_APIS, "api")
        at_least(self, ("input_len", "output_len", "runs"), 1)
        at_least(self, ("warmup", "seed"), 0)
        positive(self, ("timeout_s",))

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


def _only_with(obj: Any, keys: dict[str, Any], dataset: str) -> None:
    """A key of one dataset, set for another, is an error naming it."""
    if obj.dataset == dataset:
        return
    for key in keys:
        if getattr(obj, key) is not None:
            raise UsageError(f"{key} applies only to dataset {dataset}, not {obj.dataset}")


def one_of(value: str, allowed: tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise UsageError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")


def at_least(obj: Any, keys: tuple[str, ...], minimum: int) -> None:
    for key in keys:
        if getattr(obj, key) < minimum:
            raise UsageError(f"{key} must be >= {minimum}, got {getattr(obj, key)}")


def positive(obj: Any, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = getattr(obj, key)
        if math.isnan(value) or not value > 0:
            raise UsageError(f"{key} must be > 0, got {value}")
