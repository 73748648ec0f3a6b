"""The validator on the `sanity` object: its arithmetic, its verdict, and its records.

Below `min_accuracy` a measured or simulated document is invalid with a one-line reason that
says the server's answers were wrong; a reported one gets a warning. The records beside the
document must hash, count, regenerate and score to what the document says.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.client.sanity import Reply, scored
from bench.jsonio import sha256_file
from bench.records import RecordWriter
from bench.records.sanity import SANITY_RECORDS_FORMAT, counts
from bench.validate import is_valid, validate_document, validate_file
from bench.validate.checks_sanity import check_sanity_accuracy, check_sanity_counts
from bench.workload.sanity import GENERATOR, generate_questions
from tests.conftest import FIXTURES


def base(kind: str = "measured") -> dict:
    name = "simulated_valid.json" if kind == "simulated" else "measured_valid.json"
    doc = json.loads((FIXTURES / "results" / name).read_text())
    doc["kind"] = kind
    return doc


def sanity(correct: int, questions: int = 20, **extra) -> dict:
    return {
        "questions": questions,
        "correct": correct,
        "accuracy": correct / questions,
        "min_accuracy": 0.8,
        **extra,
    }


def messages(doc: dict) -> list[str]:
    return [f"{f.level} {f.pointer}: {f.message}" for f in validate_document(doc)]


def test_a_document_without_a_sanity_check_stays_valid():
    doc = base()
    assert "sanity" not in doc and is_valid(validate_document(doc))


@pytest.mark.parametrize("kind", ["measured", "simulated"])
def test_below_min_accuracy_a_measured_or_simulated_result_is_invalid_and_says_why(kind):
    doc = base(kind)
    doc["sanity"] = sanity(1, failed_requests=3)
    errors = [m for m in messages(doc) if m.startswith("error")]
    assert errors == [
        "error /sanity/accuracy: the server's answers were wrong: 1 of 20 sanity questions "
        "answered right, accuracy 0.05 is below min_accuracy 0.8; 3 of the requests failed; "
        "a fast result with wrong answers is not ranked"
    ]


def test_at_min_accuracy_the_result_is_valid():
    doc = base()
    doc["sanity"] = sanity(16)
    assert is_valid(validate_document(doc)), messages(doc)


def test_a_check_without_a_records_hash_gets_a_warning():
    doc = base("simulated")
    doc["sanity"] = sanity(20)
    assert [m for m in messages(doc) if "/sanity" in m] == [
        "warning /sanity/records: no sha256 of the sanity records: the accuracy cannot be "
        "checked against them"
    ]
    doc["sanity"]["records"] = {"path": "s.jsonl", "sha256": "0" * 64}
    assert [m for m in messages(doc) if "/sanity" in m] == []


def test_a_reported_document_below_its_minimum_gets_a_warning_only():
    doc = json.loads((FIXTURES.parent.parent / "results/reference/"
                      "article-qwen2-7b-atlas800t-sglang.json").read_text())  # fmt: skip
    doc["sanity"] = sanity(0)
    found = [f for f in validate_document(doc) if f.pointer == "/sanity/accuracy"]
    assert [f.level for f in found] == ["warning"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"accuracy": 0.9}, "accuracy 0.9 but correct / questions = 17 / 20 = 0.85"),
        ({"correct": 21, "accuracy": 1.0}, "21 answers right of 20 questions"),
        ({"failed_requests": 4}, "4 failed requests and 17 right answers are more than the 20"),
        ({"records": {"count": 19}}, "the records hold 19 questions, the check 20"),
    ],
)
def test_the_counts_must_add_up(change, words):
    found = [i.message for i in check_sanity_counts({"sanity": {**sanity(17), **change}})]
    assert any(words in m for m in found), found


def test_a_rounded_accuracy_is_accepted():
    assert check_sanity_counts({"sanity": {**sanity(2, 3), "accuracy": 0.667}}) == []
    assert check_sanity_accuracy({"sanity": sanity(16)}) == []


def test_the_schema_holds_accuracy_within_zero_and_one():
    doc = base()
    doc["sanity"] = {**sanity(20), "accuracy": 1.5}
    assert any(m.startswith("error /sanity/accuracy") and "1.5" in m for m in messages(doc))


# -- the records beside the document ------------------------------------------------------


def write_document(tmp_path, replies: list[str | None], *, mutate=None, seed: int = 4) -> str:
    """A measured document whose sanity records are `replies` to seed's questions (None: a
    failed request), written beside it; `mutate(records)` may change them before writing."""
    questions = generate_questions(len(replies), seed)
    records = [
        scored(i, f"r{i}", q, Reply(None, error_kind="timeout", error="no answer within 1 s")
               if text is None else Reply(text))
        for i, (q, text) in enumerate(zip(questions, replies, strict=True))
    ]  # fmt: skip
    if mutate is not None:
        records = mutate(records)
    with RecordWriter(tmp_path / "sanity.jsonl") as writer:
        for r in records:
            writer.write(r)
    tally = counts(records)
    doc = base()
    doc["sanity"] = {
        **{k: tally[k] for k in ("questions", "correct", "accuracy", "failed_requests")},
        "min_accuracy": 0.5,
        "generator": GENERATOR,
        "seed": seed,
        "records": {
            "path": "sanity.jsonl",
            "sha256": writer.sha256,
            "count": writer.count,
            "format": SANITY_RECORDS_FORMAT,
        },
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    return path


def right(n: int, seed: int = 4) -> list[str]:
    return [str(q.expected) for q in generate_questions(n, seed)]


def sanity_findings(path) -> list[str]:
    """What the validator says about the records (the object's own checks aside)."""
    found = validate_file(path)
    return [f"{f.level} {f.message}" for f in found if f.pointer.startswith("/sanity/records")]


def test_records_that_agree_give_no_finding(tmp_path):
    path = write_document(tmp_path, [*right(3), "banana", None])
    assert sanity_findings(path) == []
    doc = json.loads(path.read_text())
    assert (doc["sanity"]["correct"], doc["sanity"]["failed_requests"]) == (3, 1)


def test_changed_records_are_an_error(tmp_path):
    path = write_document(tmp_path, right(3))
    with open(tmp_path / "sanity.jsonl", "a") as f:
        f.write("\n")
    assert sanity_findings(path) == [
        "error sanity.jsonl has a different sha256 than the document records (changed since?)"
    ]


def test_a_stated_count_the_records_do_not_give_is_an_error(tmp_path):
    path = write_document(tmp_path, [*right(3), "7"])
    doc = json.loads(path.read_text())
    doc["sanity"].update(correct=4, accuracy=1.0)
    path.write_text(json.dumps(doc))
    assert sanity_findings(path) == [
        "error the sanity records disagree: correct 4 but the records give 3"
    ]


def test_a_verdict_the_reply_does_not_earn_is_an_error(tmp_path):
    def mark_right(records):
        return [records[0], dataclasses.replace(records[1], correct=True, reason=None)]

    path = write_document(tmp_path, [right(1)[0], "12"], mutate=mark_right)
    assert sanity_findings(path) == [
        "error the sanity records disagree: question 1 is marked right but its reply scores wrong"
    ]


def test_a_question_that_is_not_the_generators_is_an_error(tmp_path):
    def easier(records):
        return [dataclasses.replace(records[0], question="What is 1 + 1?", expected=2)]

    path = write_document(tmp_path, ["2"], mutate=easier)
    (finding,) = sanity_findings(path)
    assert finding.startswith("error the sanity records disagree: question 0 is not the generator")


def test_a_failed_request_marked_right_is_an_error(tmp_path):
    def forgiven(records):
        return [dataclasses.replace(records[0], correct=True)]

    path = write_document(tmp_path, [None], mutate=forgiven)
    assert "question 0 failed (timeout) yet is marked right" in sanity_findings(path)[0]


def test_a_cut_reply_keeps_its_recorded_verdict(tmp_path):
    def cut(records):
        return [dataclasses.replace(records[0], reply="1", reply_truncated=True)]

    path = write_document(tmp_path, right(1), mutate=cut)
    assert sanity_findings(path) == []


def test_unreadable_records_are_a_warning(tmp_path):
    path = write_document(tmp_path, right(2))
    doc = json.loads(path.read_text())
    (tmp_path / "other.jsonl").write_text('{"index": 0}\n')
    doc["sanity"]["records"].update(
        path="other.jsonl", sha256=sha256_file(tmp_path / "other.jsonl")
    )
    path.write_text(json.dumps(doc))
    (finding,) = sanity_findings(path)
    assert finding.startswith("warning records cannot be read by this kit version")
    assert "missing key 'rid'" in finding
