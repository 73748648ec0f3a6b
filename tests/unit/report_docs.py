"""Result documents for the report, submit and compare tests, built from A's fixtures.

Each builder returns a fresh, internally consistent document (a deep copy of a committed
fixture, changed in ways that keep it consistent), so the real validator judges it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results"
REPO = Path(__file__).resolve().parents[2]
ARTICLE = REPO / "results" / "reference" / "article-qwen2-7b-atlas800t-sglang.json"

HOSTILE_NAMES = {
    "pipe": "alice | bob || carol",
    "newline": "line one\nline two\r\n| fake | row |",
    "script": '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "long": "x" * 10_000,
}


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def measured() -> dict:
    return _load("measured_valid.json")


def simulated() -> dict:
    return _load("simulated_valid.json")


def article() -> dict:
    return json.loads(ARTICLE.read_text(encoding="utf-8"))


def slower(doc: dict, factor: float) -> dict:
    """The same document with every throughput run `factor` (< 1) times as fast.

    The window grows by 1/factor with the same tokens and latencies, so every throughput and
    the achieved concurrency scale by `factor` and the document stays consistent.
    """
    assert 0 < factor <= 1
    out = copy.deepcopy(doc)
    for run in out["measurements"]["throughput"]:
        m = run["metrics"]
        m["duration_s"] = m["duration_s"] / factor
        fixed = ("requested_rate_rps", "achieved_rate_rps", "interactivity_tok_s")
        for key in list(m):
            is_rate = key.endswith(("_rps", "_tok_s")) and isinstance(m[key], int | float)
            if is_rate and key not in fixed:
                m[key] = m[key] * factor
        if isinstance(m.get("achieved_concurrency"), int | float):
            m["achieved_concurrency"] = m["achieved_concurrency"] * factor
    return out


def with_records_hashes(doc: dict) -> dict:
    """The document with a records sha256 on every run (the validator warns without one)."""
    out = copy.deepcopy(doc)
    for section in ("throughput", "latency"):
        for run in out["measurements"][section]:
            run["records"]["sha256"] = "a" * 64
    return out


def delivered_in_bursts(doc: dict, single: int = 6) -> dict:
    """The document with `single` of the replies of its latency run delivered whole (one read,
    as a buffering server or proxy writes them): their TTFT is their E2E and their TPOT and
    ITL gaps are 0. The run's other figures move with them, so the document stays consistent,
    and its delivery figures say so."""
    out = copy.deepcopy(doc)
    m = out["measurements"]["latency"][0]["metrics"]
    ttft, tpot, e2e = m["ttft_ms"], m["tpot_ms"], m["e2e_ms"]
    count = tpot["count"]
    assert 0 < single <= count and count / 2 < single  # the median reply came whole
    streamed = count - single
    ttft["mean"] = (single * e2e["mean"] + streamed * ttft["mean"]) / count
    ttft.update(median=e2e["median"], p90=e2e["p90"], p99=e2e["p99"], max=e2e["max"])
    ttft["std"] = 0.9 * (ttft["max"] - ttft["min"]) / 2
    tpot.update(mean=tpot["mean"] * streamed / count, median=0, min=0, std=0.9 * tpot["max"] / 2)
    m["itl_ms"].update(median=0, min=0)
    m["interactivity_tok_s"] = None  # 1000 / a median TPOT of 0
    m["delivery"] = {
        "single_read_requests": single,
        "tokens_per_read": {"mean": 2.5, "median": 1.0, "p90": 1.0, "p99": 512.0, "std": 36.0,
                            "min": 1.0, "max": 512.0, "count": 2050},
    }  # fmt: skip
    return out


def with_provenance(doc: dict) -> dict:
    """The document with a model revision and an image digest (placeholders of the right
    shape), so a measured one draws no provenance warning."""
    out = copy.deepcopy(doc)
    out["model"]["revision"] = "0123456789abcdef0123456789abcdef01234567"
    out["software"]["image"]["digest"] = "sha256:" + "b" * 64
    out["software"]["missing"].pop("image.digest", None)
    return out


def with_submitter(doc: dict, name: str) -> dict:
    out = copy.deepcopy(doc)
    out["submitter"]["name"] = name
    return out


def write(directory: Path, name: str, doc: dict) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
