"""Run `python -m sglang.bench_serving` as the throughput driver and map its output.

Two ways to build its command line:

- `build_argv(SglangRun)`: the equivalent of a kit workload. The kit's `random` dataset
  (exact lengths) becomes sglang's `random-ids` (random token ids, nothing downloaded);
  `--dataset-name random` would sample ShareGPT text and download it. `sharegpt` needs a
  local `--dataset-path`. `--output-details` is always passed so every request's TTFT and
  ITLs come back; `--warmup-requests` only where the installed release has it.
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

from bench.drivers.sglang_output import Invocation, map_run, parse_output
from bench.errors import BenchError, InputError, UsageError
from bench.jsonio import sha256_file

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
KIT_DATASET = {"random": "random-ids", "random-ids": "random-ids", "sharegpt": "sharegpt"}
STARTUP_ALLOWANCE_S = 120.0


@dataclass(frozen=True)
class SglangRun:
    """A kit workload to run through sglang.bench_serving. `request_rate` None = infinite."""

    base_url: str
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
    model: str | None = None
    tokenizer: str | None = None
    as_written: bool = False
    python: str = sys.executable


@dataclass(frozen=True)
class SglangInstall:
    version: str
    has_warmup_flag: bool


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
print("--warmup-requests" in text)
"""


def probe_install(python: str = sys.executable) -> SglangInstall:
    """sglang's version and whether its bench_serving has --warmup-requests (no import)."""
    try:
        proc = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"cannot run {python} to find sglang: {exc}") from None
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) < 2:
        raise BenchError(
            f"sglang is not installed for {python}: `--driver sglang` needs "
            "`pip install --no-deps sglang==0.5.3` (make venv-test does it)"
        )
    return SglangInstall(version=lines[0], has_warmup_flag=lines[1] == "True")


