"""Workload profiles: strict TOML, typed runs, the shipped profiles say what the article did."""

from __future__ import annotations

import math

import pytest

from bench.errors import InputError
from bench.workload.profile import load_profile, parse_profile

MINIMAL = """
[profile]
name = "t"

[[throughput]]
name = "tp"
num_prompts = 4
"""


def write(tmp_path, text, name="p.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_profile_is_the_article_as_intended():
    profile = load_profile("seed")
    (tp,) = profile.throughput
    w = tp.workload
    assert (w.dataset, w.input_len, w.output_len, w.range_ratio) == ("random", 512, 256, 1.0)
    assert (w.num_prompts, w.request_rate, w.max_concurrency) == (200, math.inf, None)
    (lat,) = profile.latency
    lw = lat.workload
    assert (lw.input_len, lw.output_len, lw.runs, lw.warmup) == (4096, 512, 10, 2)
    assert profile.server.mem_fraction_static == 0.9


def test_seed_as_written_runs_sharegpt_through_sglang_exactly_as_written():
    (tp,) = load_profile("seed-as-written").throughput
    assert tp.driver == "sglang" and tp.as_written
    assert tp.workload.dataset == "sharegpt"
    assert (tp.workload.num_prompts, tp.workload.input_len, tp.workload.output_len) == (
        200,
        512,
        256,
    )


def test_quick_profile_loads_by_name():
    assert load_profile("quick").throughput[0].workload.num_prompts == 24


def test_defaults_are_filled_in_and_listed_in_the_resolved_dict(tmp_path):
    profile = load_profile(write(tmp_path, MINIMAL))
    run = profile.throughput[0]
    w = run.workload
    assert (run.driver, w.api, w.request_rate, w.warmup, w.seed) == ("kit", "chat", math.inf, 1, 1)
    resolved = profile.as_dict()
    assert resolved["throughput"][0]["num_prompts"] == 4
    assert resolved["throughput"][0]["range_ratio"] == 1.0
    assert resolved["throughput"][0]["request_rate"] == "inf"  # as a profile spells it
    assert resolved["throughput"][0]["output_len"] == 256  # random's own default


def test_ignore_eos_is_on_unless_a_run_turns_it_off(tmp_path):
    assert load_profile(write(tmp_path, MINIMAL)).throughput[0].workload.ignore_eos is True
    text = MINIMAL + "ignore_eos = false\n"
    assert load_profile(write(tmp_path, text)).throughput[0].workload.ignore_eos is False


def test_unknown_key_is_rejected_with_its_name_and_the_file(tmp_path):
    path = write(tmp_path, MINIMAL + "num_promtps = 5\n")
    with pytest.raises(InputError) as err:
        load_profile(path)
    assert "num_promtps" in str(err.value) and str(path) in str(err.value)


def test_unknown_top_level_table_is_rejected(tmp_path):
    with pytest.raises(InputError, match="'througput'"):
        load_profile(write(tmp_path, MINIMAL + "[[througput]]\nname='x'\n"))


def test_wrong_type_is_rejected(tmp_path):
    with pytest.raises(InputError, match="num_prompts must be int, not str"):
        load_profile(write(tmp_path, MINIMAL.replace("num_prompts = 4", 'num_prompts = "4"')))


def test_bool_is_not_accepted_as_a_number(tmp_path):
    with pytest.raises(InputError, match="seed must be int, not bool"):
        load_profile(write(tmp_path, MINIMAL + "seed = true\n"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("api = 'grpc'", "api must be one of"),
        ("range_ratio = 1.5", "range_ratio must be within"),
        ("request_rate = 0", "request_rate must be > 0"),
        ("request_rate = 'fast'", "request_rate must be a number"),
        ("max_concurrency = 0", "max_concurrency must be >= 1"),
        ("as_written = true", "as_written needs driver"),
        ("workers = 0", "workers must be >= 1"),
        ("workers = 2.0", "workers must be int"),
        ("driver = 'sglang'\nworkers = 2", "workers needs driver"),
    ],
)
def test_bad_values_are_rejected(tmp_path, line, message):
    with pytest.raises(InputError, match=message):
        load_profile(write(tmp_path, MINIMAL + line + "\n"))


def test_workers_is_the_runs_own_key_and_shows_only_when_set(tmp_path):
    run = load_profile(write(tmp_path, MINIMAL + "workers = 2\n")).throughput[0]
    assert run.workers == 2 and run.to_dict()["workers"] == 2
    one = load_profile(write(tmp_path, MINIMAL, "one.toml")).throughput[0]
    assert one.workers == 1 and "workers" not in one.to_dict()  # as before the key existed


def rate_of(tmp_path, line):
    return load_profile(write(tmp_path, MINIMAL + line + "\n")).throughput[0].workload


def test_request_rate_inf_and_numbers(tmp_path):
    assert rate_of(tmp_path, "request_rate = 'inf'").request_rate == math.inf
    assert rate_of(tmp_path, "request_rate = 'inf'").request_rate_rps is None  # JSON: null
    assert rate_of(tmp_path, "request_rate = 4").request_rate == 4.0
    assert rate_of(tmp_path, "request_rate = 4").request_rate_rps == 4.0


def test_a_renamed_key_names_its_new_spelling(tmp_path):
    text = "[profile]\nname = 't'\n[[latency]]\ninput_tokens = 64\n"
    with pytest.raises(InputError, match=r"unknown key 'input_tokens' .*now 'input_len'"):
        load_profile(write(tmp_path, text))


def test_duplicate_run_names_are_rejected():
    data = {
        "profile": {"name": "d"},
        "throughput": [{"name": "a"}],
        "latency": [{"name": "a"}],
    }
    with pytest.raises(InputError, match="repeated: a"):
        parse_profile(data)


def test_a_profile_with_no_runs_is_rejected(tmp_path):
    with pytest.raises(InputError, match=r"no \[\[throughput\]\]"):
        load_profile(write(tmp_path, "[profile]\nname='empty'\n"))


def test_malformed_toml_is_one_error_naming_the_file(tmp_path):
    path = write(tmp_path, "[profile\nname=")
    with pytest.raises(InputError, match="not valid TOML"):
        load_profile(path)


def test_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(InputError, match=r"known: .*seed"):
        load_profile("no-such-profile")


def test_sweep_profile_rises_in_concurrency_on_the_article_workload():
    runs = [r.workload for r in load_profile("sweep").throughput]
    assert [r.max_concurrency for r in runs] == [1, 4, 16, 64, 200]
    assert {(r.input_len, r.output_len, r.range_ratio, r.api) for r in runs} == {
        (512, 256, 1.0, "completions")
    }
