"""The sanity check's questions and its scoring: pure functions, no I/O.

A fast server can be a broken one (a misconfigured kernel, a wrong dtype, a bad quantization
produce garbage at full speed), so a run also asks the server questions whose answers are
exact and checks them. The questions are multi-digit arithmetic with one integer answer,
easy for any sound instruct model and next to impossible to hit by chance:

    What is 4821 + 397? Answer with the number only.

- **Generation**: question `i` of seed `s` is drawn from `random.Random(f"bench-sanity/{s}/{i}")`,
  so the same seed gives the same questions on every host, and the first ten questions of
  twenty are the ten questions of ten. The operations cycle `+`, `-`, `*`: a 4-digit plus a
  3-digit number, a 4-digit minus a 3-digit number (never negative), two 2-digit numbers
  multiplied.
- **Scoring** (`score_reply`): the reply is NFKC-normalized (full-width digits become ASCII)
  and every number in it is read: digits with an optional leading minus, thousands
  separators as commas in groups of three (`5,218`), an optional decimal part (`5218.0` is
  5218). A number glued to a letter or digit before it is not read (`x2`), and a minus glued
  to one is not a sign (`4821-397` holds 4821 and 397). The reply is right when it holds
  at least one number and every number in it has the expected value. No number is wrong
  ("no number"); two different numbers are wrong ("several different numbers"), never
  resolved by taking the first or the last: a reply that lists several numbers did not
  answer with the number only, and a generator of random digits would otherwise be scored
  right whenever the answer happens to be among them.

`SanitySpec` is what a profile's `[[sanity]]` entry and `bench sanity`'s flags set, one
declaration per field as in `bench.workload.spec`.
"""

from __future__ import annotations

import dataclasses
import random
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench.errors import UsageError
from bench.workload.spec import LATENCY_APIS, at_least, described, one_of, positive

# Names the question generator and the scoring rule above; a document records it, and the
# validator regenerates and rescores only records of the version it knows.
GENERATOR = "bench-sanity-v1"
OPERATIONS = ("+", "-", "*")
QUESTION = "What is {a} {op} {b}? Answer with the number only."
_QUESTION_RE = re.compile(r"What is ([0-9]+) ([-+*]) ([0-9]+)\? Answer with the number only\.")
# A number: optional minus, digits (comma-grouped by three, or plain), optional decimals; not
# glued to a letter, digit or point before it, nor to a digit after it.
_NUMBER_RE = re.compile(
    r"(?<![\w.])(-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)(?![0-9])", re.ASCII
)
_RANGES = {  # operation -> (range of a, range of b), inclusive
    "+": ((1000, 9999), (100, 999)),
    "-": ((1000, 9999), (100, 999)),
    "*": ((12, 99), (12, 99)),
}


@dataclass(frozen=True)
class Question:
    """`a op b`, whose exact answer is an integer."""

    a: int
    op: str
    b: int

    @property
    def text(self) -> str:
        return QUESTION.format(a=self.a, op=self.op, b=self.b)

    @property
    def expected(self) -> int:
        if self.op == "+":
            return self.a + self.b
        if self.op == "-":
            return self.a - self.b
        return self.a * self.b


def generate_questions(count: int, seed: int) -> tuple[Question, ...]:
    """`count` questions of `seed` (see the module's docstring)."""
    out = []
    for index in range(count):
        rng = random.Random(f"bench-sanity/{seed}/{index}")
        op = OPERATIONS[index % len(OPERATIONS)]
        (a_lo, a_hi), (b_lo, b_hi) = _RANGES[op]
        out.append(Question(rng.randint(a_lo, a_hi), op, rng.randint(b_lo, b_hi)))
    return tuple(out)


def parse_question(text: str) -> Question | None:
    """The question `text` asks, when it is one of the kit's (surrounding spaces allowed)."""
    match = _QUESTION_RE.fullmatch(text.strip())
    if match is None:
        return None
    return Question(int(match.group(1)), match.group(2), int(match.group(3)))


@dataclass(frozen=True)
class Score:
    """How one reply was scored: right or not, the number read (when one value), and why it
    is wrong (None when right)."""

    correct: bool
    answer: str | None = None
    reason: str | None = None


def numbers_in(reply: str) -> list[Decimal]:
    """Every number in `reply`, in order, by the rule in the module's docstring."""
    text = unicodedata.normalize("NFKC", reply)
    return [Decimal(m.group(1).replace(",", "")) for m in _NUMBER_RE.finditer(text)]


def _show(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def score_reply(reply: str, expected: int) -> Score:
    """Right when the reply holds numbers and all of them equal `expected`."""
    values = numbers_in(reply)
    if not values:
        return Score(False, None, "no number in the reply")
    distinct = list(dict.fromkeys(values))  # in order of appearance, each value once
    if len(distinct) > 1:
        shown = ", ".join(_show(v) for v in distinct[:5])
        more = ", ..." if len(distinct) > 5 else ""
        return Score(False, None, f"several different numbers ({shown}{more})")
    answer = _show(distinct[0])
    if distinct[0] != expected:
        return Score(False, answer, f"answered {answer}, expected {expected}")
    return Score(True, answer, None)


@dataclass(frozen=True)
class SanitySpec:
    """What is asked: `questions` seeded questions, each through `api` at temperature 0 with
    `max_tokens` and a per-question timeout; below `min_accuracy` right the result is invalid."""

    questions: int = described(20, "questions asked (seeded multi-digit arithmetic)")
    seed: int = described(1, "seed of the questions")
    min_accuracy: float = described(
        0.8, "fraction of right answers below which the result is invalid (0 to 1)"
    )
    api: str = described("chat", "endpoint family: chat or completions")
    max_tokens: int = described(32, "max_tokens per question (a number needs a few)")
    timeout_s: float = described(60.0, "per-question timeout, seconds", flag="--timeout")

    def __post_init__(self) -> None:
        one_of(self.api, LATENCY_APIS, "api")
        at_least(self, ("questions", "max_tokens"), 1)
        at_least(self, ("seed",), 0)
        if not 0.0 <= self.min_accuracy <= 1.0:
            raise UsageError(f"min_accuracy must be within [0, 1], got {self.min_accuracy}")
        positive(self, ("timeout_s",))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
