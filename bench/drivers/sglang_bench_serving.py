"""Run `python -m sglang.bench_serving` as the throughput driver and map its output.

Two ways to build its command line:

- `build_argv(...)`: the equivalent of a kit workload (`ThroughputWorkload`); its dataset
  maps as `sglang_datasets` says (`random` becomes `random-ids`, nothing is downloaded;
  `generated-shared-prefix` is bench_serving's own). `--output-details` is always passed so
  every request's TTFT and ITLs come back; `--warmup-requests` only where the installed
  release has it.
- `as_written_argv(...)`: the article's command exactly as written, with only `--base-url`
  pointed at the target and `--output-file` added. It has no `--dataset-name`, so sglang
  runs ShareGPT, which it would download: the kit refuses to run it without a local
  ShareGPT file (`dataset_path`) and says so.

The subprocess runs with a bound on its total time; its console output goes to a log file
beside the output file. On a timeout or Ctrl-C it is killed and the error names both files.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.client.target import Target
from bench.drivers.sglang_datasets import (
    dataset_argv,
    fmt_number,
    gsp_workload,
    process_env,
    require_flag,
)
from bench.drivers.sglang_output import Invocation, map_run, parse_output
from bench.errors import BenchError, OutputExistsError, UsageError
from bench.jsonio import sha256_file
from bench.utc import utc_now
from bench.workload.spec import ThroughputWorkload

MODULE = "sglang.bench_serving"
ARTICLE_ARGS = (
    "--backend",
    "sglang",
    "--base-url",
    "http://127.0.0.1:8000",
    "--num-prompts",
    "200",
    "--random-input-len",
    "512",
    "--random-output-len",
    "256",
)
KIT_API_BACKEND = {"chat": "sglang-oai-chat", "completions": "sglang-oai", "generate": "sglang"}
STARTUP_ALLOWANCE_S = 120.0


@dataclass(frozen=True)
class SglangOptions:
    """The driver's own extras beside the workload and the target."""

    as_written: bool = False  # the article's command exactly as written
    python: str = sys.executable  # the interpreter that has sglang installed


@dataclass(frozen=True)
class SglangInstall:
    version: str
    has_warmup_flag: bool
    has_burstiness_flag: bool = False
    has_gsp_range_ratio_flag: bool = False
    has_flush_cache_flag: bool = False


_PROBE = """
import importlib.metadata as m, importlib.util as u, pathlib, sys
version = m.version("sglang")
spec = u.find_spec("sglang")
root = pathlib.Path(spec.origin).parent
text = ""
for rel in ("bench_serving.py", "benchmark/serving.py"):
    p = root / rel
    if p.is_file():
        text += p.read_text(encoding="utf-8", errors="replace")
print(version)
for flag in ("--warmup-requests", "--burstiness", "--gsp-range-ratio", "--flush-cache"):
    print(flag in text)
"""


def probe_install(python: str = sys.executable) -> SglangInstall:
    """sglang's version and which optional flags its bench_serving has (no import)."""
    try:
        proc = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"cannot run {python} to find sglang: {exc}") from None
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) < 5:
        raise BenchError(
            f"sglang is not installed for {python}: `--driver sglang` needs "
            "`pip install --no-deps sglang==0.5.3` (make venv-test does it)"
        )
    has = [line == "True" for line in lines[1:5]]
    return SglangInstall(lines[0], *has)


def build_argv(
    workload: ThroughputWorkload,
    target: Target,
    output_file: Path,
    install: SglangInstall,
    options: SglangOptions = SglangOptions(),
) -> list[str]:
    """The sglang.bench_serving argv equivalent to a kit workload."""
    tokenizer = str(target.tokenizer) if target.tokenizer else None
    if options.as_written:
        return as_written_argv(
            target.base_url, output_file, workload.dataset_path, options.python, tokenizer
        )
    if workload.api not in KIT_API_BACKEND:
        raise UsageError(f"--driver sglang cannot use api {workload.api!r}")
    argv = [options.python, "-m", MODULE, "--backend", KIT_API_BACKEND[workload.api]]
    argv += ["--base-url", target.base_url, *dataset_argv(workload, install)]
    argv += ["--num-prompts", str(workload.num_prompts), "--seed", str(workload.seed)]
    if workload.max_concurrency is not None:
        argv += ["--max-concurrency", str(workload.max_concurrency)]
    if workload.request_rate_rps is not None:
        argv += ["--request-rate", fmt_number(workload.request_rate_rps)]
    if workload.burstiness != 1.0:
        require_flag(install, install.has_burstiness_flag, "--burstiness", "burstiness 1 (Poisson)")
        argv += ["--burstiness", fmt_number(workload.burstiness)]
    argv += ["--model", target.model]
    if tokenizer:
        argv += ["--tokenizer", tokenizer]
    if not workload.ignore_eos:
        argv += ["--disable-ignore-eos"]
    if install.has_warmup_flag:
        argv += ["--warmup-requests", str(workload.warmup)]
    argv += ["--output-file", str(output_file), "--output-details", "--disable-tqdm"]
    return argv


