"""Each engine's /metrics, parsed with prometheus_client's parser and mapped onto one set of
quantities; the server section's deltas over a window, by hand."""

from __future__ import annotations

import pytest

from bench.telemetry import engines
from bench.telemetry.prometheus import parse_metrics
from bench.telemetry.sections import server_section
from tests.conftest import REPO

METRICS = REPO / "tests" / "fixtures" / "telemetry" / "metrics"


def snapshot(name: str):
    return parse_metrics((METRICS / name).read_text(encoding="utf-8"))


def test_sglang_names_from_its_documentation():
    snap = snapshot("sglang_docs_production_metrics.txt")
    names = engines.detect(snap)
    assert names is not None and names.engine == "sglang"
    c = engines.counters(snap, names)
    assert (c.prompt_tokens, c.generation_tokens) == (8_128_902, 7_557_572)
    assert c.requests is None  # that release had no num_requests_total
    assert (c.ttft_sum_s, c.ttft_count) == (pytest.approx(2.3518979474117756e6), 11008)
    assert (c.e2e_sum_s, c.e2e_count) == (pytest.approx(3.116093850019932e6), 11228)
    assert (c.running, c.queued, c.kv_usage) == (162, 2826, 0.28)


def test_vllm_sums_counters_over_engines_and_finish_reasons():
    snap = snapshot("vllm_v1_synthetic.txt")
    names = engines.detect(snap)
    assert names.engine == "vllm"
    c = engines.counters(snap, names)
    assert (c.prompt_tokens, c.generation_tokens, c.requests) == (1000, 500, 10)
    assert (c.cached_tokens, c.cache_queries) == (200, 1000)
    assert (c.ttft_sum_s, c.ttft_count, c.e2e_sum_s) == (2.5, 10, 20.0)
    # gauges: one per data-parallel engine, summed
    assert (c.running, c.queued, c.kv_usage) == (5, 1, 0.75)


def test_llamacpp_prompt_is_processed_plus_cached():
    snap = snapshot("llamacpp_xllamacpp_after_3_chats.txt")
    names = engines.detect(snap)
    assert names.engine == "llama.cpp"
    c = engines.counters(snap, names)
    assert (c.prompt_tokens, c.cached_tokens, c.generation_tokens) == (149 + 52, 52, 36)
    assert (c.requests, c.ttft_count, c.running, c.queued) == (None, None, 0, 0)
    assert engines.prompt_note(names, snap) is None
    older = {k: v for k, v in snap.items() if k != "llamacpp:prompt_tokens_cached_total"}
    assert engines.counters(older, names).prompt_tokens == 149
    assert "exclude tokens reused from its prompt cache" in engines.prompt_note(names, older)


def test_tensor_parallel_ranks_repeat_a_gauge_and_are_not_summed():
    text = (
        'sglang:generation_tokens_total{model_name="m"} 1\n'
        'sglang:num_running_reqs{model_name="m",tp_rank="0"} 8\n'
        'sglang:num_running_reqs{model_name="m",tp_rank="1"} 8\n'
        'sglang:num_queue_reqs{dp_rank="0",model_name="m",tp_rank="0"} 2\n'
        'sglang:num_queue_reqs{dp_rank="1",model_name="m",tp_rank="0"} 3\n'
    )
    snap = parse_metrics(text)
    c = engines.counters(snap, engines.detect(snap))
    assert (c.running, c.queued) == (8, 5)


def test_a_declared_counter_with_no_sample_reads_zero():
    text = "# HELP sglang:cached_tokens_total x\n# TYPE sglang:cached_tokens_total counter\n"
    assert engines.total(parse_metrics(text), "sglang:cached_tokens_total") == 0


def test_unknown_names_are_no_engine_and_junk_is_a_value_error():
    assert engines.detect(parse_metrics("process_cpu_seconds_total 1.5\n")) is None
    with pytest.raises(ValueError):
        parse_metrics("this is { not prometheus\n")


def row(t_s: float, edge: str | None = None, **values):
    base = dict.fromkeys(
        ("prompt_tokens", "generation_tokens", "requests", "aborted", "cached_tokens",
         "cache_queries", "ttft_sum_s", "ttft_count", "e2e_sum_s", "e2e_count",
         "running", "queued", "kv_usage"), None,
    )  # fmt: skip
    out = {"t_ns": int(t_s * 1e9), **base, **values}
    if edge:
        out["edge"] = edge
    return out


def test_server_section_takes_deltas_between_the_edges_and_peaks_between_them():
    rows = [
        row(0, prompt_tokens=100, generation_tokens=10, requests=1, running=9, queued=9),
        row(1, "start", prompt_tokens=120, generation_tokens=20, requests=2, ttft_sum_s=1.0,
            ttft_count=2, cached_tokens=0, running=0, queued=0, kv_usage=0.0),
        row(2, prompt_tokens=500, generation_tokens=200, requests=5, running=4, queued=2,
            kv_usage=0.5),
        row(3, "end", prompt_tokens=1120, generation_tokens=532, requests=10, ttft_sum_s=3.0,
            ttft_count=10, cached_tokens=250, running=0, queued=0, kv_usage=0.1),
        row(4, prompt_tokens=9999, running=50, queued=50),
    ]  # fmt: skip
    s = server_section(rows)
    assert s["window"] == "measured" and s["sample_count"] == 5
    assert (s["prompt_tokens"], s["generation_tokens"], s["requests"]) == (1000, 512, 8)
    assert s["mean_ttft_ms"] == pytest.approx(2.0 / 8 * 1000)
    assert s["cache_hit_rate"] == pytest.approx(0.25)
    assert (s["peak_running_requests"], s["peak_queued_requests"], s["peak_kv_usage"]) == (
        4,
        2,
        0.5,
    )
    assert s["series"]["running"]["t_s"][0] == -1.0  # from the window's start


def test_a_counter_born_in_the_window_counts_from_zero():
    # a fresh SGLang prints no counter before its first request finishes
    s = server_section([row(0, "start", running=0), row(1, "end", prompt_tokens=64, requests=2)])
    assert (s["prompt_tokens"], s["requests"], s["generation_tokens"]) == (64, 2, None)


def test_the_engine_is_known_by_any_of_its_names():
    assert engines.detect(parse_metrics('sglang:num_running_reqs{tp_rank="0"} 0\n')).engine == (
        "sglang"
    )


def test_without_edges_the_window_is_the_whole_run():
    s = server_section([row(0, prompt_tokens=10), row(5, prompt_tokens=30)])
    assert (s["window"], s["prompt_tokens"]) == ("whole_run", 20)


def test_a_counter_going_down_means_a_restart_and_no_deltas():
    s = server_section([row(0, "start", prompt_tokens=500), row(1, "end", prompt_tokens=20)])
    assert s["prompt_tokens"] is None and "restarted" in s["reason"]


@pytest.mark.parametrize(
    "name",
    [
        "sglang_docs_production_metrics.txt",
        "vllm_v1_synthetic.txt",
        "llamacpp_xllamacpp_after_3_chats.txt",
    ],
)
def test_parsing_only_the_families_read_gives_the_same_counters(name):
    text = (METRICS / name).read_text(encoding="utf-8")
    names = engines.detect(parse_metrics(text))
    keep = engines.sample_names(names)
    part = parse_metrics(text, keep)
    assert engines.counters(part, names) == engines.counters(parse_metrics(text), names)
    assert not any(key.endswith("_bucket") for key in part)
    assert set(part) <= keep
