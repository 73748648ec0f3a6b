"""bench run's checks before anything is sent, and the one rule that finds a tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.client.target import pick_tokenizer
from bench.errors import InputError, UsageError
from bench.runner import RunOptions, needs_tokenizer, preflight
from bench.workload.profile import load_profile


def test_the_article_command_without_a_local_sharegpt_file_stops_before_sending():
    with pytest.raises(UsageError, match="the article's command as written runs ShareGPT"):
        preflight(load_profile("seed-as-written"), RunOptions(base_url="http://127.0.0.1:1"))


def test_a_missing_sharegpt_file_is_named(tmp_path):
    opts = RunOptions(base_url="http://127.0.0.1:1", dataset_path=str(tmp_path / "no.json"))
    with pytest.raises(InputError, match=r"no\.json"):
        preflight(load_profile("seed-as-written"), opts)


def test_random_profiles_need_no_dataset_file():
    profile = load_profile("seed")
    assert {run.workload.dataset for run in profile.throughput} == {"random"}
    # nothing to check, so nothing is refused (and nothing is sent: the URL is dead)
    assert preflight(profile, RunOptions(base_url="http://127.0.0.1:1")) is None


def test_only_the_kits_own_drivers_need_a_tokenizer():
    assert needs_tokenizer(load_profile("seed"))  # kit driver and a latency run
    assert not needs_tokenizer(load_profile("seed-as-written"))  # sglang.bench_serving only


def test_tokenizer_comes_from_the_flag_then_the_model_dir_then_the_server(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    served = tmp_path / "served"
    served.mkdir()
    (served / "tokenizer.json").write_text("{}")
    report = {"tokenizer_path": str(served), "model_path": "/inside/a/container"}
    assert pick_tokenizer("/given", report, model) == Path("/given")
    assert pick_tokenizer(None, report, model) == served  # model dir has no tokenizer
    (model / "tokenizer.json").write_text("{}")
    assert pick_tokenizer(None, report, model) == model
    assert pick_tokenizer(None, {"model_path": "/inside/a/container"}, None) is None
    assert pick_tokenizer(None, None, None, model=str(model)) == model  # --model DIR
    assert pick_tokenizer(None, None, Path(tmp_path / "absent")) is None


def test_an_unreadable_log_the_user_named_stops_the_run_a_launchers_is_a_note(tmp_path):
    from bench.runner import memory_of

    log = tmp_path / "server.log"
    log.write_text("no SGLang memory line here\n")
    with pytest.raises(InputError):
        memory_of(log, None, None, [], log_named_by_user=True)  # bench run --server-log
    notes: list[str] = []
    assert memory_of(log, None, None, notes, log_named_by_user=False) is None  # a study's
    assert len(notes) == 1 and notes[0].startswith("memory: ")
    notes = []
    assert memory_of(None, None, None, notes, log_named_by_user=True) is None
    assert notes == ["memory: no server log, self-report or model directory to read"]
