"""The sanity questions: seeded, reproducible, a mix of operations, exact integer answers."""

from __future__ import annotations

import re

import pytest

from bench.workload.sanity import Question, generate_questions, parse_question


def test_the_question_reads_as_the_issue_writes_it():
    assert Question(4821, "+", 397).text == "What is 4821 + 397? Answer with the number only."


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (Question(4821, "+", 397), 5218),
        (Question(6379, "-", 869), 5510),
        (Question(81, "*", 95), 7695),
    ],
)
def test_expected_answers_are_the_arithmetic_done_by_hand(question, answer):
    assert question.expected == answer


def test_the_same_seed_gives_the_same_questions_and_another_seed_others():
    first = generate_questions(20, 1)
    assert first == generate_questions(20, 1)
    assert first != generate_questions(20, 2)
    assert len({q.text for q in first}) == 20


def test_fewer_questions_are_the_first_of_more():
    assert generate_questions(7, 3) == generate_questions(20, 3)[:7]


def test_operations_cycle_and_operands_have_their_digits():
    questions = generate_questions(300, 5)
    assert [q.op for q in questions[:6]] == ["+", "-", "*", "+", "-", "*"]
    for q in questions:
        if q.op in "+-":
            assert 1000 <= q.a <= 9999 and 100 <= q.b <= 999
        else:
            assert 12 <= q.a <= 99 and 12 <= q.b <= 99
        assert q.expected > 0  # never negative: the scoring never has to read a sign


def test_the_answers_are_what_the_text_says_by_an_independent_reading():
    # an oracle that does not use the kit's arithmetic: the question's own words
    for q in generate_questions(60, 11):
        a, op, b = re.fullmatch(r"What is (\d+) (.) (\d+)\? .*", q.text).groups()
        assert q.expected == {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]


def test_parse_question_reads_back_every_generated_question():
    for q in generate_questions(30, 9):
        assert parse_question(q.text) == q
        assert parse_question(f"  {q.text}\n") == q


@pytest.mark.parametrize(
    "text",
    [
        "What is 4821 + 397?",
        "What is 4821 / 397? Answer with the number only.",
        "what is 4821 + 397? Answer with the number only.",
        "Please: What is 4821 + 397? Answer with the number only.",
        "What is -4821 + 397? Answer with the number only.",
        "",
    ],
)
def test_anything_else_is_not_a_sanity_question(text):
    assert parse_question(text) is None
