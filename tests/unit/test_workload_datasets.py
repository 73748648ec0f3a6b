"""The shared-prefix and multi-turn datasets: their keys, their sizes, their exact lengths."""

from __future__ import annotations

import argparse

import pytest

from bench.cli.measuring import add_workload_arguments, workload_from_args
from bench.errors import InputError, UsageError
from bench.sim import tokenizer_dir
from bench.workload.conversations import sharegpt_conversations, synthetic_conversations
from bench.workload.dataset import load_tokenizer
from bench.workload.profile import parse_profile
from bench.workload.shared_prefix import SEPARATOR, shared_prefix_prompts
from bench.workload.spec import GSP, MULTI_TURN, ThroughputWorkload
from tests.conftest import FIXTURES

MULTITURN_FILE = FIXTURES / "workloads" / "sharegpt_multiturn.json"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(tokenizer_dir())


# --- the workload keys ----------------------------------------------------------------


def test_shared_prefix_takes_sglangs_defaults_and_its_size_is_groups_x_prompts():
    w = ThroughputWorkload(dataset=GSP)
    assert (w.gsp_num_groups, w.gsp_prompts_per_group) == (64, 16)
    assert (w.gsp_system_prompt_len, w.gsp_question_len, w.gsp_output_len) == (2048, 128, 256)
    assert w.num_prompts == 64 * 16 and w.output_len == 256
    assert ThroughputWorkload(dataset=GSP, gsp_num_groups=3, num_prompts=48).num_prompts == 48


def test_num_prompts_other_than_the_datasets_own_size_is_refused():
    with pytest.raises(UsageError, match=r"gsp_num_groups x gsp_prompts_per_group = 1024, got 200"):
        ThroughputWorkload(dataset=GSP, num_prompts=200)
    with pytest.raises(UsageError, match=r"mt_num_conversations x mt_num_turns = 12, got 10"):
        ThroughputWorkload(dataset=MULTI_TURN, mt_num_conversations=3, num_prompts=10)
    assert ThroughputWorkload().num_prompts == 200  # the others keep their default


def test_output_len_and_gsp_output_len_are_one_setting():
    assert ThroughputWorkload(dataset=GSP, output_len=64).gsp_output_len == 64
    assert ThroughputWorkload(dataset=GSP, gsp_output_len=64).output_len == 64
    assert ThroughputWorkload(dataset=GSP, output_len=64, gsp_output_len=64).output_len == 64
    with pytest.raises(UsageError, match="gsp_output_len 64 and output_len 32 disagree"):
        ThroughputWorkload(dataset=GSP, output_len=32, gsp_output_len=64)


def test_a_datasets_keys_with_another_dataset_are_refused():
    with pytest.raises(UsageError, match="gsp_num_groups applies only to dataset generated-"):
        ThroughputWorkload(gsp_num_groups=4)
    with pytest.raises(UsageError, match="mt_num_turns applies only to dataset multi-turn"):
        ThroughputWorkload(dataset=GSP, mt_num_turns=2)
    with pytest.raises(UsageError, match="reads no dataset_path"):
        ThroughputWorkload(dataset=GSP, dataset_path="x.json")
    with pytest.raises(UsageError, match="mt_user_len applies to synthetic"):
        ThroughputWorkload(dataset=MULTI_TURN, dataset_path="x.json", mt_user_len=10)
    with pytest.raises(UsageError, match="gsp_question_len must be >= 1"):
        ThroughputWorkload(dataset=GSP, gsp_question_len=0)


def test_multi_turn_is_synthetic_without_a_file_and_the_files_with_one():
    synthetic = ThroughputWorkload(dataset=MULTI_TURN)
    assert (synthetic.mt_num_conversations, synthetic.mt_num_turns) == (16, 4)
    assert (synthetic.mt_user_len, synthetic.output_len, synthetic.num_prompts) == (256, 256, 64)
    from_file = ThroughputWorkload(dataset=MULTI_TURN, dataset_path="c.json")
    assert from_file.mt_user_len is None and from_file.output_len is None  # the file's


def test_a_dataset_path_on_the_command_line_reaches_only_runs_that_read_a_file():
    assert ThroughputWorkload(dataset="sharegpt").with_dataset_path("f").dataset_path == "f"
    named = ThroughputWorkload(dataset=MULTI_TURN, dataset_path="placeholder.json")
    assert named.with_dataset_path("f").dataset_path == "f"
    # a synthetic conversation run stays synthetic; a shared-prefix run reads no file
    assert ThroughputWorkload(dataset=MULTI_TURN).with_dataset_path("f").dataset_path is None
    assert ThroughputWorkload(dataset=GSP).with_dataset_path("f").dataset_path is None


def test_a_multi_turn_file_must_exist(tmp_path):
    with pytest.raises(InputError, match="dataset file not found"):
        ThroughputWorkload(dataset=MULTI_TURN, dataset_path=str(tmp_path / "no")).check_dataset()
    ThroughputWorkload(dataset=MULTI_TURN, dataset_path=str(MULTITURN_FILE)).check_dataset()


