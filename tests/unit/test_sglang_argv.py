"""The sglang.bench_serving command lines the kit builds: equivalent, and as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.client.target import Target
from bench.drivers.sglang_bench_serving import (
    SglangInstall,
    SglangOptions,
    as_written_argv,
    build_argv,
    process_timeout_s,
)
from bench.errors import UsageError
from bench.workload.spec import ThroughputWorkload as W

NEW = SglangInstall(version="0.5.3", has_warmup_flag=True, has_burstiness_flag=True)
OLD = SglangInstall(version="0.4.0", has_warmup_flag=False)
OUT = Path("/tmp/out.jsonl")
HOST = Target(base_url="http://h:1", model="m", tokenizer=None, self_report=None)


def argv_of(workload, install=NEW, target=HOST, **options):
    return build_argv(workload, target, OUT, install, SglangOptions(**options))


def flags(argv):
    """argv after `-m sglang.bench_serving`, as {flag: value or True}."""
    rest = argv[argv.index("sglang.bench_serving") + 1 :]
    out, i = {}, 0
    while i < len(rest):
        if i + 1 < len(rest) and not rest[i + 1].startswith("--"):
            out[rest[i]] = rest[i + 1]
            i += 2
        else:
            out[rest[i]] = True
            i += 1
    return out


def test_kit_random_workload_becomes_random_ids_with_fixed_lengths():
    f = flags(argv_of(W(num_prompts=200, max_concurrency=64)))
    assert f["--backend"] == "sglang-oai-chat"
    assert f["--dataset-name"] == "random-ids"  # `random` would download ShareGPT
    assert (f["--random-input-len"], f["--random-output-len"]) == ("512", "256")
    assert f["--random-range-ratio"] == "1"
    assert (f["--num-prompts"], f["--max-concurrency"], f["--seed"]) == ("200", "64", "1")
    assert "--request-rate" not in f  # infinite is sglang's default
    assert f["--warmup-requests"] == "1"
    assert f["--output-file"] == str(OUT) and f["--output-details"] is True


def test_rate_model_tokenizer_and_api_are_passed():
    target = Target(base_url="http://h:1", model="m", tokenizer=Path("/tok"), self_report=None)
    f = flags(argv_of(W(api="generate", request_rate=2.5), target=target))
    assert (f["--backend"], f["--request-rate"]) == ("sglang", "2.5")
    assert (f["--model"], f["--tokenizer"]) == ("m", "/tok")
    assert "--burstiness" not in f  # 1.0, Poisson, is sglang's default


def test_burstiness_is_passed_only_where_the_release_has_it():
    assert flags(argv_of(W(request_rate=4, burstiness=0.5)))["--burstiness"] == "0.5"
    with pytest.raises(UsageError, match="has no --burstiness"):
        argv_of(W(request_rate=4, burstiness=0.5), install=OLD)


def test_ignore_eos_is_sglangs_default_and_can_be_turned_off():
    assert "--disable-ignore-eos" not in argv_of(W())
    assert flags(argv_of(W(ignore_eos=False)))["--disable-ignore-eos"] is True


def test_warmup_flag_only_where_the_release_has_it():
    assert "--warmup-requests" not in argv_of(W(), install=OLD)


def test_sharegpt_needs_a_local_file():
    with pytest.raises(UsageError, match="--dataset-path"):
        argv_of(W(dataset="sharegpt"))
    f = flags(argv_of(W(dataset="sharegpt", dataset_path="/d.json")))
    assert (f["--dataset-name"], f["--dataset-path"]) == ("sharegpt", "/d.json")
    assert "--sharegpt-output-len" not in f  # unset: each reply's own length, as the kit's
    f = flags(argv_of(W(dataset="sharegpt", dataset_path="/d.json", output_len=256)))
    assert f["--sharegpt-output-len"] == "256"


def test_the_article_command_is_kept_exactly_as_written():
    argv = as_written_argv("http://127.0.0.1:30000", OUT, "/s.json", python="python3")
    assert argv[:13] == [
        "python3", "-m", "sglang.bench_serving",
        "--backend", "sglang",
        "--base-url", "http://127.0.0.1:30000",
        "--num-prompts", "200",
        "--random-input-len", "512",
        "--random-output-len", "256",
    ]  # fmt: skip
    assert "--dataset-name" not in argv  # so sglang runs its default: sharegpt
    assert argv[13:] == [
        "--dataset-path", "/s.json", "--output-file", str(OUT), "--output-details"
    ]  # fmt: skip


def test_the_article_command_without_a_local_sharegpt_file_fails_clearly():
    with pytest.raises(UsageError, match="ShareGPT, which it would download"):
        argv_of(W(dataset="sharegpt"), as_written=True)


def test_process_timeout_covers_every_wave_of_requests():
    workload = W(num_prompts=10, max_concurrency=4, timeout_s=30)
    assert process_timeout_s(workload) == 120 + 30 * (3 + 1)  # 3 waves + the warm-up


def test_shared_prefix_maps_onto_bench_servings_own_dataset():
    install = SglangInstall("0.5.3", has_warmup_flag=True, has_flush_cache_flag=True)
    w = W(dataset="generated-shared-prefix", gsp_num_groups=8, gsp_prompts_per_group=4)
    f = flags(argv_of(w, install=install))
    assert f["--dataset-name"] == "generated-shared-prefix"
    assert (f["--gsp-num-groups"], f["--gsp-prompts-per-group"]) == ("8", "4")
    assert (f["--gsp-system-prompt-len"], f["--gsp-question-len"]) == ("2048", "128")
    assert f["--gsp-output-len"] == "256" and f["--num-prompts"] == "32"
    assert f["--flush-cache"] is True  # its warm-up is the first measured prompt
    assert "--random-input-len" not in f and "--gsp-range-ratio" not in f


def test_shared_prefix_range_ratio_only_where_the_release_has_the_flag():
    w = W(dataset="generated-shared-prefix", range_ratio=0.5)
    with pytest.raises(UsageError, match="has no --gsp-range-ratio"):
        argv_of(w, install=SglangInstall("0.5.3", has_warmup_flag=True))
    later = SglangInstall("0.5.9", has_warmup_flag=True, has_gsp_range_ratio_flag=True)
    assert flags(argv_of(w, install=later))["--gsp-range-ratio"] == "0.5"


def test_multi_turn_has_no_bench_serving_equivalent():
    with pytest.raises(UsageError, match="cannot run dataset 'multi-turn'"):
        argv_of(W(dataset="multi-turn"))


def test_only_the_shared_prefix_run_gets_a_home_of_its_own(tmp_path):
    from bench.drivers.sglang_datasets import process_env

    out = tmp_path / "run.sglang.jsonl"
    assert process_env(W(), out) == {}
    env = process_env(W(dataset="generated-shared-prefix"), out)
    assert env["HOME"] == str(tmp_path / "run.sglang.jsonl.home")
    assert Path(env["HOME"]).is_dir() and env["HF_HOME"]
