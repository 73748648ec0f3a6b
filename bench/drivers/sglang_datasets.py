"""A kit workload's dataset as sglang.bench_serving's flags, and where its files go.

- `random` becomes `random-ids` (random token ids: `random` would download ShareGPT).
- `sharegpt` needs a local `--dataset-path` (nothing is downloaded).
- `generated-shared-prefix` is bench_serving's own dataset of that name, with its
  `--gsp-*` flags. bench_serving (0.5.3 and later) ignores `--num-prompts` for it and sends
  groups x prompts per group, as the kit does; `--gsp-range-ratio` exists only after 0.5.3.
  Its warm-up request is the first measured prompt, which would leave that prompt's group
  prefix in the server's cache, so `--flush-cache` is passed (it flushes after the warm-up)
  where the release has it. bench_serving pickles the prompts it generates under
  `~/.cache/sglang/benchmark/`, keyed in 0.5.3 on the sizes and the tokenizer's class only
  (not the seed, not the tokenizer's path), and loads that file when it exists: the driver
  runs it with HOME in a directory of its own beside the output, so no earlier run's
  prompts are reused and nothing is written to the user's home.
- `multi-turn` has no bench_serving equivalent: the kit's own driver runs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.errors import UsageError
from bench.workload.spec import GSP, ThroughputWorkload

KIT_DATASET = {
    "random": "random-ids",
    "random-ids": "random-ids",
    "sharegpt": "sharegpt",
    GSP: GSP,
}
GSP_FLAGS = (
    ("gsp_num_groups", "--gsp-num-groups"),
    ("gsp_prompts_per_group", "--gsp-prompts-per-group"),
    ("gsp_system_prompt_len", "--gsp-system-prompt-len"),
    ("gsp_question_len", "--gsp-question-len"),
    ("gsp_output_len", "--gsp-output-len"),
)


def fmt_number(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def require_flag(install: Any, has_it: bool, flag: str, instead: str) -> None:
    """A UsageError when the installed bench_serving lacks `flag` (use `instead`)."""
    if not has_it:
        raise UsageError(
            f"sglang.bench_serving {install.version} has no {flag}; "
            f"use {instead} or the kit's driver"
        )


def dataset_argv(workload: ThroughputWorkload, install: Any) -> list[str]:
    """`--dataset-name` and the flags of that dataset."""
    if workload.dataset not in KIT_DATASET:
        raise UsageError(
            f"--driver sglang cannot run dataset {workload.dataset!r} "
            "(sglang.bench_serving has no equivalent; the kit's driver runs it)"
        )
    dataset = KIT_DATASET[workload.dataset]
    argv = ["--dataset-name", dataset]
    if dataset == "sharegpt":
        if not workload.dataset_path:
            raise UsageError("the sharegpt dataset needs --dataset-path (nothing is downloaded)")
        argv += ["--dataset-path", workload.dataset_path]
        if workload.output_len is not None:
            argv += ["--sharegpt-output-len", str(workload.output_len)]
    elif dataset == GSP:
        for key, flag in GSP_FLAGS:
            argv += [flag, str(getattr(workload, key))]
        if workload.range_ratio != 1.0:
            require_flag(
                install, install.has_gsp_range_ratio_flag, "--gsp-range-ratio", "range_ratio 1"
            )
            argv += ["--gsp-range-ratio", fmt_number(workload.range_ratio)]
        if install.has_flush_cache_flag:
            argv += ["--flush-cache"]
    else:
        argv += ["--random-input-len", str(workload.input_len)]
        argv += ["--random-output-len", str(workload.output_len)]
        argv += ["--random-range-ratio", fmt_number(workload.range_ratio)]
    return argv


def process_env(workload: ThroughputWorkload, output_file: Path) -> dict[str, str]:
    """Environment changes for the run: a HOME of its own for the shared-prefix dataset
    (its prompt cache; the Hugging Face cache stays where it was)."""
    if workload.dataset != GSP:
        return {}
    home = output_file.with_name(output_file.name + ".home")
    home.mkdir(parents=True, exist_ok=True)
    hf_home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return {"HOME": str(home), "HF_HOME": hf_home}


def gsp_workload(workload: ThroughputWorkload) -> dict[str, int] | None:
    """The `gsp_*` keys of a shared-prefix workload, for the run's `workload` object."""
    if workload.dataset != GSP:
        return None
    return {key: getattr(workload, key) for key, _flag in GSP_FLAGS}
