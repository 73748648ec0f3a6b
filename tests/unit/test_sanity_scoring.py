"""Scoring a reply: tolerant of how a number is written, honest about what it says.

Right: at least one number, and every number in the reply equal to the answer.
Wrong: no number; a different number; several different numbers (never resolved by
taking the first or the last).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.workload.sanity import numbers_in, score_reply


@pytest.mark.parametrize(
    "reply",
    [
        "5218",
        " 5218\n",
        "5218.",
        "The answer is 5218.",
        "**5218**",
        "5,218",
        "5218.0",
        "5218 (that is, 5218)",
        "答案是5218",
        "５２１８",  # full-width digits, as some models write them
        "5218<|im_end|>",
    ],
)
def test_the_answer_written_in_any_plain_way_is_right(reply):
    score = score_reply(reply, 5218)
    assert score.correct and score.answer == "5218" and score.reason is None


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "no number in the reply"),
        (" models Light runs Th about", "no number in the reply"),
        ("5219", "answered 5219, expected 5218"),
        ("-5218", "answered -5218, expected 5218"),
        ("5218.5", "answered 5218.5, expected 5218"),
        ("52,18", "several different numbers (52, 18)"),
        ("4821 + 397 = 5218", "several different numbers (4821, 397, 5218)"),
        ("4821+397=5218", "several different numbers (4821, 397, 5218)"),
        ("5218 or 5219", "several different numbers (5218, 5219)"),
        ("1 2 3 4 5 6 5218", "several different numbers (1, 2, 3, 4, 5, ...)"),
    ],
)
def test_no_number_another_number_or_several_numbers_are_wrong(reply, reason):
    score = score_reply(reply, 5218)
    assert not score.correct and score.reason == reason


def test_a_minus_between_digits_is_an_operator_not_a_sign():
    assert [str(n) for n in numbers_in("4821-397")] == ["4821", "397"]
    assert [str(n) for n in numbers_in("x2 is -3")] == ["-3"]


def test_thousands_separators_only_in_groups_of_three():
    assert [str(n) for n in numbers_in("1,234,567")] == ["1234567"]
    assert [str(n) for n in numbers_in("1,2345")] == ["1", "2345"]


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["{}", "Answer: {}.", "{:,}"]))
def test_the_exact_answer_is_always_right(answer, template):
    assert score_reply(template.format(answer), answer).correct


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_any_other_single_number_is_always_wrong(answer, other):
    score = score_reply(str(other), answer)
    assert score.correct == (answer == other)
