"""The simulator's special case: the kit's sanity questions at temperature 0 get the exact
answer (as tokens of its tokenizer, then a stop), and `--fault-garbage-rate` makes that
fraction of them wrong. Tested at 0 and 1, and each case of what is (not) a question."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import make_mocked_request

from bench.errors import UsageError
from bench.sim import tokenizer_dir
from bench.sim.answers import answer_text, answering, sanity_answer
from bench.sim.api import GenSpec
from bench.sim.config import SimConfig
from bench.sim.faults import FaultConfig, decide
from bench.sim.routes import SimState
from bench.sim.scheduler import SimRequest
from bench.sim.tokens import load_token_source

QUESTION = "What is 4821 + 397? Answer with the number only."
TOKENS = load_token_source(tokenizer_dir())


def chat(content, **extra) -> dict:
    return {"messages": [{"role": "user", "content": content}], "temperature": 0, **extra}


@pytest.mark.parametrize(
    ("endpoint", "body", "answer"),
    [
        ("chat", chat(QUESTION), 5218),
        ("chat", chat("What is 81 * 95? Answer with the number only."), 7695),
        ("chat", chat("What is 6379 - 869? Answer with the number only."), 5510),
        ("chat", chat([{"type": "text", "text": QUESTION}]), 5218),
        ("completions", {"prompt": QUESTION}, 5218),
        (
            "chat",
            {"messages": [{"role": "system", "content": "Be brief."}, *chat(QUESTION)["messages"]]},
            5218,
        ),
        ("chat", chat("What is 4821 + 397?"), None),  # not the kit's format
        ("chat", chat(QUESTION + " " + "padding " * 40), None),
        ("chat", {"messages": [{"role": "assistant", "content": QUESTION}]}, None),
        ("generate", {"text": QUESTION}, None),
        ("completions", {"prompt": [1, 2, 3]}, None),
    ],
)
def test_a_sanity_question_is_recognised_only_in_its_own_words(endpoint, body, answer):
    assert sanity_answer(endpoint, body, 0.0) == answer


def test_only_greedy_requests_are_answered():
    assert sanity_answer("chat", chat(QUESTION), 0.7) is None


def test_the_answer_is_its_digits_then_a_stop():
    req = SimRequest(40, 32, tuple(TOKENS.gen_ids[:32]))
    answered = answering(req, "5218", TOKENS, ignore_eos=False)
    assert answered.target == 4 and answered.eos_at == 4
    assert TOKENS.text_of(list(answered.token_ids[:4])) == "5218"
    assert TOKENS.count("5218") == 4  # what a client counting the reply gets


def test_with_ignore_eos_filler_follows_the_answer_up_to_max_tokens():
    req = SimRequest(40, 10, tuple(TOKENS.gen_ids[:10]))
    answered = answering(req, "5218", TOKENS, ignore_eos=True)
    assert answered.target == 10 and answered.eos_at is None
    assert answered.token_ids[4:] == req.token_ids[:6]


def test_a_max_tokens_shorter_than_the_answer_cuts_it():
    answered = answering(SimRequest(40, 2, (1, 2)), "5218", TOKENS, ignore_eos=False)
    assert answered.target == 2  # finishes "length" after "52", as a real server would


def test_the_garbage_answer_is_wrong_by_a_seeded_offset():
    assert answer_text(5218, garbage=False, seed=1, index=0) == "5218"
    wrong = [int(answer_text(5218, garbage=True, seed=1, index=i)) for i in range(200)]
    assert all(5219 <= w <= 5317 for w in wrong)
    assert wrong == [int(answer_text(5218, garbage=True, seed=1, index=i)) for i in range(200)]


def test_the_garbage_fault_at_zero_never_and_at_one_always():
    assert not any(decide(FaultConfig(garbage_rate=0.0), 1, i).garbage for i in range(300))
    assert all(decide(FaultConfig(garbage_rate=1.0), 1, i).names == ["garbage"] for i in range(300))
    with pytest.raises(UsageError, match="--fault-garbage-rate must be in"):
        FaultConfig(garbage_rate=1.5)


def test_the_garbage_fault_does_not_shift_other_faults_draws():
    a = [decide(FaultConfig(malformed_rate=0.5), 7, i).malformed for i in range(300)]
    b = [decide(FaultConfig(malformed_rate=0.5, garbage_rate=0.5), 7, i).malformed
         for i in range(300)]  # fmt: skip
    assert a == b


def test_garbage_is_only_marked_on_requests_answered_as_questions(tmp_path):
    state = SimState(SimConfig(faults=FaultConfig(garbage_rate=1.0)))
    request = make_mocked_request("POST", "/v1/chat/completions")
    filler = GenSpec("chat", 12, 4, False, True, False, "m", None, 0.0)
    question = dataclasses.replace(filler, sanity_answer=5218)
    assert state.decide_faults(request, filler, 5, index=0)[0].names == []
    faults, _rid, truth = state.decide_faults(request, question, 5, index=0)
    assert faults.names == ["garbage"] and truth["fault"] == "garbage"
