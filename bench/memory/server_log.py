"""Memory figures from an SGLang server log, one set per tensor-parallel rank.

Written against SGLang's own format strings (python/sglang/srt/model_executor/model_runner.py,
mem_cache/memory_pool.py, managers/scheduler.py), across the versions the Ascend images ship:

    Load weight begin. avail mem=137.29 GB
    Load weight end. [elapsed=50.89 s, ]type=Qwen2ForCausalLM, [dtype=torch.bfloat16, ]
        avail mem=47.53 GB[, mem usage=14.27 GB.]
    KV Cache is allocated. [dtype: torch.bfloat16, ][#tokens: 442750, ]K size: 27.02 GB,
        V size: 27.02 GB
    KV Cache is allocated. #tokens: 975424, KV size: 43.67 GB          (MLA models: one buffer)
    max_total_num_tokens=420200, chunked_prefill_size=..., max_prefill_tokens=..., ...
    server_args=ServerArgs(model_path='...', ..., mem_fraction_static=0.9, ..., tp_size=1, ...)

each behind a `[2025-01-23 19:35:20 TP0]`, `[01:39:47]` or `[... DP1 TP1 EP1]` prefix (the rank
tags appear only when that parallelism is > 1). A rank is its (DP, TP) pair: with `--dp-size`
every data-parallel replica loads its own copy of the weights on its own NPUs, so `DP1 TP0`
is another device than `DP0 TP0`, never the same rank loading twice.
SGLang computes every "GB" as bytes / 2**30 (`GB = 1024 * 1024 * 1024` in memory_pool.py,
`free / (1 << 30)` in get_available_gpu_memory): the unit is GiB, so the numbers are kept as
they are, never rescaled by 1e9 / 2**30. Values are printed with two decimals, so each one
is exact to +-0.005 GiB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.errors import InputError

MAX_LOG_BYTES = 256 * 1024 * 1024

_PREFIX = re.compile(
    r"\[(?:\d{4}-\d\d-\d\d[ T])?\d\d:\d\d:\d\d(?:[.,]\d+)?(?P<tags>(?:\s+[A-Z]{2,3}\d+)*)\]"
)
_TAG = re.compile(r"([A-Z]{2,3})(\d+)")
_GB = r"(\d+(?:\.\d+)?)\s*GB"
_LOAD_BEGIN = re.compile(r"Load weight begin\. avail mem=" + _GB)
_LOAD_END = re.compile(r"Load weight end\.(?P<body>.*)$")
_KV = re.compile(
    r"KV Cache is allocated\.(?:\s*dtype:\s*(?P<dtype>[\w.]+),)?(?:\s*#tokens:\s*(?P<tokens>\d+),)?"
    r"\s*(?:K size:\s*" + _GB + r",\s*V size:\s*" + _GB + r"|KV size:\s*" + _GB + r")"
)
_SUMMARY = re.compile(r"max_total_num_tokens=(\d+)(?P<rest>.*)$")
_SERVER_ARGS = re.compile(r"server_args=ServerArgs\((?P<body>.*?)\)?\s*$")


@dataclass(frozen=True)
class RankLog:
    """What the log says about one rank (one NPU). Sizes in GiB."""

    rank: int  # the tensor-parallel rank (its `TPn` tag; 0 without one)
    weights_gib: float | None = None
    weights_from: str | None = None  # "mem usage" or "avail difference" (versions without it)
    avail_before_weights_gib: float | None = None
    avail_after_weights_gib: float | None = None
    weight_loads: int = 0
    kv_cache_gib: float | None = None  # K + V over every pool allocated on this rank
    kv_tokens: int | None = None  # #tokens of the first (main) pool
    kv_pools: int = 0
    kv_dtype: str | None = None
    model_class: str | None = None
    dtype: str | None = None
    load_elapsed_s: float | None = None
    dp_rank: int | None = None  # the data-parallel replica, when the line has both tags

    @property
    def label(self) -> str:
        return f"rank {self.rank}" if self.dp_rank is None else f"DP{self.dp_rank} TP{self.rank}"


@dataclass(frozen=True)
class ServerLogMemory:
    ranks: tuple[RankLog, ...]
    max_total_num_tokens: int | None = None
    scheduler: dict = field(default_factory=dict)
    mem_fraction_static: float | None = None
    tp_size: int | None = None
    dp_size: int | None = None
    model_path: str | None = None
    lines_matched: int = 0
    notes: tuple[str, ...] = ()


def _rank_of(line: str, match_start: int) -> tuple[int | None, int]:
    """(DP rank, TP rank) of a log line from its `DPn` and `TPn` tags: no `DPn` tag, DP None
    (one replica); no `TPn` tag, TP rank 0 (SGLang tags TP only when tp_size > 1)."""
    prefix = None
    for m in _PREFIX.finditer(line, 0, match_start):
        prefix = m
    if prefix is None:
        return None, 0
    tags = dict(_TAG.findall(prefix.group("tags") or ""))
    dp = int(tags["DP"]) if "DP" in tags else None
    return dp, int(tags.get("TP", 0))


def _kv_pairs(body: str) -> dict[str, str]:
    """`a=1, b=2 GB, c='x'` -> {'a': '1', 'b': '2 GB', 'c': 'x'} (keys may contain spaces)."""
    out = {}
    for m in re.finditer(r"([A-Za-z_][\w ]*?)=('[^']*'|[^,]*)", body):
        out[m.group(1).strip()] = m.group(2).strip().strip("'").rstrip(".").strip()
    return out


def _gib(value: str | None) -> float | None:
    if value is None:
        return None
    m = re.match(r"(\d+(?:\.\d+)?)\s*GB", value)
    return float(m.group(1)) if m else None


def parse_server_log(text: str) -> ServerLogMemory:
    """Every memory figure SGLang logged at start-up. Pure: text in, frozen record out."""
    ranks: dict[tuple[int, int], RankLog] = {}
    notes: list[str] = []
    matched = 0
    summary: dict = {}
    max_total = None
    server_args: dict[str, str] = {}

    def get(key: tuple[int | None, int]) -> RankLog:
        dp, tp = key
        return ranks.setdefault((-1 if dp is None else dp, tp), RankLog(rank=tp, dp_rank=dp))

    def put(rank: RankLog) -> None:
        ranks[(-1 if rank.dp_rank is None else rank.dp_rank, rank.rank)] = rank

    for line in text.splitlines():
        if m := _LOAD_BEGIN.search(line):
            put(replace(get(_rank_of(line, m.start())), avail_before_weights_gib=float(m.group(1))))
            matched += 1
        elif m := _LOAD_END.search(line):
            kv = _kv_pairs(m.group("body"))
            cur = get(_rank_of(line, m.start()))
            usage = _gib(kv.get("mem usage"))
            after = _gib(kv.get("avail mem"))
            how = "mem usage"
            if usage is None and after is not None and cur.avail_before_weights_gib is not None:
                usage = round(cur.avail_before_weights_gib - after, 2)
                how = "avail difference"
            if cur.weight_loads and usage is not None and cur.weights_gib is not None:
                usage = round(cur.weights_gib + usage, 2)
                notes.append(
                    f"{cur.label} loaded weights more than once (a draft model, or two starts in "
                    "one log); weights are summed"
                )
            elapsed = kv.get("elapsed", "").removesuffix(" s").strip()
            seconds = float(elapsed) if re.fullmatch(r"\d+(\.\d+)?", elapsed) else None
            put(
                replace(
                    cur,
                    weights_gib=usage,
                    weights_from=how if usage is not None else None,
                    avail_after_weights_gib=after,
                    weight_loads=cur.weight_loads + 1,
                    model_class=kv.get("type") or cur.model_class,
                    dtype=kv.get("dtype") or cur.dtype,
                    load_elapsed_s=seconds,
                )
            )
            matched += 1
        elif m := _KV.search(line):
            cur = get(_rank_of(line, m.start()))
            k, v, single = m.group(3), m.group(4), m.group(5)
            size = float(single) if single is not None else float(k) + float(v)
            tokens = int(m.group("tokens")) if m.group("tokens") else None
            put(
                replace(
                    cur,
                    kv_cache_gib=round((cur.kv_cache_gib or 0.0) + size, 4),
                    kv_tokens=cur.kv_tokens if cur.kv_pools else tokens,
                    kv_pools=cur.kv_pools + 1,
                    kv_dtype=m.group("dtype") or cur.kv_dtype,
                )
            )
            if cur.kv_pools == 1:
                notes.append(
                    f"{cur.label} allocated more than one KV pool (a speculative draft model?); "
                    "kv_cache_gib is their sum, kv_tokens that of the first"
                )
            matched += 1
        elif m := _SUMMARY.search(line):
            max_total = int(m.group(1))
            summary = {"max_total_num_tokens": max_total, **_kv_pairs(m.group("rest"))}
            matched += 1
        elif m := _SERVER_ARGS.search(line):
            server_args = _kv_pairs(m.group("body"))
            matched += 1

    def num(key: str, kind):
        try:
            return kind(server_args[key])
        except (KeyError, ValueError):
            return None

    return ServerLogMemory(
        ranks=tuple(ranks[r] for r in sorted(ranks)),
        max_total_num_tokens=max_total,
        scheduler=summary,
        mem_fraction_static=num("mem_fraction_static", float),
        tp_size=num("tp_size", int),
        dp_size=num("dp_size", int),
        model_path=server_args.get("model_path"),
        lines_matched=matched,
        notes=tuple(dict.fromkeys(notes)),
    )


def read_server_log(path: str | Path) -> ServerLogMemory:
    """Parse a log file; a missing, unreadable or memory-free file is an InputError."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_LOG_BYTES:
            raise InputError(f"{p}: server log larger than {MAX_LOG_BYTES // 2**20} MiB")
        text = p.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read server log {p}: {exc.strerror or exc}") from None
    parsed = parse_server_log(text)
    if not parsed.lines_matched:
        raise InputError(
            f"{p}: no SGLang memory lines found (`Load weight end.`, `KV Cache is allocated.`, "
            "`max_total_num_tokens=`); is this the server's log?"
        )
    return parsed