def test_the_flags_are_the_keys_with_dashes():
    parser = argparse.ArgumentParser()
    add_workload_arguments(parser, ThroughputWorkload, {})
    args = parser.parse_args(
        ["--dataset", GSP, "--gsp-num-groups", "2", "--gsp-prompts-per-group", "3",
         "--gsp-system-prompt-len", "40", "--gsp-question-len", "8", "--gsp-output-len", "4"]
    )  # fmt: skip
    w = workload_from_args(args, ThroughputWorkload)
    assert (w.num_prompts, w.gsp_system_prompt_len, w.output_len) == (6, 40, 4)
    args = parser.parse_args(["--gsp-num-groups", "2"])
    with pytest.raises(UsageError, match=r"^--gsp-num-groups applies only to dataset"):
        workload_from_args(args, ThroughputWorkload)


def test_a_profile_declares_them_as_keys():
    profile = parse_profile(
        {
            "profile": {"name": "p"},
            "throughput": [
                {"name": "gsp", "dataset": GSP, "gsp_num_groups": 2, "gsp_prompts_per_group": 2},
                {"name": "mt", "dataset": MULTI_TURN, "mt_num_turns": 3, "mt_user_len": 5},
            ],
        }
    )
    gsp, mt = (run.workload for run in profile.throughput)
    assert (gsp.num_prompts, mt.num_prompts, mt.mt_user_len) == (4, 48, 5)
    with pytest.raises(InputError, match=r"\[\[throughput\]\] #1 gsp_num_groups applies only"):
        parse_profile({"profile": {"name": "p"}, "throughput": [{"gsp_num_groups": 2}]})


# --- shared-prefix prompts ------------------------------------------------------------


def test_shared_prefix_prompts_have_exact_lengths_and_share_their_groups_system_prompt(
    tokenizer,
):
    prompts = shared_prefix_prompts(
        tokenizer, num_groups=3, prompts_per_group=4, system_prompt_len=50, question_len=9,
        output_len=7, range_ratio=1.0, seed=1,
    )  # fmt: skip
    assert len(prompts) == 12
    assert sorted(p.group for p in prompts) == [0] * 4 + [1] * 4 + [2] * 4
    systems = {}
    for p in prompts:
        system, question = p.text.split(SEPARATOR)
        assert (tokenizer.count(system), tokenizer.count(question)) == (50, 9)
        assert p.prompt_tokens == tokenizer.count(p.text) and p.output_tokens == 7
        systems.setdefault(p.group, set()).add(system)
    assert all(len(s) == 1 for s in systems.values())  # one system prompt per group
    assert len({next(iter(s)) for s in systems.values()}) == 3  # and a different one each
    assert len({p.text for p in prompts}) == 12  # every question its own


def test_shared_prefix_prompts_are_shuffled_across_groups_and_seeded(tokenizer):
    def build(seed):
        return shared_prefix_prompts(
            tokenizer, num_groups=4, prompts_per_group=4, system_prompt_len=8,
            question_len=4, output_len=2, range_ratio=1.0, seed=seed,
        )  # fmt: skip

    first = build(1)
    assert [p.group for p in first] != sorted(p.group for p in first)  # as SGLang shuffles
    assert first == build(1) and first != build(2)


def test_shared_prefix_range_ratio_draws_each_length_as_sglang_does(tokenizer):
    prompts = shared_prefix_prompts(
        tokenizer, num_groups=2, prompts_per_group=8, system_prompt_len=40, question_len=10,
        output_len=20, range_ratio=0.5, seed=3,
    )  # fmt: skip
    outputs = {p.output_tokens for p in prompts}
    assert min(outputs) >= 10 and max(outputs) <= 20 and len(outputs) > 1
    for p in prompts:
        system, question = p.text.split(SEPARATOR)
        assert 20 <= tokenizer.count(system) <= 40 and 5 <= tokenizer.count(question) <= 10


# --- conversations ----------------------------------------------------------------------


def test_synthetic_conversations_have_exact_turn_lengths(tokenizer):
    convs = synthetic_conversations(
        tokenizer, num_conversations=3, num_turns=4, user_len=12, output_len=5,
        range_ratio=1.0, seed=1,
    )  # fmt: skip
    assert [c.index for c in convs] == [0, 1, 2]
    for c in convs:
        assert [tokenizer.count(u) for u in c.user_turns] == [12] * 4
        assert c.reply_tokens == (5, 5, 5, 5)
    assert len({u for c in convs for u in c.user_turns}) == 12


def test_sharegpt_conversations_keep_the_usable_ones_and_their_reply_lengths(tokenizer):
    convs = sharegpt_conversations(
        tokenizer, MULTITURN_FILE, num_conversations=3, num_turns=2, output_len=None, seed=1
    )
    firsts = sorted(c.user_turns[0].split(":")[0] for c in convs)
    # mt-0, mt-1 (after its system turn) and mt-4; never the ones the fixture README lists
    assert firsts == [f"Question 1 of conversation {i}" for i in (0, 1, 4)]
    for c in convs:
        assert len(c.user_turns) == 2 and all(n >= 2 for n in c.reply_tokens)
    fixed = sharegpt_conversations(
        tokenizer, MULTITURN_FILE, num_conversations=3, num_turns=2, output_len=9, seed=1
    )
    assert {n for c in fixed for n in c.reply_tokens} == {9}


def test_too_few_long_enough_conversations_is_an_error_naming_the_file(tokenizer):
    with pytest.raises(InputError, match=r"only 2 usable conversations of at least 3 turns"):
        sharegpt_conversations(
            tokenizer, MULTITURN_FILE, num_conversations=3, num_turns=3, output_len=None, seed=1
        )