def _fmt(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def build_argv(run: SglangRun, output_file: Path, install: SglangInstall) -> list[str]:
    """The sglang.bench_serving argv equivalent to a kit workload."""
    if run.as_written:
        return as_written_argv(
            run.base_url, output_file, run.dataset_path, run.python, run.tokenizer
        )
    if run.dataset not in KIT_DATASET:
        raise UsageError(f"--driver sglang cannot run dataset {run.dataset!r}")
    if run.api not in KIT_API_BACKEND:
        raise UsageError(f"--driver sglang cannot use api {run.api!r}")
    dataset = KIT_DATASET[run.dataset]
    argv = [run.python, "-m", MODULE, "--backend", KIT_API_BACKEND[run.api]]
    argv += ["--base-url", run.base_url, "--dataset-name", dataset]
    if dataset == "sharegpt":
        if not run.dataset_path:
            raise UsageError("the sharegpt dataset needs --dataset-path (nothing is downloaded)")
        argv += ["--dataset-path", run.dataset_path, "--sharegpt-output-len", str(run.output_len)]
    else:
        argv += ["--random-input-len", str(run.input_len)]
        argv += ["--random-output-len", str(run.output_len)]
        argv += ["--random-range-ratio", _fmt(run.range_ratio)]
    argv += ["--num-prompts", str(run.num_prompts), "--seed", str(run.seed)]
    if run.max_concurrency is not None:
        argv += ["--max-concurrency", str(run.max_concurrency)]
    if run.request_rate is not None:
        argv += ["--request-rate", _fmt(run.request_rate)]
    if run.model:
        argv += ["--model", run.model]
    if run.tokenizer:
        argv += ["--tokenizer", run.tokenizer]
    if not run.ignore_eos:
        argv += ["--disable-ignore-eos"]
    if install.has_warmup_flag:
        argv += ["--warmup-requests", str(run.warmup)]
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


def process_timeout_s(run: SglangRun) -> float:
    """A bound on the whole process: per-request timeout x waves of requests, + start-up."""
    concurrency = run.max_concurrency or run.num_prompts
    waves = math.ceil(run.num_prompts / concurrency) + (1 if run.warmup else 0)
    return STARTUP_ALLOWANCE_S + run.timeout_s * waves


def _run_process(argv: list[str], log_path: Path, timeout_s: float) -> int:
    """Run argv with stdout+stderr into log_path; kill its process group past timeout_s."""
    # Offline unless the user says otherwise: the kit downloads no dataset and no tokenizer.
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **os.environ}
    env.update(PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
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


def run_sglang(run: SglangRun, output_file: Path, name: str) -> dict[str, Any]:
    """Run sglang.bench_serving for one workload and return the schema `run` object.

    `output_file` must not exist (sglang appends); its log goes to `<output_file>.log`.
    """
    output_file = Path(output_file)
    if output_file.exists():
        raise UsageError(f"{output_file} exists; sglang.bench_serving would append to it")
    if run.dataset_path and not Path(run.dataset_path).is_file():
        raise InputError(f"dataset file not found: {run.dataset_path}")
    install = probe_install(run.python)
    argv = build_argv(run, output_file, install)
    log_path = output_file.with_name(output_file.name + ".log")
    started = time.time()
    started_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    code = _run_process(argv, log_path, process_timeout_s(run))
    if code != 0 or not output_file.is_file():
        raise BenchError(
            f"sglang.bench_serving exited with code {code} after {time.time() - started:.0f} s "
            f"(last output: {_last_lines(log_path)}); its log is {log_path}"
        )
    results = parse_output(output_file.read_text(encoding="utf-8"), str(output_file))
    warmup = (1 if run.as_written else run.warmup) if install.has_warmup_flag else 1
    invocation = Invocation(
        argv=tuple(argv),
        version=install.version,
        num_prompts=run.num_prompts,
        seed=run.seed if not run.as_written else 1,
        warmup_requests=warmup,
        dataset_path=run.dataset_path,
        dataset_sha256=sha256_file(Path(run.dataset_path)) if run.dataset_path else None,
        tokenizer=run.tokenizer,
        as_written=run.as_written,
        records_path=str(output_file),
        records_sha256=sha256_file(output_file),
        notes=_as_written_note(run) if run.as_written else None,
    )
    return {"name": name, "started_utc": started_utc, **map_run(results[-1], invocation, name)}


def _as_written_note(run: SglangRun) -> str:
    return (
        "the article's command exactly as written: with no --dataset-name it runs ShareGPT "
        "(sglang.bench_serving's default) and ignores --random-input-len 512 and "
        "--random-output-len 256; changed: --base-url "
        f"{run.base_url}; added: --dataset-path (a local ShareGPT file), "
        + ("--tokenizer, " if run.tokenizer else "")
        + "--output-file and --output-details"
    )


def run_from_args(args: Any) -> int:
    """`bench throughput --driver sglang`: the same flags, run through sglang.bench_serving.

    The run object goes to --out (and a summary to stdout), sglang's output file to
    --records (default OUT.sglang.jsonl), its console log beside that.
    """
    from bench.cli.throughput import finish

    out = getattr(args, "out", None)
    if out is not None and Path(out).exists():
        raise UsageError(f"{out} already exists; name another --out file")
    run = SglangRun(
        base_url=args.base_url.rstrip("/"),
        api=getattr(args, "api", "chat") or "chat",
        dataset=getattr(args, "dataset", "random") or "random",
        dataset_path=getattr(args, "dataset_path", None),
        input_len=args.input_len,
        output_len=args.output_len,
        range_ratio=args.range_ratio,
        num_prompts=args.num_prompts,
        max_concurrency=getattr(args, "max_concurrency", None),
        request_rate=_rate(getattr(args, "request_rate", None)),
        seed=getattr(args, "seed", 1),
        warmup=getattr(args, "warmup", 1),
        timeout_s=getattr(args, "timeout", 600.0),
        model=getattr(args, "model", None),
        tokenizer=getattr(args, "tokenizer", None),
        as_written=bool(getattr(args, "as_written", False)),
    )
    output_file = getattr(args, "records", None)
    if output_file is None and out is not None:
        out = Path(out)
        output_file = out.with_name(out.name.removesuffix(".json") + ".sglang.jsonl")
    elif output_file is None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        output_file = Path(f"sglang-bench-serving-{stamp}-{os.getpid()}.jsonl")
    default_name = "throughput-as-written" if run.as_written else "throughput-sglang"
    name = getattr(args, "name", None) or default_name
    result = run_sglang(run, Path(output_file), name)
    return finish(
        args,
        result,
        f"bench throughput (driver sglang.bench_serving {result['driver']['version']})",
    )


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    rate = float(value)
    return None if math.isinf(rate) else rate
