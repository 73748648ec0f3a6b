"""The client's own measurement error, against the simulator's ground truth (`bench selftest`).

Starts the simulator as a separate process (so it does not share this interpreter's lock
with the client being judged), runs the load generator at each concurrency, joins every
record with the simulator's ground-truth line by response id, and compares:

- TTFT error = measured TTFT - true TTFT. Both start when the request's last byte was
  written to the socket (the client's `send_ns`, stamped right after the write), so the
  error is when the client saw the first content chunk minus when the simulator wrote
  it: delivery and client read delay. The client's overhead before the write
  (`client_send_overhead_ms`) is not part of TTFT and is shown separately. The simulator
  stamps a request's arrival only when its handler runs, which under load is after other
  requests' work; that wait is real server latency, shown as `server_arrival_lag_ms`;
- TPOT error = measured TPOT - (last token written - first token written) / (N - 1);
- N_out: the kit's count and the client tokenizer's count must both equal the number of
  tokens the simulator generated.

The workload uses random output lengths (range ratio 0.5) so requests finish, and new
ones arrive, spread out rather than in lock-step waves; waves would mostly measure the
simulator's own queueing before its arrival stamp, not the client.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError, InputError
from bench.metrics import e2e_ns, output_tokens, summarize, ttft_ns
from bench.records import Record, read_records

READY_TIMEOUT_S = 60.0
TRUTH_WAIT_S = 10.0  # the simulator writes a request's truth line just after its last byte
PER_LEVEL_KEYS = (
    "concurrency",
    "requests_compared",
    "ttft_abs_error_ms",
    "tpot_abs_error_ms",
    "tpot_abs_error_pct",
    "output_tokens_exact",
)
WORKLOAD_NOTE = (
    "random prompts of {input_len} tokens (range ratio {range_ratio}), up to {output_len} "
    "output tokens with ignore_eos, chat API, {per_level} requests per level after as many "
    "warm-up requests as the concurrency"
)


@dataclass(frozen=True)
class SelftestConfig:
    concurrencies: tuple[int, ...] = (1, 16, 64)
    input_len: int = 256
    output_len: int = 64
    range_ratio: float = 0.5
    requests_per_level: int | None = None  # None: max(2 x concurrency, 8)
    speed: float = 1.0
    seed: int = 0
    timeout: float = 120.0


@dataclass(frozen=True)
class Comparison:
    """One record beside its ground truth."""

    ttft_error_ms: float
    send_overhead_ms: float
    arrival_lag_ms: float
    tpot_error_ms: float | None
    tpot_error_pct: float | None
    tokens_exact: bool


def load_ground_truth(path: Path) -> dict[str, dict[str, Any]]:
    """Ground-truth lines keyed by response id."""
    truth: dict[str, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read ground truth {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
            truth[str(entry["id"])] = entry
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}:{number}: not a ground-truth line") from None
    return truth


def wait_for_truth(path: Path, ids: list[str | None]) -> dict[str, dict[str, Any]]:
    """The ground truth once it holds every id (bounded wait), else what it holds."""
    deadline = time.monotonic() + TRUTH_WAIT_S
    while True:
        truth = load_ground_truth(path) if path.exists() else {}
        if all(i in truth for i in ids) or time.monotonic() > deadline:
            return truth
        time.sleep(0.05)


def compare(record: Record, truth: dict[str, Any]) -> Comparison:
    """Pure: the errors of one completed record against its ground-truth line."""
    token_ns = truth["token_ns"]
    n_true = int(truth["completion_tokens"])
    measured_ttft = ttft_ns(record)
    measured_e2e = e2e_ns(record)
    if measured_ttft is None or measured_e2e is None or not token_ns:
        raise BenchError(f"request {record.rid} has no content to compare")
    true_ttft = token_ns[0] - record.send_ns
    submitted = record.submit_ns if record.submit_ns is not None else record.send_ns
    tpot_error_ms = tpot_error_pct = None
    n_out = output_tokens(record)
    if n_true > 1 and n_out is not None and n_out > 1:
        measured_tpot = (measured_e2e - measured_ttft) / (n_out - 1)
        true_tpot = (token_ns[-1] - token_ns[0]) / (n_true - 1)
        tpot_error_ms = (measured_tpot - true_tpot) / 1e6
        tpot_error_pct = 100.0 * (measured_tpot - true_tpot) / true_tpot if true_tpot else None
    exact = (
        n_out == n_true
        and record.completion_tokens_client == n_true
        and sum(record.chunk_tokens) == n_true
    )
    return Comparison(
        ttft_error_ms=(measured_ttft - true_ttft) / 1e6,
        send_overhead_ms=(record.send_ns - submitted) / 1e6,
        arrival_lag_ms=(truth["arrival_ns"] - record.send_ns) / 1e6,
        tpot_error_ms=tpot_error_ms,
        tpot_error_pct=tpot_error_pct,
        tokens_exact=exact,
    )


def join(records: Iterable[Record], truth: dict[str, dict[str, Any]]) -> list[Comparison]:
    """Compare every completed, measured record; a record without its truth is an error."""
    out = []
    for record in records:
        if record.warmup:
            continue
        if not record.ok:
            raise BenchError(f"request {record.rid} failed during the self-test: {record.error}")
        entry = truth.get(record.response_id or "")
        if entry is None:
            raise BenchError(f"request {record.rid} (id {record.response_id}) has no ground truth")
        out.append(compare(record, entry))
    return out


def _abs_stats(values: Iterable[float | None]) -> dict[str, Any] | None:
    return summarize(abs(v) for v in values if v is not None)


def accuracy_of(comparisons: list[Comparison]) -> dict[str, Any]:
    return {
        "requests_compared": len(comparisons),
        "ttft_abs_error_ms": _abs_stats(c.ttft_error_ms for c in comparisons),
        "tpot_abs_error_ms": _abs_stats(c.tpot_error_ms for c in comparisons),
        "tpot_abs_error_pct": _abs_stats(c.tpot_error_pct for c in comparisons),
        "output_tokens_exact": all(c.tokens_exact for c in comparisons),
        "client_send_overhead_ms": _abs_stats(c.send_overhead_ms for c in comparisons),
        "server_arrival_lag_ms": _abs_stats(c.arrival_lag_ms for c in comparisons),
    }


@contextlib.contextmanager
def simulator_process(workdir: Path, speed: float, seed: int):
    """`python -m bench sim` on a free port; yields (base_url, ground-truth path)."""
    from bench.sim.process import SimProcess

    truth = workdir / "sim-ground-truth.jsonl"
    args = ["--ground-truth", str(truth), "--log-file", str(workdir / "sim.log"),
            "--speed", str(speed), "--seed", str(seed)]  # fmt: skip
    with SimProcess(args, workdir=workdir, start_timeout_s=READY_TIMEOUT_S) as sim:
        yield sim.base_url, truth


def run_selftest(
    workdir: str | Path,
    config: SelftestConfig = SelftestConfig(),
    *,
    echo: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Run the self-test; return the schema's `accuracy` object. Files go in `workdir`."""
    from bench.client.loadgen import run_throughput
    from bench.client.target import resolve_target
    from bench.sim import tokenizer_dir
    from bench.workload.spec import ThroughputWorkload

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    levels: list[dict[str, Any]] = []
    everything: list[Comparison] = []
    per_level = {c: config.requests_per_level or max(2 * c, 8) for c in config.concurrencies}
    with simulator_process(workdir, config.speed, config.seed) as (base_url, truth_path):
        target = resolve_target(base_url, tokenizer=tokenizer_dir())
        for c in config.concurrencies:
            workload = ThroughputWorkload(
                input_len=config.input_len,
                output_len=config.output_len,
                range_ratio=config.range_ratio,
                num_prompts=per_level[c],
                max_concurrency=c,
                warmup=c,
                seed=config.seed + c,
                timeout_s=config.timeout,
            )
            records_path = workdir / f"selftest-c{c}.records.jsonl"
            run_throughput(workload, target, records_path, progress=False)
            records = read_records(records_path)
            truth = wait_for_truth(truth_path, [r.response_id for r in records if r.ok])
            comparisons = join(records, truth)
            everything.extend(comparisons)
            level = {"concurrency": c, **accuracy_of(comparisons)}
            levels.append(level)
            echo(_level_line(level))
    accuracy = {
        "concurrencies": list(config.concurrencies),
        **accuracy_of(everything),
        "simulator_speed": config.speed,
        "per_concurrency": [
            {k: v for k, v in level.items() if k in PER_LEVEL_KEYS} for level in levels
        ],
        "workload": WORKLOAD_NOTE.format(
            input_len=config.input_len,
            range_ratio=config.range_ratio,
            output_len=config.output_len,
            per_level=", ".join(f"{n} at c={c}" for c, n in per_level.items()),
        ),
    }
    return accuracy


def _ms(stats: dict[str, Any] | None, key: str) -> str:
    return "-" if stats is None else f"{stats[key]:.3f}"


def _level_line(level: dict[str, Any]) -> str:
    ttft, tpot = level["ttft_abs_error_ms"], level["tpot_abs_error_ms"]
    return (
        f"c={level['concurrency']:<3} n={level['requests_compared']:<4} "
        f"|TTFT err| ms median {_ms(ttft, 'median')} p99 {_ms(ttft, 'p99')} "
        f"(not in TTFT: client send overhead {_ms(level['client_send_overhead_ms'], 'median')}, "
        f"server arrival lag {_ms(level['server_arrival_lag_ms'], 'median')})  "
        f"|TPOT err| ms median {_ms(tpot, 'median')} p99 {_ms(tpot, 'p99')} "
        f"(median {_ms(level['tpot_abs_error_pct'], 'median')}%)  "
        f"N_out exact: {'yes' if level['output_tokens_exact'] else 'NO'}"
    )
