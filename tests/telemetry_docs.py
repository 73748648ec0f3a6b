"""Result documents with telemetry for the validator and report tests: the committed
fixtures (tests/fixtures/results) with hand-made, internally consistent sections."""

from __future__ import annotations

import json

from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "results"


def stats(value: float) -> dict:
    return {"mean": value, "median": value, "p90": value, "p99": value, "std": 0.0,
            "min": value, "max": value, "count": 25}  # fmt: skip


def telemetry(power: float = 300.0, hbm: float = 58626.0) -> dict:
    return {
        "source": "simulated",
        "program": "npu-smi",
        "interval_s": 1.0,
        "started_utc": None,
        "started_ns": None,
        "npus": [{"index": 0, "name": "910B3", "hbm_capacity_mib": 65536}],
        "npu_selection": None,
        "sample_count": 27,
        "window_sample_count": 25,
        "gaps": 0,
        "max_gap_s": 1.0,
        "power_w": stats(power),
        "hbm_used_mib": stats(hbm),
        "aicore_util_pct": stats(50.0),
        "temperature_c": stats(60.0),
        "energy_j": power * 25.0,
        "energy_note": None,
        "energy_per_output_token_j": power * 25.0 / 51200,
        "series": {
            "power_w": {
                "t_s": [-1.0, 0.0, 12.5, 25.0, 26.0],
                "values": [95.0, power, power, power, 95.0],
            },
            "hbm_used_mib": None,
            "aicore_util_pct": {"t_s": [0.0, 25.0], "values": [60.0, 40.0]},
        },
        "failed_reads": 0,
        "timeline": None,
        "reason": None,
        "notes": [],
    }


def server_metrics(**changes) -> dict:
    section = {
        "engine": "sglang",
        "url": "http://127.0.0.1:30000/metrics",
        "interval_s": 1.0,
        "window": "measured",
        "sample_count": 27,
        "prompt_tokens": 102400,
        "generation_tokens": 51200,
        "requests": 200,
        "aborted_requests": 0,
        "cached_tokens": 0,
        "cache_hit_rate": 0.0,
        "mean_ttft_ms": 4150.0,  # the client's mean is 4200 ms
        "mean_e2e_ms": 15000.0,
        "peak_running_requests": 200.0,
        "peak_queued_requests": 0.0,
        "peak_kv_usage": 0.4,
        "failed_reads": 0,
        "series": None,
        "timeline": None,
        "reason": None,
        "notes": [],
    }
    return {**section, **changes}


def document(kind: str = "simulated", **server_changes) -> dict:
    name = "simulated_valid.json" if kind == "simulated" else "measured_valid.json"
    doc = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    run = doc["measurements"]["throughput"][0]
    run["telemetry"] = telemetry()
    run["server_metrics"] = server_metrics(**server_changes)
    return doc
