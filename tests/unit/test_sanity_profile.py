"""A profile's `[[sanity]]` entry: strict like every entry, at most one, in seed and demo."""

from __future__ import annotations

import pytest

from bench.errors import InputError, UsageError
from bench.workload.profile import load_profile
from bench.workload.sanity import SanitySpec

MINIMAL = """
[profile]
name = "t"

[[latency]]
name = "lat"
"""


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["seed", "demo"])
def test_seed_and_demo_ask_twenty_questions_and_want_four_in_five_right(name):
    sanity = load_profile(name).sanity
    assert sanity is not None and sanity.name == "sanity"
    assert sanity.check == SanitySpec(questions=20, seed=1, min_accuracy=0.8, api="chat")
    assert sanity.check.max_tokens == 32 and sanity.check.timeout_s == 60.0


def test_a_profile_without_one_has_none_and_says_so_in_the_resolved_dict(tmp_path):
    profile = load_profile(write(tmp_path, MINIMAL))
    assert profile.sanity is None and profile.as_dict()["sanity"] is None


def test_defaults_fill_in_and_the_resolved_dict_lists_every_key(tmp_path):
    profile = load_profile(write(tmp_path, MINIMAL + "[[sanity]]\nquestions = 5\n"))
    assert profile.sanity.check == SanitySpec(questions=5)
    assert profile.as_dict()["sanity"] == {
        "name": "sanity",
        "questions": 5,
        "seed": 1,
        "min_accuracy": 0.8,
        "api": "chat",
        "max_tokens": 32,
        "timeout_s": 60.0,
        "notes": None,
    }


def test_an_integer_min_accuracy_is_a_float(tmp_path):
    profile = load_profile(write(tmp_path, MINIMAL + "[[sanity]]\nmin_accuracy = 1\n"))
    assert profile.sanity.check.min_accuracy == 1.0


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("questoins = 5", "unknown key 'questoins' in [[sanity]]"),
        ('questions = "5"', "[[sanity]] questions must be int, not str"),
        ("min_accuracy = true", "[[sanity]] min_accuracy must be float, not bool"),
        ("min_accuracy = 1.5", "[[sanity]] min_accuracy must be within [0, 1], got 1.5"),
        ("questions = 0", "[[sanity]] questions must be >= 1, got 0"),
        ('api = "generate"', "[[sanity]] api must be one of chat, completions, got 'generate'"),
        ("timeout_s = 0", "[[sanity]] timeout_s must be > 0, got 0.0"),
        ('name = "lat"', "run names must be unique, repeated: lat"),
    ],
)
def test_a_bad_entry_is_one_error_naming_the_key_and_the_file(tmp_path, entry, words):
    path = write(tmp_path, MINIMAL + f"[[sanity]]\n{entry}\n")
    with pytest.raises(InputError) as err:
        load_profile(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_two_entries_are_refused(tmp_path):
    path = write(tmp_path, MINIMAL + "[[sanity]]\n[[sanity]]\nquestions = 3\n")
    with pytest.raises(InputError, match="at most one \\[\\[sanity\\]\\] entry, found 2"):
        load_profile(path)


def test_a_sanity_entry_alone_is_not_a_profile(tmp_path):
    path = write(tmp_path, '[profile]\nname = "t"\n[[sanity]]\n')
    with pytest.raises(InputError, match="no \\[\\[throughput\\]\\] and no \\[\\[latency\\]\\]"):
        load_profile(path)


def test_the_spec_checks_itself():
    with pytest.raises(UsageError, match="max_tokens must be >= 1"):
        SanitySpec(max_tokens=0)
    with pytest.raises(UsageError, match="seed must be >= 0"):
        SanitySpec(seed=-1)