def as_written_argv(
    base_url: str,
    output_file: Path,
    dataset_path: str | None,
    python: str = sys.executable,
    tokenizer: str | None = None,
) -> list[str]:
    """The article's command as written. Changed: the URL. Added: a local ShareGPT path
    (sglang would download it), where the results go (--output-file --output-details),
    and --tokenizer when given (without it sglang loads the model id the server reports,
    which exists only on the server's host)."""
    if not dataset_path:
        raise UsageError(
            "the article's command, as written, runs sglang.bench_serving's default dataset, "
            "ShareGPT, which it would download; the kit downloads nothing: give a local "
            "ShareGPT JSON file with --dataset-path"
        )
    argv = [python, "-m", MODULE, *ARTICLE_ARGS]
    argv[argv.index("--base-url") + 1] = base_url
    argv += ["--dataset-path", dataset_path]
    if tokenizer:
        argv += ["--tokenizer", tokenizer]
    return [*argv, "--output-file", str(output_file), "--output-details"]


def process_timeout_s(workload: ThroughputWorkload) -> float:
    """A bound on the whole process: per-request timeout x waves of requests, + start-up."""
    concurrency = workload.max_concurrency or workload.num_prompts
    waves = math.ceil(workload.num_prompts / concurrency) + (1 if workload.warmup else 0)
    return STARTUP_ALLOWANCE_S + workload.timeout_s * waves


def _run_process(
    argv: list[str], log_path: Path, timeout_s: float, extra_env: dict[str, str] | None = None
) -> int:
    """Run argv with stdout+stderr into log_path; kill its process group past timeout_s."""
    # Offline unless the user says otherwise: the kit downloads no dataset and no tokenizer.
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **os.environ}
    env.update(PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", **(extra_env or {}))
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise BenchError(
                f"sglang.bench_serving did not finish within {timeout_s:.0f} s and was "
                f"stopped; its log is {log_path}"
            ) from None
        except KeyboardInterrupt:
            _kill(proc)
            sys.stderr.write(f"sglang.bench_serving stopped; its log is {log_path}\n")
            raise


def _kill(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _last_lines(path: Path, n: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-400:]


def run_sglang(
    workload: ThroughputWorkload,
    target: Target,
    output_file: Path,
    name: str,
    options: SglangOptions = SglangOptions(),
) -> dict[str, Any]:
    """Run sglang.bench_serving for one workload and return the schema `run` object.

    `output_file` must not exist (sglang appends); its log goes to `<output_file>.log`.
    """
    output_file = Path(output_file)
    if output_file.exists():
        raise OutputExistsError(output_file, "sglang.bench_serving would append to it")
    workload.check_dataset()
    install = probe_install(options.python)
    argv = build_argv(workload, target, output_file, install, options)
    log_path = output_file.with_name(output_file.name + ".log")
    started = time.time()
    env = {} if options.as_written else process_env(workload, output_file)
    code = _run_process(argv, log_path, process_timeout_s(workload), env)
    if code != 0 or not output_file.is_file():
        raise BenchError(
            f"sglang.bench_serving exited with code {code} after {time.time() - started:.0f} s "
            f"(last output: {_last_lines(log_path)}); its log is {log_path}"
        )
    results = parse_output(output_file.read_text(encoding="utf-8"), str(output_file))
    warmup = (1 if options.as_written else workload.warmup) if install.has_warmup_flag else 1
    path = workload.dataset_path
    invocation = Invocation(
        argv=tuple(argv),
        version=install.version,
        num_prompts=workload.num_prompts,
        seed=1 if options.as_written else workload.seed,
        warmup_requests=warmup,
        dataset_path=path,
        dataset_sha256=sha256_file(Path(path)) if path else None,
        tokenizer=str(target.tokenizer) if target.tokenizer else None,
        as_written=options.as_written,
        records_path=str(output_file),
        records_sha256=sha256_file(output_file),
        notes=_as_written_note(target, options) if options.as_written else None,
        gsp=None if options.as_written else gsp_workload(workload),
    )
    run = map_run(results[-1], invocation, name)
    return {"name": name, "started_utc": utc_now(started), **run}


def _as_written_note(target: Target, options: SglangOptions) -> str:
    return (
        "the article's command exactly as written: with no --dataset-name it runs ShareGPT "
        "(sglang.bench_serving's default) and ignores --random-input-len 512 and "
        "--random-output-len 256; changed: --base-url "
        f"{target.base_url}; added: --dataset-path (a local ShareGPT file), "
        + ("--tokenizer, " if target.tokenizer else "")
        + "--output-file and --output-details"
    )
